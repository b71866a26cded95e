// Picks the endpoint for a new connection of one Service port: round robin
// over the slot's current `active` endpoints, or the client's remembered
// endpoint under sessionAffinity: ClientIP while it is still active. Reads the
// slot on every pick, so a swapped set applies to the next connection and to
// nothing already placed. One picker per Service port (shared by that port's
// listeners on every IP of the Service, as kube-proxy shares its affinity).

import { performance } from 'node:perf_hooks';
import { AffinityTable } from './affinity-table.ts';
import type { BackendEndpoint, EndpointSet, EndpointSlot } from './endpoint-set.ts';

export class EndpointPicker {
  readonly slot: EndpointSlot;
  readonly #now: () => number;
  readonly #affinity = new AffinityTable();
  /** Endpoint by key, per set (built on the first affinity hit of a set). */
  readonly #byKey = new WeakMap<EndpointSet, Map<string, BackendEndpoint>>();
  #next = 0;

  constructor(slot: EndpointSlot, now: () => number = () => performance.now()) {
    this.slot = slot;
    this.#now = now;
  }

  /** The endpoint for a new connection from `clientIp` (undefined: none to send it to). */
  pick(clientIp?: string): BackendEndpoint | undefined {
    const set = this.slot.current;
    const active = set.active;
    const n = active.length;
    if (n === 0) return undefined;
    const timeout = set.affinityTimeoutMs;
    if (timeout === undefined || clientIp === undefined) return this.#roundRobin(active);
    const now = this.#now();
    const stuck = this.#affinity.lookup(clientIp, now);
    if (stuck !== undefined) {
      const e = this.#index(set).get(stuck);
      if (e !== undefined) {
        this.#affinity.remember(clientIp, stuck, now, timeout);
        return e;
      }
    }
    const e = this.#roundRobin(active);
    this.#affinity.remember(clientIp, e.key, now, timeout);
    return e;
  }

  /** Clients remembered under session affinity. */
  get affinityEntries(): number {
    return this.#affinity.size;
  }

  #roundRobin(active: readonly BackendEndpoint[]): BackendEndpoint {
    const i = this.#next;
    this.#next = i >= 0x3fffffff ? 0 : i + 1;
    return active[i % active.length]!;
  }

  #index(set: EndpointSet): Map<string, BackendEndpoint> {
    let m = this.#byKey.get(set);
    if (m === undefined) {
      m = new Map(set.active.map((e) => [e.key, e]));
      this.#byKey.set(set, m);
    }
    return m;
  }
}
