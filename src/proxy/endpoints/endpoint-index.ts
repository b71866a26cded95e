// Every Service's endpoint sets, computed from Service and EndpointSlice
// objects. Pure (no I/O): the cluster view feeds it. The sets land in its
// EndpointSlots (what the node's kernel rules read) and, for the proxy's
// configuration, as the changes since the last takeChanges().

import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import type { EndpointSet, EndpointSlot } from './endpoint-set.ts';
import { EndpointSlots, hasNoPorts, sameServiceSets, type EndpointSource, type ServiceEndpointSets } from './endpoint-slots.ts';
import { serviceKeyOf } from '../../kube/object-names.ts';
import { serviceEndpointSets, sliceServiceKey } from './service-endpoints.ts';

export class EndpointIndex implements EndpointSource {
  readonly #nodeName: string;
  readonly #services = new Map<string, V1Service>();
  /** Service key -> slice name -> slice. */
  readonly #slices = new Map<string, Map<string, V1EndpointSlice>>();
  /** "namespace/slice name" -> the Service key it is filed under. */
  readonly #sliceOwner = new Map<string, string>();
  readonly #slots = new EndpointSlots();
  /** Services whose sets changed since takeChanges(). */
  readonly #changed = new Set<string>();

  constructor(nodeName: string) {
    this.#nodeName = nodeName;
  }

  slot(serviceKey: string, portName: string): EndpointSlot {
    return this.#slots.slot(serviceKey, portName);
  }

  releaseSlot(serviceKey: string, portName: string): void {
    this.#slots.releaseSlot(serviceKey, portName);
  }

  /** Slots held now (tests: nothing leaks). */
  get slotCount(): number {
    return this.#slots.slotCount;
  }

  endpoints(serviceKey: string, portName: string): EndpointSet {
    return this.#slots.endpoints(serviceKey, portName);
  }

  /** The Services whose sets changed since the last call, with their sets now (undefined: none any more). */
  takeChanges(): Map<string, ServiceEndpointSets | undefined> {
    const out = new Map<string, ServiceEndpointSets | undefined>();
    for (const key of this.#changed) {
      const sets = this.#slots.sets(key);
      out.set(key, hasNoPorts(sets) ? undefined : sets);
    }
    this.#changed.clear();
    return out;
  }

  /** Returns true when the Service's sets changed. */
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
    const before = new Set([...this.#services.keys(), ...this.#slots.serviceKeys()]);
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
    for (const key of new Set([...before, ...this.#services.keys()])) this.#refresh(key);
  }

  #forgetSlice(id: string, key: string): boolean {
    this.#sliceOwner.delete(id);
    const byName = this.#slices.get(key);
    if (byName === undefined || !byName.delete(id.slice(id.indexOf('/') + 1))) return false;
    if (byName.size === 0) this.#slices.delete(key);
    return this.#refresh(key);
  }

  #refresh(key: string): boolean {
    const svc = this.#services.get(key);
    const sets = svc === undefined ? {} : serviceEndpointSets(svc, [...(this.#slices.get(key)?.values() ?? [])], { nodeName: this.#nodeName });
    if (sameServiceSets(this.#slots.sets(key), sets)) return false;
    this.#changed.add(key);
    this.#slots.setService(key, sets);
    return true;
  }
}

function sliceId(slice: V1EndpointSlice): string {
  return `${slice.metadata?.namespace ?? ''}/${slice.metadata?.name ?? ''}`;
}
