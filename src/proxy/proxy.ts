// The proxy's Kubernetes side, composed: it follows which IPs this node owns
// (the speaker's 'ownership' events, in the same process) and the API
// (Services, EndpointSlices, Ingresses, TLS Secrets), and keeps
//
//   owned IPs x LoadBalancer Services ──> listen plan ──> ListenerManager
//        L4 ports ──> TCP/UDP forwarders ──> EndpointPicker ──> EndpointIndex
//        ingress entrypoint 80/443 ──> HttpEntrypoint (web, websecure)
//   Ingresses ──> route table (Router) ──> ServiceBackends ──> EndpointIndex
//   Ingress TLS ──> CertificateSync ──> CertificateStore
//
// EndpointSlice changes reach the L4 listeners synchronously (the slot is
// swapped inside the watch callback) and the HTTP backends right after.
// Plans, routes and certificates are recomputed after a short debounce.
// Nothing is bound before the caches hold a complete list, so a connection
// is never refused for want of endpoints we simply have not read yet.

import type * as k8s from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { performance } from 'node:perf_hooks';
import { Registry } from 'prom-client';
import { METALGATE_CLASS } from '../ipam/service-request.ts';
import { EventRecorder } from '../kube/events.ts';
import { EndpointIndex } from './endpoints/endpoint-index.ts';
import type { CertificateStoreApi, HttpEntrypointApi, Router } from './http/types.ts';
import { CertificateSync } from './k8s/certificate-sync.ts';
import { createHttpEngine } from './k8s/http-engine.ts';
import type { TlsPolicy } from './http/tls-policy.ts';
import { buildIngressRouter } from './k8s/ingress-router.ts';
import { readIngresses, type IngressRef } from './k8s/ingress-routes.ts';
import { ProxyWatches, type WatchKind } from './k8s/proxy-watches.ts';
import { ServiceBackends } from './k8s/service-backends.ts';
import { KernelForwarding } from './kernel/kernel-forwarding.ts';
import { kernelCommands, type KernelCommands } from './kernel/kernel-commands.ts';
import type { L4Dataplane } from './k8s/l4-annotations.ts';
import { tlsPairFromSecret } from './k8s/tls-secret.ts';
import type { BindBackoff } from './listeners/bind-backoff.ts';
import { forwardedByKernel, planListeners, type PlanProblem } from './listeners/listen-plan.ts';
import { ListenerManager, DEFAULT_UNBIND_GRACE_MS } from './listeners/listener-manager.ts';
import { ListenerMetrics } from './listeners/listener-metrics.ts';
import type { OwnershipEvent, OwnershipSource } from './listeners/manual-ownership.ts';
import { DEFAULT_ENTRYPOINT_SERVICE, DEFAULT_INGRESS_CLASS } from './proxy-flags.ts';

export { DEFAULT_ENTRYPOINT_SERVICE, DEFAULT_INGRESS_CLASS };

export interface ProxyOptions {
  /** This node: externalTrafficPolicy Local keeps its endpoints only. */
  nodeName: string;
  /** The Services the proxy serves: the speaker's class filter. */
  ownClassOnly: boolean;
  className: string;
  /** "namespace/name" of the ingress entrypoint Service. */
  entrypoint: string;
  ingressClass: string;
  /** Also serve Ingresses without a class. */
  ingressWithoutClass: boolean;
  /** "namespace/name" of a kubernetes.io/tls Secret to use as the default certificate (else the engine's self-signed one). */
  defaultCertificate?: string;
  /** Established connections of an unbound listener may run this long. */
  unbindGraceMs: number;
  /** On stop: how long in-flight connections and requests may finish. */
  drainGraceMs: number;
  /** Fraction of L4 connections logged when they end. */
  accessLogSampleRate: number;
  bindBackoff?: BindBackoff;
  /** Coalesces bursts of watch events into one plan / route build. */
  debounceMs: number;
  /** Tests only: see ListenerManagerOptions.dialAddress. */
  dialAddress?: (ip: string) => string;
  /** Bind with SO_REUSEPORT (this proxy is one of several worker processes). */
  reusePort?: boolean;
  /**
   * Write Events about Services and Ingresses. Of several worker processes
   * one reports, so a problem is one Event, not one per worker.
   */
  reportEvents?: boolean;
  /**
   * Program the kernel DNAT rules of `metalgate.io/l4-dataplane: kernel`
   * ports (one process per node does; default: the one that reports Events).
   * A process that does not leaves those ports alone.
   */
  kernelForwarding?: boolean;
  /**
   * Who forwards the L4 ports of Services without the
   * metalgate.io/l4-dataplane annotation (default proxy; `--l4-dataplane`).
   */
  l4Dataplane?: L4Dataplane;
  /** The programs kernel forwarding runs (default: nft and conntrack from PATH). */
  kernelCommands?: KernelCommands;
  /** What the HTTPS entrypoint offers (default: DEFAULT_TLS_POLICY). */
  tlsPolicy?: TlsPolicy;
  /** Forward request field names with underscores (default: dropped). */
  underscoresInHeaders?: boolean;
}

export const defaultProxyOptions: Omit<ProxyOptions, 'nodeName'> = {
  ownClassOnly: false,
  className: METALGATE_CLASS,
  entrypoint: DEFAULT_ENTRYPOINT_SERVICE,
  ingressClass: DEFAULT_INGRESS_CLASS,
  ingressWithoutClass: false,
  unbindGraceMs: DEFAULT_UNBIND_GRACE_MS,
  drainGraceMs: 10_000,
  accessLogSampleRate: 0.01,
  debounceMs: 5,
};

/** The L7 engine's pieces the proxy feeds (built by http-engine.ts, or by a test). */
export interface ProxyHttpEngine {
  readonly web: HttpEntrypointApi;
  readonly websecure: HttpEntrypointApi;
  readonly certificates: CertificateStoreApi;
}

/** What `metalgate speaker` runs: the proxy, with the HTTP engine for the ingress entrypoint when `http`. */
export function createProxy(kc: k8s.KubeConfig, log: Logger, opts: ProxyOptions, registry: Registry, http: boolean): Proxy {
  const engine = http ? createHttpEngine({ log, registry, accessLogSampleRate: opts.accessLogSampleRate, tlsPolicy: opts.tlsPolicy, underscoresInHeaders: opts.underscoresInHeaders }) : undefined;
  return new Proxy(kc, log, opts, registry, engine);
}

export class Proxy {
  readonly registry: Registry;
  readonly metrics: ListenerMetrics;
  readonly endpoints: EndpointIndex;
  readonly #kc: k8s.KubeConfig;
  readonly #log: Logger;
  readonly #opts: ProxyOptions;
  readonly #http: ProxyHttpEngine | undefined;
  readonly #events: EventRecorder | undefined;
  readonly #listeners: ListenerManager;
  readonly #kernel: KernelForwarding | undefined;
  /** Live Backends per Service port (the ServiceBackendSource of src/ingress/runtime). */
  readonly backends: ServiceBackends;
  #externalRouters = false;
  readonly #certs: CertificateSync | undefined;
  readonly #owned = new Set<string>();
  #ownership: OwnershipSource | undefined;
  #watches: ProxyWatches | undefined;
  #timer: NodeJS.Timeout | undefined;
  #dirty = { plan: false, routes: false, certs: false };
  /** Problems already reported as Events: "uid or key\0message". */
  #reportedServices = new Set<string>();
  #reportedIngresses = new Set<string>();
  /** resourceVersion of the default-certificate Secret last applied. */
  #defaultCertVersion: string | undefined;
  #started = false;
  #stopping = false;

  constructor(kc: k8s.KubeConfig, log: Logger, opts: ProxyOptions, registry = new Registry(), http?: ProxyHttpEngine) {
    if (!opts.nodeName) throw new Error('proxy: the node name is required');
    this.#kc = kc;
    this.#log = log;
    this.#opts = opts;
    this.#http = http;
    this.registry = registry;
    this.metrics = new ListenerMetrics(registry);
    this.endpoints = new EndpointIndex(opts.nodeName);
    this.#events = opts.reportEvents === false ? undefined : new EventRecorder(kc, log, 'metalgate-proxy', opts.nodeName);
    this.#listeners = new ListenerManager({
      log,
      metrics: this.metrics,
      endpoints: this.endpoints,
      ...(http ? { entrypoint: (mode: 'http' | 'https') => (mode === 'http' ? http.web : http.websecure) } : {}),
      ...(opts.bindBackoff ? { backoff: opts.bindBackoff } : {}),
      unbindGraceMs: opts.unbindGraceMs,
      accessLogSampleRate: opts.accessLogSampleRate,
      ...(opts.dialAddress ? { dialAddress: opts.dialAddress } : {}),
      reusePort: opts.reusePort === true,
    });
    this.backends = new ServiceBackends(this.endpoints, opts.dialAddress);
    this.#kernel =
      (opts.kernelForwarding ?? opts.reportEvents !== false)
        ? new KernelForwarding({
            log: log.child({ dataplane: 'kernel' }),
            endpoints: this.endpoints,
            commands: opts.kernelCommands ?? kernelCommands(),
            registry,
            warn: (svc, reason, message) => this.#serviceEvent(svc.service, svc.serviceUid, reason, message),
            onUsableChange: () => this.#applyPlan(),
          })
        : undefined;
    const kernel = this.#kernel;
    if (kernel) this.metrics.addConnectionSource((into) => kernel.countConnections(into));
    this.#certs = http ? new CertificateSync(http.certificates, this.#events, log) : undefined;
  }

  /**
   * Hands routing to other Routers (the full rule engine, one per
   * entrypoint); the minimal Ingress router stops. Certificates stay here.
   */
  /** The HTTP entrypoints' certificate store (undefined without the L7 engine). */
  get certificates(): CertificateStoreApi | undefined {
    return this.#http?.certificates;
  }

  setRouters(routers: { web: Router; websecure: Router }): void {
    if (!this.#http) throw new Error('proxy: no HTTP engine (--ingress-l4)');
    // The engine loads its routes' certificates from now on (by its own
    // IngressClass rule); the minimal reader's go, in the same tick, before
    // the engine loads them, so no handshake sees the store half-empty.
    if (!this.#externalRouters) this.#certs?.sync([], () => undefined);
    this.#externalRouters = true;
    this.#http.web.setRouter(routers.web);
    this.#http.websecure.setRouter(routers.websecure);
  }

  /** Listeners accepting now ("TCP 198.18.0.200:80", ...). */
  listening(): string[] {
    return this.#listeners.listening();
  }

  /** L4 ports forwarded by kernel DNAT rules now (same keys as listening()). */
  kernelForwarded(): string[] {
    return this.#kernel?.forwarding() ?? [];
  }

  /** Listeners whose bind is being retried. */
  waiting(): string[] {
    return this.#listeners.waiting();
  }

  openConnections(): number {
    return this.#listeners.openConnections();
  }

  notReadyReason(): string | undefined {
    if (!this.#started) return 'proxy not started';
    return this.#watches?.notSynced();
  }

  /** Starts watching the API and following `ownership`. */
  start(ownership: OwnershipSource): void {
    if (this.#started) return;
    this.#started = true;
    this.#ownership = ownership;
    for (const ip of ownership.ownedIps()) this.#owned.add(ip);
    ownership.on('ownership', this.#onOwnership);
    this.#log.info(
      { node: this.#opts.nodeName, entrypoint: this.#opts.entrypoint, http: this.#http !== undefined, ingressClass: this.#opts.ingressClass },
      'proxy starting',
    );
    this.#watches = new ProxyWatches(this.#kc, this.#log, this.#http !== undefined, {
      onService: (svc, deleted) => {
        if (deleted) this.endpoints.removeService(svc);
        else this.endpoints.upsertService(svc);
        this.#endpointsMoved();
        this.#mark({ plan: true, routes: true });
      },
      onSlice: (slice, deleted) => {
        if (deleted) this.endpoints.removeSlice(slice);
        else this.endpoints.upsertSlice(slice);
        this.#endpointsMoved();
      },
      onIngress: () => this.#mark({ routes: true, certs: true }),
      onSecret: () => this.#mark({ certs: true }),
      onResync: (kind: WatchKind) => {
        if (kind === 'service' || kind === 'slice') {
          this.endpoints.reset(this.#watches!.services.list(), this.#watches!.slices.list());
          this.#endpointsMoved();
        }
        this.#mark({ plan: true, routes: true, certs: true });
      },
    });
  }

  /** Resolves once every cache holds a complete list. */
  async synced(): Promise<void> {
    await this.#watches?.synced();
  }

  /** L4 connections open plus HTTP requests in flight: the work a shutdown would interrupt. */
  busy(): number {
    const http = this.#http;
    const requests = http ? http.web.stats().inFlightRequests + http.websecure.stats().inFlightRequests : 0;
    return this.#listeners.openL4Connections() + requests;
  }

  /**
   * The first step of a shutdown, while this node still owns its IPs: keep
   * serving (refusing new connections now would only fail them) and wait
   * until no L4 connection is open and no HTTP request is in flight, or
   * graceMs. Returns what is still busy.
   */
  async settle(graceMs = this.#opts.drainGraceMs): Promise<number> {
    const deadline = performance.now() + graceMs;
    let busy = this.busy();
    if (busy > 0) this.#log.info({ busy, graceMs }, 'letting in-flight work finish before the handover');
    while (busy > 0 && performance.now() < deadline) {
      await new Promise((r) => setTimeout(r, Math.min(50, Math.max(1, deadline - performance.now()))));
      busy = this.busy();
    }
    if (busy > 0) this.#log.info({ busy }, 'grace period over: handing over with work in flight');
    return busy;
  }

  /**
   * Drain: stop following ownership, stop accepting everywhere, let
   * in-flight connections and requests finish for up to graceMs, cut the
   * rest, stop the watches.
   */
  async stop(graceMs = this.#opts.drainGraceMs): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    clearTimeout(this.#timer);
    this.#ownership?.off('ownership', this.#onOwnership);
    const open = this.#listeners.openConnections();
    const http = this.#http;
    const [cut] = await Promise.all([this.#listeners.close(graceMs), http?.web.drain(graceMs), http?.websecure.drain(graceMs)]);
    this.#log.info({ openAtStart: open, cut, graceMs }, 'proxy drained');
    await this.#kernel?.close();
    await this.#watches?.stop();
  }

  // ---- changes ----

  readonly #onOwnership = (change: OwnershipEvent): void => {
    if (this.#stopping) return;
    if (change.owned) this.#owned.add(change.ip);
    else this.#owned.delete(change.ip);
    // At once: a gained IP is up on the holder now, a lost one is about to go.
    this.#applyPlan();
  };

  /** HTTP backends follow the endpoint slots right away. */
  #endpointsMoved(): void {
    this.backends.refresh();
    this.#kernel?.changed();
  }

  #mark(what: { plan?: boolean; routes?: boolean; certs?: boolean }): void {
    if (this.#stopping) return;
    if (what.plan) this.#dirty.plan = true;
    if (what.routes && this.#http) this.#dirty.routes = true;
    if (what.certs && this.#http) this.#dirty.certs = true;
    if (this.#timer !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#flush();
    }, this.#opts.debounceMs);
  }

  #flush(): void {
    if (this.#stopping || this.#watches?.notSynced() !== undefined) return;
    const d = this.#dirty;
    this.#dirty = { plan: false, routes: false, certs: false };
    try {
      if (d.plan) this.#applyPlan();
      if (d.routes) this.#applyRoutes();
      if (d.certs) this.#applyCertificates();
    } catch (err) {
      this.#log.error({ err: (err as Error).stack }, 'proxy update failed');
    }
  }

  #applyPlan(): void {
    const w = this.#watches;
    if (w === undefined || this.#stopping) return;
    if (!w.services.isSynced() || !w.slices.isSynced()) return;
    const o = this.#opts;
    const plan = planListeners(this.#owned, w.services.list(), {
      ownClassOnly: o.ownClassOnly,
      className: o.className,
      entrypoint: o.entrypoint,
      ...(o.l4Dataplane ? { l4Dataplane: o.l4Dataplane } : {}),
    });
    // Kernel-forwarded ports get rules, not sockets; a process that does not program the kernel leaves them alone.
    // Where the kernel has never taken a rule (no nft), this process serves them itself meanwhile.
    const kernel = this.#kernel;
    const inKernel = plan.listeners.filter(forwardedByKernel);
    const fallback = kernel !== undefined && !kernel.usable();
    this.#listeners.apply(fallback ? plan.listeners : plan.listeners.filter((l) => !forwardedByKernel(l)));
    kernel?.apply(inKernel);
    this.#reportServiceProblems(plan.problems);
  }

  #applyRoutes(): void {
    const w = this.#watches!;
    const http = this.#http;
    if (!http || !w.ingresses || this.#externalRouters) return;
    const reading = readIngresses(w.ingresses.list(), (key) => w.services.get(key.slice(key.indexOf('/') + 1), key.slice(0, key.indexOf('/'))), {
      className: this.#opts.ingressClass,
      withoutClass: this.#opts.ingressWithoutClass,
    });
    const built = buildIngressRouter(reading, this.backends);
    http.web.setRouter(built.router);
    http.websecure.setRouter(built.router);
    this.#log.debug({ routes: built.routes, issues: built.issues.length }, 'routes rebuilt');
    const problems = reading.problems.map((p) => ({ ingress: p.ingress, reason: p.reason, message: p.message }));
    for (const issue of built.issues) {
      const r = reading.routes.find((x) => x.id === issue.id);
      if (r) problems.push({ ingress: r.ingress, reason: 'BadRule', message: `${issue.id}: ${issue.message}` });
    }
    this.#reportIngressProblems(problems);
  }

  #applyCertificates(): void {
    const w = this.#watches!;
    if (!this.#certs || !w.ingresses || !w.secrets) return;
    const secrets = w.secrets;
    const get = (key: string) => secrets.get(key.slice(key.indexOf('/') + 1), key.slice(0, key.indexOf('/')));
    if (!this.#externalRouters) {
      const reading = readIngresses(w.ingresses.list(), () => undefined, { className: this.#opts.ingressClass, withoutClass: this.#opts.ingressWithoutClass });
      this.#certs.sync(reading.tls, get);
    }
    const dc = this.#opts.defaultCertificate;
    if (dc !== undefined && this.#http) {
      const secret = get(dc);
      const rv = secret?.metadata?.resourceVersion ?? '';
      if (rv === this.#defaultCertVersion) return;
      this.#defaultCertVersion = rv;
      const r = tlsPairFromSecret(dc, secret);
      try {
        if (!('pair' in r)) throw new Error(r.message);
        const info = this.#http.certificates.setDefault(r.pair);
        this.#log.info({ secret: dc, hosts: info.hosts, notAfter: info.notAfter.toISOString() }, 'default certificate loaded');
      } catch (err) {
        this.#log.warn({ secret: dc, err: (err as Error).message }, 'default certificate Secret unusable: keeping the current default certificate');
      }
    }
  }

  #reportServiceProblems(problems: readonly PlanProblem[]): void {
    const now = new Set<string>();
    for (const p of problems) {
      const id = `${p.serviceUid ?? p.service}\u0000${p.message}`;
      now.add(id);
      if (this.#reportedServices.has(id)) continue;
      this.#log.warn({ service: p.service, reason: p.reason }, p.message);
      this.#serviceEvent(p.service, p.serviceUid, p.reason, p.message);
    }
    this.#reportedServices = now;
  }

  #serviceEvent(service: string, uid: string | undefined, reason: string, message: string): void {
    const [namespace, name] = [service.slice(0, service.indexOf('/')), service.slice(service.indexOf('/') + 1)];
    this.#events?.emit({ apiVersion: 'v1', kind: 'Service', metadata: { namespace, name, uid } }, 'Warning', reason, message);
  }

  #reportIngressProblems(problems: ReadonlyArray<{ ingress: IngressRef; reason: string; message: string }>): void {
    const now = new Set<string>();
    for (const p of problems) {
      const id = `${p.ingress.uid ?? `${p.ingress.namespace}/${p.ingress.name}`}\u0000${p.message}`;
      now.add(id);
      if (this.#reportedIngresses.has(id)) continue;
      this.#log.warn({ ingress: `${p.ingress.namespace}/${p.ingress.name}`, reason: p.reason }, p.message);
      this.#events?.emit(
        { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { namespace: p.ingress.namespace, name: p.ingress.name, uid: p.ingress.uid } },
        'Warning',
        p.reason,
        p.message,
      );
    }
    this.#reportedIngresses = now;
  }
}
