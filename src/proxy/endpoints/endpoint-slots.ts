// Every Service port's current endpoint set, in stable slots. Pure (no
// I/O): whoever knows the sets (EndpointIndex from the API objects, or a
// proxy worker from its configuration) sets them per Service; listeners and
// HTTP backends hold slots.
//
// A listener asks for a slot (Service, port name) once and keeps it; each
// change of a Service's sets swaps them into their slots, so a listener
// never holds a stale set and a connection already placed is never touched.
// Unchanged sets are not swapped (no churn for changes that moved nothing
// this port cares about).

import { emptyEndpointSet, type EndpointSet, type EndpointSlot } from './endpoint-set.ts';

/** What listeners, HTTP backends and kernel rules read endpoints from. */
export interface EndpointSource {
  slot(serviceKey: string, portName: string): EndpointSlot;
  releaseSlot(serviceKey: string, portName: string): void;
  endpoints(serviceKey: string, portName: string): EndpointSet;
}

/**
 * One Service's sets by port name ("" for an unnamed port), read through
 * portSet (a port may be named `constructor`). A plain object, not a Map:
 * the configuration carries it to the workers as it is, and a Map per
 * Service cost every thread about 300 B more.
 */
export type ServiceEndpointSets = Readonly<Record<string, EndpointSet>>;

const NONE: ServiceEndpointSets = Object.freeze({});

/** The set of one port, if the Service has that port. */
function portSet(sets: ServiceEndpointSets, portName: string): EndpointSet | undefined {
  return Object.hasOwn(sets, portName) ? sets[portName] : undefined;
}

/** A slot some holders keep: its port, and how many keep it. */
interface HeldSlot {
  readonly port: string;
  readonly slot: EndpointSlot;
  holders: number;
}

export class EndpointSlots implements EndpointSource {
  readonly #sets = new Map<string, ServiceEndpointSets>();
  /** Service key -> its held slots: an array, as a Service has few ports (a Map per Service cost every thread about 300 B). */
  readonly #slots = new Map<string, HeldSlot[]>();
  #held = 0;

  /**
   * The slot of one Service port, for a holder that will call releaseSlot
   * when done; created empty when unknown (filled once the sets arrive).
   */
  slot(serviceKey: string, portName: string): EndpointSlot {
    let held = this.#slots.get(serviceKey);
    if (held === undefined) this.#slots.set(serviceKey, (held = []));
    let h = held.find((x) => x.port === portName);
    if (h === undefined) {
      h = { port: portName, slot: { current: this.endpoints(serviceKey, portName), version: 0 }, holders: 0 };
      held.push(h);
      this.#held++;
    }
    h.holders++;
    return h.slot;
  }

  /** One holder is done with the slot; the last one drops it. */
  releaseSlot(serviceKey: string, portName: string): void {
    const held = this.#slots.get(serviceKey);
    const i = held?.findIndex((x) => x.port === portName) ?? -1;
    if (held === undefined || i < 0) return;
    if (--held[i]!.holders > 0) return;
    held.splice(i, 1);
    this.#held--;
    if (held.length === 0) this.#slots.delete(serviceKey);
  }

  /** Slots held now (tests: nothing leaks). */
  get slotCount(): number {
    return this.#held;
  }

  /** The current set, without keeping a slot. */
  endpoints(serviceKey: string, portName: string): EndpointSet {
    return portSet(this.#sets.get(serviceKey) ?? NONE, portName) ?? emptyEndpointSet(serviceKey, portName);
  }

  /** The Service's sets now (empty when unknown). */
  sets(serviceKey: string): ServiceEndpointSets {
    return this.#sets.get(serviceKey) ?? NONE;
  }

  serviceKeys(): IterableIterator<string> {
    return this.#sets.keys();
  }

  /** Replaces one Service's sets (undefined: the Service is gone). Returns true when a slot changed. */
  setService(serviceKey: string, sets: ServiceEndpointSets | undefined): boolean {
    if (sets === undefined || hasNoPorts(sets)) this.#sets.delete(serviceKey);
    else this.#sets.set(serviceKey, sets);
    const held = this.#slots.get(serviceKey);
    if (held === undefined) return false;
    let changed = false;
    for (const { port, slot } of held) {
      const next = portSet(sets ?? NONE, port) ?? emptyEndpointSet(serviceKey, port, slot.current.protocol);
      if (sameEndpointSet(slot.current, next)) continue;
      slot.current = next;
      slot.version++;
      changed = true;
    }
    return changed;
  }
}

function sameEndpointSet(a: EndpointSet, b: EndpointSet): boolean {
  return (
    a.protocol === b.protocol &&
    a.fallback === b.fallback &&
    a.localOnly === b.localOnly &&
    a.affinityTimeoutMs === b.affinityTimeoutMs &&
    sameEndpoints(a.active, b.active) &&
    sameEndpoints(a.draining, b.draining)
  );
}

export function sameServiceSets(a: ServiceEndpointSets, b: ServiceEndpointSets): boolean {
  const ports = Object.keys(a);
  if (ports.length !== Object.keys(b).length) return false;
  for (const port of ports) {
    const other = portSet(b, port);
    if (other === undefined || !sameEndpointSet(a[port]!, other)) return false;
  }
  return true;
}

export function hasNoPorts(sets: ServiceEndpointSets): boolean {
  for (const _ in sets) return false;
  return true;
}

function sameEndpoints(a: EndpointSet['active'], b: EndpointSet['active']): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x.key !== y.key || x.nodeName !== y.nodeName || x.podName !== y.podName || x.serving !== y.serving || x.terminating !== y.terminating) return false;
  }
  return true;
}
