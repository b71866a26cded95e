// Connections carried across a clean handover. Pure: which peer MAC to
// forward to, and the nftables scripts that do it.
//
// The problem. A speaker that hands an IP over (a clean stop, or the
// election moving the IP) keeps it on its holder device for --stop-linger,
// serving the connections it has. But the new owner's gratuitous ARP moves
// every client's packets at once, those of connections it never saw
// included: its kernel answers them with a reset. A connection whose
// handshake straddles the ARP change (a few milliseconds) is lost the same
// way, which is what a client opening one connection every 20 ms sees about
// once in seven rolling updates.
//
// The remedy. While the previous owner lingers, the new owner sends it, on
// the wire, every TCP packet for the IP that does not belong to a connection
// begun here: an nftables netdev ingress chain on the announce interface
// (before conntrack and routing, so the packet is untouched but for its
// Ethernet addresses) with a dynamic set of the flows whose SYN arrived
// here. Packets from the peer's own MAC are never sent back (no loop when
// the peer has let the IP go and routes the packet here again). UDP is left
// alone: its "connections" have no state a reset would break.
//
// What this is not: connection draining without bound. After the linger the
// peer lets the IP go and its remaining connections end, as MetalLB's do at
// every failover.

import { isParseError, parseIp } from '../config/ip-range.ts';
import { longestPrefixOwner } from './announce-interfaces.ts';
import { isMac } from '../l2/mac.ts';
import type { PeerInterface } from './lease-annotations.ts';

const HANDOVER_TABLE = 'metalgate-handover';
/**
 * Entries of flows begun here outlive the chain they serve (it is removed
 * after the linger); the bound only keeps a flood of SYNs from growing the
 * set without end.
 */
const FLOW_SET_SIZE = 65_536;
const FLOW_TIMEOUT_S = 300;
/** Before any other ingress chain (tc, Cilium's hooks run at priority 0 and later). */
const CHAIN_PRIORITY = -300;

export interface HandoverForward {
  /** The load-balancer IP taken over. */
  ip: string;
  /** The interface it is announced on here. */
  device: string;
  /** That interface's MAC: the source of the forwarded frames, so switches keep learning clients where they are. */
  ownMac: string;
  /** The previous owner's MAC on the same LAN. */
  peerMac: string;
}

/**
 * The previous owner's MAC for `ip`: its interface whose subnet contains the
 * IP (longest prefix), else its interface named like ours (interfaces pinned
 * or named by an L2Advertisement), else its only interface. Undefined when
 * none fits: nothing is forwarded then.
 */
export function peerMacFor(ip: string, peer: readonly PeerInterface[], ownDevice: string): string | undefined {
  if (isParseError(parseIp(ip))) return undefined;
  const best = longestPrefixOwner(ip, peer, (i) => i.subnets);
  return (best ?? peer.find((i) => i.name === ownDevice) ?? (peer.length === 1 ? peer[0] : undefined))?.mac;
}

/** A name nft accepts for the IP's chain and set: "198_18_0_200", "2001_db8__200". */
export function handoverKey(ip: string): string {
  return ip.replace(/[.:]/g, '_');
}

/** Undefined when every field is what nft may be given verbatim; else what is wrong. */
function invalidField(f: HandoverForward): string | undefined {
  const addr = parseIp(f.ip);
  if (isParseError(addr)) return `ip ${JSON.stringify(f.ip)}`;
  // Linux interface names: up to 15 bytes, no slash, no whitespace; quotes would end nft's string.
  if (!/^[A-Za-z0-9_.@-]{1,15}$/.test(f.device)) return `device ${JSON.stringify(f.device)}`;
  if (!isMac(f.ownMac) || f.ownMac.includes('-')) return `own MAC ${JSON.stringify(f.ownMac)}`;
  if (!isMac(f.peerMac) || f.peerMac.includes('-')) return `peer MAC ${JSON.stringify(f.peerMac)}`;
  return undefined;
}

export type ScriptResult = { ok: true; script: string } | { ok: false; error: string };

/**
 * The script that starts forwarding for one IP: its flow set and its chain,
 * added to the table without touching the other IPs' (their sets hold the
 * flows begun here; rebuilding the table would forget them). A chain left
 * from an earlier forward of the same IP is flushed first by `add` + `flush`.
 */
export function openForwardScript(f: HandoverForward): ScriptResult {
  const bad = invalidField(f);
  if (bad !== undefined) return { ok: false, error: `handover forward: invalid ${bad}` };
  const v6 = f.ip.includes(':');
  const ipKw = v6 ? 'ip6' : 'ip';
  const addrType = v6 ? 'ipv6_addr' : 'ipv4_addr';
  const key = handoverKey(f.ip);
  const t = `netdev ${HANDOVER_TABLE}`;
  const flow = `${ipKw} saddr . tcp sport . tcp dport`;
  const to = `${ipKw} daddr ${f.ip}`;
  const script = [
    `add table ${t}`,
    `add set ${t} flows_${key} { type ${addrType} . inet_service . inet_service; size ${FLOW_SET_SIZE}; flags dynamic,timeout; timeout ${FLOW_TIMEOUT_S}s; }`,
    `add chain ${t} fwd_${key} { type filter hook ingress device "${f.device}" priority ${CHAIN_PRIORITY}; policy accept; }`,
    `flush chain ${t} fwd_${key}`,
    // A SYN (without ACK) begins a connection here: remember it, serve it here.
    `add rule ${t} fwd_${key} ${to} tcp flags & (syn | ack) == syn add @flows_${key} { ${flow} } accept`,
    `add rule ${t} fwd_${key} ${to} ${flow} @flows_${key} accept`,
    `add rule ${t} fwd_${key} ${to} meta l4proto tcp ether saddr != ${f.peerMac} ether saddr set ${f.ownMac} ether daddr set ${f.peerMac} fwd to "${f.device}"`,
  ].join('\n');
  return { ok: true, script: `${script}\n` };
}

/** The script that ends forwarding for one IP (the chain first: nothing may still add to the set). */
export function closeForwardScript(ip: string): string {
  const key = handoverKey(ip);
  return `delete chain netdev ${HANDOVER_TABLE} fwd_${key}\ndelete set netdev ${HANDOVER_TABLE} flows_${key}\n`;
}

/** Removes whatever an earlier run left (a crash skips the close): `add` first so that the delete cannot fail. */
export function resetForwardScript(): string {
  return `add table netdev ${HANDOVER_TABLE}\ndelete table netdev ${HANDOVER_TABLE}\n`;
}
