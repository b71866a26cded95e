// The layout of a network-namespace lab, decided before anything is created:
// namespace and interface names, addresses, MACs, and the `ip -batch` lines
// that build it. Pure, so the rules (address ranges, name lengths, uniqueness)
// are unit-tested without root.
//
// Layout (every address from the benchmark/documentation blocks):
//   lan namespace   bridge br0 (the switch; no addresses, IPv6 off, no
//                   multicast snooping), one port l-<host> per host
//   host namespace  eth0 (veth peer of l-<host>), lo up
//     clients       198.18.0.1..9     2001:db8::1..9     fe80::1..9     MAC 02:6d:67:00:00:01..
//     nodes         198.18.0.11..99   2001:db8::11..99   fe80::11..99   MAC 02:6d:67:00:00:0b..
//   198.18.0.100-254 and 2001:db8::100-ffff are left free for address pools.
//   pod namespace   eth0 (veth peer of pod<N> in its node's namespace)
//     node k (1-based) pods: 198.18.(100+k).2..254 and 2001:db8:0:(100+k)::2..
//     gateway: 198.18.(100+k).1/32 and fe80::1 on the node's side of every pod veth
//
// Pod CIDRs sit in 198.18.0.0/15 but outside 198.19.0.0/16, which the test
// API server uses for Service cluster IPs (SERVICE_CIDRS in control-plane.ts):
// a real cluster never overlaps pod and service ranges either.

/** Every lab namespace starts with this; sweeps match it. */
export const LAB_NS_PREFIX = 'mgl-';
export const LAN_BRIDGE = 'br0';
export const HOST_IFACE = 'eth0';
export const LAN_V4_SUBNET = '198.18.0.0/24';
export const LAN_V6_SUBNET = '2001:db8::/64';
export const POD_GATEWAY_V6 = 'fe80::1';
export const POD_LINK_LOCAL_V6 = 'fe80::2';
/** Hosts on the LAN: clients .1-.9, nodes .11-.99. */
export const MAX_CLIENTS = 9;
export const MAX_NODES = 89;
export const MAX_PODS_PER_NODE = 253;

export type HostRole = 'node' | 'client';

export interface HostPlan {
  name: string;
  role: HostRole;
  /** Position among hosts of the same role, from 0. */
  index: number;
  ns: string;
  iface: string;
  /** The host's port on the bridge, in the lan namespace. */
  lanPort: string;
  mac: string;
  ipv4: string;
  ipv4Cidr: string;
  ipv6: string | undefined;
  ipv6Cidr: string | undefined;
  /** fe80::<host octet>, fixed and without DAD (IPv6 labs only). */
  linkLocalV6: string | undefined;
  /** Nodes only: where their pods' addresses come from. */
  podCidrV4: string | undefined;
  podCidrV6: string | undefined;
}

export interface LabPlan {
  runId: string;
  lanNs: string;
  bridge: string;
  ipv6: boolean;
  hosts: HostPlan[];
}

export interface PodPlan {
  name: string;
  node: string;
  /** From 1; the pod's address is the (index+1)th of its node's pod CIDR. */
  index: number;
  ns: string;
  /** The pod's end of its veth, inside the pod namespace. */
  iface: string;
  /** The node's end of the pod's veth, inside the node namespace. */
  nodeIface: string;
  ipv4: string;
  ipv6: string | undefined;
  gatewayV4: string;
  gatewayV6: string | undefined;
}

const RUN_ID = /^[a-z0-9]{1,12}$/;
/** l-<name> must fit the 15-byte interface name limit. */
const HOST_NAME = /^[a-z][a-z0-9-]{0,12}$/;
const POD_NAME = /^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$/;

export function labNamespace(runId: string, name: string): string {
  return `${LAB_NS_PREFIX}${runId}-${name}`;
}

/** The run id of a lab namespace name, or null when the name is not a lab's. */
export function runIdOfNamespace(ns: string): string | null {
  if (!ns.startsWith(LAB_NS_PREFIX)) return null;
  const rest = ns.slice(LAB_NS_PREFIX.length);
  const dash = rest.indexOf('-');
  if (dash <= 0) return null;
  const runId = rest.slice(0, dash);
  return RUN_ID.test(runId) ? runId : null;
}

function hostOctet(role: HostRole, index: number): number {
  return role === 'client' ? 1 + index : 11 + index;
}

function macOf(octet: number): string {
  // 02 = locally administered unicast; 6d:67 = "mg".
  return `02:6d:67:00:00:${octet.toString(16).padStart(2, '0')}`;
}

export interface LabPlanOptions {
  runId: string;
  nodes: readonly string[];
  clients: readonly string[];
  ipv6: boolean;
}

export function planLab(opts: LabPlanOptions): LabPlan {
  if (!RUN_ID.test(opts.runId)) throw new Error(`lab run id "${opts.runId}" must be 1-12 lowercase letters or digits`);
  if (opts.nodes.length > MAX_NODES) throw new Error(`at most ${MAX_NODES} nodes fit the LAN plan, got ${opts.nodes.length}`);
  if (opts.clients.length > MAX_CLIENTS) throw new Error(`at most ${MAX_CLIENTS} clients fit the LAN plan, got ${opts.clients.length}`);
  const seen = new Set<string>();
  const hosts: HostPlan[] = [];
  const add = (role: HostRole, names: readonly string[]): void => {
    names.forEach((name, index) => {
      if (!HOST_NAME.test(name)) {
        throw new Error(`lab host name "${name}" must be a lowercase letter then up to 12 letters, digits or dashes`);
      }
      if (name === 'lan') throw new Error('lab host name "lan" is reserved for the switch namespace');
      if (seen.has(name)) throw new Error(`lab host name "${name}" is used twice`);
      seen.add(name);
      const octet = hostOctet(role, index);
      const podNet = role === 'node' ? 100 + index + 1 : undefined;
      hosts.push({
        name,
        role,
        index,
        ns: labNamespace(opts.runId, name),
        iface: HOST_IFACE,
        lanPort: `l-${name}`,
        mac: macOf(octet),
        ipv4: `198.18.0.${octet}`,
        ipv4Cidr: `198.18.0.${octet}/24`,
        ipv6: opts.ipv6 ? `2001:db8::${octet}` : undefined,
        ipv6Cidr: opts.ipv6 ? `2001:db8::${octet}/64` : undefined,
        linkLocalV6: opts.ipv6 ? `fe80::${octet}` : undefined,
        podCidrV4: podNet === undefined ? undefined : `198.18.${podNet}.0/24`,
        podCidrV6: podNet === undefined || !opts.ipv6 ? undefined : `2001:db8:0:${podNet}::/64`,
      });
    });
  };
  add('client', opts.clients);
  add('node', opts.nodes);
  return { runId: opts.runId, lanNs: labNamespace(opts.runId, 'lan'), bridge: LAN_BRIDGE, ipv6: opts.ipv6, hosts };
}

export function planPod(lab: LabPlan, node: HostPlan, index: number, name: string): PodPlan {
  if (node.role !== 'node' || node.podCidrV4 === undefined) throw new Error(`pods run on nodes; "${node.name}" is a ${node.role}`);
  if (!POD_NAME.test(name)) throw new Error(`pod name "${name}" must be 1-32 lowercase letters, digits or inner dashes`);
  if (!Number.isInteger(index) || index < 1 || index > MAX_PODS_PER_NODE) {
    throw new Error(`node ${node.name} has no pod address left (pod #${index}, at most ${MAX_PODS_PER_NODE})`);
  }
  const net = node.podCidrV4.split('.')[2]!;
  return {
    name,
    node: node.name,
    index,
    // A dot cannot appear in host or pod names, so node "a-b" pod "c" and
    // node "a" pod "b-c" get different namespaces.
    ns: labNamespace(lab.runId, `${node.name}.${name}`),
    iface: HOST_IFACE,
    nodeIface: `pod${index}`,
    ipv4: `198.18.${net}.${index + 1}`,
    // Same digits as the IPv4 host part, read as hex, like the LAN hosts.
    ipv6: lab.ipv6 ? `2001:db8:0:${net}::${index + 1}` : undefined,
    gatewayV4: `198.18.${net}.1`,
    gatewayV6: lab.ipv6 ? POD_GATEWAY_V6 : undefined,
  };
}

// ---- `ip -batch` scripts (one command per line) ----

/** Run with `ip -n <lanNs> -batch -`: the switch and every host's cable. */
export function lanBatch(lab: LabPlan): string[] {
  // No snooping: a plain switch floods multicast, so solicited-node NDP for
  // an address a speaker answers in userspace always reaches it.
  const lines = [`link add ${lab.bridge} type bridge mcast_snooping 0`, `link set ${lab.bridge} addrgenmode none`, `link set ${lab.bridge} up`];
  for (const h of lab.hosts) {
    lines.push(
      `link add ${h.lanPort} type veth peer name ${h.iface} address ${h.mac} netns ${h.ns}`,
      `link set ${h.lanPort} addrgenmode none`,
      `link set ${h.lanPort} master ${lab.bridge}`,
      `link set ${h.lanPort} up`,
    );
  }
  return lines;
}

/** Run with `ip -n <host ns> -batch -` after lanBatch. */
export function hostBatch(host: HostPlan): string[] {
  const lines = ['link set lo up', `addr add ${host.ipv4Cidr} dev ${host.iface}`];
  if (host.ipv6Cidr) {
    // A fixed link-local instead of a generated one that would sit in DAD
    // for a second after link-up: NDP works at once, captures read easily.
    lines.push(
      `link set ${host.iface} addrgenmode none`,
      `addr add ${host.linkLocalV6}/64 dev ${host.iface} nodad`,
      `addr add ${host.ipv6Cidr} dev ${host.iface} nodad`,
    );
  }
  lines.push(`link set ${host.iface} up`);
  return lines;
}

/**
 * Run with `ip -n <node ns> -batch -`: the pod's veth (its far end created
 * straight in the pod namespace), the gateway addresses on the node's end
 * and the /32 (/128) routes to the pod, as a routed CNI does.
 */
export function podNodeBatch(pod: PodPlan): string[] {
  const lines = [
    `link add ${pod.nodeIface} type veth peer name ${pod.iface} netns ${pod.ns}`,
    // Fixed link-local only (no DAD, no generated address): usable at once.
    `link set ${pod.nodeIface} addrgenmode none`,
    `addr add ${pod.gatewayV4}/32 dev ${pod.nodeIface}`,
  ];
  if (pod.gatewayV6) lines.push(`addr add ${pod.gatewayV6}/64 dev ${pod.nodeIface} nodad`);
  lines.push(`link set ${pod.nodeIface} up`, `route add ${pod.ipv4}/32 dev ${pod.nodeIface} src ${pod.gatewayV4}`);
  if (pod.ipv6) lines.push(`route add ${pod.ipv6}/128 dev ${pod.nodeIface}`);
  return lines;
}

/** Run with `ip -n <pod ns> -batch -` after podNodeBatch. */
export function podBatch(pod: PodPlan): string[] {
  const lines = ['link set lo up', `link set ${pod.iface} addrgenmode none`, `addr add ${pod.ipv4}/32 dev ${pod.iface}`];
  if (pod.ipv6) lines.push(`addr add ${POD_LINK_LOCAL_V6}/64 dev ${pod.iface} nodad`, `addr add ${pod.ipv6}/128 dev ${pod.iface} nodad`);
  lines.push(
    `link set ${pod.iface} up`,
    `route add ${pod.gatewayV4}/32 dev ${pod.iface} scope link`,
    `route add default via ${pod.gatewayV4} dev ${pod.iface}`,
  );
  if (pod.gatewayV6) lines.push(`route add default via ${pod.gatewayV6} dev ${pod.iface}`);
  return lines;
}
