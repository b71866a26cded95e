// spec.loadBalancerSourceRanges: the client CIDRs a LoadBalancer Service
// accepts. kube-proxy enforces them for LoadBalancer IPs; with
// `ipMode: Proxy` (how the controller writes IPs) it leaves those IPs to us,
// so the proxy and the kernel rules enforce them here. Pure.
//
// The field wins; the older annotation
// service.beta.kubernetes.io/load-balancer-source-ranges (comma-separated) is
// read when the field is empty, as Kubernetes does. An entry that is not a
// CIDR is reported and left out: the list only narrows who may connect, so
// dropping a bad entry never opens the Service wider than the user wrote,
// and a list with no valid entry at all still admits nobody.

import net from 'node:net';
import { formatIp, isParseError, parseCidr } from '../../config/ip-range.ts';

const SOURCE_RANGES_ANNOTATION = 'service.beta.kubernetes.io/load-balancer-source-ranges';

export interface SourceRanges {
  /** Normalized CIDRs ("198.18.0.0/15", "2001:db8::/32"); undefined: every client is admitted. */
  readonly cidrs: readonly string[] | undefined;
  readonly problems: readonly string[];
}

export function parseSourceRanges(field: readonly string[] | undefined, annotations: Readonly<Record<string, string>> | undefined): SourceRanges {
  const fromField = (field ?? []).filter((s) => s.trim() !== '');
  const raw = fromField.length > 0 ? fromField : (annotations?.[SOURCE_RANGES_ANNOTATION] ?? '').split(',').filter((s) => s.trim() !== '');
  if (raw.length === 0) return { cidrs: undefined, problems: [] };
  const cidrs: string[] = [];
  const problems: string[] = [];
  for (const entry of raw) {
    const c = normalizeCidr(entry.trim());
    if ('error' in c) problems.push(`loadBalancerSourceRanges: "${entry.trim()}" is not a CIDR (${c.error}); left out, the other ranges still apply`);
    else if (!cidrs.includes(c.cidr)) cidrs.push(c.cidr);
  }
  return { cidrs, problems };
}

/** "198.18.1.1/15" -> "198.18.0.0/15" (host bits cleared, canonical form), or why it is not a CIDR. */
export function normalizeCidr(s: string): { cidr: string } | { error: string } {
  const c = parseCidr(s);
  if (isParseError(c)) return { error: c.error };
  return { cidr: `${formatIp(c.range.family, c.range.first)}/${c.prefixLength}` };
}

/** Who may connect, as Node's BlockList (it matches IPv4-mapped IPv6 clients against IPv4 ranges); undefined: everybody. */
export function sourceAllowList(cidrs: readonly string[] | undefined): net.BlockList | undefined {
  if (cidrs === undefined) return undefined;
  const list = new net.BlockList();
  for (const c of cidrs) {
    const [ip, bits] = c.split('/') as [string, string];
    list.addSubnet(ip, Number(bits), net.isIPv6(ip) ? 'ipv6' : 'ipv4');
  }
  return list;
}

/** Whether `address` (as a socket reports it) may connect under `allow`. */
export function admits(allow: net.BlockList | undefined, address: string | undefined): boolean {
  if (allow === undefined) return true;
  if (address === undefined || net.isIP(address) === 0) return false;
  return allow.check(address, net.isIPv6(address) ? 'ipv6' : 'ipv4');
}
