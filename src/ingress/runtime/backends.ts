// Live Backend objects for the compiled routes. The endpoints of a Service
// port come from a ServiceBackendSource (the proxy's EndpointSlice side),
// which hands out one stable Backend per port that follows endpoint changes
// by itself; a route wraps it with its own settings (protocol, timeouts,
// body limit) and metric labels, so a route change never touches endpoint
// state and an endpoint change never needs a new route table.

import { EwmaPicker } from '../../proxy/http/ewma.ts';
import { HashRing } from '../../proxy/http/hash-ring.ts';
import { hashSubsets } from '../../proxy/http/hash-subsets.ts';
import type { Backend, BackendProtocol, Endpoint, UpstreamTimeouts, UpstreamTls } from '../../proxy/http/types.ts';
import type { BackendLabels, LeafNode, ServiceNode, ServicePortRef } from '../model/service-node.ts';
import { SmoothWeighted } from '../../common/smooth-weighted.ts';

export interface ServiceBackendSource {
  /** The live Backend of one Service port (same object for the same port). */
  backend(ref: ServicePortRef): Backend;
}

/** A route's view of a Service port: its settings over the shared endpoint picker. */
export class ConfiguredBackend implements Backend {
  readonly name: string;
  readonly protocol: BackendProtocol;
  readonly tls?: UpstreamTls;
  readonly timeouts?: Partial<UpstreamTimeouts>;
  readonly limits?: { maxBodyBytes: number };
  readonly labels: BackendLabels;
  readonly base: Backend;
  readonly #ewma: EwmaPicker | undefined;
  /** upstream-hash-by-subset: the key picks a subset of this many endpoints, then one of them at random. */
  readonly #subsetSize: number | undefined;
  #set: { ready: readonly Endpoint[]; value: EndpointSet } | undefined;

  constructor(node: LeafNode, base: Backend) {
    const o = node.options;
    this.name = node.labels.name;
    this.protocol = o.protocol;
    if (o.tls !== undefined) this.tls = o.tls;
    const t: { connectMs?: number; readMs?: number; sendMs?: number } = {};
    if (o.connectTimeoutMs !== undefined) t.connectMs = o.connectTimeoutMs;
    if (o.readTimeoutMs !== undefined) t.readMs = o.readTimeoutMs;
    if (o.sendTimeoutMs !== undefined) t.sendMs = o.sendTimeoutMs;
    if (Object.keys(t).length > 0) this.timeouts = t;
    if (o.maxBodyBytes !== undefined) this.limits = { maxBodyBytes: o.maxBodyBytes };
    this.labels = node.labels;
    this.base = base;
    this.#ewma = o.balance === 'ewma' ? new EwmaPicker() : undefined;
    this.#subsetSize = o.hashSubsetSize;
  }

  /**
   * A sticky cookie's endpoint first; then a balance key (upstream-hash-by)
   * on the consistent-hash ring of the ready endpoints; then ewma, or the
   * Service's own round robin.
   */
  pick(clientIp: string, affinityKey?: string, balanceKey?: string): Endpoint | undefined {
    if (affinityKey !== undefined || (balanceKey === undefined && this.#ewma === undefined)) return this.base.pick(clientIp, affinityKey);
    const ready = this.base.readyEndpoints?.();
    if (ready === undefined) return this.base.pick(clientIp, affinityKey);
    if (ready.length === 0) return undefined;
    const set = this.#setOf(ready);
    if (balanceKey !== undefined && this.#subsetSize !== undefined) {
      if (set.subsets === undefined) {
        // Members in key order: the subsets depend on the set, not on the order the endpoints came in.
        const order = set.keys.map((k, i) => [k, i] as const).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([, i]) => i);
        const subsets = hashSubsets(order.length, this.#subsetSize).map((members) => members.map((m) => order[m]!));
        set.subsets = { ring: new HashRing(subsets.map((_, i) => `set${i + 1}`)), members: subsets };
      }
      const members = set.subsets.members[set.subsets.ring.pick(balanceKey)]!;
      return ready[members[Math.floor(Math.random() * members.length)]!];
    }
    if (balanceKey !== undefined) {
      set.ring ??= new HashRing(set.keys);
      return ready[set.ring.pick(balanceKey)];
    }
    return ready[this.#ewma!.pick(set.keys, Math.random(), Math.random())];
  }

  done(endpoint: Endpoint, ms: number): void {
    this.#ewma?.observe(this.affinityKeyOf(endpoint), ms, Date.now());
  }

  /** The ready set's keys and ring, rebuilt when the set (its array) changes. */
  #setOf(ready: readonly Endpoint[]): EndpointSet {
    const s = this.#set;
    if (s !== undefined && s.ready === ready) return s.value;
    const value = { keys: ready.map((e) => this.affinityKeyOf(e)) };
    this.#set = { ready, value };
    this.#ewma?.retain(new Set(value.keys));
    return value;
  }

  affinityKeyOf(endpoint: Endpoint): string {
    return this.base.affinityKeyOf ? this.base.affinityKeyOf(endpoint) : `${endpoint.ip}:${endpoint.port}`;
  }
}

/** The ready endpoints' keys, and what is built from them on first use. */
interface EndpointSet {
  readonly keys: string[];
  ring?: HashRing;
  subsets?: { readonly ring: HashRing; readonly members: readonly (readonly number[])[] };
}

/** A weighted split seen as one Backend (mirror targets): each pick chooses a child first. */
class WeightedBackend implements Backend {
  readonly name: string;
  readonly protocol: BackendProtocol;
  readonly #wrr: SmoothWeighted<Backend>;

  constructor(name: string, children: readonly Backend[], weights: readonly number[]) {
    this.name = name;
    this.protocol = children[0]?.protocol ?? 'http';
    this.#wrr = new SmoothWeighted(children, weights);
  }

  pick(clientIp: string, affinityKey?: string): Endpoint | undefined {
    const i = this.#wrr.nextIndex();
    return i < 0 ? undefined : this.#wrr.items[i]!.pick(clientIp, affinityKey);
  }
}

/** Any service node as a single Backend (splits resolved per pick; mirrors of mirrors dropped). */
export function nodeBackend(node: ServiceNode, leafBackend: (leaf: LeafNode) => Backend): Backend {
  switch (node.kind) {
    case 'leaf':
      return leafBackend(node);
    case 'weighted':
      return new WeightedBackend(
        node.name,
        node.children.map((c) => nodeBackend(c.node, leafBackend)),
        node.children.map((c) => c.weight),
      );
    case 'mirror':
      return nodeBackend(node.main, leafBackend);
    case 'canary':
      return nodeBackend(node.main, leafBackend);
  }
}
