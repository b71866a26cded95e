// Kernel forwarding for L4 Service ports (metalgate.io/l4-dataplane: kernel):
// the nftables script that DNATs each owned IP:port to its ready endpoints,
// as kube-proxy's nftables mode does for Service IPs. Pure: the ports and
// what the last successful script left in the kernel in, one `nft -f` script
// and the new state out. The adapter (kernel-forwarding.ts) runs it.
//
// One table, `inet metalgate`, applied as one transaction (nft -f is atomic):
//
//   firewall-prerouting / firewall-output (filter, before dstnat) ──> firewall:
//            loadBalancerSourceRanges, packets to a port from clients outside
//            them are dropped (prerouting cannot reject); the node's own
//            processes are held to them too, as by the proxy
//   prerouting / output (nat, dstnat) ──> services: daddr . l4proto . dport ──> svc-<h>
//   svc-<h>: clients remembered under ClientIP affinity first, else
//            numgen random mod N ──> ep-<h>: dnat to the endpoint
//   postrouting (nat, srcnat): masquerade connections DNATed from a port
//            with externalTrafficPolicy: Cluster (the endpoint may be on
//            another node and must answer through this one), except toward
//            lo; Local ports keep the client address, except a pod sent to
//            itself (hairpin): it would answer itself directly, from its
//            own address, so the node's address stands in for it.
//
// Each Service port's dispatch rule feeds a named counter. NAT chains see
// only the first packet of a connection, so it counts new connections (UDP:
// new flows); the adapter turns it into metalgate_proxy_l4_connections_total,
// the series the user-space forwarder feeds too.
//
// Chains, sets and counters are named by a hash of what they stand for, so the same
// Service port keeps the same names across applies. That matters for the
// affinity sets: an update flushes and refills chains but keeps the sets that
// are still wanted, so clients stay with their endpoint while others come and
// go. Without a previous state (first apply, or after a failed one) the table
// is deleted and written whole.
//
// A port with no usable endpoint gets no rule: the packet reaches this node's
// own stack, where nothing listens on the IP, and the kernel refuses it (TCP
// reset, ICMP port unreachable), as the user-space forwarder does.

import { createHash } from 'node:crypto';
import net from 'node:net';
import { endpointKey } from '../endpoints/endpoint-set.ts';
import { metricsPortOf } from '../listeners/listen-plan.ts';

export const NFT_TABLE = 'metalgate';
const T = `inet ${NFT_TABLE}`;
/** Priorities of kube-proxy's nat chains (dstnat, srcnat) as numbers: nft 1.0.6 names them only on some hooks. */
const DSTNAT = -100;
const SRCNAT = 100;

export interface KernelPort {
  /** The listener key ("TCP 198.18.0.200:80"): the port's identity. */
  readonly key: string;
  readonly ip: string;
  readonly port: number;
  readonly protocol: 'TCP' | 'UDP';
  /** "namespace/name" and the Service port name, for comments. */
  readonly service: string;
  readonly portName: string;
  /** Endpoints that take new connections, in a stable order. */
  readonly endpoints: ReadonlyArray<{ readonly ip: string; readonly port: number }>;
  /** externalTrafficPolicy: Cluster: rewrite the source to this node's. */
  readonly masquerade: boolean;
  /** sessionAffinity: ClientIP, in whole seconds; undefined: none. */
  readonly affinitySeconds: number | undefined;
  /** loadBalancerSourceRanges (normalized CIDRs): other clients are dropped; undefined: everyone. */
  readonly sourceRanges?: readonly string[] | undefined;
}

/** The regular chains, sets and counters the last applied script left in the table. */
export interface NftState {
  readonly chains: readonly string[];
  readonly sets: readonly string[];
  readonly counters: readonly string[];
}

/** What a named counter counts: the new connections of one Service port (both address families). */
export interface NftCounter {
  readonly name: string;
  readonly service: string;
  /** The Service port's name, or its number when unnamed (the L4 metrics' `port` label). */
  readonly port: string;
  readonly protocol: 'TCP' | 'UDP';
}

export interface NftSkipped {
  readonly key: string;
  readonly endpoint: string;
  readonly why: string;
}

export interface NftScript {
  readonly script: string;
  readonly state: NftState;
  /** Keys of the ports that got rules (with at least one usable endpoint). */
  readonly forwarded: readonly string[];
  /** Endpoints left out (another address family than the Service IP's, or malformed). */
  readonly skipped: readonly NftSkipped[];
  /** The named counters in the table, and what each counts. */
  readonly counters: readonly NftCounter[];
}

/** A script that removes the table (and everything in it). */
export function nftDeleteScript(): string {
  // `add` first: deleting a table that does not exist would fail the transaction.
  return `add table ${T}\ndelete table ${T}\n`;
}

export function buildNftScript(ports: readonly KernelPort[], previous: NftState | undefined): NftScript {
  const out: string[] = [];
  const chains: string[] = [];
  const sets: string[] = [];
  const skipped: NftSkipped[] = [];
  const rules: string[] = [];
  const dispatch: string[] = [];
  const masquerade: string[] = [];
  const forwarded: string[] = [];
  const counters = new Map<string, NftCounter>();
  const firewall: string[] = [];

  for (const p of [...ports].sort((a, b) => cmp(a.key, b.key))) {
    const v6 = net.isIPv6(p.ip);
    const family = v6 ? 'ip6' : 'ip';
    const proto = p.protocol === 'UDP' ? 'udp' : 'tcp';
    const endpoints = usableEndpoints(p, skipped);
    if (!validPort(p.port) || net.isIP(p.ip) === 0) continue;
    if (p.sourceRanges !== undefined) {
      // Only the ranges of the Service IP's family can admit anyone; none of it: nobody.
      const ranges = p.sourceRanges.filter((c) => net.isIPv6(c.slice(0, c.lastIndexOf('/'))) === v6);
      const except = ranges.length > 0 ? `${family} saddr != { ${ranges.join(', ')} } ` : '';
      firewall.push(`add rule ${T} firewall ${family} daddr ${p.ip} ${proto} dport ${p.port} ${except}drop`);
    }
    if (endpoints.length === 0) continue;
    forwarded.push(p.key);
    const svcChain = `svc-${hash(p.key)}`;
    chains.push(svcChain);
    const portLabel = metricsPortOf(p);
    const counter = `cnt-${hash(`${p.service}\u0000${portLabel}\u0000${p.protocol}`)}`;
    counters.set(counter, { name: counter, service: p.service, port: portLabel, protocol: p.protocol });
    dispatch.push(`add rule ${T} services ${family} daddr ${p.ip} ${proto} dport ${p.port} counter name ${counter} goto ${svcChain} comment ${comment(`${p.service}:${portLabel} ${p.key}`)}`);
    if (p.masquerade) {
      // Not toward lo: an endpoint on this host's own address needs no rewrite, and masquerading there breaks the connection.
      masquerade.push(`add rule ${T} postrouting oifname != "lo" ct status dnat ct original ${family} daddr ${p.ip} meta l4proto ${proto} ct original proto-dst ${p.port} masquerade`);
    }
    const affinity = p.affinitySeconds !== undefined && p.affinitySeconds > 0 ? Math.ceil(p.affinitySeconds) : undefined;
    const picks: string[] = [];
    endpoints.forEach((e, i) => {
      const ek = endpointKey(e.ip, e.port);
      const id = hash(`${p.key}\u0000${ek}`);
      const epChain = `ep-${id}`;
      chains.push(epChain);
      let remember = '';
      if (affinity !== undefined) {
        // The timeout is part of the name: a changed timeout is a new set, never an `add` clashing with the old one.
        const set = `aff-${hash(`${p.key}\u0000${ek}\u0000${affinity}`)}`;
        sets.push(set);
        if (!previous?.sets.includes(set)) out.push(`add set ${T} ${set} { type ${v6 ? 'ipv6_addr' : 'ipv4_addr'}; flags dynamic,timeout; timeout ${affinity}s; }`);
        rules.push(`add rule ${T} ${svcChain} ${family} saddr @${set} goto ${epChain}`);
        remember = `update @${set} { ${family} saddr } `;
      }
      picks.push(`${i} : goto ${epChain}`);
      if (!p.masquerade) {
        masquerade.push(`add rule ${T} postrouting oifname != "lo" ct status dnat ct original ${family} daddr ${p.ip} ${family} saddr ${e.ip} ${family} daddr ${e.ip} masquerade`);
      }
      rules.push(`add rule ${T} ${epChain} ${remember}meta l4proto ${proto} dnat ${family} to ${ek}`);
    });
    rules.push(`add rule ${T} ${svcChain} numgen random mod ${endpoints.length} vmap { ${picks.join(', ')} }`);
  }

  const head: string[] = [];
  if (previous === undefined) head.push(nftDeleteScript().trimEnd());
  head.push(
    `add table ${T}`,
    `add chain ${T} prerouting { type nat hook prerouting priority ${DSTNAT}; policy accept; }`,
    `add chain ${T} output { type nat hook output priority ${DSTNAT}; policy accept; }`,
    `add chain ${T} postrouting { type nat hook postrouting priority ${SRCNAT}; policy accept; }`,
    `add chain ${T} firewall-prerouting { type filter hook prerouting priority ${DSTNAT - 10}; policy accept; }`,
    `add chain ${T} firewall-output { type filter hook output priority ${DSTNAT - 10}; policy accept; }`,
    `add chain ${T} firewall`,
    `add chain ${T} services`,
    `flush chain ${T} prerouting`,
    `flush chain ${T} output`,
    `flush chain ${T} postrouting`,
    `flush chain ${T} firewall-prerouting`,
    `flush chain ${T} firewall-output`,
    `flush chain ${T} firewall`,
    `flush chain ${T} services`,
  );
  // Old chains are emptied first, so nothing refers to what is deleted next.
  for (const c of previous?.chains ?? []) head.push(`flush chain ${T} ${c}`);
  for (const c of previous?.chains ?? []) if (!chains.includes(c)) head.push(`delete chain ${T} ${c}`);
  for (const s of previous?.sets ?? []) if (!sets.includes(s)) head.push(`delete set ${T} ${s}`);
  // Counters outlive the flushes (their counts go on); only those no rule will use are deleted.
  for (const c of previous?.counters ?? []) if (!counters.has(c)) head.push(`delete counter ${T} ${c}`);
  for (const c of counters.keys()) if (!previous?.counters.includes(c)) head.push(`add counter ${T} ${c}`);
  for (const c of chains) head.push(`add chain ${T} ${c}`);
  head.push(`add rule ${T} prerouting jump services`, `add rule ${T} output jump services`);
  if (firewall.length > 0) head.push(`add rule ${T} firewall-prerouting jump firewall`, `add rule ${T} firewall-output jump firewall`);

  // Hairpin rules are per Service IP and endpoint: ports sharing both share the rule.
  const script = [...head, ...out, ...firewall, ...dispatch, ...rules, ...new Set(masquerade)].join('\n') + '\n';
  return { script, state: { chains, sets, counters: [...counters.keys()] }, forwarded, skipped, counters: [...counters.values()] };
}

/** 12 hex digits of sha256: short enough for nft names, wide enough not to collide on one node. */
function hash(s: string): string {
  return createHash('sha256').update(s).digest('hex').slice(0, 12);
}

/** A quoted nft comment; Kubernetes names cannot hold quotes, but nothing else may end the string either. */
function comment(s: string): string {
  return `"${s.replace(/[^A-Za-z0-9 ._:/[\]-]/g, '_').slice(0, 120)}"`;
}


/**
 * Whether a script would forward this port: a valid IP and port with at
 * least one endpoint it can DNAT to. A port that gets no rule is refused by
 * the kernel (nothing listens on its IP), so nothing stands in for it while
 * its rules are on their way either.
 */
export function forwardsPort(p: KernelPort): boolean {
  return validPort(p.port) && net.isIP(p.ip) !== 0 && usableEndpoints(p).length > 0;
}

/** The endpoints a rule may DNAT to: an address of the Service IP's family and a valid port; the others go to `skipped`. */
function usableEndpoints(p: KernelPort, skipped: NftSkipped[] = []): KernelPort['endpoints'] {
  const v6 = net.isIPv6(p.ip);
  return p.endpoints.filter((e) => {
    if (net.isIP(e.ip) === 0 || !validPort(e.port)) {
      skipped.push({ key: p.key, endpoint: endpointKey(e.ip, e.port), why: 'not an IP address and port' });
      return false;
    }
    if (net.isIPv6(e.ip) === v6) return true;
    skipped.push({ key: p.key, endpoint: endpointKey(e.ip, e.port), why: `not an ${v6 ? 'IPv6' : 'IPv4'} address like the Service IP` });
    return false;
  });
}

function validPort(p: number): boolean {
  return Number.isInteger(p) && p > 0 && p < 65536;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
