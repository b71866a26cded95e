// The serving half of the proxy: it materializes the node's configuration
// (plain data, config/proxy-config.ts) into sockets and engines - L4
// listeners and forwarders, the HTTP entrypoints' route tables (through the
// rule engine's RuntimeFactory), endpoint slots, certificates - and serves.
// It holds no API connection: the speaker's thread builds the configuration
// from its cluster view and either hands it to the runtime on the same
// thread or posts it to worker threads, which run only this.
//
// Each update applies in one event-loop turn: requests in flight finish on
// the route table they were routed with, connections on the endpoint set
// they were placed with.

import type { Logger } from 'pino';
import { performance } from 'node:perf_hooks';
import type { Registry } from 'prom-client';
import { FlaggerMetrics } from '../ingress/runtime/flagger-metrics.ts';
import { RouteTables } from '../ingress/runtime/route-tables.ts';
import { RuntimeFactory } from '../ingress/runtime/runtime-target.ts';
import { allocateSharedLimits, sharedLimitsOf, type SharedLimits, type SharedLimitsMemory } from '../ingress/runtime/shared-limits.ts';
import type { ProxyConfigUpdate } from './config/proxy-config.ts';
import { EndpointSlots } from './endpoints/endpoint-slots.ts';
import type { PassthroughHost } from '../ingress/compile/route-wire.ts';
import { TcpGuard } from './http/tcp-guard.ts';
import type { CertificateStoreApi, HttpEntrypointApi, TcpTarget } from './http/types.ts';
import { weightedTcpBackend } from './http/weighted-tcp-backend.ts';
import { ServiceBackends } from './k8s/service-backends.ts';
import type { BindBackoff } from './listeners/bind-backoff.ts';
import { IdlePark } from './listeners/idle-park.ts';
import { ListenerManager } from './listeners/listener-manager.ts';
import type { ListenerMetrics } from './listeners/listener-metrics.ts';

/** The L7 engine's pieces the runtime feeds (built by http-engine.ts, or by a test). */
export interface ProxyHttpEngine {
  readonly web: HttpEntrypointApi;
  readonly websecure: HttpEntrypointApi;
  readonly certificates: CertificateStoreApi;
}

export interface ProxyRuntimeOptions {
  readonly log: Logger;
  readonly metrics: ListenerMetrics;
  /** The L7 engine; without it the entrypoint's ports are plain L4. */
  readonly http?: ProxyHttpEngine;
  readonly unbindGraceMs: number;
  readonly drainGraceMs: number;
  readonly accessLogSampleRate: number;
  readonly bindBackoff?: BindBackoff;
  /** Bind with SO_REUSEPORT (this is one of several worker threads). */
  readonly reusePort: boolean;
  /** Where a connection to an endpoint IP really goes (default: that IP). */
  readonly dialAddress?: (ip: string) => string;
  /** Register the Flagger-compatible series here. */
  readonly flaggerMetrics?: Registry;
  /** The rate and in-flight limits' tables, shared with the node's other worker threads (default: this runtime's own). */
  readonly sharedLimits?: SharedLimitsMemory;
  /** Park idle HTTP(S) connections in the kernel (listeners/idle-park.ts). Default true; without the native addon nothing is parked. */
  readonly parkIdle?: boolean;
}

export class ProxyRuntime {
  readonly endpoints = new EndpointSlots();
  readonly backends: ServiceBackends;
  readonly #o: ProxyRuntimeOptions;
  /** The rate and in-flight counts (HTTP middlewares and TCP routes' inFlightConn), shared with the node's other workers. */
  readonly #limits: SharedLimits;
  /** The guards of TCP routes with middlewares, by route and limits. */
  #guards = new Map<string, TcpGuard>();
  readonly #listeners: ListenerManager;
  readonly #tables: RouteTables | undefined;
  /** This thread's idle connections' park (one runtime per thread). */
  readonly #park: IdlePark | undefined;
  #stopping = false;

  constructor(o: ProxyRuntimeOptions) {
    this.#o = o;
    const limitsMemory = o.sharedLimits ?? allocateSharedLimits();
    this.#limits = sharedLimitsOf(limitsMemory);
    const http = o.http;
    this.#park = http !== undefined && o.parkIdle !== false ? IdlePark.open(o.log) : undefined;
    const park = this.#park;
    if (park !== undefined) o.metrics.countParkedWith(() => park.size);
    this.#listeners = new ListenerManager({
      log: o.log,
      metrics: o.metrics,
      endpoints: this.endpoints,
      ...(http ? { entrypoint: (mode: 'http' | 'https') => (mode === 'http' ? http.web : http.websecure) } : {}),
      ...(o.bindBackoff ? { backoff: o.bindBackoff } : {}),
      unbindGraceMs: o.unbindGraceMs,
      accessLogSampleRate: o.accessLogSampleRate,
      ...(o.dialAddress ? { dialAddress: o.dialAddress } : {}),
      reusePort: o.reusePort,
      tcpCounts: this.#limits.inFlight,
      ...(this.#park ? { idlePark: this.#park } : {}),
    });
    this.backends = new ServiceBackends(this.endpoints, o.dialAddress);
    if (http) {
      const factory = new RuntimeFactory(this.backends, {
        ...(o.flaggerMetrics ? { flaggerMetrics: new FlaggerMetrics(o.flaggerMetrics) } : {}),
        sharedLimits: limitsMemory,
      });
      this.#tables = new RouteTables(factory.materialize);
    }
  }

  get certificates(): CertificateStoreApi | undefined {
    return this.#o.http?.certificates;
  }

  apply(u: ProxyConfigUpdate): void {
    if (this.#stopping) return;
    const started = performance.now();
    if (u.endpoints !== undefined || u.reset) this.#applyEndpoints(u);
    if (u.certificates !== undefined || u.reset) this.#applyCertificates(u);
    if (u.routes !== undefined && this.#tables && this.#o.http) {
      const { router, errors } = this.#tables.apply(u.routes);
      for (const e of errors) this.#o.log.error({ route: e.id, err: e.error }, 'route left out: it does not compile here');
      this.#o.http.web.setRouter(router);
      this.#o.http.websecure.setRouter(router);
      const hosts = u.routes.passthrough;
      if (hosts !== undefined || u.reset) {
        this.#o.http.websecure.setPassthrough?.(this.#tcpTargets('passthrough', hosts ?? []));
      }
      const tcp = u.routes.tcpHosts;
      if (tcp !== undefined || u.reset) this.#o.http.websecure.setTcpHosts?.(this.#tcpTargets('terminated', tcp ?? []));
      const hostTls = u.routes.hostTls;
      if (hostTls !== undefined || u.reset) this.#o.http.websecure.setHostTls?.(new Map((hostTls ?? []).map(({ host, ...settings }) => [host, settings])));
    }
    if (u.listeners !== undefined) this.#listeners.apply(u.listeners);
    this.#o.log.debug({ version: u.version, reset: u.reset === true, ms: Math.round((performance.now() - started) * 100) / 100 }, 'configuration applied');
  }

  #applyEndpoints(u: ProxyConfigUpdate): void {
    const named = u.endpoints ?? {};
    if (u.reset) for (const key of [...this.endpoints.serviceKeys()]) if (!(key in named)) this.endpoints.setService(key, undefined);
    for (const [key, sets] of Object.entries(named)) {
      this.endpoints.setService(key, sets === null ? undefined : sets);
    }
    this.backends.refresh();
  }

  /** TCP routes' targets; a route's guard is kept while its limits are the same, so its open-connection count survives updates. */
  #tcpTargets(kind: string, hosts: readonly PassthroughHost[]): Map<string, TcpTarget> {
    const guards = new Map<string, TcpGuard>();
    const out = new Map<string, TcpTarget>();
    for (const h of hosts) {
      const backend = h.weighted ? weightedTcpBackend(h.weighted.map((t) => this.backends.get(t.ref)), h.weighted.map((t) => t.weight)) : this.backends.get(h.ref);
      if (h.allow === undefined && h.maxConnections === undefined) {
        out.set(h.host, { backend });
        continue;
      }
      const key = `${kind}\u0000${h.host}\u0000${JSON.stringify([h.allow ?? null, h.maxConnections ?? null])}`;
      let guard = this.#guards.get(key);
      if (guard === undefined) {
        try {
          guard = new TcpGuard({ ...(h.allow ? { allow: h.allow } : {}), ...(h.maxConnections ? { maxConnections: h.maxConnections } : {}) }, { counts: this.#limits.inFlight, id: key });
        } catch (err) {
          // Checked by the translator; a list that still does not parse admits nobody.
          this.#o.log.warn({ host: h.host, err: (err as Error).message }, 'TCP route limits unusable: its connections are refused');
          guard = new TcpGuard({ allow: [] });
        }
      }
      guards.set(key, guard);
      out.set(h.host, { backend, guard });
    }
    // Guards of routes gone or changed are dropped with them.
    if (kind === 'terminated' || kind === 'passthrough') {
      for (const k of [...this.#guards.keys()]) if (k.startsWith(`${kind}\u0000`) && !guards.has(k)) this.#guards.delete(k);
    }
    for (const [k, g] of guards) this.#guards.set(k, g);
    return out;
  }

  #applyCertificates(u: ProxyConfigUpdate): void {
    const store = this.#o.http?.certificates;
    if (store === undefined) return;
    const c = u.certificates ?? {};
    if (u.reset) for (const key of store.keys()) if (!(key in (c.set ?? {}))) store.delete(key);
    for (const key of c.remove ?? []) store.delete(key);
    for (const [key, pem] of Object.entries(c.set ?? {})) {
      try {
        store.set(key, { cert: Buffer.from(pem.cert), key: Buffer.from(pem.key) });
      } catch (err) {
        this.#o.log.warn({ secret: key, err: (err as Error).message }, 'certificate unusable here: the default certificate serves its hosts');
      }
    }
    // null: the built-in one, which a fresh store has; a default once loaded stays until another replaces it.
    if (c.default) {
      try {
        store.setDefault({ cert: Buffer.from(c.default.cert), key: Buffer.from(c.default.key) });
      } catch (err) {
        this.#o.log.warn({ err: (err as Error).message }, 'default certificate unusable here: keeping the current one');
      }
    }
  }

  /** Listeners accepting now ("TCP 198.18.0.200:80", ...). */
  listening(): string[] {
    return this.#listeners.listening();
  }

  /** Listeners whose bind is being retried. */
  waiting(): string[] {
    return this.#listeners.waiting();
  }

  openConnections(): number {
    return this.#listeners.openConnections();
  }

  /** L4 connections open plus HTTP requests in flight: the work a shutdown would interrupt. */
  busy(): number {
    const http = this.#o.http;
    const requests = http ? http.web.stats().inFlightRequests + http.websecure.stats().inFlightRequests : 0;
    return this.#listeners.openL4Connections() + requests;
  }

  /**
   * The first step of a shutdown, while this node still owns its IPs: keep
   * serving (refusing new connections now would only fail them) and wait
   * until no L4 connection is open and no HTTP request is in flight, or
   * graceMs. Returns what is still busy.
   */
  async settle(graceMs = this.#o.drainGraceMs): Promise<number> {
    const deadline = performance.now() + graceMs;
    let busy = this.busy();
    if (busy > 0) this.#o.log.info({ busy, graceMs }, 'letting in-flight work finish before the handover');
    while (busy > 0 && performance.now() < deadline) {
      await new Promise((r) => setTimeout(r, Math.min(50, Math.max(1, deadline - performance.now()))));
      busy = this.busy();
    }
    if (busy > 0) this.#o.log.info({ busy }, 'grace period over: handing over with work in flight');
    return busy;
  }

  /** Stop accepting everywhere, let in-flight connections and requests finish for up to graceMs, cut the rest. */
  async stop(graceMs = this.#o.drainGraceMs): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    const open = this.#listeners.openConnections();
    const http = this.#o.http;
    const [cut] = await Promise.all([this.#listeners.close(graceMs), http?.web.drain(graceMs), http?.websecure.drain(graceMs)]);
    this.#park?.close();
    this.#o.log.info({ openAtStart: open, cut, graceMs }, 'proxy drained');
  }
}
