// Metrics of the listeners and the L4 forwarding, registered in the process'
// registry (the speaker's: speaker and proxy share one process and one
// /metrics). The per connection counters are plain numbers: prom-client's
// label children hash and validate their labels on every inc(), about ten
// times per short connection; here each connection adds to a field, and a
// metric's collect() (run when /metrics is read) moves the sums in.
import { Counter, Gauge, type Registry } from '../../common/prom-classes.ts';

/** What a prom-client label child offers: inc by a delta. */
interface LabelChild {
  inc(n: number): void;
}

/** A count kept in a plain number until the next scrape. */
class PendingCount {
  n = 0;
  /** Whether anything was ever counted here (a series never used may go with its listeners). */
  used = false;
  readonly child: LabelChild;

  constructor(child: LabelChild) {
    this.child = child;
    // The series exists from the start, at 0: a gauge that is back to 0 at
    // scrape time, or a counter nothing counted yet, still shows.
    child.inc(0);
  }

  inc(n = 1): void {
    this.n += n;
    this.used = true;
  }

  dec(n = 1): void {
    this.n -= n;
    this.used = true;
  }

  /** Moves the sum into prom-client (gauges take negative deltas). */
  flush(): void {
    const n = this.n;
    if (n === 0) return;
    this.n = 0;
    this.child.inc(n);
  }
}

export type UpstreamErrorReason =
  /** One connect attempt failed (another endpoint may be tried). */
  | 'connect_attempt_failed'
  /** Every attempt of a connection failed. */
  | 'connect_failed'
  /** No endpoint to send the connection (or UDP flow) to. */
  | 'no_endpoint'
  /** The upstream connection broke after it was established. */
  | 'upstream_error'
  /** UDP datagrams not forwarded (flow table full, send error, queue full). */
  | 'udp_dropped';

export class ListenerMetrics {
  readonly connections: Counter<'service' | 'port' | 'protocol'>;
  readonly activeConnections: Gauge<'service' | 'port' | 'protocol'>;
  readonly bytes: Counter<'service' | 'port' | 'protocol' | 'direction'>;
  readonly upstreamErrors: Counter<'service' | 'port' | 'protocol' | 'reason'>;
  readonly sourceDenied: Counter<'service' | 'port' | 'protocol'>;
  readonly listeners: Gauge<'mode' | 'state'>;
  readonly bindErrors: Counter<'code'>;
  readonly parkedConnections: Gauge;
  /** Where the parked connections are counted (the thread's IdlePark); undefined: none are. */
  #parked: (() => number) | undefined;
  /** Per connection counts waiting for the next collect(). */
  readonly #pending = new Map<string, PendingCount>();
  /** The counters of each Service port with a listener here, and how many listeners share them. */
  readonly #ports = new Map<string, { counters: PortCounters; parts: Array<{ key: string; drop: () => void }>; refs: number }>();
  /** Other counts of connections, read when `connections` is collected (kernel forwarding's counters). */
  readonly #connectionSources: Array<(into: Counter<'service' | 'port' | 'protocol'>) => Promise<void>> = [];

  constructor(registry: Registry) {
    const registers = [registry];
    const pending = this.#pending;
    // Any of the four metrics being read flushes all of them: one pass, and
    // a scrape sees counts taken at the same moment.
    const collect = (): void => {
      for (const p of pending.values()) p.flush();
    };
    const sources = this.#connectionSources;
    this.connections = new Counter({
      name: 'metalgate_proxy_l4_connections_total',
      help: 'L4 connections accepted (TCP) or flows opened (UDP), per Service port; by the proxy or by kernel forwarding rules.',
      labelNames: ['service', 'port', 'protocol'],
      registers,
      async collect() {
        collect();
        await Promise.all(sources.map((read) => read(this)));
      },
    });
    this.activeConnections = new Gauge({
      name: 'metalgate_proxy_l4_active_connections',
      help: 'L4 TCP connections open now, per Service port.',
      labelNames: ['service', 'port', 'protocol'],
      registers,
      collect,
    });
    this.bytes = new Counter({
      name: 'metalgate_proxy_l4_bytes_total',
      help: 'Bytes forwarded, counted when a TCP connection or UDP flow ends; direction from_client or from_upstream.',
      labelNames: ['service', 'port', 'protocol', 'direction'],
      registers,
      collect,
    });
    this.upstreamErrors = new Counter({
      name: 'metalgate_proxy_l4_upstream_errors_total',
      help: 'L4 upstream failures: connect_attempt_failed, connect_failed, no_endpoint, upstream_error, udp_dropped.',
      labelNames: ['service', 'port', 'protocol', 'reason'],
      registers,
      collect,
    });
    this.sourceDenied = new Counter({
      name: 'metalgate_proxy_source_denied_total',
      help: 'Connections (TCP, reset at once) and new UDP flows refused because the client is outside the Service\'s loadBalancerSourceRanges, per Service port.',
      labelNames: ['service', 'port', 'protocol'],
      registers,
      collect,
    });
    this.listeners = new Gauge({
      name: 'metalgate_proxy_listeners',
      help: 'Listening sockets on owned IPs by mode (l4, http, https) and state (listening, waiting: bind being retried).',
      labelNames: ['mode', 'state'],
      registers,
    });
    this.bindErrors = new Counter({
      name: 'metalgate_proxy_bind_errors_total',
      help: 'Failed binds of IP:port (retried with backoff), by error code.',
      labelNames: ['code'],
      registers,
    });
    const parked = (): number => this.#parked?.() ?? 0;
    this.parkedConnections = new Gauge({
      name: 'metalgate_proxy_parked_connections',
      help: 'Idle HTTP(S) client connections parked in the kernel until they send (no socket held for them; not in metalgate_http_open_connections).',
      registers,
      collect() {
        this.set(parked());
      },
    });
  }

  /** The parked connections are counted by `read` (the thread's IdlePark). */
  countParkedWith(read: () => number): void {
    this.#parked = read;
  }

  /** Counts of connections made elsewhere (kernel forwarding), added when `connections` is collected. */
  addConnectionSource(read: (into: Counter<'service' | 'port' | 'protocol'>) => Promise<void>): void {
    this.#connectionSources.push(read);
  }

  /**
   * The counters of one Service port, for a listener bound now: shared by
   * its listeners (one label set however often they are bound again).
   * Give them back with releasePort when the listener is gone.
   */
  acquirePort(service: string, port: string, protocol: string): PortCounters {
    const portKey = `${service}\u0000${port}\u0000${protocol}`;
    let held = this.#ports.get(portKey);
    if (held === undefined) {
      const parts: Array<{ key: string; drop: () => void }> = [];
      const count = (metric: Counter<string> | Gauge<string>, name: string, ...labels: string[]): PendingCount => {
        const key = `${name}\u0000${labels.join('\u0000')}`;
        parts.push({ key, drop: () => metric.remove(...labels) });
        return this.#pendingFor(key, metric, labels);
      };
      const err = (reason: UpstreamErrorReason) => count(this.upstreamErrors, 'upstreamErrors', service, port, protocol, reason);
      const counters: PortCounters = {
        // Not dropped with the others: kernel forwarding's counts may be in the same series.
        connections: this.#pendingFor(`connections\u0000${portKey}`, this.connections, [service, port, protocol]),
        active: count(this.activeConnections, 'active', service, port, protocol),
        bytesFromClient: count(this.bytes, 'bytes', service, port, protocol, 'from_client'),
        bytesFromUpstream: count(this.bytes, 'bytes', service, port, protocol, 'from_upstream'),
        attemptFailed: err('connect_attempt_failed'),
        connectFailed: err('connect_failed'),
        noEndpoint: err('no_endpoint'),
        upstreamError: err('upstream_error'),
        udpDropped: err('udp_dropped'),
        sourceDenied: count(this.sourceDenied, 'sourceDenied', service, port, protocol),
      };
      held = { counters, parts, refs: 0 };
      this.#ports.set(portKey, held);
    }
    held.refs++;
    return held.counters;
  }

  /**
   * A listener of the Service port is gone. With the last one, series that
   * never counted anything go too: a node holds a listener for every Service
   * port only while its kernel rules are on their way (or while it owns the
   * IP), and 1,000 Service ports left 10,000 zero series in each worker.
   * Series that counted stay: a sum over threads that lost one would look
   * like a counter reset.
   */
  releasePort(service: string, port: string, protocol: string): void {
    const portKey = `${service}\u0000${port}\u0000${protocol}`;
    const held = this.#ports.get(portKey);
    if (held === undefined || --held.refs > 0) return;
    this.#ports.delete(portKey);
    for (const { key, drop } of held.parts) {
      const p = this.#pending.get(key);
      if (p === undefined || p.used) continue;
      this.#pending.delete(key);
      drop();
    }
  }

  /** A plain-number count for one label set, flushed on collect. */
  #pendingFor(key: string, metric: Counter<string> | Gauge<string>, labels: readonly string[]): PendingCount {
    let p = this.#pending.get(key);
    if (p === undefined) {
      p = new PendingCount(metric.labels(...labels));
      this.#pending.set(key, p);
    }
    return p;
  }
}

/** The counters of one Service port, resolved once. */
export interface PortCounters {
  readonly connections: { inc(): void };
  readonly active: { inc(): void; dec(): void };
  readonly bytesFromClient: { inc(n: number): void };
  readonly bytesFromUpstream: { inc(n: number): void };
  readonly attemptFailed: { inc(): void };
  readonly connectFailed: { inc(): void };
  readonly noEndpoint: { inc(): void };
  readonly upstreamError: { inc(): void };
  readonly udpDropped: { inc(): void };
  readonly sourceDenied: { inc(): void };
}
