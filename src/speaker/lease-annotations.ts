// What a speaker's Lease tells the other speakers besides "alive": the
// subnets its announce-capable interfaces are in. Every speaker must run the
// election over the same inputs, and a node's interfaces are only visible on
// that node, so each publishes its own. Pure.
//
// Value: comma-separated networks ("198.18.0.0/24,2001:db8::/64"), "*" when
// an interface is pinned by configuration (any IP may be announced on it),
// empty when the node has no usable interface (link down, no carrier): the
// node is then ineligible and the others take its IPs over, which is how a
// cut link fails over while the API server is still reachable.

import { isMac, normalizeMac } from '../l2/mac.ts';
import type { ElectionNode } from './election.ts';

export const ANNOUNCE_SUBNETS_ANNOTATION = 'metalgate.io/announce-subnets';
/**
 * Comma-separated names of the interfaces that may announce, with or
 * without an address ("eth0,eth1"): an L2Advertisement that names
 * interfaces makes only nodes with one of them eligible. A Lease without it
 * (an older speaker) has none.
 */
export const ANNOUNCE_INTERFACES_ANNOTATION = 'metalgate.io/announce-interfaces';
/**
 * "false" while the speaker's own view of the Leases is stale (it cannot
 * see the API server's changes yet). A speaker the others saw expire - cut
 * off from the API server - renews its Lease as soon as the API answers
 * again, but acts only once its watch has caught up; until it says "true"
 * the others keep treating it as ineligible, so its IPs are not handed to a
 * node that would not yet bring them up. Ignored for speakers that never
 * expired (after an outage of the API server itself, everyone renews with
 * "false" for a moment: nothing must move then).
 */
/**
 * The announce interfaces' MACs, each with its subnets:
 * "eth0 02:00:00:00:00:01 198.18.0.0/24 2001:db8::/64;eth1 02:...". A node
 * that takes an IP over from a speaker still lingering on it forwards that
 * speaker's connections to this MAC (handover-forward.ts).
 */
export const ANNOUNCE_MACS_ANNOTATION = 'metalgate.io/announce-macs';
export const SPEAKER_READY_ANNOTATION = 'metalgate.io/ready';
export const SPEAKER_COMPONENT_LABEL = 'app.kubernetes.io/component';
export const SPEAKER_COMPONENT = 'speaker';
export const SPEAKER_LEASE_SELECTOR = `${SPEAKER_COMPONENT_LABEL}=${SPEAKER_COMPONENT}`;

export interface AnnounceCapability {
  subnets: readonly string[];
  anyIp: boolean;
  /** Names of the usable interfaces. */
  interfaces?: readonly string[];
}

export function encodeAnnounceSubnets(capability: AnnounceCapability): string {
  return capability.anyIp ? '*' : capability.subnets.join(',');
}

function encodeAnnounceInterfaces(capability: AnnounceCapability): string {
  return (capability.interfaces ?? []).join(',');
}

/** One announce interface as a peer sees it. */
export interface PeerInterface {
  name: string;
  mac: string;
  subnets: readonly string[];
}

function encodeAnnounceMacs(interfaces: readonly PeerInterface[]): string {
  return interfaces.map((i) => [i.name, i.mac, ...i.subnets].join(' ')).join(';');
}

/** Entries that are not "name mac subnet..." with a valid MAC are left out: a peer's garbage costs only its forwarding. */
export function decodeAnnounceMacs(value: string | undefined): PeerInterface[] {
  const out: PeerInterface[] = [];
  for (const entry of (value ?? '').split(';')) {
    const [name, mac, ...subnets] = entry.trim().split(/\s+/);
    if (!name || !mac || !isMac(mac)) continue;
    out.push({ name, mac: normalizeMac(mac), subnets });
  }
  return out;
}

/** The Lease annotations that publish a capability (the MACs only where known: a node without a dataplane has none). */
export function capabilityAnnotations(capability: AnnounceCapability, macs?: readonly PeerInterface[]): Record<string, string> {
  return {
    [ANNOUNCE_SUBNETS_ANNOTATION]: encodeAnnounceSubnets(capability),
    [ANNOUNCE_INTERFACES_ANNOTATION]: encodeAnnounceInterfaces(capability),
    ...(macs ? { [ANNOUNCE_MACS_ANNOTATION]: encodeAnnounceMacs(macs) } : {}),
  };
}

/** A missing annotation (a Lease of something else, or of an older speaker) means no interface. */
export function decodeAnnounceSubnets(value: string | undefined): AnnounceCapability {
  const text = (value ?? '').trim();
  if (text === '*') return { subnets: [], anyIp: true };
  if (text === '') return { subnets: [], anyIp: false };
  return {
    subnets: text
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== ''),
    anyIp: false,
  };
}

/** The election's view of a node from its Lease annotations. */
export function capabilityFields(annotations: Readonly<Record<string, string>> | undefined): Pick<ElectionNode, 'subnets' | 'anyIp' | 'interfaces'> {
  const { subnets, anyIp } = decodeAnnounceSubnets(annotations?.[ANNOUNCE_SUBNETS_ANNOTATION]);
  const interfaces = (annotations?.[ANNOUNCE_INTERFACES_ANNOTATION] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  return { subnets, anyIp, interfaces };
}
