// MetalLB's IPAddressPool objects (metallb.io/v1beta1) -> the pools in force,
// beside the legacy ConfigMap's. Pure: objects in, pools and one verdict per
// object out; the controller writes the verdicts to status and Events.
//
// Checked here although the CRD's schema and CEL rules check most of it at
// `kubectl apply`: objects may predate the CRD, or sit under MetalLB's own
// CRD, which validates in a webhook that is gone. So every rule holds here.
//
// Decisions:
// - Namespaces. Pools are read from the pool namespaces only (MetalLB reads
//   its own namespace: `metallb-system`, where every MetalLB user's objects
//   are; metalgate's own `metalgate-system` too). A pool elsewhere is refused
//   with a reason, not ignored in silence. Two pools of one name (in the two
//   namespaces): the older serves, the other is refused.
// - Overlap. Pools are taken oldest first (creationTimestamp, then
//   namespace/name); a pool that shares an address with one already taken is
//   refused, naming it. So a new pool can never take addresses from one in
//   service, whatever their names.
// - The last good version. A pool whose current version is refused, but
//   which had a good one (same uid) that still fits, keeps that one in force:
//   an edit with a typo removes no addresses.
// - The ConfigMap. Its pools stay in force next to the objects; an object of
//   the same name replaces the ConfigMap's pool (so moving one pool at a time
//   to objects, as `metalgate convert` writes them, changes nothing). An
//   object that overlaps a ConfigMap pool of another name is refused.
// - Pool order (which auto-assign pool is tried first, among equals): the
//   ConfigMap's pools in file order, then the objects by name. MetalLB picks
//   among equals at random; a fixed order makes allocation reproducible.

import { compileLabelSelector } from '../kube/label-selector.ts';
import { isParseError, parseAddressEntry, rangesOverlap } from './ip-range.ts';
import type { AddressPool, IpRange, SelectorSpec, ServiceAllocation } from './types.ts';

export const METALLB_GROUP = 'metallb.io';
export const DEFAULT_POOL_NAMESPACES: readonly string[] = ['metallb-system', 'metalgate-system'];

export interface IPAddressPoolObject {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    uid?: string;
    generation?: number;
    creationTimestamp?: string | Date;
    labels?: Record<string, string>;
  };
  spec?: {
    addresses?: unknown;
    autoAssign?: unknown;
    avoidBuggyIPs?: unknown;
    serviceAllocation?: unknown;
  };
}

export type PoolReason = 'Ready' | 'KeptLastGood' | 'InvalidSpec' | 'Overlap' | 'DuplicateName' | 'WrongNamespace';

/** What became of one object. */
export interface PoolVerdict {
  /** `namespace/name`. */
  key: string;
  namespace: string;
  name: string;
  uid: string | undefined;
  generation: number | undefined;
  /** The object's addresses are in force (this version, or its last good one: reason KeptLastGood). */
  serving: boolean;
  reason: PoolReason;
  message: string;
  /** Notes that do not stop the pool, e.g. a CIDR written with host bits. */
  warnings: string[];
}

export interface ResolvedPools {
  /** In allocation order: the ConfigMap's pools not replaced, then the objects' by name. */
  pools: AddressPool[];
  verdicts: PoolVerdict[];
  /** The ConfigMap's pools an object of the same name replaces. */
  replaced: string[];
  /** The good version of each object in force, by uid: the next call's `lastGood`. */
  good: Map<string, AddressPool>;
}

export interface ResolveOptions {
  namespaces?: readonly string[];
  /** Pools in force before, by object uid (the previous call's `good`). */
  lastGood?: ReadonlyMap<string, AddressPool>;
}

type Parsed = { ok: true; pool: AddressPool; warnings: string[] } | { ok: false; message: string };

/** One object's spec -> a pool, or the first problem found, naming the field. */
export function poolOfObject(obj: IPAddressPoolObject): Parsed {
  const name = obj.metadata?.name ?? '';
  const spec = obj.spec;
  if (spec === undefined || spec === null || typeof spec !== 'object') return { ok: false, message: 'spec is missing' };
  if (!Array.isArray(spec.addresses) || spec.addresses.length === 0) return { ok: false, message: 'spec.addresses must list at least one CIDR or range' };
  const ranges: IpRange[] = [];
  const warnings: string[] = [];
  for (const [i, entry] of spec.addresses.entries()) {
    const field = `spec.addresses[${i}]`;
    if (typeof entry !== 'string') return { ok: false, message: `${field} is not a string` };
    const parsed = parseAddressEntry(entry);
    if (isParseError(parsed)) return { ok: false, message: `${field} ${JSON.stringify(entry)}: ${parsed.error}` };
    if (parsed.maskedTo !== undefined) warnings.push(`${field} ${JSON.stringify(entry)} has host bits set; read as ${parsed.maskedTo}`);
    const clash = ranges.find((r) => rangesOverlap(r, parsed.range));
    if (clash) return { ok: false, message: `${field} ${JSON.stringify(entry)} overlaps ${JSON.stringify(clash.source)} of the same pool` };
    ranges.push(parsed.range);
  }
  for (const field of ['autoAssign', 'avoidBuggyIPs'] as const) {
    if (spec[field] !== undefined && typeof spec[field] !== 'boolean') return { ok: false, message: `spec.${field} must be true or false` };
  }
  const allocation = serviceAllocationOf(spec.serviceAllocation);
  if (typeof allocation === 'string') return { ok: false, message: allocation };
  return {
    ok: true,
    pool: {
      name,
      protocol: 'layer2',
      ranges,
      autoAssign: spec.autoAssign !== false,
      avoidBuggyIps: spec.avoidBuggyIPs === true,
      ...(allocation !== undefined ? { serviceAllocation: allocation } : {}),
    },
    warnings,
  };
}

function serviceAllocationOf(raw: unknown): ServiceAllocation | undefined | string {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw !== 'object' || Array.isArray(raw)) return 'spec.serviceAllocation must be an object';
  const a = raw as Record<string, unknown>;
  const priority = a.priority ?? 0;
  if (typeof priority !== 'number' || !Number.isInteger(priority) || priority < 0) return 'spec.serviceAllocation.priority must be a whole number, 0 or more';
  const namespaces = a.namespaces ?? [];
  if (!Array.isArray(namespaces) || namespaces.some((n) => typeof n !== 'string' || n === '')) return 'spec.serviceAllocation.namespaces must be a list of namespace names';
  if (new Set(namespaces).size !== namespaces.length) return 'spec.serviceAllocation.namespaces lists a namespace twice';
  const selectors = (field: 'namespaceSelectors' | 'serviceSelectors'): SelectorSpec[] | string => {
    const list = a[field] ?? [];
    if (!Array.isArray(list)) return `spec.serviceAllocation.${field} must be a list of label selectors`;
    for (const [i, s] of list.entries()) {
      const c = compileLabelSelector(s as SelectorSpec);
      if (!c.ok) return `spec.serviceAllocation.${field}[${i}]: ${c.error}`;
    }
    return list as SelectorSpec[];
  };
  const namespaceSelectors = selectors('namespaceSelectors');
  if (typeof namespaceSelectors === 'string') return namespaceSelectors;
  const serviceSelectors = selectors('serviceSelectors');
  if (typeof serviceSelectors === 'string') return serviceSelectors;
  return { priority, namespaces: namespaces as string[], namespaceSelectors, serviceSelectors };
}

function created(o: IPAddressPoolObject): number {
  const t = o.metadata?.creationTimestamp;
  return t === undefined ? 0 : new Date(t).getTime() || 0;
}

/** Oldest first, then by namespace/name: the order in which pools claim their addresses. */
function byAge(a: IPAddressPoolObject, b: IPAddressPoolObject): number {
  const d = created(a) - created(b);
  if (d !== 0) return d;
  const ka = `${a.metadata?.namespace ?? ''}/${a.metadata?.name ?? ''}`;
  const kb = `${b.metadata?.namespace ?? ''}/${b.metadata?.name ?? ''}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/** The ConfigMap's pools and the IPAddressPool objects -> the pools in force. */
export function resolvePools(legacy: readonly AddressPool[], objects: readonly IPAddressPoolObject[], options: ResolveOptions = {}): ResolvedPools {
  const namespaces = new Set(options.namespaces ?? DEFAULT_POOL_NAMESPACES);
  const lastGood = options.lastGood ?? new Map<string, AddressPool>();
  const verdicts: PoolVerdict[] = [];
  const good = new Map<string, AddressPool>();
  const objectPools: AddressPool[] = [];
  const objectNames = new Set<string>();
  const taken: Array<{ range: IpRange; owner: string }> = [];

  const inScope = objects.filter((o) => namespaces.has(o.metadata?.namespace ?? ''));
  for (const o of inScope) objectNames.add(o.metadata?.name ?? '');
  const replaced = legacy.filter((p) => objectNames.has(p.name)).map((p) => p.name);
  const kept = legacy.filter((p) => !objectNames.has(p.name));
  for (const p of kept) for (const range of p.ranges) taken.push({ range, owner: `pool "${p.name}" of the ConfigMap` });

  const overlapOf = (pool: AddressPool): string | undefined => {
    for (const range of pool.ranges) {
      const hit = taken.find((t) => rangesOverlap(t.range, range));
      if (hit) return `address ${JSON.stringify(range.source)} overlaps ${JSON.stringify(hit.range.source)} of ${hit.owner}`;
    }
    return undefined;
  };

  const seenNames = new Map<string, string>();
  for (const o of [...objects].sort(byAge)) {
    const m = o.metadata ?? {};
    const namespace = m.namespace ?? '';
    const name = m.name ?? '';
    const key = `${namespace}/${name}`;
    const verdict = (serving: boolean, reason: PoolReason, message: string, warnings: string[] = []): void => {
      verdicts.push({ key, namespace, name, uid: m.uid, generation: m.generation, serving, reason, message, warnings });
    };
    const take = (pool: AddressPool): void => {
      objectPools.push(pool);
      if (m.uid !== undefined) good.set(m.uid, pool);
      for (const range of pool.ranges) taken.push({ range, owner: `IPAddressPool ${key}` });
    };
    if (!namespaces.has(namespace)) {
      verdict(false, 'WrongNamespace', `not read: address pools are read from namespace${namespaces.size > 1 ? 's' : ''} ${[...namespaces].join(', ')}`);
      continue;
    }
    const first = seenNames.get(name);
    if (first !== undefined) {
      verdict(false, 'DuplicateName', `not served: IPAddressPool ${first} (older) has the same name, and Services name pools by name alone`);
      continue;
    }
    seenNames.set(name, key);
    const parsed = poolOfObject(o);
    const refusal = parsed.ok ? overlapOf(parsed.pool) : parsed.message;
    if (parsed.ok && refusal === undefined) {
      take(parsed.pool);
      verdict(true, 'Ready', describePool(parsed.pool), parsed.warnings);
      continue;
    }
    const reason: PoolReason = parsed.ok ? 'Overlap' : 'InvalidSpec';
    const previous = m.uid === undefined ? undefined : lastGood.get(m.uid);
    if (previous !== undefined && overlapOf(previous) === undefined) {
      take(previous);
      verdict(true, 'KeptLastGood', `this version is refused (${refusal}); the last good version stays in force: ${describePool(previous)}`);
      continue;
    }
    verdict(false, reason, `not served: ${refusal}`);
  }
  objectPools.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { pools: [...kept, ...objectPools], verdicts, replaced, good };
}

function describePool(pool: AddressPool): string {
  const ranges = pool.ranges.map((r) => r.source).join(', ');
  return `serving ${ranges}${pool.autoAssign ? '' : ' (not auto-assigned)'}`;
}
