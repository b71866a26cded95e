// The pod network between lab nodes, as a routed CNI (or kube-router, or
// static routes on bare metal) would make it: every node routes the other
// nodes' pod CIDRs through their LAN address and forwards packets. The lab
// itself connects pods to their own node only. Without this, the proxy on
// the owner node could reach only its own node's pods.
//
// Only inside the lab's node namespaces: the host's routes and sysctls are
// not touched.

export interface RoutedNode {
  name: string;
  ns: string;
  ipv4: string;
  podCidrV4: string;
}

/** Per node: the `ip route` lines to every other node's pod CIDR. Pure. */
export function podRoutes(nodes: readonly RoutedNode[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const n of nodes) {
    out.set(
      n.name,
      nodes.filter((o) => o !== n).map((o) => `route add ${o.podCidrV4} via ${o.ipv4} dev eth0`),
    );
  }
  return out;
}

/** Shell line enabling IPv4 forwarding in the namespace it runs in. */
export const ENABLE_FORWARDING = 'echo 1 > /proc/sys/net/ipv4/ip_forward';
