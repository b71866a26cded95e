// Every Service's endpoint sets, kept current from Service and EndpointSlice
// changes. Pure (no I/O): the informer adapter feeds it, listeners read it.
//
// A listener asks for a slot (Service, port name) once and keeps it; each
// change recomputes the affected Service's sets and swaps them into their
// slots, so a listener never holds a stale set and a connection already
// placed is never touched. Unchanged sets are not swapped (no churn for
// slices that moved nothing this port cares about).

import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import { emptyEndpointSet, type EndpointSet, type EndpointSlot } from './endpoint-set.ts';
import { serviceEndpointSets, serviceKeyOf, sliceServiceKey } from './service-endpoints.ts';

export class EndpointIndex {
  readonly #nodeName: string;
  readonly #services = new Map<string, V1Service>();
  /** Service key -> slice name -> slice. */
  readonly #slices = new Map<string, Map<string, V1EndpointSlice>>();
  /** "namespace/slice name" -> the Service key it is filed under. */
  readonly #sliceOwner = new Map<string, string>();
  /** Service key -> port name -> slot. */
  readonly #slots = new Map<string, Map<string, EndpointSlot>>();
  /** Holders of each slot (acquire/release pairs). */
  readonly #refs = new Map<EndpointSlot, number>();

  constructor(nodeName: string) {
    this.#nodeName = nodeName;
  }

  /**
   * The slot of one Service port, for a holder that will call releaseSlot
   * when done; created empty when unknown (filled once the objects arrive).
   */
  slot(serviceKey: string, portName: string): EndpointSlot {
    let ports = this.#slots.get(serviceKey);
    if (ports === undefined) this.#slots.set(serviceKey, (ports = new Map()));
    let slot = ports.get(portName);
    if (slot === undefined) {
      slot = { current: this.#compute(serviceKey).get(portName) ?? emptyEndpointSet(serviceKey, portName), version: 0 };
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
    return this.#slots.get(serviceKey)?.get(portName)?.current ?? this.#compute(serviceKey).get(portName) ?? emptyEndpointSet(serviceKey, portName);
  }

  /** Returns true when a slot changed. */
  upsertService(svc: V1Service): boolean {
    const key = serviceKeyOf(svc);
    this.#services.set(key, svc);
    return this.#refresh(key);
  }

  removeService(svc: V1Service | string): boolean {
    const key = typeof svc === 'string' ? svc : serviceKeyOf(svc);
    this.#services.delete(key);
    return this.#refresh(key);
  }

  upsertSlice(slice: V1EndpointSlice): boolean {
    const id = sliceId(slice);
    const key = sliceServiceKey(slice);
    // A slice relabelled to another Service leaves the old one.
    let changed = false;
    const previous = this.#sliceOwner.get(id);
    if (previous !== undefined && previous !== key) changed = this.#forgetSlice(id, previous);
    if (key === undefined) return changed;
    let byName = this.#slices.get(key);
    if (byName === undefined) this.#slices.set(key, (byName = new Map()));
    byName.set(slice.metadata?.name ?? '', slice);
    this.#sliceOwner.set(id, key);
    return this.#refresh(key) || changed;
  }

  removeSlice(slice: V1EndpointSlice): boolean {
    const id = sliceId(slice);
    const owner = this.#sliceOwner.get(id);
    return owner === undefined ? false : this.#forgetSlice(id, owner);
  }

  /** Replaces everything (after a relist). */
  reset(services: readonly V1Service[], slices: readonly V1EndpointSlice[]): void {
    this.#services.clear();
    this.#slices.clear();
    this.#sliceOwner.clear();
    for (const svc of services) this.#services.set(serviceKeyOf(svc), svc);
    for (const slice of slices) {
      const key = sliceServiceKey(slice);
      if (key === undefined) continue;
      let byName = this.#slices.get(key);
      if (byName === undefined) this.#slices.set(key, (byName = new Map()));
      byName.set(slice.metadata?.name ?? '', slice);
      this.#sliceOwner.set(sliceId(slice), key);
    }
    for (const key of this.#slots.keys()) this.#refresh(key);
  }

  #forgetSlice(id: string, key: string): boolean {
    this.#sliceOwner.delete(id);
    const byName = this.#slices.get(key);
    if (byName === undefined || !byName.delete(id.slice(id.indexOf('/') + 1))) return false;
    if (byName.size === 0) this.#slices.delete(key);
    return this.#refresh(key);
  }

  #compute(key: string): Map<string, EndpointSet> {
    const svc = this.#services.get(key);
    if (svc === undefined) return new Map();
    return serviceEndpointSets(svc, [...(this.#slices.get(key)?.values() ?? [])], { nodeName: this.#nodeName });
  }

  #refresh(key: string): boolean {
    const ports = this.#slots.get(key);
    if (ports === undefined) return false;
    const sets = this.#compute(key);
    let changed = false;
    for (const [portName, slot] of ports) {
      const next = sets.get(portName) ?? emptyEndpointSet(key, portName, slot.current.protocol);
      if (sameSet(slot.current, next)) continue;
      slot.current = next;
      slot.version++;
      changed = true;
    }
    return changed;
  }
}

function sameSet(a: EndpointSet, b: EndpointSet): boolean {
  return (
    a.protocol === b.protocol &&
    a.fallback === b.fallback &&
    a.localOnly === b.localOnly &&
    a.affinityTimeoutMs === b.affinityTimeoutMs &&
    sameEndpoints(a.active, b.active) &&
    sameEndpoints(a.draining, b.draining)
  );
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

function sliceId(slice: V1EndpointSlice): string {
  return `${slice.metadata?.namespace ?? ''}/${slice.metadata?.name ?? ''}`;
}
