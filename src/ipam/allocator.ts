// The IP allocator: which pools exist and which Service holds which IP.
// Pure and synchronous; the controller feeds it Services and writes the
// answers to their status.
//
// Rules beyond MetalLB's, decided here:
// - No churn. An IP a Service holds stays with it while its request still
//   accepts it: a config change never moves an IP (even out of every pool),
//   and a pool annotation only moves an IP when the annotation itself
//   changed since the IP was assigned or restored.
// - A Service with an allow-shared-ip key joins an IP already used by that
//   key (when the sharing rule allows) before taking a fresh one: that is
//   what users of the annotation expect. Among such IPs: pool order, then
//   lowest address.
// - A failed allocation changes nothing: the Service keeps what it had.
// - Auto-assignment walks pools in config order and takes the lowest free
//   address of the first pool that has one (ranges of a pool by address).
import type { AddressPool, IpFamily, PoolConfig, SelectorSpec, ServiceAllocation } from '../config/types.ts';
import { formatIp, isParseError, parseIp } from '../config/ip-range.ts';
import { compileLabelSelector } from '../kube/label-selector.ts';
import { familyName, familyRequired, type AllocationRequest, type RequestedIp, type SharingTraits } from './allocation-request.ts';
import { RangeCursor } from './range-cursor.ts';
import { sharingConflict } from './sharing.ts';
import { isSkipped, usableCount } from './usable-addresses.ts';

export interface AssignedIp {
  family: IpFamily;
  ip: string;
  /** The pool the IP lies in now, or undefined when it is outside every pool. */
  pool: string | undefined;
}

export type AllocationResult =
  | {
      ok: true;
      /** For the status, in the order of the request's families. */
      ips: string[];
      /** The same IPs with their family and pool. */
      assignments: AssignedIp[];
      /** False when the Service already held exactly these IPs. */
      changed: boolean;
      /** Things to tell the user that did not stop the allocation. */
      warnings: string[];
    }
  | { ok: false; reason: string };

export interface RestoreConflict {
  ip: string;
  reason: string;
}

interface RestoreOutcome {
  /** What the Service holds now (the IPs that could be claimed). */
  ips: string[];
  assignments: AssignedIp[];
  conflicts: RestoreConflict[];
  /** E.g. IPs kept although outside every pool. */
  warnings: string[];
}

/** `ok: false` when some IP could not be claimed; `reason` sums up `conflicts`. */
export type RestoreResult = (RestoreOutcome & { ok: true }) | (RestoreOutcome & { ok: false; reason: string });

/** An IP a Service holds that lies in no pool of the current config. */
export interface OrphanedIp {
  key: string;
  family: IpFamily;
  ip: string;
}

export interface PoolUsage {
  pool: string;
  family: IpFamily;
  /** Addresses the pool may hand out (after avoid-buggy-ips). */
  total: bigint;
  /** Distinct addresses of the pool held by at least one Service. */
  inUse: number;
}

interface PoolSlot {
  pool: AddressPool;
  /** Position in the config: the allocation order. */
  index: number;
  /** From `serviceAllocation`: the Services the pool serves automatically; undefined for any. */
  selects: ((request: AllocationRequest) => boolean) | undefined;
  /** Ranges of each family, sorted by first address. */
  ranges: Record<IpFamily, RangeSlot[]>;
  total: Record<IpFamily, bigint>;
  inUse: Record<IpFamily, number>;
}

interface RangeSlot {
  pool: PoolSlot;
  first: bigint;
  last: bigint;
  cursor: RangeCursor;
}

interface HeldIp {
  family: IpFamily;
  address: bigint;
  text: string;
  /** Services holding the IP: one, or several that may share it. */
  holders: ServiceHolding[];
  slot: RangeSlot | undefined;
}

interface ServiceHolding {
  traits: SharingTraits;
  /** The pool annotation when the IPs were last assigned or restored. */
  pool: string | undefined;
  ips: HeldIp[];
}

/** One family's outcome inside allocate(), before anything is committed. */
type FamilyChoice = { keep: HeldIp } | { address: bigint; slot: RangeSlot };

const FAMILIES: readonly IpFamily[] = [4, 6];

export class Allocator {
  #pools: PoolSlot[] = [];
  readonly #poolByName = new Map<string, PoolSlot>();
  /** Every range of a family sorted by first address, to find an address's pool. */
  #rangeIndex: Record<IpFamily, RangeSlot[]> = { 4: [], 6: [] };
  /** Overlapping ranges (the config parser forbids them) fall back to a scan in pool order. */
  #overlaps: Record<IpFamily, boolean> = { 4: false, 6: false };
  readonly #held: Record<IpFamily, Map<bigint, HeldIp>> = { 4: new Map(), 6: new Map() };
  readonly #isUsed: Record<IpFamily, (address: bigint) => boolean> = {
    4: (address) => this.#held[4].has(address),
    6: (address) => this.#held[6].has(address),
  };
  readonly #services = new Map<string, ServiceHolding>();
  /** IPs whose holders carry a sharing key, by key: candidates to join. */
  readonly #bySharingKey = new Map<string, Set<HeldIp>>();

  constructor(config?: PoolConfig | readonly AddressPool[]) {
    if (config !== undefined) this.setConfig(config);
  }

  /**
   * Swap the pool set. Held IPs stay with their Services whatever the new
   * pools are; the ones now outside every pool are returned (sorted) so the
   * controller can warn.
   */
  setConfig(config: PoolConfig | readonly AddressPool[]): OrphanedIp[] {
    const pools = 'pools' in config ? config.pools : config;
    this.#pools = [];
    this.#poolByName.clear();
    this.#rangeIndex = { 4: [], 6: [] };
    for (const [index, pool] of pools.entries()) {
      const slot: PoolSlot = {
        pool,
        index,
        selects: pool.serviceAllocation === undefined ? undefined : selectsOf(pool.serviceAllocation),
        ranges: { 4: [], 6: [] },
        total: { 4: 0n, 6: 0n },
        inUse: { 4: 0, 6: 0 },
      };
      for (const range of pool.ranges) {
        const cursor = new RangeCursor(range, pool.avoidBuggyIps, this.#isUsed[range.family]);
        const rangeSlot: RangeSlot = { pool: slot, first: range.first, last: range.last, cursor };
        slot.ranges[range.family].push(rangeSlot);
        slot.total[range.family] += usableCount(range, pool.avoidBuggyIps);
        this.#rangeIndex[range.family].push(rangeSlot);
      }
      for (const family of FAMILIES) slot.ranges[family].sort(byFirst);
      this.#pools.push(slot);
      if (!this.#poolByName.has(pool.name)) this.#poolByName.set(pool.name, slot);
    }
    for (const family of FAMILIES) {
      const sorted = this.#rangeIndex[family].sort(byFirst);
      this.#overlaps[family] = sorted.some((r, i) => i > 0 && r.first <= sorted[i - 1]!.last);
      for (const held of this.#held[family].values()) {
        held.slot = this.#locate(family, held.address);
        if (held.slot !== undefined) held.slot.pool.inUse[family]++;
      }
    }
    return this.orphans();
  }

  /**
   * Claim the IPs a Service already shows in its status, as they are (even
   * outside every pool), replacing whatever the allocator held for it. An
   * IP another Service restored first and may not share with is refused
   * and reported; the rest are claimed.
   */
  restore(request: AllocationRequest, ips: readonly string[]): RestoreResult {
    this.release(request.key);
    const holding: ServiceHolding = { traits: traitsOf(request), pool: request.pool, ips: [] };
    const conflicts: RestoreConflict[] = [];
    const warnings: string[] = [];
    for (const raw of ips) {
      const text = raw.trim();
      const parsed = parseIp(text);
      if (isParseError(parsed)) {
        conflicts.push({ ip: raw, reason: `"${raw}" in the Service status is not an IP address` });
        continue;
      }
      const { family, value: address } = parsed;
      const canonical = formatIp(family, address);
      const sameFamily = holding.ips.find((h) => h.family === family);
      if (sameFamily !== undefined) {
        conflicts.push({
          ip: canonical,
          reason: `more than one ${familyName(family)} address in the Service status; keeping ${sameFamily.text}`,
        });
        continue;
      }
      const held = this.#held[family].get(address);
      const conflict = held === undefined ? undefined : this.#conflictWithHolders(canonical, held, holding.traits);
      if (conflict !== undefined) {
        conflicts.push({ ip: canonical, reason: conflict });
        continue;
      }
      const slot = held?.slot ?? this.#locate(family, address);
      holding.ips.push(this.#claim(holding, family, address, slot));
      if (slot === undefined) {
        warnings.push(`IP ${canonical} is outside every pool; kept so that it does not move`);
      } else if (request.pool !== undefined && slot.pool.pool.name !== request.pool) {
        warnings.push(
          `IP ${canonical} is in pool "${slot.pool.pool.name}", not the requested "${request.pool}"; kept so that it does not move`,
        );
      }
    }
    holding.ips = holding.ips.slice();
    if (holding.ips.length > 0) this.#services.set(request.key, holding);
    const outcome: RestoreOutcome = {
      ips: holding.ips.map((h) => h.text),
      assignments: holding.ips.map(assignedOf),
      conflicts,
      warnings,
    };
    if (conflicts.length === 0) return { ok: true, ...outcome };
    return { ok: false, reason: conflicts.map((c) => c.reason).join('; '), ...outcome };
  }

  /**
   * Give the Service one IP per family it asks for. IPs it holds that still
   * satisfy the request are kept; on failure nothing changes.
   */
  allocate(request: AllocationRequest): AllocationResult {
    const invalid = this.#checkRequest(request);
    if (invalid !== undefined) return { ok: false, reason: invalid };
    const current = this.#services.get(request.key);
    const choices: FamilyChoice[] = [];
    const warnings: string[] = [];
    for (let index = 0; index < request.families.length; index++) {
      const family = request.families[index]!;
      const held = current === undefined ? undefined : heldOfFamily(current, family);
      if (held !== undefined && current !== undefined && this.#stillSatisfies(held, current, request)) {
        choices.push({ keep: held });
        if (held.slot === undefined) warnings.push(`IP ${held.text} is outside every pool; kept so that it does not move`);
        continue;
      }
      const choice = this.#choose(family, request);
      if (typeof choice !== 'string') {
        choices.push(choice);
      } else if (familyRequired(request, index)) {
        return { ok: false, reason: choice };
      } else if (held !== undefined && this.#conflictWithHolders(held.text, held, request, current) === undefined) {
        // Optional family: keep the last good IP rather than drop it.
        choices.push({ keep: held });
        warnings.push(`optional ${familyName(family)} IP ${held.text} kept unchanged: ${choice}`);
      } else {
        warnings.push(`no ${familyName(family)} IP assigned (optional with PreferDualStack): ${choice}`);
      }
    }
    if (request.pool !== undefined && !this.#poolByName.has(request.pool)) {
      warnings.push(`address pool "${request.pool}" does not exist; the IPs already held are kept`);
    }
    const changed = this.#commit(request, current, choices);
    const held = this.#services.get(request.key)?.ips ?? [];
    return { ok: true, ips: held.map((h) => h.text), assignments: held.map(assignedOf), changed, warnings };
  }

  /** Free every IP of the Service; returns the IPs it held. */
  release(key: string): string[] {
    const holding = this.#services.get(key);
    if (holding === undefined) return [];
    const released = holding.ips.map((h) => h.text);
    for (const held of holding.ips) this.#detach(holding, held);
    this.#services.delete(key);
    return released;
  }

  /** The IPs the Service holds, or undefined when it holds none. */
  assigned(key: string): string[] | undefined {
    return this.#services.get(key)?.ips.map((h) => h.text);
  }

  /** The IPs the Service holds with family and pool, or undefined. */
  assignments(key: string): AssignedIp[] | undefined {
    return this.#services.get(key)?.ips.map(assignedOf);
  }

  /** Keys of the Services holding IPs, sorted. */
  keys(): string[] {
    return [...this.#services.keys()].sort(compareText);
  }

  /** Per pool (config order) and family present in it. */
  stats(): PoolUsage[] {
    const usage: PoolUsage[] = [];
    for (const slot of this.#pools) {
      for (const family of FAMILIES) {
        if (slot.ranges[family].length === 0) continue;
        usage.push({ pool: slot.pool.name, family, total: slot.total[family], inUse: slot.inUse[family] });
      }
    }
    return usage;
  }

  /** Held IPs outside every pool, sorted by Service key then IP. */
  orphans(): OrphanedIp[] {
    const found: OrphanedIp[] = [];
    for (const [key, holding] of this.#services) {
      for (const held of holding.ips) {
        if (held.slot === undefined) found.push({ key, family: held.family, ip: held.text });
      }
    }
    return found.sort((a, b) => compareText(a.key, b.key) || a.family - b.family || compareText(a.ip, b.ip));
  }

  #checkRequest(request: AllocationRequest): string | undefined {
    // Plain loops: this runs on every reconcile of every Service.
    const { families, requestedIps } = request;
    if (families.length === 0) return 'the Service asks for no IP family';
    if (families.length > 2 || (families.length === 2 && families[0] === families[1])) return 'an IP family is listed twice';
    for (let i = 0; i < requestedIps.length; i++) {
      const family = requestedIps[i]!.family;
      if (!families.includes(family)) {
        return `requested IP ${requestedIps[i]!.text} is ${familyName(family)} but the Service has no ${familyName(family)} family`;
      }
      for (let j = 0; j < i; j++) {
        if (requestedIps[j]!.family === family) return `more than one ${familyName(family)} IP requested`;
      }
    }
    return undefined;
  }

  #stillSatisfies(held: HeldIp, holding: ServiceHolding, request: AllocationRequest): boolean {
    const wanted = requestedOf(request, held.family);
    if (wanted !== undefined && wanted.address !== held.address) return false;
    const poolAnnotationChanged = request.pool !== undefined && request.pool !== holding.pool;
    if (poolAnnotationChanged && held.slot?.pool.pool.name !== request.pool) return false;
    return this.#conflictWithHolders(held.text, held, request, holding) === undefined;
  }

  /** The address to take for one family, or why none can be had. */
  #choose(family: IpFamily, request: AllocationRequest): { address: bigint; slot: RangeSlot } | string {
    // Checked here, not up front: a Service keeps its IPs when its pool
    // leaves the config, and only a new choice needs the pool to exist.
    if (request.pool !== undefined && !this.#poolByName.has(request.pool)) return `unknown address pool "${request.pool}"`;
    const wanted = requestedOf(request, family);
    return wanted !== undefined ? this.#chooseRequested(wanted, request) : this.#chooseAuto(family, request);
  }

  #chooseRequested(wanted: RequestedIp, request: AllocationRequest): { address: bigint; slot: RangeSlot } | string {
    const { family, address, text } = wanted;
    const slot =
      request.pool === undefined
        ? this.#locate(family, address)
        : this.#poolByName.get(request.pool)?.ranges[family].find((r) => r.first <= address && address <= r.last);
    if (slot === undefined) {
      return request.pool === undefined
        ? `requested IP ${text} is not in any pool`
        : `requested IP ${text} is not in pool "${request.pool}"`;
    }
    if (isSkipped(family, slot.pool.pool.avoidBuggyIps, address)) {
      return `requested IP ${text} ends in .0 or .255 and pool "${slot.pool.pool.name}" has avoid-buggy-ips set`;
    }
    const held = this.#held[family].get(address);
    const conflict = held === undefined ? undefined : this.#conflictWithHolders(text, held, request, this.#services.get(request.key));
    return conflict ?? { address, slot };
  }

  #chooseAuto(family: IpFamily, request: AllocationRequest): { address: bigint; slot: RangeSlot } | string {
    const named = request.pool === undefined ? undefined : this.#poolByName.get(request.pool);
    // The pools the request may take from, by preference.
    const candidates = named === undefined ? this.#autoPools(request) : [named];
    if (request.sharingKey !== '') {
      const shared = this.#bestShared(family, request, candidates);
      if (shared !== undefined) return shared;
    }
    let anyRange = false;
    for (const pool of candidates) {
      for (const range of pool.ranges[family]) {
        anyRange = true;
        const address = range.cursor.lowestFree();
        if (address !== undefined) return { address, slot: range };
      }
    }
    const fam = familyName(family);
    if (named !== undefined) {
      return anyRange ? `no available IPs in pool "${named.pool.name}" for ${fam}` : `pool "${named.pool.name}" has no ${fam} addresses`;
    }
    if (candidates.length === 0 && this.#pools.some((p) => p.pool.autoAssign && p.selects !== undefined)) {
      return `no auto-assign pool serves this Service: every one has a serviceAllocation that selects other Services`;
    }
    return anyRange ? `no available ${fam} IPs in any auto-assign pool` : `no auto-assign pool has ${fam} addresses`;
  }

  /**
   * The pools a request without a pool annotation takes from, in order
   * (MetalLB's rule): auto-assign pools whose serviceAllocation selects it,
   * lowest priority first and unset (0) last, config order among equals;
   * then the auto-assign pools without serviceAllocation, in config order.
   */
  #autoPools(request: AllocationRequest): PoolSlot[] {
    const pinned: PoolSlot[] = [];
    const open: PoolSlot[] = [];
    for (const slot of this.#pools) {
      if (!slot.pool.autoAssign) continue;
      if (slot.selects === undefined) open.push(slot);
      else if (slot.selects(request)) pinned.push(slot);
    }
    if (pinned.length > 1) pinned.sort((a, b) => priorityRank(a) - priorityRank(b) || a.index - b.index);
    return pinned.length === 0 ? open : [...pinned, ...open];
  }

  /** An IP already used with the request's sharing key that it may join, in one of `pools`: their order, then lowest. */
  #bestShared(family: IpFamily, request: AllocationRequest, pools: readonly PoolSlot[]): { address: bigint; slot: RangeSlot } | undefined {
    const candidates = this.#bySharingKey.get(request.sharingKey);
    if (candidates === undefined) return undefined;
    const self = this.#services.get(request.key);
    const rank = new Map(pools.map((p, i) => [p, i]));
    let best: HeldIp | undefined;
    let bestRank = Infinity;
    for (const held of candidates) {
      const slot = held.slot;
      if (held.family !== family || slot === undefined) continue;
      const r = rank.get(slot.pool);
      if (r === undefined) continue;
      if (held.holders.every((h) => h === self)) continue;
      if (this.#conflictWithHolders(held.text, held, request, self) !== undefined) continue;
      if (best === undefined || r < bestRank || (r === bestRank && held.address < best.address)) {
        best = held;
        bestRank = r;
      }
    }
    return best === undefined ? undefined : { address: best.address, slot: best.slot! };
  }

  #conflictWithHolders(text: string, held: HeldIp, want: SharingTraits, self?: ServiceHolding): string | undefined {
    for (const holder of held.holders) {
      if (holder === self) continue;
      const conflict = sharingConflict(text, want, holder.traits);
      if (conflict !== undefined) return conflict;
    }
    return undefined;
  }

  /** Apply the choices; true when the Service's IPs changed. */
  #commit(request: AllocationRequest, current: ServiceHolding | undefined, choices: FamilyChoice[]): boolean {
    const holding = current ?? { traits: traitsOf(request), pool: request.pool, ips: [] };
    const kept: HeldIp[] = [];
    for (const choice of choices) if ('keep' in choice) kept.push(choice.keep);
    let changed = false;
    for (const held of holding.ips) {
      if (kept.includes(held)) continue;
      this.#detach(holding, held);
      changed = true;
    }
    // The sharing key may have changed; kept IPs are then held alone (the
    // sharing rule was re-checked), so re-filing them is all there is to do.
    const oldSharingKey = holding.traits.sharingKey;
    if (!sameTraits(holding.traits, request)) holding.traits = traitsOf(request);
    holding.pool = request.pool;
    if (oldSharingKey !== holding.traits.sharingKey) {
      for (const held of kept) {
        this.#unindex(held, oldSharingKey);
        this.#index(held, holding.traits.sharingKey);
      }
    }
    // map() sizes the array exactly: one of these lives per Service.
    const ips = choices.map((choice) => {
      if ('keep' in choice) return choice.keep;
      changed = true;
      return this.#claim(holding, choice.slot.cursor.range.family, choice.address, choice.slot);
    });
    holding.ips = ips;
    if (ips.length > 0) this.#services.set(request.key, holding);
    else this.#services.delete(request.key);
    return changed;
  }

  #claim(holding: ServiceHolding, family: IpFamily, address: bigint, slot: RangeSlot | undefined): HeldIp {
    let held = this.#held[family].get(address);
    if (held === undefined) {
      // A literal one-element array: `[]` then push() would reserve room for 17.
      held = { family, address, text: formatIp(family, address), holders: [holding], slot };
      this.#held[family].set(address, held);
      if (slot !== undefined) slot.pool.inUse[family]++;
      this.#index(held, holding.traits.sharingKey);
      return held;
    }
    held.holders.push(holding);
    return held;
  }

  #detach(holding: ServiceHolding, held: HeldIp): void {
    const at = held.holders.indexOf(holding);
    if (at >= 0) held.holders.splice(at, 1);
    if (held.holders.length > 0) return;
    this.#unindex(held, holding.traits.sharingKey);
    this.#held[held.family].delete(held.address);
    if (held.slot !== undefined) {
      held.slot.pool.inUse[held.family]--;
      held.slot.cursor.released(held.address);
    }
  }

  #index(held: HeldIp, sharingKey: string): void {
    if (sharingKey === '') return;
    let set = this.#bySharingKey.get(sharingKey);
    if (set === undefined) this.#bySharingKey.set(sharingKey, (set = new Set()));
    set.add(held);
  }

  #unindex(held: HeldIp, sharingKey: string): void {
    const set = this.#bySharingKey.get(sharingKey);
    if (set === undefined) return;
    set.delete(held);
    if (set.size === 0) this.#bySharingKey.delete(sharingKey);
  }

  /** The range (and so pool) holding an address, or undefined when it is in none. */
  #locate(family: IpFamily, address: bigint): RangeSlot | undefined {
    const ranges = this.#rangeIndex[family];
    if (this.#overlaps[family]) {
      for (const pool of this.#pools) {
        const hit = pool.ranges[family].find((r) => r.first <= address && address <= r.last);
        if (hit !== undefined) return hit;
      }
      return undefined;
    }
    let lo = 0;
    let hi = ranges.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const range = ranges[mid]!;
      if (address < range.first) hi = mid - 1;
      else if (address > range.last) lo = mid + 1;
      else return range;
    }
    return undefined;
  }
}

function traitsOf(request: AllocationRequest): SharingTraits {
  return {
    key: request.key,
    sharingKey: request.sharingKey,
    ports: request.ports,
    localTraffic: request.localTraffic,
    backendKey: request.backendKey,
  };
}

function heldOfFamily(holding: ServiceHolding, family: IpFamily): HeldIp | undefined {
  for (const held of holding.ips) if (held.family === family) return held;
  return undefined;
}

function sameTraits(traits: SharingTraits, request: AllocationRequest): boolean {
  if (
    traits.sharingKey !== request.sharingKey ||
    traits.localTraffic !== request.localTraffic ||
    traits.backendKey !== request.backendKey ||
    traits.ports.length !== request.ports.length
  ) {
    return false;
  }
  for (let i = 0; i < traits.ports.length; i++) {
    const a = traits.ports[i]!;
    const b = request.ports[i]!;
    if (a.port !== b.port || a.protocol !== b.protocol) return false;
  }
  return true;
}

function requestedOf(request: AllocationRequest, family: IpFamily): RequestedIp | undefined {
  for (const wanted of request.requestedIps) if (wanted.family === family) return wanted;
  return undefined;
}

function assignedOf(held: HeldIp): AssignedIp {
  return { family: held.family, ip: held.text, pool: held.slot?.pool.pool.name };
}

function byFirst(a: RangeSlot, b: RangeSlot): number {
  return a.first < b.first ? -1 : a.first > b.first ? 1 : 0;
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Priority 0 (unset) ranks after every set priority. */
function priorityRank(slot: PoolSlot): number {
  const p = slot.pool.serviceAllocation?.priority ?? 0;
  return p > 0 ? p : Number.MAX_SAFE_INTEGER;
}

/**
 * `serviceAllocation` as a test of a request: its namespace listed or
 * selected (when namespaces or namespaceSelectors are given) and its labels
 * selected (when serviceSelectors are given). A selector that does not
 * compile (the config layer refuses those) selects nothing.
 */
function selectsOf(allocation: ServiceAllocation): (request: AllocationRequest) => boolean {
  const compile = (list: readonly SelectorSpec[]) =>
    list.map((s) => {
      const c = compileLabelSelector(s);
      return c.ok ? c.matches : () => false;
    });
  const namespaces = new Set(allocation.namespaces);
  const namespaceSelectors = compile(allocation.namespaceSelectors);
  const serviceSelectors = compile(allocation.serviceSelectors);
  const scoped = namespaces.size > 0 || namespaceSelectors.length > 0;
  return (request) => {
    if (scoped && !namespaces.has(request.namespace) && !namespaceSelectors.some((m) => m(request.namespaceLabels))) return false;
    return serviceSelectors.length === 0 || serviceSelectors.some((m) => m(request.labels));
  };
}
