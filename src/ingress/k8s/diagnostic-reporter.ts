// Writes diagnostics out as Events (and log lines) once per appearance: a
// diagnostic that stays across compiles is not repeated; one that goes away
// and comes back is reported again.

import type { Logger } from 'pino';
import type { EventTarget, EventType } from '../../kube/events.ts';
import { refKey, type Diagnostic } from '../model/diagnostic.ts';

export interface EventSink {
  emit(target: EventTarget, type: EventType, reason: string, message: string): void;
}

export class DiagnosticReporter {
  readonly #events: EventSink | undefined;
  readonly #log: Logger;
  #active = new Set<string>();

  constructor(events: EventSink | undefined, log: Logger) {
    this.#events = events;
    this.#log = log;
  }

  /** Reports what is new in `current`; returns how many were reported. */
  report(current: readonly Diagnostic[]): number {
    const next = new Set<string>();
    let n = 0;
    for (const d of current) {
      const key = `${refKey(d.ref)}\u0000${d.ref.uid ?? ''}\u0000${d.reason}\u0000${d.message}`;
      next.add(key);
      if (this.#active.has(key)) continue;
      n++;
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
    this.#active = next;
    return n;
  }
}
