// The proxy's view side: from the node's shared cluster view (Services,
// EndpointSlices, the default-certificate Secret) and the ownership the
// speaker reports, it builds the node's proxy configuration as plain data
// (config/proxy-config.ts), and the ingress compiler adds its routes and
// certificates to it:
//
//   owned IPs x LoadBalancer Services ──> listen plan ─┐
//   Services x EndpointSlices ──> endpoint sets ───────┼─> ProxyConfigUpdate ──> ProxyRuntime (this thread)
//   IngressController ──> route specs, TLS pairs ──────┘                     └─> worker threads (messages)
//
// Kernel forwarding (nftables) and Events are node-wide, so they happen here,
// once. EndpointSlice changes are published as they arrive; plans after a
// short debounce, or at once for an ownership change. Nothing is listened on
// before the caches hold a complete list, so a connection is never refused
// for want of endpoints we simply have not read yet.

import type * as k8s from '@kubernetes/client-node';
import type { KubeClient } from '../kube/api/kube-client.ts';
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { Registry } from '../common/prom-classes.ts';
import { EventRecorder } from '../kube/events.ts';
import type { ResilientInformer } from '../kube/informer.ts';
import { SharedInformers, subscribe } from '../kube/shared-informers.ts';
import { ProxyConfigState, type CertificatesUpdate, type EndpointsUpdate, type ProxyConfigUpdate, type RoutesUpdate } from './config/proxy-config.ts';
import { EndpointIndex } from './endpoints/endpoint-index.ts';
import type { ServiceEndpointSets } from './endpoints/endpoint-slots.ts';
import type { CertificateStoreApi } from './http/types.ts';
import { createHttpEngine } from './k8s/http-engine.ts';
import { checkCertificatePair } from './http/certificates.ts';
import type { ServiceBackends } from './k8s/service-backends.ts';
import { KernelForwarding } from './kernel/kernel-forwarding.ts';
import { kernelCommands } from './kernel/kernel-commands.ts';
import { tlsPairFromSecret } from './k8s/tls-secret.ts';
import { forwardedByKernel, planListeners, type ListenerSpec, type PlanProblem } from './listeners/listen-plan.ts';
import { ListenerMetrics } from './listeners/listener-metrics.ts';
import type { OwnershipEvent, OwnershipSource } from './listeners/manual-ownership.ts';
import { defaultProxyOptions, type ProxyOptions } from './proxy-options.ts';
import { ProxyRuntime, type ProxyHttpEngine } from './proxy-runtime.ts';

export type { ProxyHttpEngine };
/**
 * How long an announcement may wait for kernel rules: an nft transaction
 * takes 10-50 ms; a stuck one must not hold the takeover longer than the
 * election's own pace (0.5 s renewals).
 */
const KERNEL_GATE_MS = 500;

export { defaultProxyOptions, type ProxyOptions };

/** What `metalgate speaker` runs: the proxy, with the HTTP engine for the ingress entrypoint when `http`. */
export function createProxy(kc: KubeClient, log: Logger, opts: ProxyOptions, registry: Registry, http: boolean, view?: SharedInformers): Proxy {
  const engine = http && opts.serve !== false ? createHttpEngine({ log, registry, accessLogSampleRate: opts.accessLogSampleRate, tlsPolicy: opts.tlsPolicy, underscoresInHeaders: opts.underscoresInHeaders }) : undefined;
  return new Proxy(kc, log, { ...opts, http }, registry, engine, view);
}

interface ProxyEvents {
  /** A configuration update, already applied to `config` (and to the in-process runtime). */
  config: [ProxyConfigUpdate];
}

export class Proxy extends EventEmitter<ProxyEvents> {
  readonly registry: Registry;
  readonly metrics: ListenerMetrics;
  /** Endpoint sets from the API objects (what kernel rules read). */
  readonly endpoints: EndpointIndex;
  /** The current configuration (what a new worker gets first, what /config shows). */
  readonly config = new ProxyConfigState();
  /** Serves the configuration in this process (undefined with `serve: false`). */
  readonly runtime: ProxyRuntime | undefined;
  readonly #log: Logger;
  readonly #opts: ProxyOptions & { http?: boolean };
  readonly #http: boolean;
  readonly #view: SharedInformers;
  readonly #ownView: boolean;
  readonly #events: EventRecorder | undefined;
  readonly #kernel: KernelForwarding | undefined;
  readonly #owned = new Set<string>();
  /** Owned IPs with kernel-forwarded UDP ports in the last plan (their announcement waits for the rules). */
  #kernelUdpIps = new Set<string>();
  readonly #unsubscribe: Array<() => void> = [];
  #ownership: OwnershipSource | undefined;
  #services: ResilientInformer<k8s.V1Service> | undefined;
  #slices: ResilientInformer<k8s.V1EndpointSlice> | undefined;
  #secrets: ResilientInformer<k8s.V1Secret> | undefined;
  #timer: NodeJS.Timeout | undefined;
  /** The plan that takes in the ownership changes of this turn (see #onOwnership). */
  #ownershipPlan: { immediate: NodeJS.Immediate; done: PromiseWithResolvers<void> } | undefined;
  #dirty = { plan: false, certs: false };
  /** Problems already reported as Events: "uid or key\0message". */
  #reportedServices = new Set<string>();
  /** resourceVersion of the default-certificate Secret last applied. */
  #defaultCertVersion: string | undefined;
  /** A route compiler feeds this proxy: not ready before its first routes. */
  #expectRoutes = false;
  #routesSeen = false;
  #started = false;
  #stopping = false;

  /**
   * `http`: the L7 engine this process serves with (built by http-engine.ts,
   * or by a test); `view`: the node's shared informers (else its own).
   */
  constructor(kc: KubeClient, log: Logger, opts: ProxyOptions & { http?: boolean }, registry = new Registry(), http?: ProxyHttpEngine, view?: SharedInformers) {
    super();
    if (!opts.nodeName) throw new Error('proxy: the node name is required');
    this.#log = log;
    this.#opts = opts;
    this.#http = opts.http ?? http !== undefined;
    this.#view = view ?? new SharedInformers(kc, log);
    this.#ownView = view === undefined;
    this.registry = registry;
    this.metrics = new ListenerMetrics(registry);
    this.endpoints = new EndpointIndex(opts.nodeName);
    this.#events = opts.reportEvents === false ? undefined : new EventRecorder(kc, log, 'metalgate-proxy', opts.nodeName);
    this.runtime =
      opts.serve === false
        ? undefined
        : new ProxyRuntime({
            log,
            metrics: this.metrics,
            ...(http ? { http } : {}),
            unbindGraceMs: opts.unbindGraceMs,
            drainGraceMs: opts.drainGraceMs,
            accessLogSampleRate: opts.accessLogSampleRate,
            ...(opts.bindBackoff ? { bindBackoff: opts.bindBackoff } : {}),
            reusePort: opts.reusePort === true,
            ...(opts.dialAddress ? { dialAddress: opts.dialAddress } : {}),
            ...(opts.flaggerMetrics ? { flaggerMetrics: opts.flaggerMetrics } : {}),
          });
    this.#kernel =
      opts.kernelForwarding !== false
        ? new KernelForwarding({
            log: log.child({ dataplane: 'kernel' }),
            endpoints: this.endpoints,
            commands: opts.kernelCommands ?? kernelCommands(),
            registry,
            warn: (svc, reason, message) => this.#serviceEvent(svc.service, svc.serviceUid, reason, message),
            onUsableChange: () => this.#applyPlan(),
            // TCP ports the proxy served while their rules were on their way go to the kernel now.
            onApplied: () => this.#applyPlan(),
          })
        : undefined;
    const kernel = this.#kernel;
    if (kernel) this.metrics.addConnectionSource((into) => kernel.countConnections(into));
  }

  /** The HTTP entrypoints' certificate store of the in-process runtime. */
  get certificates(): CertificateStoreApi | undefined {
    return this.runtime?.certificates;
  }

  /** Live HTTP Backends of the in-process runtime. */
  get backends(): ServiceBackends | undefined {
    return this.runtime?.backends;
  }

  /** The node's shared informers. */
  get view(): SharedInformers {
    return this.#view;
  }

  /** The whole configuration now, as one update (a new worker's first message). */
  snapshot(): ProxyConfigUpdate {
    return this.config.snapshot();
  }

  /**
   * Resolves once what serves a gained IP here is in force: the kernel
   * rules of its kernel-forwarded UDP ports written (nft runs
   * asynchronously), or after KERNEL_GATE_MS. The speaker announces the IP
   * only then, so a client is not refused by a node that owns the IP before
   * its rules exist. The proxy's own listeners (TCP kernel ports included,
   * until their rules are in) bind with the plan that follows the ownership
   * change (planned()).
   */
  async whenServing(ip: string): Promise<void> {
    await this.planned();
    const kernel = this.#kernel;
    if (kernel === undefined || !kernel.usable() || !this.#kernelUdpIps.has(ip)) return;
    let timer: NodeJS.Timeout | undefined;
    const gated = await Promise.race([kernel.idle().then(() => true), new Promise<boolean>((r) => (timer = setTimeout(() => r(false), KERNEL_GATE_MS)))]);
    clearTimeout(timer);
    // Said, because a client may be refused until the rules land: nft is slower than it should be here.
    if (!gated) this.#log.warn({ ip, waitedMs: KERNEL_GATE_MS }, 'announcing before the kernel forwarding rules are written: nft is still running');
  }

  /** A route compiler will publish here: readiness waits for its first routes. */
  expectRoutes(): void {
    this.#expectRoutes = true;
  }

  /** Routes and certificates from the ingress compiler, added to the configuration. */
  publishRoutes(routes: RoutesUpdate | undefined, certificates: CertificatesUpdate | undefined): void {
    if (this.#stopping) return;
    if (routes !== undefined) this.#routesSeen = true;
    this.#publish({ ...(routes ? { routes } : {}), ...(certificates ? { certificates } : {}) });
    // Routes on entry points of their own change what the entrypoint's ports forward to.
    if (routes?.entryRoutes !== undefined) this.#applyPlan();
  }

  /** Listeners accepting now ("TCP 198.18.0.200:80", ...). */
  listening(): string[] {
    return this.runtime?.listening() ?? [];
  }

  /** L4 ports forwarded by kernel DNAT rules now (same keys as listening()). */
  kernelForwarded(): string[] {
    return this.#kernel?.forwarding() ?? [];
  }

  /** Listeners whose bind is being retried. */
  waiting(): string[] {
    return this.runtime?.waiting() ?? [];
  }

  openConnections(): number {
    return this.runtime?.openConnections() ?? 0;
  }

  notReadyReason(): string | undefined {
    if (!this.#started) return 'proxy not started';
    const pending = this.#view.notSynced(this.#informers());
    if (pending !== undefined) return pending;
    if (this.#expectRoutes && !this.#routesSeen) return 'routes not compiled yet';
    return undefined;
  }

  #informers(): Array<ResilientInformer<k8s.KubernetesObject>> {
    return [this.#services, this.#slices, this.#secrets].filter((i) => i !== undefined) as Array<ResilientInformer<k8s.KubernetesObject>>;
  }

  /** Starts reading the cluster view and following `ownership`. */
  start(ownership: OwnershipSource): void {
    if (this.#started) return;
    this.#started = true;
    this.#ownership = ownership;
    for (const ip of ownership.ownedIps()) this.#owned.add(ip);
    ownership.on('ownership', this.#onOwnership);
    this.#log.info({ node: this.#opts.nodeName, entrypoint: this.#opts.entrypoint, http: this.#http, serve: this.runtime !== undefined }, 'proxy starting');
    const view = this.#view;
    this.#services = view.services();
    this.#slices = view.endpointSlices();
    const services = this.#services;
    const slices = this.#slices;
    const resync = () => {
      if (!services.isSynced() || !slices.isSynced()) return;
      this.endpoints.reset(services.list(), slices.list());
      this.#endpointsMoved();
      this.#mark({ plan: true, certs: true });
    };
    this.#unsubscribe.push(
      subscribe(services, {
        add: (svc) => this.#onService(svc, false),
        update: (svc) => this.#onService(svc, false),
        delete: (svc) => this.#onService(svc, true),
        resync,
      }),
      subscribe(slices, {
        add: (sl) => this.#onSlice(sl, false),
        update: (sl) => this.#onSlice(sl, false),
        delete: (sl) => this.#onSlice(sl, true),
        resync,
      }),
    );
    if (this.#http && this.#opts.defaultCertificate !== undefined) {
      this.#secrets = view.secrets();
      const changed = () => this.#mark({ certs: true });
      this.#unsubscribe.push(subscribe(this.#secrets, { add: changed, update: changed, delete: changed, resync: changed }));
    }
    // The shared view may have listed already (for another component).
    resync();
  }

  /** Resolves once every cache holds a complete list. */
  async synced(): Promise<void> {
    await Promise.all(this.#informers().map((i) => i.synced()));
  }

  /** L4 connections open plus HTTP requests in flight: the work a shutdown would interrupt. */
  busy(): number {
    return this.runtime?.busy() ?? 0;
  }

  /** See ProxyRuntime.settle: in-flight work finishes while this node still owns its IPs. */
  async settle(graceMs = this.#opts.drainGraceMs): Promise<number> {
    return (await this.runtime?.settle(graceMs)) ?? 0;
  }

  /**
   * Drain: stop following ownership, stop accepting everywhere, let
   * in-flight connections and requests finish for up to graceMs, cut the
   * rest, stop reading the view.
   */
  async stop(graceMs = this.#opts.drainGraceMs): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    clearTimeout(this.#timer);
    if (this.#ownershipPlan !== undefined) {
      clearImmediate(this.#ownershipPlan.immediate);
      this.#ownershipPlan.done.resolve();
      this.#ownershipPlan = undefined;
    }
    this.#ownership?.off('ownership', this.#onOwnership);
    await this.runtime?.stop(graceMs);
    await this.#kernel?.close();
    for (const off of this.#unsubscribe.splice(0)) off();
    if (this.#ownView) await this.#view.stop();
  }

  // ---- changes ----

  #onService(svc: k8s.V1Service, deleted: boolean): void {
    if (deleted) this.endpoints.removeService(svc);
    else this.endpoints.upsertService(svc);
    this.#endpointsMoved();
    this.#mark({ plan: true });
  }

  #onSlice(slice: k8s.V1EndpointSlice, deleted: boolean): void {
    if (deleted) this.endpoints.removeSlice(slice);
    else this.endpoints.upsertSlice(slice);
    this.#endpointsMoved();
  }

  readonly #onOwnership = (change: OwnershipEvent): void => {
    if (this.#stopping) return;
    if (change.owned) this.#owned.add(change.ip);
    else this.#owned.delete(change.ip);
    // In this turn (a gained IP is up on the holder now, a lost one is about
    // to go), but once for all the changes that come in it: an election that
    // hands a node 1,000 IPs raises one event per IP as its address goes up,
    // and a plan per event sent every worker the whole listener list again
    // for each (test/bench/memory.ts 1000 4 --lab: 3,520-3,553 updates per
    // worker in all, 2,957-3,172 with one plan per turn).
    if (this.#ownershipPlan !== undefined) return;
    const done = Promise.withResolvers<void>();
    const immediate = setImmediate(() => {
      this.#ownershipPlan = undefined;
      try {
        this.#applyPlan();
      } catch (err) {
        this.#log.error({ err: (err as Error).stack }, 'proxy update failed');
      }
      done.resolve();
    });
    this.#ownershipPlan = { immediate, done };
  };

  /**
   * Resolves once the ownership changes seen so far are in the published
   * configuration (the listeners of a gained IP sent to the workers).
   */
  planned(): Promise<void> {
    return this.#ownershipPlan?.done.promise ?? Promise.resolve();
  }

  /** Endpoint sets are published as they change: connections use them at once. */
  #endpointsMoved(): void {
    const changes = this.endpoints.takeChanges();
    if (changes.size > 0) this.#publish({ endpoints: endpointsUpdate(changes) });
    this.#kernel?.changed();
  }

  #publish(part: Omit<ProxyConfigUpdate, 'version'>): void {
    const u: ProxyConfigUpdate = { version: this.config.next(), ...part };
    this.config.apply(u);
    this.runtime?.apply(u);
    this.emit('config', u);
  }

  #mark(what: { plan?: boolean; certs?: boolean }): void {
    if (this.#stopping) return;
    if (what.plan) this.#dirty.plan = true;
    if (what.certs && this.#http) this.#dirty.certs = true;
    if (this.#timer !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#flush();
    }, this.#opts.debounceMs);
  }

  #flush(): void {
    if (this.#stopping || this.#view.notSynced(this.#informers()) !== undefined) return;
    const d = this.#dirty;
    this.#dirty = { plan: false, certs: false };
    try {
      if (d.plan) this.#applyPlan();
      if (d.certs) this.#applyDefaultCertificate();
    } catch (err) {
      this.#log.error({ err: (err as Error).stack }, 'proxy update failed');
    }
  }

  #applyPlan(): void {
    const services = this.#services;
    const slices = this.#slices;
    if (services === undefined || slices === undefined || this.#stopping) return;
    if (!services.isSynced() || !slices.isSynced()) return;
    const o = this.#opts;
    const plan = planListeners(this.#owned, services.list(), {
      ownClassOnly: o.ownClassOnly,
      className: o.className,
      entrypoint: o.entrypoint,
      ...(o.l4Dataplane ? { l4Dataplane: o.l4Dataplane } : {}),
      entryRoutes: this.config.entryRoutes,
    });
    // Kernel-forwarded ports get rules, not sockets; where the kernel has
    // never taken a rule (no nft), the proxy serves them itself meanwhile.
    // So it does a TCP port whose rules are not in the kernel yet (an IP
    // just moved here, nft still running): its IP is announced once the
    // proxy listens, whatever nft's speed (a busy node took 1.3 s, and
    // clients were refused meanwhile), and the listener goes once the rules
    // are in (onApplied): new connections are then DNATed before reaching
    // it, open ones finish on it. UDP waits for its rules instead (whenServing):
    // a datagram the proxy took would keep its conntrack flow local after the
    // rules land. A port without endpoints gets no rule, and no listener
    // either: the kernel refuses its connections as the proxy would (standing
    // in for such ports kept 4,000 sockets open for 1,000 Services without
    // endpoints on a 4-worker node, for as long as they had none).
    const kernel = this.#kernel;
    const inKernel = plan.listeners.filter(forwardedByKernel);
    const fallback = kernel !== undefined && !kernel.usable();
    const inForce = new Set(kernel?.forwarding());
    const bridged = (l: ListenerSpec): boolean => kernel !== undefined && l.protocol === 'TCP' && !inForce.has(l.key) && kernel.wouldForward(l);
    const served = fallback ? plan.listeners : plan.listeners.filter((l) => !forwardedByKernel(l) || bridged(l));
    this.#publish({ listeners: served });
    kernel?.apply(inKernel);
    this.#kernelUdpIps = new Set(inKernel.filter((l) => l.protocol === 'UDP').map((l) => l.ip));
    this.#reportServiceProblems(plan.problems);
  }

  #applyDefaultCertificate(): void {
    const dc = this.#opts.defaultCertificate;
    const secrets = this.#secrets;
    if (dc === undefined || secrets === undefined) return;
    const secret = secrets.get(dc.slice(dc.indexOf('/') + 1), dc.slice(0, dc.indexOf('/')));
    const rv = secret?.metadata?.resourceVersion ?? '';
    if (rv === this.#defaultCertVersion) return;
    this.#defaultCertVersion = rv;
    const r = tlsPairFromSecret(dc, secret);
    try {
      if (!('pair' in r)) throw new Error(r.message);
      const info = checkCertificatePair(r.pair);
      this.#publish({ certificates: { default: { cert: r.pair.cert.toString('utf8'), key: r.pair.key.toString('utf8') } } });
      this.#log.info({ secret: dc, hosts: info.hosts, notAfter: info.notAfter.toISOString() }, 'default certificate loaded');
    } catch (err) {
      this.#log.warn({ secret: dc, err: (err as Error).message }, 'default certificate Secret unusable: keeping the current default certificate');
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
}

function endpointsUpdate(changes: ReadonlyMap<string, ServiceEndpointSets | undefined>): EndpointsUpdate {
  const out: Record<string, ServiceEndpointSets | null> = {};
  for (const [key, sets] of changes) out[key] = sets ?? null;
  return out;
}
