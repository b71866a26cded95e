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

export class EndpointSlots implements EndpointSource {
  readonly #sets = new Map<string, ServiceEndpointSets>();
  /** Service key -> port name -> slot. */
  readonly #slots = new Map<string, Map<string, EndpointSlot>>();
  /** Holders of each slot (acquire/release pairs). */
  readonly #refs = new Map<EndpointSlot, number>();

  /**
   * The slot of one Service port, for a holder that will call releaseSlot
   * when done; created empty when unknown (filled once the sets arrive).
   */
  slot(serviceKey: string, portName: string): EndpointSlot {
    let ports = this.#slots.get(serviceKey);
    if (ports === undefined) this.#slots.set(serviceKey, (ports = new Map()));
    let slot = ports.get(portName);
    if (slot === undefined) {
      slot = { current: this.endpoints(serviceKey, portName), version: 0 };
      ports.set(portName, slot);
    }
    this.#refs.set(slot, (this.#refs.get(slot) ?? 0) + 1);
    return slot;
  }

  /** One holder is done with the slot; the last one drops it. */
  releaseSlot(serviceKey: string, portName: string): void {
    const ports = this.#slots.get(serviceKey);
    const slot = ports?.get(portName);
    if (ports === undefined || slot === undefined) return;
    const n = (this.#refs.get(slot) ?? 1) - 1;
    if (n > 0) {
      this.#refs.set(slot, n);
      return;
    }
    this.#refs.delete(slot);
    ports.delete(portName);
    if (ports.size === 0) this.#slots.delete(serviceKey);
  }

  /** Slots held now (tests: nothing leaks). */
  get slotCount(): number {
    return this.#refs.size;
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
    const ports = this.#slots.get(serviceKey);
    if (ports === undefined) return false;
    let changed = false;
    for (const [portName, slot] of ports) {
      const next = portSet(sets ?? NONE, portName) ?? emptyEndpointSet(serviceKey, portName, slot.current.protocol);
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
