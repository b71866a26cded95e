// What the speaker process and its proxy worker processes say to each other
// over the cluster IPC channel. The primary decides (the configuration to
// serve, when to settle and stop); workers serve and report readiness, work
// in flight and metrics. Every message carries `mg` so nothing else on the
// channel is mistaken for one.

import type { MetricObjectWithValues, MetricValue } from 'prom-client';
import type { ProxyConfigUpdate } from '../config/proxy-config.ts';

export type MetricsJson = MetricObjectWithValues<MetricValue<string>>[];

export type ToWorker =
  /** First message: who this worker is and the whole configuration now. */
  | { mg: 'init'; index: number; config: ProxyConfigUpdate }
  /** A configuration update, in order after the init. */
  | { mg: 'config'; update: ProxyConfigUpdate }
  /** Answer with `applied` once everything sent before is in effect (listeners bound). */
  | { mg: 'sync'; id: number }
  | { mg: 'settle'; id: number; graceMs: number }
  | { mg: 'stop'; graceMs: number }
  | { mg: 'metrics'; id: number };

export type FromWorker =
  /** `reason` null: ready. Sent at start and on every change. */
  | { mg: 'ready'; reason: string | null }
  | { mg: 'settled'; id: number; busy: number }
  | { mg: 'metrics'; id: number; metrics: MetricsJson }
  | { mg: 'stopped' }
  /** Everything before the `sync` with this id is in effect. */
  | { mg: 'applied'; id: number };

function isMessage(m: unknown): m is { mg: string } {
  return typeof m === 'object' && m !== null && typeof (m as { mg?: unknown }).mg === 'string';
}

export function isToWorker(m: unknown): m is ToWorker {
  return isMessage(m) && ['init', 'config', 'sync', 'settle', 'stop', 'metrics'].includes(m.mg);
}

export function isFromWorker(m: unknown): m is FromWorker {
  return isMessage(m) && ['ready', 'settled', 'metrics', 'stopped', 'applied'].includes(m.mg);
}
