// MetalLB's L2Advertisement objects (metallb.io/v1beta1): which pools' IPs are
// announced with ARP/NDP, from which nodes, on which interfaces. Pure: an
// object in, a checked advertisement or the first problem (naming the field)
// out; and the question the speaker asks, `l2PlanFor(pool, node)`.
//
// Semantics as MetalLB documents them:
// - pools: those named in ipAddressPools plus those selected by
//   ipAddressPoolSelectors; with neither, every pool;
// - nodes: those matching any nodeSelector; with none, every node;
// - interfaces: only those listed; with none, any interface (metalgate's
//   rule then picks the one whose subnet holds the IP);
// - several advertisements for one pool add up: a node may announce if any
//   of them selects it, on the union of their interfaces (all interfaces if
//   one of them lists none).
// - A pool no advertisement selects is not announced at all.

import { compileLabelSelector, type LabelPredicate, type Labels } from '../kube/label-selector.ts';
import type { SelectorSpec } from './types.ts';

export interface L2AdvertisementObject {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string };
  spec?: {
    ipAddressPools?: unknown;
    ipAddressPoolSelectors?: unknown;
    nodeSelectors?: unknown;
    interfaces?: unknown;
  };
}

export interface L2Advertisement {
  /** `namespace/name`. */
  key: string;
  /** Named pools; undefined when the advertisement names none. */
  pools: ReadonlySet<string> | undefined;
  poolSelectors: LabelPredicate[];
  nodeSelectors: LabelPredicate[];
  /** Empty: any interface. */
  interfaces: readonly string[];
}

const IFNAME_MAX = 15;

export function l2AdvertisementOf(obj: L2AdvertisementObject): { ok: true; value: L2Advertisement } | { ok: false; message: string } {
  const spec = obj.spec ?? {};
  const key = `${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`;
  const strings = (field: 'ipAddressPools' | 'interfaces'): string[] | string => {
    const v = spec[field] ?? [];
    if (!Array.isArray(v) || v.some((s) => typeof s !== 'string' || s === '')) return `spec.${field} must be a list of names`;
    return v as string[];
  };
  const selectors = (field: 'ipAddressPoolSelectors' | 'nodeSelectors'): LabelPredicate[] | string => {
    const v = spec[field] ?? [];
    if (!Array.isArray(v)) return `spec.${field} must be a list of label selectors`;
    const out: LabelPredicate[] = [];
    for (const [i, s] of v.entries()) {
      const c = compileLabelSelector(s as SelectorSpec);
      if (!c.ok) return `spec.${field}[${i}]: ${c.error}`;
      out.push(c.matches);
    }
    return out;
  };
  const pools = strings('ipAddressPools');
  if (typeof pools === 'string') return { ok: false, message: pools };
  const interfaces = strings('interfaces');
  if (typeof interfaces === 'string') return { ok: false, message: interfaces };
  for (const [i, name] of interfaces.entries()) {
    if (name.length > IFNAME_MAX || name.includes('/') || /\s/.test(name) || name === '.' || name === '..') {
      return { ok: false, message: `spec.interfaces[${i}] ${JSON.stringify(name)} is not an interface name (at most ${IFNAME_MAX} characters, no slash or blank)` };
    }
  }
  const poolSelectors = selectors('ipAddressPoolSelectors');
  if (typeof poolSelectors === 'string') return { ok: false, message: poolSelectors };
  const nodeSelectors = selectors('nodeSelectors');
  if (typeof nodeSelectors === 'string') return { ok: false, message: nodeSelectors };
  return { ok: true, value: { key, pools: pools.length > 0 ? new Set(pools) : undefined, poolSelectors, nodeSelectors, interfaces } };
}

/** Whether an advertisement covers a pool (by name or by the pool object's labels). */
function advertises(ad: L2Advertisement, pool: string, poolLabels: Labels | undefined): boolean {
  if (ad.pools === undefined && ad.poolSelectors.length === 0) return true;
  return (ad.pools?.has(pool) ?? false) || ad.poolSelectors.some((m) => m(poolLabels));
}

/** What the advertisements allow one node for one pool's IPs. */
export interface L2Plan {
  /** The node may announce (and be elected for) the pool's IPs. */
  announce: boolean;
  /** Interfaces to announce on; undefined: any. */
  interfaces: ReadonlySet<string> | undefined;
}

export function l2PlanFor(ads: readonly L2Advertisement[], pool: string, poolLabels: Labels | undefined, nodeLabels: Labels | undefined): L2Plan {
  let announce = false;
  let anyInterface = false;
  const interfaces = new Set<string>();
  for (const ad of ads) {
    if (!advertises(ad, pool, poolLabels)) continue;
    if (ad.nodeSelectors.length > 0 && !ad.nodeSelectors.some((m) => m(nodeLabels))) continue;
    announce = true;
    if (ad.interfaces.length === 0) anyInterface = true;
    else for (const i of ad.interfaces) interfaces.add(i);
  }
  return { announce, interfaces: announce && !anyInterface ? interfaces : undefined };
}
