// Shapes shared by the pool-config parser (producer) and the allocator
// (consumer). Addresses are held as bigint so IPv4 and IPv6 share one
// arithmetic and a /64 pool costs nothing to represent.

export type IpFamily = 4 | 6;

/** One contiguous block of a pool: a CIDR or an `A-B` range, normalised. */
export interface IpRange {
  family: IpFamily;
  /** First address, inclusive. */
  first: bigint;
  /** Last address, inclusive. */
  last: bigint;
  /** The entry as the user wrote it, for messages. */
  source: string;
}

export type PoolProtocol = 'layer2' | 'bgp';

export interface AddressPool {
  name: string;
  protocol: PoolProtocol;
  /** In the order the user listed them. */
  ranges: IpRange[];
  /** `auto-assign` (default true): false means only explicit requests get these IPs. */
  autoAssign: boolean;
  /** `avoid-buggy-ips` (default false): never hand out IPv4 x.x.x.0 or x.x.x.255. */
  avoidBuggyIps: boolean;
  /** IPAddressPool `serviceAllocation`: the pool serves only the Services it selects (absent: any Service). */
  serviceAllocation?: ServiceAllocation;
}

/** Label selectors as the API writes them (kube/label-selector.ts compiles them). */
export interface SelectorSpec {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{ key?: string; operator?: string; values?: string[] }>;
}

/**
 * Which Services a pool serves, as MetalLB reads IPAddressPool
 * `serviceAllocation`: the Service's namespace is listed or selected (when
 * either is given), and its labels match a serviceSelector (when any is given).
 */
export interface ServiceAllocation {
  /** Lower first; 0 (unset) after every pool with a priority. */
  priority: number;
  namespaces: string[];
  namespaceSelectors: SelectorSpec[];
  serviceSelectors: SelectorSpec[];
}

/** A validated config. Pools keep the order of the file: allocation order is the file's order. */
export interface PoolConfig {
  pools: AddressPool[];
}

/** One problem in a config. `message` is the full human-readable line. */
export interface ConfigIssue {
  severity: 'error' | 'warning';
  /** 1-based line in the YAML text, when known. */
  line?: number;
  /** Name of the pool at fault, when known. */
  pool?: string;
  message: string;
}
