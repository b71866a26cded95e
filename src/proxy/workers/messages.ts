// What the speaker process and its proxy worker processes say to each other
// over the cluster IPC channel. The primary decides (which IPs this node
// owns, when to settle and stop); workers serve and report readiness, work
// in flight and metrics. Every message carries `mg` so nothing else on the
// channel is mistaken for one.

import type { MetricObjectWithValues, MetricValue } from 'prom-client';

export type MetricsJson = MetricObjectWithValues<MetricValue<string>>[];

export type ToWorker =
  /** First message: who this worker is and what is owned right now. */
  | { mg: 'init'; index: number; owned: string[]; report: boolean }
  /** `id`: answer with `applied` once the change is in effect (listeners bound). */
  | { mg: 'ownership'; ip: string; owned: boolean; id?: number }
  | { mg: 'settle'; id: number; graceMs: number }
  | { mg: 'stop'; graceMs: number }
  | { mg: 'metrics'; id: number };

export type FromWorker =
  /** `reason` null: ready. Sent at start and on every change. */
  | { mg: 'ready'; reason: string | null }
  | { mg: 'settled'; id: number; busy: number }
  | { mg: 'metrics'; id: number; metrics: MetricsJson }
  | { mg: 'stopped' }
  /** The ownership change `id` is in effect: a gained IP's listeners are bound. */
  | { mg: 'applied'; id: number };

function isMessage(m: unknown): m is { mg: string } {
  return typeof m === 'object' && m !== null && typeof (m as { mg?: unknown }).mg === 'string';
}

export function isToWorker(m: unknown): m is ToWorker {
  return isMessage(m) && ['init', 'ownership', 'settle', 'stop', 'metrics'].includes(m.mg);
}

export function isFromWorker(m: unknown): m is FromWorker {
  return isMessage(m) && ['ready', 'settled', 'metrics', 'stopped', 'applied'].includes(m.mg);
}
