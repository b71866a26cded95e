// Which UDP flows conntrack must forget after a rule change. Pure: the UDP
// ports before and after an apply in, `conntrack -D` filters out.
//
// A UDP "connection" lives in conntrack as long as datagrams keep coming
// (30 s idle, 120 s once answered both ways), and every datagram of it
// follows the NAT decided for its first one. New rules therefore do not move
// a flow that is already going on. Two cases need a delete, as in kube-proxy:
//
// - an endpoint is gone (not ready, not serving and terminating either): the
//   flow would keep feeding a pod that no longer exists, or a new pod that
//   got its address, until the client goes quiet. Flows to it are deleted;
//   the client's next datagram takes the rules and picks a live endpoint.
//   A serving, terminating endpoint keeps its flows, as it keeps its TCP
//   connections.
// - a port gets rules (its first endpoint, or a Service switched from the
//   user-space proxy to the kernel): a flow that reached this node's own
//   stack while it had none (refused with ICMP port unreachable, or answered
//   by the proxy's socket) would keep going there. Those flows are the ones
//   answered from the Service IP itself, which no DNATed flow is.

import net from 'node:net';
import { endpointKey } from '../endpoints/endpoint-set.ts';

export interface UdpPortFlows {
  /** The Service IP and port clients send to. */
  readonly ip: string;
  readonly port: number;
  /** Whether rules forward it now (it has at least one usable endpoint). */
  readonly forwarded: boolean;
  /** Endpoints whose flows may go on: ready ones, and serving ones that are terminating. */
  readonly endpoints: ReadonlyArray<{ readonly ip: string; readonly port: number }>;
}

export interface StaleFlows {
  readonly ip: string;
  readonly port: number;
  /** Whose answers mark the flows: an endpoint that is gone, or the Service IP itself (flows that reached this node). */
  readonly answeredBy: { readonly ip: string; readonly port: number };
  readonly why: 'endpoint gone' | 'first endpoint';
}

/**
 * `before`: the UDP ports as the last successful apply left them, by
 * listener key; undefined in a process that has applied nothing yet (then
 * every forwarded port counts as new). `after`: the same for the rules just
 * applied.
 */
export function staleUdpFlows(
  before: ReadonlyMap<string, UdpPortFlows> | undefined,
  after: ReadonlyMap<string, UdpPortFlows>,
): StaleFlows[] {
  const out: StaleFlows[] = [];
  for (const [key, now] of after) {
    const was = before?.get(key);
    if (now.forwarded && !was?.forwarded) out.push({ ip: now.ip, port: now.port, answeredBy: { ip: now.ip, port: now.port }, why: 'first endpoint' });
  }
  for (const [key, was] of before ?? []) {
    const now = after.get(key);
    const kept = new Set((now?.endpoints ?? []).map((e) => endpointKey(e.ip, e.port)));
    for (const e of was.endpoints) {
      // An endpoint of the other family never had a rule (nft-script.ts leaves it out), so no flow either.
      if (net.isIPv6(e.ip) !== net.isIPv6(was.ip) || net.isIP(e.ip) === 0) continue;
      if (!kept.has(endpointKey(e.ip, e.port))) out.push({ ip: was.ip, port: was.port, answeredBy: { ip: e.ip, port: e.port }, why: 'endpoint gone' });
    }
  }
  return out;
}

/** The `conntrack -D` filter for one entry: UDP to the Service IP:port, answered by `answeredBy`. */
export function conntrackFilter(s: StaleFlows): string[] {
  // conntrack takes the family (IPv4 or IPv6) from the addresses.
  return [
    '-p', 'udp',
    '--orig-dst', s.ip,
    '--orig-port-dst', String(s.port),
    '--reply-src', s.answeredBy.ip,
    '--reply-port-src', String(s.answeredBy.port),
  ];
}
