// Metrics of the listeners and the L4 forwarding, registered in the process'
// registry (the speaker's: speaker and proxy share one process and one
// /metrics). Label children are resolved once per listener, so the per
// connection cost is an increment, not a label lookup.
import { Counter, Gauge, type Registry } from 'prom-client';

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
  readonly listeners: Gauge<'mode' | 'state'>;
  readonly bindErrors: Counter<'code'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.connections = new Counter({
      name: 'metalgate_proxy_l4_connections_total',
      help: 'L4 connections accepted (TCP) or flows opened (UDP), per Service port.',
      labelNames: ['service', 'port', 'protocol'],
      registers,
    });
    this.activeConnections = new Gauge({
      name: 'metalgate_proxy_l4_active_connections',
      help: 'L4 TCP connections open now, per Service port.',
      labelNames: ['service', 'port', 'protocol'],
      registers,
    });
    this.bytes = new Counter({
      name: 'metalgate_proxy_l4_bytes_total',
      help: 'Bytes forwarded, counted when a TCP connection or UDP flow ends; direction from_client or from_upstream.',
      labelNames: ['service', 'port', 'protocol', 'direction'],
      registers,
    });
    this.upstreamErrors = new Counter({
      name: 'metalgate_proxy_l4_upstream_errors_total',
      help: 'L4 upstream failures: connect_attempt_failed, connect_failed, no_endpoint, upstream_error, udp_dropped.',
      labelNames: ['service', 'port', 'protocol', 'reason'],
      registers,
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
}

export function portCounters(m: ListenerMetrics, service: string, port: string, protocol: string): PortCounters {
  const err = (reason: UpstreamErrorReason) => m.upstreamErrors.labels(service, port, protocol, reason);
  return {
    connections: m.connections.labels(service, port, protocol),
    active: m.activeConnections.labels(service, port, protocol),
    bytesFromClient: m.bytes.labels(service, port, protocol, 'from_client'),
    bytesFromUpstream: m.bytes.labels(service, port, protocol, 'from_upstream'),
    attemptFailed: err('connect_attempt_failed'),
    connectFailed: err('connect_failed'),
    noEndpoint: err('no_endpoint'),
    upstreamError: err('upstream_error'),
    udpDropped: err('udp_dropped'),
  };
}
