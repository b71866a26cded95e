// Which nodes may announce an IP, and on which interfaces, from MetalLB's
// IPAddressPool and L2Advertisement objects: the election's AnnounceRule
// per IP. Pure: objects in, rules out; the speaker feeds it its informers.
//
// An IP's pool is the one its Service names in metallb.io/ip-allocated-from-pool
// (the controller's decision), else the IPAddressPool whose ranges hold it.
// An IP of no IPAddressPool object (a ConfigMap pool, or an IP set by hand)
// gets no rule: every node may announce it, as before L2Advertisements
// existed. An IP of an object pool that no advertisement selects gets a rule
// with no node: MetalLB does not announce such a pool, and neither do we.
//
// Not the parser of the objects (config/metallb-pools.ts, config/metallb-l2.ts)
// nor the election (election.ts), which applies the rules.

import { isParseError, parseIp, rangeContains, type IpAddress } from '../config/ip-range.ts';
import { l2PlanFor, type L2Advertisement } from '../config/metallb-l2.ts';
import type { AddressPool } from '../config/types.ts';
import type { Labels } from '../kube/label-selector.ts';
import type { AnnounceRule } from './election.ts';

export interface AnnounceRuleInput {
  /** The IPAddressPool objects' pools in force (resolvePools without the ConfigMap). */
  pools: readonly AddressPool[];
  /** Each object pool's labels, for ipAddressPoolSelectors. */
  poolLabels: ReadonlyMap<string, Labels | undefined>;
  /** The valid L2Advertisements. */
  ads: readonly L2Advertisement[];
  /** Every Node, for nodeSelectors. */
  nodes: ReadonlyArray<{ name: string; labels: Labels | undefined }>;
}

/** The rules of one configuration; computes each pool's rule once. */
export class AnnounceRules {
  readonly #input: AnnounceRuleInput;
  readonly #byPool = new Map<string, AddressPool>();
  readonly #rules = new Map<string, AnnounceRule>();

  constructor(input: AnnounceRuleInput) {
    this.#input = input;
    for (const pool of input.pools) this.#byPool.set(pool.name, pool);
  }

  /** True when some IP may get a rule (there are object pools). */
  get active(): boolean {
    return this.#byPool.size > 0;
  }

  /**
   * The rule for `ip`, whose Services name `poolName` (or nothing), or
   * undefined when no object pool holds it.
   */
  forIp(ip: string, poolName: string | undefined): AnnounceRule | undefined {
    if (this.#byPool.size === 0) return undefined;
    let pool: AddressPool | undefined;
    if (poolName !== undefined) {
      // A pool the objects do not define is the ConfigMap's: no rule.
      pool = this.#byPool.get(poolName);
    } else {
      const addr = parseIp(ip);
      if (isParseError(addr)) return undefined;
      pool = this.#containing(addr);
    }
    return pool === undefined ? undefined : this.#ruleOf(pool.name);
  }

  #containing(addr: IpAddress): AddressPool | undefined {
    for (const pool of this.#input.pools) if (pool.ranges.some((r) => rangeContains(r, addr))) return pool;
    return undefined;
  }

  #ruleOf(pool: string): AnnounceRule {
    let rule = this.#rules.get(pool);
    if (rule !== undefined) return rule;
    const labels = this.#input.poolLabels.get(pool);
    const nodes = new Map<string, ReadonlySet<string> | undefined>();
    for (const node of this.#input.nodes) {
      const plan = l2PlanFor(this.#input.ads, pool, labels, node.labels);
      if (plan.announce) nodes.set(node.name, plan.interfaces);
    }
    rule = { source: `pool "${pool}"`, nodes };
    this.#rules.set(pool, rule);
    return rule;
  }
}
