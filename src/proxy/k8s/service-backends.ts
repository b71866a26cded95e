// Live HTTP Backends for Service ports, fed from the endpoint slots: one
// stable Backend object per (Service, port name), shared by every route that
// sends there, which follows endpoint changes by itself - so a route table
// never has to be rebuilt because pods came or went. This is the
// ServiceBackendSource the rule engine's runtime (src/ingress/runtime) takes.
//
// Inside, the engine's EndpointSetBackend balances; it takes its endpoints
// whole (setEndpoints), so after each index change `refresh()` pushes the
// sets whose slot moved. Endpoints that take new work are handed over as
// `ready` (that includes kube-proxy's fallback to serving-terminating ones
// when none is ready); draining ones as not ready, so requests they hold
// finish and they get no new ones. A change of the Service's session
// affinity swaps the inner balancer; the outer object stays.

import type { EndpointSet, EndpointSlot } from '../endpoints/endpoint-set.ts';
import type { EndpointSource } from '../endpoints/endpoint-slots.ts';
import { EndpointSetBackend } from '../http/backend.ts';
import type { Backend, Endpoint } from '../http/types.ts';

/** One port of one Service, by the port's name. */
export interface ServicePortTarget {
  readonly namespace: string;
  readonly service: string;
  readonly portName: string;
}

function backendName(t: ServicePortTarget): string {
  return `${t.namespace}/${t.service}:${t.portName}`;
}

/** The Backend of one Service port; its balancer is replaced, never the object. */
export class SliceBackend implements Backend {
  readonly name: string;
  readonly protocol = 'http' as const;
  /** @internal */
  inner: EndpointSetBackend;
  /** @internal */
  readonly slot: EndpointSlot;
  /** @internal slot.version last pushed. */
  version: number;
  /** @internal */
  affinityMs: number | undefined;

  constructor(name: string, slot: EndpointSlot, inner: EndpointSetBackend) {
    this.name = name;
    this.slot = slot;
    this.inner = inner;
    this.version = slot.version;
    this.affinityMs = slot.current.affinityTimeoutMs;
  }

  pick(clientIp: string, affinityKey?: string): Endpoint | undefined {
    return this.inner.pick(clientIp, affinityKey);
  }

  affinityKeyOf(endpoint: Endpoint): string {
    return this.inner.affinityKeyOf(endpoint);
  }

  readyEndpoints(): readonly Endpoint[] {
    return this.inner.readyEndpoints();
  }

  /** Endpoints that get new requests now. */
  get readyCount(): number {
    return this.inner.readyCount;
  }
}

export class ServiceBackends {
  readonly #index: EndpointSource;
  readonly #entries = new Map<string, SliceBackend>();
  readonly #dial: ((ip: string) => string) | undefined;

  /** `dialAddress`: tests only, as in ListenerManagerOptions. */
  constructor(index: EndpointSource, dialAddress?: (ip: string) => string) {
    this.#index = index;
    this.#dial = dialAddress;
  }

  get size(): number {
    return this.#entries.size;
  }

  /**
   * The Backend for a Service port (created on first use, then the same
   * object). Kept for the life of the proxy: a few objects per Service port.
   */
  get(t: ServicePortTarget): SliceBackend {
    const name = backendName(t);
    let b = this.#entries.get(name);
    if (b === undefined) {
      const slot = this.#index.slot(`${t.namespace}/${t.service}`, t.portName);
      b = new SliceBackend(name, slot, newBalancer(name, slot.current, this.#dial));
      this.#entries.set(name, b);
    }
    return b;
  }

  /** src/ingress/runtime's ServiceBackendSource. */
  backend(ref: { readonly namespace: string; readonly service: string; readonly portName: string }): Backend {
    return this.get(ref);
  }

  /** Pushes the endpoint sets that changed since the last call. */
  refresh(): void {
    for (const [name, b] of this.#entries) {
      if (b.slot.version === b.version) continue;
      b.version = b.slot.version;
      const set = b.slot.current;
      if (set.affinityTimeoutMs !== b.affinityMs) {
        b.inner = newBalancer(name, set, this.#dial);
        b.affinityMs = set.affinityTimeoutMs;
      } else {
        b.inner.setEndpoints(toEngineEndpoints(set, this.#dial));
      }
    }
  }
}

function newBalancer(name: string, set: EndpointSet, dial: ((ip: string) => string) | undefined): EndpointSetBackend {
  return new EndpointSetBackend({
    name,
    endpoints: toEngineEndpoints(set, dial),
    ...(set.affinityTimeoutMs !== undefined ? { clientIpAffinity: { timeoutMs: set.affinityTimeoutMs } } : {}),
  });
}

function toEngineEndpoints(set: EndpointSet, dial: ((ip: string) => string) | undefined): Endpoint[] {
  const out: Endpoint[] = [];
  const ip = (x: string) => (dial === undefined ? x : dial(x));
  for (const e of set.active) out.push({ ip: ip(e.ip), port: e.port, ready: true, serving: true, terminating: e.terminating, nodeName: e.nodeName });
  for (const e of set.draining) out.push({ ip: ip(e.ip), port: e.port, ready: false, serving: true, terminating: true, nodeName: e.nodeName });
  return out;
}
