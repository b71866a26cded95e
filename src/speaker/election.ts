// Which node announces each load-balancer IP. Pure and deterministic: every
// speaker runs it over the same inputs (Leases, Nodes, EndpointSlices, the
// Services' IPs) and reaches the same owners without talking to the others.
//
// Eligible for an IP: a live speaker, on a node that is not excluded, that has
// an interface whose subnet contains the IP (MetalLB lets a node without one
// win and blackholes the IP), and - when a Service on the IP has
// externalTrafficPolicy: Local - a ready endpoint of that Service on the node.
//
// Shared IPs. Services sharing an IP share one owner, so the constraints add
// up: the owner must hold a ready local endpoint for *every* Local Service on
// the IP (intersection). Sharing with Local requires the same backend set, so
// in a valid cluster the intersection equals each set; while they diverge (a
// rollout) the intersection is the only choice that blackholes none of them.
// Cluster-policy Services on the IP add no constraint.
//
// L2Advertisements. An IP may carry an AnnounceRule (from the
// L2Advertisements of its pool): only the nodes it names may own the IP, and
// a node it gives interface names is eligible when it has one of them usable
// (the named interface carries the IP whatever its subnets, as MetalLB
// announces on it; it must exist, where MetalLB elects the node anyway and
// blackholes the IP). No rule: every node, by subnet.
//
// Owner = the eligible node with the lowest score(node, IP), ties broken by
// name (rendezvous hashing). Removing a node moves only the IPs it owned;
// adding one takes roughly 1/n of the IPs, each from its previous owner.
//
// The score. Node names (node-1, node-2...) and consecutive addresses are
// highly correlated strings, so each is first hashed with SHA-256 (stable
// across Node versions and architectures, and computed once per name and
// per IP, cached); the pair is then combined with a cheap bijective 32-bit
// mixer so the nodes x IPs product costs a few integer operations instead
// of a SHA-256 each (1 us x 300k pairs would be 0.3 s per recomputation).
// This function is part of the protocol between speakers: changing it moves
// IPs during a rolling upgrade, so bump ELECTION_HASH_VERSION if you must.

import { hash } from 'node:crypto';
import { mix32 } from '../common/hash32.ts';
import { formatAddress, isParseError, parseCidr, parseIp, type IpAddress } from '../config/ip-range.ts';

const ELECTION_HASH_VERSION = 1;

export const EXCLUDE_FROM_LB_LABEL = 'node.kubernetes.io/exclude-from-external-load-balancers';

/** The parts of a Node object the exclusion rules read (a V1Node fits). */
export interface NodeFacts {
  metadata?: { labels?: Readonly<Record<string, string>> | undefined } | undefined;
  status?: { conditions?: ReadonlyArray<{ type: string; status: string }> | undefined } | undefined;
}

/** Why a node must not announce anything, or undefined when it may. */
export function nodeExclusionReason(node: NodeFacts): string | undefined {
  // The label's presence excludes, whatever its value (Kubernetes' semantics).
  const labels = node.metadata?.labels;
  if (labels && Object.hasOwn(labels, EXCLUDE_FROM_LB_LABEL)) return `label ${EXCLUDE_FROM_LB_LABEL}`;
  for (const c of node.status?.conditions ?? []) {
    if (c.type === 'NetworkUnavailable' && c.status === 'True') return 'condition NetworkUnavailable=True';
  }
  return undefined;
}

export interface ElectionNode {
  name: string;
  /** From nodeExclusionReason(); set means the node never owns an IP. */
  excluded?: string | undefined;
  /**
   * CIDRs of the node's interfaces that may announce (bond and bridge
   * members already left out), e.g. "198.18.0.5/24"; host bits are ignored.
   * An IP is announceable where one of them contains it.
   */
  subnets?: readonly string[] | undefined;
  /** The announce interface is pinned by configuration: any IP will do. */
  anyIp?: boolean | undefined;
  /** Names of the node's interfaces that may announce (with or without an address). */
  interfaces?: readonly string[] | undefined;
}

/** Which nodes may announce an IP, from its pool's L2Advertisements. */
export interface AnnounceRule {
  /** What the rule comes from, for reasons: `pool "blue"`. */
  source: string;
  /** The nodes selected, each with the interfaces it may announce on (undefined: any, by subnet). */
  nodes: ReadonlyMap<string, ReadonlySet<string> | undefined>;
}

export interface ServiceOnIp {
  /** namespace/name, for messages. */
  service: string;
  /** externalTrafficPolicy: Local. */
  local: boolean;
  /** For Local: nodes holding at least one ready endpoint. Missing means none. */
  readyNodes?: ReadonlySet<string> | undefined;
}

/** One IP and the Services on it. Entries naming the same IP are merged (sharing). */
export interface IpDemand {
  ip: string;
  services: readonly ServiceOnIp[];
  /** Absent: no L2Advertisement limits the IP (every node may announce it). */
  rule?: AnnounceRule | undefined;
}

export interface ElectionInput {
  /** Node names of live speakers (Membership.view().live). */
  live: ReadonlySet<string>;
  nodes: readonly ElectionNode[];
  ips: readonly IpDemand[];
}

export type NoOwnerCode = 'invalid-ip' | 'no-live-speaker' | 'all-excluded' | 'not-advertised' | 'no-interface' | 'no-local-endpoint';

export interface Ownership {
  /** Canonical text of the IP (the map key). */
  ip: string;
  owner: string | undefined;
  /** Set when owner is undefined. */
  reason?: { code: NoOwnerCode; message: string };
}

/** Two 32-bit lanes of a SHA-256 digest. */
interface Lanes {
  h0: number;
  h1: number;
}

interface IpEntry extends Lanes {
  addr: IpAddress;
  text: string;
}

interface Subnet {
  family: 4 | 6;
  first: bigint;
  last: bigint;
}

/**
 * Keeps the per-name and per-IP hashes between calls; otherwise stateless.
 * Use one per speaker and call elect() on every relevant change.
 */
export class OwnerElection {
  #nodeHashes = new Map<string, Lanes>();
  #ipEntries = new Map<string, IpEntry | null>();
  #subnets = new Map<string, Subnet | null>();

  elect(input: ElectionInput): Map<string, Ownership> {
    const demands = this.#mergeDemands(input.ips);

    // Per-election precomputation over nodes: how many are live (for the
    // reasons), and for the live, non-excluded ones ("candidates") their hash
    // lanes and an interface group: nodes with the same subnet list share one
    // containment test per IP (typically every node is in the same L2 subnet).
    let liveCount = 0;
    const nodeHashes = new Map<string, Lanes>();
    const names: string[] = [];
    const lane0: number[] = [];
    const lane1: number[] = [];
    const groupOf: number[] = [];
    const interfacesOf: Array<readonly string[]> = [];
    const groups: Array<number[] | 'any'> = [];
    const groupIndex = new Map<string, number>();
    const subnetIndex = new Map<string, number>();
    const subnetList: Subnet[] = [];
    const seen = new Set<string>();
    for (const node of input.nodes) {
      if (seen.has(node.name) || !input.live.has(node.name)) continue;
      seen.add(node.name);
      liveCount++;
      if (node.excluded) continue;
      const lanes = this.#nodeHashes.get(node.name) ?? hashLanes(`node\0${node.name}`);
      nodeHashes.set(node.name, lanes);
      const signature = node.anyIp ? '*' : (node.subnets ?? []).join(' ');
      let group = groupIndex.get(signature);
      if (group === undefined) {
        group = groups.length;
        groupIndex.set(signature, group);
        groups.push(node.anyIp ? 'any' : this.#subnetIndexes(node.subnets ?? [], subnetIndex, subnetList));
      }
      names.push(node.name);
      lane0.push(lanes.h0);
      lane1.push(lanes.h1);
      groupOf.push(group);
      interfacesOf.push(node.interfaces ?? []);
    }
    this.#nodeHashes = nodeHashes;
    const candidateCount = names.length;

    const out = new Map<string, Ownership>();
    const inSubnet = new Uint8Array(subnetList.length);
    const groupOk = new Uint8Array(groups.length);
    for (const [key, demand] of demands) {
      const entry = demand.entry;
      if (!entry) {
        out.set(key, noOwner(key, 'invalid-ip', `"${key}" is not an IP address`));
        continue;
      }
      if (liveCount === 0) {
        out.set(key, noOwner(key, 'no-live-speaker', 'no live speaker'));
        continue;
      }
      if (candidateCount === 0) {
        out.set(key, noOwner(key, 'all-excluded', 'every live speaker is on an excluded node'));
        continue;
      }
      for (let s = 0; s < subnetList.length; s++) inSubnet[s] = contains(subnetList[s]!, entry.addr) ? 1 : 0;
      for (let g = 0; g < groups.length; g++) {
        const members = groups[g]!;
        let ok = members === 'any';
        if (!ok) for (const s of members as number[]) if (inSubnet[s] === 1) ok = true;
        groupOk[g] = ok ? 1 : 0;
      }
      const locals = demand.locals;
      const rule = demand.rule;
      if (rule !== undefined && rule.nodes.size === 0) {
        out.set(key, noOwner(key, 'not-advertised', `no L2Advertisement announces ${rule.source}`));
        continue;
      }
      const i0 = entry.h0;
      const i1 = entry.h1;

      let selected = 0;
      let withInterface = 0;
      let best = -1;
      let bestScore = 0;
      for (let c = 0; c < candidateCount; c++) {
        if (rule !== undefined) {
          if (!rule.nodes.has(names[c]!)) continue;
          selected++;
          const allowed = rule.nodes.get(names[c]!);
          if (allowed !== undefined) {
            if (!interfacesOf[c]!.some((i) => allowed.has(i))) continue;
          } else if (groupOk[groupOf[c]!] === 0) continue;
        } else if (groupOk[groupOf[c]!] === 0) continue;
        withInterface++;
        if (locals.length > 0 && !readyEverywhere(locals, names[c]!)) continue;
        const score = pairScore(lane0[c]!, lane1[c]!, i0, i1);
        if (best < 0 || score < bestScore || (score === bestScore && names[c]! < names[best]!)) {
          best = c;
          bestScore = score;
        }
      }
      if (best >= 0) out.set(key, { ip: key, owner: names[best]! });
      else if (rule !== undefined && selected === 0) {
        out.set(key, noOwner(key, 'not-advertised', `no live node is selected by the L2Advertisements of ${rule.source}`));
      } else if (withInterface === 0) {
        const where = rule === undefined ? 'no live node has' : `no live node the L2Advertisements of ${rule.source} select has`;
        out.set(key, noOwner(key, 'no-interface', `${where} ${interfaceWanted(rule, key)}`));
      } else {
        const services = locals.map((s) => s.service).join(', ');
        const which = locals.length === 1 ? services : `all of ${services}`;
        out.set(key, noOwner(key, 'no-local-endpoint', `no node with a ready local endpoint for ${which}`));
      }
    }
    return out;
  }

  #subnetIndexes(texts: readonly string[], index: Map<string, number>, list: Subnet[]): number[] {
    const out: number[] = [];
    for (const text of texts) {
      let i = index.get(text);
      if (i === undefined) {
        const parsed = this.#subnet(text);
        if (!parsed) continue;
        i = list.length;
        list.push(parsed);
        index.set(text, i);
      }
      out.push(i);
    }
    return out;
  }

  #mergeDemands(ips: readonly IpDemand[]): Map<string, MergedDemand> {
    const previous = this.#ipEntries;
    const entries = new Map<string, IpEntry | null>();
    const merged = new Map<string, MergedDemand>();
    for (const demand of ips) {
      let entry = entries.get(demand.ip);
      if (entry === undefined) {
        entry = previous.get(demand.ip);
        if (entry === undefined) entry = parseEntry(demand.ip);
        entries.set(demand.ip, entry);
      }
      const key = entry ? entry.text : demand.ip;
      let m = merged.get(key);
      if (!m) {
        m = { entry, locals: [], rule: demand.rule };
        merged.set(key, m);
      }
      m.rule ??= demand.rule;
      for (const svc of demand.services) if (svc.local) m.locals.push(svc);
    }
    // Only the IPs of this call are kept: the cache follows the cluster.
    this.#ipEntries = entries;
    return merged;
  }

  #subnet(text: string): Subnet | undefined {
    let parsed = this.#subnets.get(text);
    if (parsed === undefined) {
      const cidr = parseCidr(text);
      parsed = isParseError(cidr) ? null : { family: cidr.range.family, first: cidr.range.first, last: cidr.range.last };
      if (this.#subnets.size > 4096) this.#subnets.clear();
      this.#subnets.set(text, parsed);
    }
    return parsed ?? undefined;
  }
}

/** One-shot election without caches (tests, tools). */
export function electOwners(input: ElectionInput): Map<string, Ownership> {
  return new OwnerElection().elect(input);
}

/** The IPs `node` owns, in the order of the result. */
export function ipsOwnedBy(result: ReadonlyMap<string, Ownership>, node: string): string[] {
  const out: string[] = [];
  for (const o of result.values()) if (o.owner === node) out.push(o.ip);
  return out;
}

function readyEverywhere(locals: readonly ServiceOnIp[], node: string): boolean {
  for (const svc of locals) if (!svc.readyNodes?.has(node)) return false;
  return true;
}

interface MergedDemand {
  entry: IpEntry | null;
  locals: ServiceOnIp[];
  rule: AnnounceRule | undefined;
}

/** What a node lacks for `ip`: an interface by subnet, or one of those the rule names. */
function interfaceWanted(rule: AnnounceRule | undefined, ip: string): string {
  const named = new Set<string>();
  let bySubnet = rule === undefined;
  for (const allowed of rule?.nodes.values() ?? []) {
    if (allowed === undefined) bySubnet = true;
    else for (const i of allowed) named.add(i);
  }
  const parts: string[] = [];
  if (bySubnet) parts.push(`an interface whose subnet contains ${ip}`);
  if (named.size > 0) parts.push(`a usable interface named ${[...named].sort().join(' or ')}`);
  return parts.join(' or ');
}

function noOwner(ip: string, code: NoOwnerCode, message: string): Ownership {
  return { ip, owner: undefined, reason: { code, message } };
}

function parseEntry(text: string): IpEntry | null {
  const addr = parseIp(text);
  if (isParseError(addr)) return null;
  const canonical = formatAddress(addr);
  return { addr, text: canonical, ...hashLanes(`ip\0${canonical}`) };
}

function contains(subnet: Subnet, ip: IpAddress): boolean {
  return subnet.family === ip.family && ip.value >= subnet.first && ip.value <= subnet.last;
}

function hashLanes(text: string): Lanes {
  const digest = hash('sha256', `metalgate/election/v${ELECTION_HASH_VERSION}\0${text}`, 'buffer');
  return { h0: digest.readUInt32BE(0), h1: digest.readUInt32BE(4) };
}


/**
 * 53-bit score of a (node, IP) pair from their SHA-256 lanes. Both lanes of
 * both inputs reach both output lanes; the result is an exact double, so
 * `<` compares it without rounding.
 */
function pairScore(n0: number, n1: number, i0: number, i1: number): number {
  const a = mix32((n0 ^ i0) ^ 0x9e3779b9);
  const b = mix32((n1 ^ i1) ^ a);
  const c = mix32(a ^ b);
  return c * 0x200000 + (b >>> 11);
}
