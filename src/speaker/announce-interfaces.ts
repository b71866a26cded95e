// Which of this node's interfaces may announce load-balancer IPs, and which
// one announces a given IP. Pure: the speaker feeds it the links and
// addresses it read through netlink.
//
// An interface may announce when it is Ethernet, up, has carrier, is not
// enslaved to a bond or bridge (IFLA_MASTER set: the master is the interface
// that owns the node's address; a member answering would be the "wrong NIC"),
// and is not a device without a wire (dummy, ifb: the holder device and
// kube-ipvs0 are such). Its subnets are its global, non-tentative addresses'
// networks; single-address prefixes (/32, /128) contain no other IP and are
// left out, so the published list stays short.
//
// An interface without such an address is still listed (with no subnets):
// an L2Advertisement may name it, and then it carries IPs of any subnet.
//
// An IP is announced on the interface whose subnet contains it (the longest
// prefix wins, then the lowest ifindex), unless one interface is pinned by
// configuration: then that one announces every IP, and only while it may.
// When an L2Advertisement limits the IP to named interfaces, only those are
// considered, and without a containing subnet the first of them announces.
// A node without a suitable interface publishes no subnets, so the election
// never picks it (MetalLB lets such a node win and blackholes the IP).

import { familyBits, formatIp, isParseError, parseCidr, parseIp } from '../config/ip-range.ts';
import type { AddressInfo, LinkInfo } from '../netlink/types.ts';
import { RT_SCOPE_UNIVERSE } from '../netlink/types.ts';

/** Link kinds that never reach a wire. */
const NO_WIRE_KINDS = new Set(['dummy', 'ifb', 'vcan', 'nlmon']);

export interface InterfaceSurveyOptions {
  /** The holder device: it carries the IPs, it never announces them. */
  holderDevice: string;
  /** Announce every IP on this interface only (--interface). */
  pinned?: string | undefined;
}

export interface AnnounceInterface {
  name: string;
  index: number;
  mac: string;
  /** Networks in canonical text, e.g. "198.18.0.0/24", sorted. */
  subnets: string[];
}

export interface InterfaceSurvey {
  /** Interfaces that may announce, by ascending ifindex (those without a subnet only where named). */
  interfaces: AnnounceInterface[];
  /** What the Lease publishes: the union of the interfaces' subnets, sorted. */
  subnets: string[];
  /** The pinned interface is usable: any IP may be announced on it. */
  anyIp: boolean;
  /** Interfaces left out, with the reason (for a debug log). */
  skipped: Array<{ name: string; reason: string }>;
  /** Every MAC of the node's links: frames from them are our own, never a conflict. */
  ownMacs: string[];
}

/** Why a link cannot announce, or undefined when it can. */
export function unusableReason(link: LinkInfo, options: InterfaceSurveyOptions): string | undefined {
  if (link.name === options.holderDevice) return 'holder device';
  if (link.hwType !== 'ETHER' || link.mac === undefined) return `not Ethernet (${link.hwType || 'unknown'})`;
  if (link.kind !== undefined && NO_WIRE_KINDS.has(link.kind)) return `${link.kind} device has no wire`;
  if (link.master !== undefined) return 'member of a bond or bridge';
  if (link.noArp) return 'NOARP';
  if (!link.up) return 'down';
  if (!link.carrier) return 'no carrier';
  return undefined;
}

/** The network of an address, or undefined when it cannot announce anything. */
function networkOf(address: AddressInfo): string | undefined {
  if (address.scope !== RT_SCOPE_UNIVERSE || address.tentative) return undefined;
  if (address.prefixLength >= familyBits(address.family)) return undefined;
  const cidr = parseCidr(`${address.ip}/${address.prefixLength}`);
  if (isParseError(cidr)) return undefined;
  return `${formatIp(cidr.range.family, cidr.range.first)}/${cidr.prefixLength}`;
}

export function surveyInterfaces(
  links: readonly LinkInfo[],
  addresses: readonly AddressInfo[],
  options: InterfaceSurveyOptions,
): InterfaceSurvey {
  const byIndex = new Map<number, string[]>();
  for (const address of addresses) {
    const network = networkOf(address);
    if (network === undefined) continue;
    let list = byIndex.get(address.index);
    if (!list) byIndex.set(address.index, (list = []));
    if (!list.includes(network)) list.push(network);
  }
  const interfaces: AnnounceInterface[] = [];
  const skipped: InterfaceSurvey['skipped'] = [];
  const ownMacs = new Set<string>();
  let anyIp = false;
  let pinnedSeen = false;
  for (const link of [...links].sort((a, b) => a.index - b.index)) {
    if (link.mac !== undefined && link.mac !== '00:00:00:00:00:00') ownMacs.add(link.mac);
    if (options.pinned !== undefined && link.name !== options.pinned) continue;
    pinnedSeen ||= options.pinned !== undefined;
    const reason = unusableReason(link, options);
    if (reason !== undefined) {
      skipped.push({ name: link.name, reason });
      continue;
    }
    const subnets = (byIndex.get(link.index) ?? []).sort();
    interfaces.push({ name: link.name, index: link.index, mac: link.mac!, subnets });
    if (options.pinned !== undefined) anyIp = true;
  }
  if (options.pinned !== undefined && !pinnedSeen) skipped.push({ name: options.pinned, reason: 'no such interface' });
  const subnets = [...new Set(interfaces.flatMap((i) => i.subnets))].sort();
  return { interfaces, subnets, anyIp, skipped, ownMacs: [...ownMacs].sort() };
}

/**
 * The interface that announces `ip`, or undefined when none may. `named`:
 * the interfaces an L2Advertisement allows (undefined: any).
 */
export function interfaceForIp(ip: string, survey: InterfaceSurvey, named?: ReadonlySet<string>): AnnounceInterface | undefined {
  const candidates = named === undefined ? survey.interfaces : survey.interfaces.filter((i) => named.has(i.name));
  if (survey.anyIp) return candidates[0];
  if (isParseError(parseIp(ip))) return undefined;
  // Interfaces come by ascending index: on a tie the first stays.
  const best = longestPrefixOwner(ip, candidates, (i) => i.subnets);
  // A named interface carries the IP whatever its subnets (as MetalLB's does).
  return best ?? (named === undefined ? undefined : candidates[0]);
}

/**
 * Of `items`, the one with a subnet containing `ip` by the longest prefix
 * (the first on a tie); undefined when none contains it. Pure.
 */
export function longestPrefixOwner<T>(ip: string, items: readonly T[], subnetsOf: (item: T) => readonly string[]): T | undefined {
  const addr = parseIp(ip);
  if (isParseError(addr)) return undefined;
  let best: T | undefined;
  let bestLength = -1;
  for (const item of items) {
    for (const subnet of subnetsOf(item)) {
      const cidr = parseCidr(subnet);
      if (isParseError(cidr) || cidr.range.family !== addr.family) continue;
      if (addr.value < cidr.range.first || addr.value > cidr.range.last) continue;
      if (cidr.prefixLength > bestLength) {
        best = item;
        bestLength = cidr.prefixLength;
      }
    }
  }
  return best;
}

/** Two surveys that announce the same way (same interfaces, MACs and subnets). */
export function sameAnnouncePlan(a: InterfaceSurvey, b: InterfaceSurvey): boolean {
  if (a.anyIp !== b.anyIp || a.interfaces.length !== b.interfaces.length) return false;
  for (let i = 0; i < a.interfaces.length; i++) {
    const x = a.interfaces[i]!;
    const y = b.interfaces[i]!;
    if (x.name !== y.name || x.index !== y.index || x.mac !== y.mac || x.subnets.join(',') !== y.subnets.join(',')) return false;
  }
  return a.ownMacs.join(',') === b.ownMacs.join(',');
}
