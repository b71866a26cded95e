// Keeps the listening sockets equal to the plan (listen-plan.ts): binds what
// is new, re-points what changed, unbinds what is gone. An unbound TCP
// listener stops accepting at once and lets its established connections run
// for a grace period before cutting them (ownership moved, or the Service or
// port went away). L4 listeners forward through the TCP/UDP forwarders to the
// Service port's endpoints; the ingress entrypoint's HTTP(S) listeners hand
// their sockets to the HTTP engine.
//
// One EndpointPicker per Service port, shared by that port's listeners on
// every IP (dual-stack Services share round robin and ClientIP affinity).
// The forwarders' picker takes no argument, but they call it synchronously
// inside handle() (TCP) and inside the socket's 'message' dispatch (UDP, our
// listener registered first), so the client address is passed beside it in
// `hint`; a retry after a failed attempt picks without it (round robin).

import dgram from 'node:dgram';
import net from 'node:net';
import type { Logger } from 'pino';
import { EndpointPicker } from '../endpoints/endpoint-picker.ts';
import { WeightedPicker, type ConnectionPicker } from '../endpoints/weighted-picker.ts';
import type { EndpointSource } from '../endpoints/endpoint-slots.ts';
import { TcpGuard, type TcpRelease } from '../http/tcp-guard.ts';
import { peekClientHello } from '../http/hello-peek.ts';
import { pipeToBackend, type TcpDial, type TcpPipeTarget } from '../http/tcp-pipe.ts';
import type { ConnectionInfo, HttpEntrypointApi } from '../http/types.ts';
import { TcpForwarder, type TcpFlowSummary } from '../l4/tcp-forwarder.ts';
import { UdpForwarder } from '../l4/udp-forwarder.ts';
import { sameL4Settings } from '../k8s/l4-annotations.ts';
import { admits, sourceAllowList } from '../k8s/source-ranges.ts';
import { DEFAULT_BIND_BACKOFF, type BindBackoff } from './bind-backoff.ts';
import { metricsPortOf, type ListenerSpec } from './listen-plan.ts';
import { type ListenerMetrics, type PortCounters } from './listener-metrics.ts';
import { ACCEPTS_WITH_NO_DELAY, TcpListener, type ListenerState, type SocketListenerHooks } from './tcp-listener.ts';
import { UdpListener } from './udp-listener.ts';
import { SniRoutes } from './sni-routes.ts';
import type { IdlePark } from './idle-park.ts';
import type { SharedInFlightCounts } from '../../ingress/runtime/shared-limits.ts';
import { DEFAULT_UNBIND_GRACE_MS } from './unbind-grace.ts';

export interface ListenerManagerOptions {
  readonly log: Logger;
  readonly metrics: ListenerMetrics;
  readonly endpoints: EndpointSource;
  /** The HTTP engine's entrypoints; without one, the entrypoint's ports are forwarded at L4. */
  readonly entrypoint?: (mode: 'http' | 'https') => HttpEntrypointApi | undefined;
  readonly backoff?: BindBackoff;
  /** How long established connections of an unbound listener may run. Default 30 s. */
  readonly unbindGraceMs?: number;
  /** Fraction of L4 connections logged when they end (info, msg "connection"). Default 0.01. */
  readonly accessLogSampleRate?: number;
  /**
   * The address actually dialled for an endpoint IP, for the TCP and UDP
   * forwarders alike (default: the IP itself). Where endpoints answer on
   * stand-in addresses: the API server refuses loopback addresses in
   * EndpointSlices, so API-level tests write 198.18.x.y there and serve it
   * on a 127.x stand-in.
   */
  readonly dialAddress?: (ip: string) => string;
  /** Bind with SO_REUSEPORT: set in proxy worker threads, which all bind the same addresses. */
  readonly reusePort?: boolean;
  /** Where entry-point routes count their clients' open connections (inFlightConn): shared by the node's workers. Default: this manager's own. */
  readonly tcpCounts?: SharedInFlightCounts;
  /** This thread's park for idle HTTP(S) connections; without it every connection keeps its socket. */
  readonly idlePark?: IdlePark;
}

/** At most one warning per listener this often about failing upstreams (the rest are counted). */
const UPSTREAM_WARN_INTERVAL_MS = 10_000;

interface SharedPicker {
  readonly picker: ConnectionPicker;
  /** The endpoint slots it holds, released with it. */
  readonly slots: ReadonlyArray<readonly [service: string, portName: string]>;
  refs: number;
}

interface Bound {
  spec: ListenerSpec;
  readonly tcp: TcpListener | undefined;
  readonly udp: UdpListener | undefined;
  /** Replaced when an entry point's route changes its Services. */
  shared: SharedPicker;
  readonly counters: PortCounters;
  /** The client address of the connection (datagram) being placed now. */
  hint: string | undefined;
  /** TCP L4: the forwarder for new connections, and older ones still holding flows. */
  forwarder: TcpForwarder | undefined;
  readonly retired: Set<TcpForwarder>;
  udpForwarder: UdpForwarder | undefined;
  /** Who may connect (spec.l4.sourceRanges); undefined: everybody. */
  allow: net.BlockList | undefined;
  /** And who the entry point's route lets in (its ipAllowList); undefined: everybody. */
  routeAllow: net.BlockList | undefined;
  /** The entry point's route's inFlightConn, per client IP; undefined: no limit. */
  routeInFlight: TcpGuard | undefined;
  /** The entry point's HostSNI(`name`) routes; undefined: none (no ClientHello is read). */
  sni: SniRoutes | undefined;
  lastWarnAt: number;
  suppressedWarnings: number;
}

export class ListenerManager {
  readonly #o: ListenerManagerOptions;
  readonly #log: Logger;
  readonly #bound = new Map<string, Bound>();
  readonly #pickers = new Map<string, SharedPicker>();
  /** Unbound listeners still letting their connections finish. */
  readonly #closing = new Set<Bound>();
  /** Per key: the close of a replaced listener, which a new bind on the same port waits for. */
  readonly #portFree = new Map<string, Promise<void>>();
  readonly #unbindGraceMs: number;
  readonly #sampleRate: number;
  #closed = false;

  constructor(opts: ListenerManagerOptions) {
    this.#o = opts;
    this.#log = opts.log;
    this.#unbindGraceMs = opts.unbindGraceMs ?? DEFAULT_UNBIND_GRACE_MS;
    this.#sampleRate = Math.min(1, Math.max(0, opts.accessLogSampleRate ?? 0.01));
  }

  /** Keys of listeners accepting now. */
  listening(): string[] {
    return [...this.#bound.values()].filter((b) => (b.tcp ?? b.udp)!.state === 'listening').map((b) => b.spec.key);
  }

  /** Keys of listeners whose bind is being retried. */
  waiting(): string[] {
    return [...this.#bound.values()].filter((b) => (b.tcp ?? b.udp)!.state === 'waiting').map((b) => b.spec.key);
  }

  /** TCP connections open on listeners (bound or being unbound). */
  openConnections(): number {
    let n = 0;
    for (const b of this.#bound.values()) n += b.tcp?.openSockets ?? 0;
    for (const b of this.#closing) n += b.tcp?.openSockets ?? 0;
    return n;
  }

  /** L4 TCP connections open now (HTTP sockets excluded: idle keep-alive ones say nothing about work in flight). */
  openL4Connections(): number {
    let n = 0;
    for (const b of this.#bound.values()) if (b.forwarder !== undefined) n += b.tcp?.openSockets ?? 0;
    for (const b of this.#closing) if (b.forwarder !== undefined) n += b.tcp?.openSockets ?? 0;
    return n;
  }

  /** Brings the listeners to the plan. */
  apply(specs: readonly ListenerSpec[]): void {
    if (this.#closed) return;
    const desired = new Map(specs.map((s) => [s.key, s]));
    for (const [key, b] of this.#bound) {
      if (!desired.has(key)) this.#unbind(b, 'no longer served here');
    }
    for (const spec of specs) {
      const b = this.#bound.get(spec.key);
      if (b === undefined) {
        this.#bind(spec);
      } else if (b.spec.service !== spec.service || b.spec.portName !== spec.portName || b.spec.mode !== spec.mode) {
        this.#unbind(b, 'Service port changed');
        this.#bind(spec);
      } else if (JSON.stringify(b.spec.route) !== JSON.stringify(spec.route)) {
        this.#rerouted(b, spec);
      } else if (!sameL4Settings(b.spec.l4, spec.l4)) {
        b.spec = spec;
        b.allow = sourceAllowList(spec.l4.sourceRanges);
        this.#resetForwarders(b);
        this.#log.info({ listener: spec.key, service: spec.service, settings: spec.l4 }, 'L4 settings changed: new connections use them');
      } else {
        b.spec = spec;
      }
    }
  }

  /**
   * Shutdown: stop accepting everywhere, let connections finish for up to
   * graceMs, then cut what is left. Returns how many were cut.
   */
  async close(graceMs: number): Promise<number> {
    this.#closed = true;
    const all = [...this.#bound.values()];
    this.#bound.clear();
    for (const b of all) this.#closing.add(b);
    await Promise.all(all.map((b) => this.#stopAccepting(b)));
    // Idle connections close at once on shutdown (the entrypoints' drain closes those holding sockets).
    for (const b of all) b.tcp?.closeParked();
    const everyone = [...this.#closing];
    const deadline = performance.now() + graceMs;
    await Promise.all(everyone.map((b) => b.tcp?.settled(Math.max(0, deadline - performance.now()))));
    let cut = 0;
    for (const b of everyone) {
      cut += b.tcp?.openSockets ?? 0;
      this.#cut(b);
    }
    return cut;
  }

  // ---- binding ----

  #bind(spec: ListenerSpec): void {
    const shared = this.#acquirePicker(spec);
    const m = this.#o.metrics;
    const portLabel = metricsPortOf(spec);
    const hooks: SocketListenerHooks = {
      onStateChange: (state, previous) => this.#countState(spec.mode, state, previous),
      onBindError: (code) => m.bindErrors.inc({ code }),
    };
    this.#countState(spec.mode, 'waiting', 'closed');
    const backoff = this.#o.backoff ?? DEFAULT_BIND_BACKOFF;
    const log = this.#log;
    let b: Bound;
    const base = {
      spec,
      shared,
      counters: m.acquirePort(spec.service, portLabel, spec.protocol),
      hint: undefined,
      forwarder: undefined,
      retired: new Set<TcpForwarder>(),
      udpForwarder: undefined,
      allow: sourceAllowList(spec.l4.sourceRanges),
      routeAllow: sourceAllowList(spec.route?.allow),
      routeInFlight: this.#routeGuard(spec),
      sni: this.#sniRoutes(spec),
      lastWarnAt: -Infinity,
      suppressedWarnings: 0,
    };
    if (spec.protocol === 'UDP') {
      const udp = new UdpListener({ ip: spec.ip, port: spec.port, key: spec.key, backoff, log, hooks, reusePort: this.#o.reusePort === true, onBound: (socket) => this.#attachUdp(b, socket) });
      b = { ...base, tcp: undefined, udp };
    } else {
      const entrypoint = spec.mode === 'l4' ? undefined : this.#o.entrypoint?.(spec.mode);
      const park = entrypoint !== undefined && this.#o.idlePark !== undefined ? this.#o.idlePark : undefined;
      let info: ConnectionInfo = { tls: spec.mode === 'https', localAddress: spec.ip, localPort: spec.port, noDelay: ACCEPTS_WITH_NO_DELAY };
      const tcp = new TcpListener(
        {
          ip: spec.ip,
          port: spec.port,
          key: spec.key,
          allowHalfOpen: true,
          backoff,
          log,
          hooks,
          reusePort: this.#o.reusePort === true,
          pauseOnConnect: entrypoint === undefined,
          // A client outside the source ranges is reset on accept, not parked first.
          ...(park !== undefined ? { park: { park, firstByteMs: entrypoint!.firstByteTimeoutMs, atAccept: () => b.allow === undefined && b.routeAllow === undefined } } : {}),
        },
        // A route may turn TLS on or off while bound: decided per connection.
        entrypoint === undefined
          ? (socket) => (b.sni !== undefined ? this.#forwardByName(b, b.sni, socket) : b.spec.route?.tls !== undefined ? this.#forwardTls(b, socket) : this.#forwardTcp(b, socket))
          : (socket) => (this.#admitted(b, socket) ? entrypoint.handle(socket, info) : undefined),
      );
      if (tcp.parkPlace !== undefined) info = { ...info, park: tcp.parkPlace };
      b = { ...base, tcp, udp: undefined };
      if (entrypoint === undefined) b.forwarder = this.#newTcpForwarder(b);
      if (entrypoint === undefined && spec.mode !== 'l4') {
        log.warn({ listener: spec.key }, 'no HTTP engine for the ingress entrypoint: forwarding its port at L4');
      }
    }
    this.#bound.set(spec.key, b);
    log.info({ listener: spec.key, service: spec.service, port: portLabel, mode: spec.mode, ...(spec.route ? { route: spec.route.origin } : {}) }, 'binding');
    // A listener just replaced on the same key frees the port first.
    const free = this.#portFree.get(spec.key);
    const start = () => {
      if (this.#bound.get(spec.key) === b) (b.tcp ?? b.udp)!.start();
    };
    if (free === undefined) start();
    else void free.then(start);
  }

  #unbind(b: Bound, why: string): void {
    const key = b.spec.key;
    if (this.#bound.get(key) === b) this.#bound.delete(key);
    this.#closing.add(b);
    this.#log.info({ listener: key, service: b.spec.service, why, open: b.tcp?.openSockets ?? 0 }, 'unbinding');
    const stopped = this.#stopAccepting(b);
    const freed = stopped.finally(() => {
      if (this.#portFree.get(key) === freed) this.#portFree.delete(key);
    });
    this.#portFree.set(key, freed);
    void stopped.then(async () => {
      if (b.tcp !== undefined && b.tcp.openSockets > 0) {
        const done = await b.tcp.settled(this.#unbindGraceMs);
        if (!done) this.#log.info({ listener: key, cut: b.tcp.openSockets, graceMs: this.#unbindGraceMs }, 'grace period over: cutting connections');
      }
      this.#cut(b);
    });
  }

  async #stopAccepting(b: Bound): Promise<void> {
    if (b.udp !== undefined) {
      b.udpForwarder?.close();
      b.udpForwarder = undefined;
      b.udp.close();
      return;
    }
    await b.tcp?.stopAccepting();
  }

  /** The entry point's HostSNI(`name`) routes made ready to serve; undefined when it has none. */
  #sniRoutes(spec: ListenerSpec): SniRoutes | undefined {
    const byName = spec.route?.byName;
    if (byName === undefined || byName.length === 0 || spec.protocol !== 'TCP') return undefined;
    return new SniRoutes(byName, this.#o.endpoints, spec.key, this.#o.tcpCounts);
  }

  /** The entry-point route's inFlightConn guard, counting under the listener and its limit: the same name in every worker. */
  #routeGuard(spec: ListenerSpec): TcpGuard | undefined {
    const max = spec.route?.maxConnections;
    if (!max) return undefined;
    return new TcpGuard({ maxConnections: max }, this.#o.tcpCounts ? { counts: this.#o.tcpCounts, id: `${spec.key}\u0000${max}` } : undefined);
  }

  /**
   * An entry point's route changed (Services, weights, guards, TLS): the
   * listener stays bound, so no client is refused meanwhile (a rebind left
   * the port closed until the old socket was gone). Open connections keep
   * their backend and their place under the old inFlightConn; new ones
   * follow the new route.
   */
  #rerouted(b: Bound, spec: ListenerSpec): void {
    const before = b.spec.route;
    const oldShared = b.shared;
    const oldKey = pickerKeyOf(b.spec);
    b.spec = spec;
    b.routeAllow = sourceAllowList(spec.route?.allow);
    if (before?.maxConnections !== spec.route?.maxConnections) b.routeInFlight = this.#routeGuard(spec);
    // Connections already handed on keep their pickers; new ones follow the new routes.
    const oldSni = b.sni;
    b.sni = this.#sniRoutes(spec);
    oldSni?.release();
    // The new picker first: slots both routes use stay held throughout.
    b.shared = this.#acquirePicker(spec);
    this.#releasePicker(oldShared, oldKey);
    this.#resetForwarders(b);
    this.#log.info({ listener: spec.key, route: spec.route?.origin }, 'entry point route changed: new connections follow it');
  }

  #releasePicker(shared: SharedPicker, key: string): void {
    if (--shared.refs !== 0) return;
    if (this.#pickers.get(key) === shared) this.#pickers.delete(key);
    for (const [service, portName] of shared.slots) this.#o.endpoints.releaseSlot(service, portName);
  }

  /** Ends everything of an unbound listener and releases its picker. */
  #cut(b: Bound): void {
    if (!this.#closing.delete(b)) return;
    b.forwarder?.closeAll();
    for (const f of b.retired) f.closeAll();
    b.retired.clear();
    b.tcp?.destroySockets();
    b.sni?.release();
    b.sni = undefined;
    this.#releasePicker(b.shared, pickerKeyOf(b.spec));
    this.#o.metrics.releasePort(b.spec.service, metricsPortOf(b.spec), b.spec.protocol);
  }

  /**
   * The picker of a listener: shared by the listeners of one Service port
   * (one round robin, one affinity table, as kube-proxy has), or a routed
   * entrypoint port's own over its route's Services by weight.
   */
  #acquirePicker(spec: ListenerSpec): SharedPicker {
    const key = pickerKeyOf(spec);
    let shared = this.#pickers.get(key);
    if (shared === undefined) {
      const slots = spec.route ? spec.route.targets.map((t) => [t.service, t.portName] as const) : [[spec.service, spec.portName] as const];
      const pickers = slots.map(([service, portName]) => new EndpointPicker(this.#o.endpoints.slot(service, portName)));
      const picker = spec.route ? new WeightedPicker(pickers, spec.route.targets.map((t) => t.weight)) : pickers[0]!;
      shared = { picker, slots, refs: 0 };
      this.#pickers.set(key, shared);
    }
    shared.refs++;
    return shared;
  }

  #countState(mode: string, state: ListenerState, previous: ListenerState): void {
    const g = this.#o.metrics.listeners;
    if (previous !== 'closed') g.dec({ mode, state: previous });
    if (state !== 'closed') g.inc({ mode, state });
  }

  /** loadBalancerSourceRanges: a client outside them is reset at once (the kernel rules drop its packets instead). */
  #admitted(b: Bound, socket: net.Socket): boolean {
    if (admits(b.allow, socket.remoteAddress) && admits(b.routeAllow, socket.remoteAddress)) return true;
    b.counters.sourceDenied.inc();
    socket.resetAndDestroy();
    return false;
  }

  // ---- L4 TCP ----

  /** Returns the socket the flow reads (it may have adopted the accepted one's connection). */
  #forwardTcp(b: Bound, socket: net.Socket): net.Socket | void {
    const f = b.forwarder;
    if (f === undefined) {
      socket.destroy();
      return;
    }
    if (!this.#admitted(b, socket)) return;
    let release: TcpRelease | undefined;
    if (b.routeInFlight !== undefined) {
      release = b.routeInFlight.admit(socket.remoteAddress);
      if (release === undefined) {
        // Traefik's inFlightConn closes a connection over its client's limit.
        socket.destroy();
        return;
      }
    }
    b.counters.connections.inc();
    b.counters.active.inc();
    b.hint = socket.remoteAddress;
    try {
      const client = f.handle(socket).client;
      if (release !== undefined) client.once('close', release);
      return client;
    } finally {
      b.hint = undefined;
    }
  }

  /**
   * An entry point's route with tls: the HTTPS engine terminates it (its
   * certificates and TLS policy) and the plaintext is piped to one of the
   * route's Services, by weight; the route's guards as without tls.
   */
  #forwardTls(b: Bound, socket: net.Socket): void {
    if (!this.#admitted(b, socket)) return;
    b.counters.connections.inc();
    this.#terminateTo(b, socket, b.spec.route!.tls?.secretKey, this.#catchAllTarget(b), b.spec.route!.origin);
  }

  /** The catch-all route's Services (HostSNI(`*`)) and its inFlightConn, for a pipe. */
  #catchAllTarget(b: Bound): TcpPipeTarget {
    const picker = b.shared.picker;
    return { backend: { name: b.spec.route!.origin, pick: (ip: string) => picker.pick(ip) }, ...(b.routeInFlight !== undefined ? { guard: b.routeInFlight } : {}) };
  }

  #terminateTo(b: Bound, socket: net.Socket, secretKey: string | undefined, target: TcpPipeTarget, origin: string): void {
    const engine = this.#o.entrypoint?.('https');
    if (engine?.terminateTcpTls === undefined) {
      this.#log.warn({ listener: b.spec.key, route: origin }, 'no HTTPS engine to terminate TLS on this entry point: connection closed');
      socket.destroy();
      return;
    }
    engine.terminateTcpTls(socket, secretKey, (plain) => pipeToBackend(plain, undefined, target, this.#log, origin, this.#pipeDial()));
  }

  #pipeDial(): TcpDial | undefined {
    return this.#o.dialAddress !== undefined ? this.#dialTcp(this.#o.dialAddress) : undefined;
  }

  /**
   * An entry point with HostSNI(`name`) routes: the ClientHello's server
   * name picks the route; TLS is then passed through untouched or
   * terminated here, as that route says. A connection naming no route (or
   * not TLS at all) goes to the HostSNI(`*`) route as usual, and is closed
   * when there is none, as Traefik does. The Service's source ranges are
   * checked on accept, before any byte is read.
   */
  #forwardByName(b: Bound, sni: SniRoutes, socket: net.Socket): void {
    if (!admits(b.allow, socket.remoteAddress)) {
      b.counters.sourceDenied.inc();
      socket.resetAndDestroy();
      return;
    }
    peekClientHello(socket, (hello) => {
      if (socket.destroyed) return;
      const named = hello.sni !== undefined ? sni.get(hello.sni) : undefined;
      if (named !== undefined) {
        b.counters.connections.inc();
        const { route, picker, guard } = named;
        const target: TcpPipeTarget = { backend: { name: route.origin, pick: (ip: string) => picker.pick(ip) }, ...(guard !== undefined ? { guard } : {}) };
        if (route.tls === 'passthrough') return pipeToBackend(socket, hello.bytes, target, this.#log, route.origin, this.#pipeDial());
        socket.unshift(hello.bytes);
        return this.#terminateTo(b, socket, route.tls.secretKey, target, route.origin);
      }
      const route = b.spec.route;
      if (route === undefined || route.targets.length === 0) {
        this.#log.debug({ listener: b.spec.key, sni: hello.sni ?? null }, 'no route for this server name on the entry point: connection closed');
        socket.destroy();
        return;
      }
      if (!this.#admitted(b, socket)) return;
      b.counters.connections.inc();
      if (route.tls === undefined) return pipeToBackend(socket, hello.bytes, this.#catchAllTarget(b), this.#log, route.origin, this.#pipeDial());
      socket.unshift(hello.bytes);
      this.#terminateTo(b, socket, route.tls.secretKey, this.#catchAllTarget(b), route.origin);
    });
  }

  #newTcpForwarder(b: Bound): TcpForwarder {
    const s = b.spec.l4;
    const c = b.counters;
    const picker = b.shared.picker;
    const forwarder: TcpForwarder = new TcpForwarder({
      pick: () => picker.pick(b.hint),
      connectTimeoutMs: s.connectTimeoutMs,
      maxAttempts: s.connectAttempts,
      idleTimeoutMs: s.idleTimeoutMs,
      acceptedNoDelay: ACCEPTS_WITH_NO_DELAY,
      ...(s.proxyProtocol !== undefined ? { proxyProtocol: s.proxyProtocol } : {}),
      ...(this.#o.dialAddress !== undefined ? { connect: this.#dialTcp(this.#o.dialAddress) } : {}),
      hooks: {
        onConnectFailed: () => c.attemptFailed.inc(),
        onClosed: (summary) => {
          c.active.dec();
          c.bytesFromClient.inc(summary.bytesFromClient);
          c.bytesFromUpstream.inc(summary.bytesFromUpstream);
          this.#flowEnded(b, summary);
          if (forwarder !== b.forwarder && forwarder.activeFlows === 0) b.retired.delete(forwarder);
        },
      },
    });
    return forwarder;
  }

  #resetForwarders(b: Bound): void {
    if (b.tcp !== undefined && b.forwarder !== undefined) {
      const old = b.forwarder;
      b.forwarder = this.#newTcpForwarder(b);
      if (old.activeFlows > 0) b.retired.add(old);
    }
    if (b.udp !== undefined && b.udpForwarder !== undefined) {
      const socket = b.udp.socket;
      b.udpForwarder.close();
      b.udpForwarder = undefined;
      if (socket !== undefined) this.#newUdpForwarder(b, socket);
    }
  }

  #flowEnded(b: Bound, s: TcpFlowSummary): void {
    const c = b.counters;
    switch (s.reason) {
      case 'no-endpoint':
        c.noEndpoint.inc();
        this.#warnUpstream(b, 'no ready endpoint: connection refused', s);
        return;
      case 'connect-failed':
        c.connectFailed.inc();
        this.#warnUpstream(b, 'every connect attempt failed: connection closed', s);
        return;
      case 'upstream-error':
        c.upstreamError.inc();
        break;
    }
    if (this.#sampleRate > 0 && Math.random() < this.#sampleRate) {
      this.#log.info(
        {
          listener: b.spec.key,
          service: b.spec.service,
          client: `${s.client.ip}:${s.client.port}`,
          endpoint: s.endpoint === undefined ? undefined : `${s.endpoint.ip}:${s.endpoint.port}`,
          reason: s.reason,
          bytesIn: s.bytesFromClient,
          bytesOut: s.bytesFromUpstream,
          durationMs: Math.round(s.durationMs),
        },
        'connection',
      );
    }
  }

  #warnUpstream(b: Bound, msg: string, s: TcpFlowSummary): void {
    const now = performance.now();
    if (now - b.lastWarnAt < UPSTREAM_WARN_INTERVAL_MS) {
      b.suppressedWarnings++;
      return;
    }
    const suppressed = b.suppressedWarnings;
    b.lastWarnAt = now;
    b.suppressedWarnings = 0;
    this.#log.warn(
      { listener: b.spec.key, service: b.spec.service, port: b.spec.portName, attempts: s.attempts, err: s.error?.message, similarSinceLastWarning: suppressed },
      msg,
    );
  }

  // ---- L4 UDP ----

  #attachUdp(b: Bound, socket: dgram.Socket): void {
    // Registered before the forwarder's own listener: runs first for each datagram.
    socket.on('message', (_msg: Buffer, rinfo: dgram.RemoteInfo) => {
      b.hint = rinfo.address;
    });
    this.#newUdpForwarder(b, socket);
  }

  #newUdpForwarder(b: Bound, socket: dgram.Socket): void {
    const c = b.counters;
    const picker = b.shared.picker;
    b.udpForwarder = new UdpForwarder({
      socket,
      pick: () => picker.pick(b.hint),
      idleTimeoutMs: b.spec.l4.udpIdleTimeoutMs,
      ...(b.allow !== undefined || b.routeAllow !== undefined ? { admit: (address: string) => admits(b.allow, address) && admits(b.routeAllow, address) } : {}),
      ...(this.#o.dialAddress !== undefined ? { upstreamAddress: this.#o.dialAddress } : {}),
      hooks: {
        onFlowOpened: () => c.connections.inc(),
        onFlowClosed: (_client, _endpoint, _reason, stats) => {
          c.bytesFromClient.inc(stats.bytesFromClient);
          c.bytesFromUpstream.inc(stats.bytesFromUpstream);
        },
        onDropped: (reason) => {
          if (reason === 'no-endpoint') c.noEndpoint.inc();
          else if (reason === 'source-denied') c.sourceDenied.inc();
          else c.udpDropped.inc();
        },
      },
    });
  }

  // ---- dialling a mapped address (see dialAddress) ----

  #dialTcp(map: (ip: string) => string): (e: { ip: string; port: number }, onread?: net.OnReadOpts) => net.Socket {
    return (e, onread) => net.connect({ host: map(e.ip), port: e.port, allowHalfOpen: true, noDelay: true, ...(onread !== undefined ? { onread } : {}) });
  }
}

/** Listeners of one Service port share a picker; a routed entrypoint port has its own, per set of targets. */
function pickerKeyOf(spec: ListenerSpec): string {
  return spec.route ? `route\u0000${spec.key}\u0000${JSON.stringify(spec.route.targets)}` : `${spec.service}\u0000${spec.portName}`;
}
