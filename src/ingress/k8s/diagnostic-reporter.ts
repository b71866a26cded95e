// Writes diagnostics out as Events (and log lines) once per appearance: a
// diagnostic that stays across compiles is not repeated; one that goes away
// and comes back is reported again.
//
// With a grace period, a diagnostic is reported only once it has lasted
// that long: objects applied together (an Ingress and the Secret its
// annotation names, in one `kubectl apply`) reach the controller over
// separate watches, so for a moment one may name another that has not
// arrived yet. What the diagnostic does to serving (an object withheld)
// applies at once; only its report waits.

import type { Logger } from 'pino';
import type { EventTarget, EventType } from '../../kube/events.ts';
import { refKey, type Diagnostic } from '../model/diagnostic.ts';

export interface EventSink {
  emit(target: EventTarget, type: EventType, reason: string, message: string): void;
}

export class DiagnosticReporter {
  readonly #events: EventSink | undefined;
  readonly #log: Logger;
  readonly #graceMs: number;
  /** The latest compile's diagnostics, by key, in its order. */
  #current = new Map<string, Diagnostic>();
  /** Reported and still present. */
  readonly #reported = new Set<string>();
  /** Present, not reported yet: when they may be. */
  readonly #due = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;

  constructor(events: EventSink | undefined, log: Logger, graceMs = 0) {
    this.#events = events;
    this.#log = log;
    this.#graceMs = graceMs;
  }

  /** Takes the diagnostics of a compile; reports those that have lasted the grace period. Returns how many it reported now. */
  report(current: readonly Diagnostic[]): number {
    const now = Date.now();
    const next = new Map<string, Diagnostic>();
    for (const d of current) {
      const key = `${refKey(d.ref)}\u0000${d.ref.uid ?? ''}\u0000${d.reason}\u0000${d.message}`;
      next.set(key, d);
      if (!this.#reported.has(key) && !this.#due.has(key)) this.#due.set(key, now + this.#graceMs);
    }
    for (const key of this.#reported) if (!next.has(key)) this.#reported.delete(key);
    for (const key of this.#due.keys()) if (!next.has(key)) this.#due.delete(key);
    this.#current = next;
    return this.#flush(now);
  }

  /** Stops the timer of reports still waiting (they are dropped). */
  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #flush(now: number): number {
    let n = 0;
    let nextDue = Number.POSITIVE_INFINITY;
    for (const [key, d] of this.#current) {
      const due = this.#due.get(key);
      if (due === undefined) continue;
      if (due > now) {
        nextDue = Math.min(nextDue, due);
        continue;
      }
      this.#due.delete(key);
      this.#reported.add(key);
      this.#write(d);
      n++;
    }
    clearTimeout(this.#timer);
    this.#timer = nextDue === Number.POSITIVE_INFINITY ? undefined : setTimeout(() => this.#flush(Date.now()), nextDue - now).unref();
    return n;
  }

  #write(d: Diagnostic): void {
    const object = `${d.ref.kind} ${d.ref.namespace}/${d.ref.name}`;
    const line = { object, reason: d.reason, severity: d.severity };
    if (d.severity === 'info') this.#log.info(line, d.message);
    else this.#log.warn(line, d.message);
    this.#events?.emit(
      {
        apiVersion: d.ref.apiVersion,
        kind: d.ref.kind,
        metadata: { name: d.ref.name, namespace: d.ref.namespace, ...(d.ref.uid ? { uid: d.ref.uid } : {}), ...(d.ref.resourceVersion ? { resourceVersion: d.ref.resourceVersion } : {}) },
      },
      d.type,
      d.reason,
      d.message,
    );
  }
}
