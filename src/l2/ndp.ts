// IPv6 Neighbor Discovery (RFC 4861) frames for the speaker: decode Neighbor
// Solicitations (someone resolving or DAD-probing an IP) and Neighbor
// Advertisements (someone claiming an IP), build the advertisements it sends.
// Pure: no I/O. Extension headers are not followed: NDP messages come with
// next header 58 directly after the fixed IPv6 header, as every stack sends
// them; anything else is not decoded.

import { icmpv6Checksum } from './checksum.ts';
import { ETHERNET_HEADER_LENGTH, ETHERTYPE_IPV6, frameBuffer } from './ethernet.ts';
import { formatIpv6, isIpv6Multicast, isIpv6Unspecified, parseIpv6, writeIpv6 } from './ip-bytes.ts';
import { formatMac, type MacString, writeMac } from './mac.ts';

const ICMPV6_NEIGHBOR_SOLICITATION = 135;
const ICMPV6_NEIGHBOR_ADVERTISEMENT = 136;
const NEXT_HEADER_ICMPV6 = 58;
/** Every NDP message is sent with, and must arrive with, hop limit 255. */
const NDP_HOP_LIMIT = 255;

export const ALL_NODES_IPV6 = 'ff02::1';
export const ALL_NODES_MAC: MacString = '33:33:00:00:00:01';

const IPV6_HEADER_LENGTH = 40;
const IP_OFFSET = ETHERNET_HEADER_LENGTH;
const ICMP_OFFSET = IP_OFFSET + IPV6_HEADER_LENGTH;
/** Type, code, checksum, flags/reserved, target address. */
const ND_MESSAGE_LENGTH = 24;
const LINK_ADDRESS_OPTION_LENGTH = 8;
const OPTION_SOURCE_LINK_ADDRESS = 1;
const OPTION_TARGET_LINK_ADDRESS = 2;
const FLAG_ROUTER = 0x80;
const FLAG_SOLICITED = 0x40;
const FLAG_OVERRIDE = 0x20;

/** Length of every advertisement the encoders build (one target link-layer option). */
export const NA_FRAME_LENGTH = ICMP_OFFSET + ND_MESSAGE_LENGTH + LINK_ADDRESS_OPTION_LENGTH;

export interface NeighborSolicitation {
  type: 'ns';
  ethDst: MacString;
  ethSrc: MacString;
  /** '::' for duplicate address detection. */
  srcIp: string;
  dstIp: string;
  /** The address being resolved. */
  target: string;
  /** Source link-layer address option; never present in a DAD probe. */
  sourceLinkAddr: MacString | null;
}

export interface NeighborAdvertisement {
  type: 'na';
  ethDst: MacString;
  ethSrc: MacString;
  srcIp: string;
  dstIp: string;
  /** The address being advertised. */
  target: string;
  router: boolean;
  solicited: boolean;
  override: boolean;
  /** Target link-layer address option: the MAC that claims `target`. */
  targetLinkAddr: MacString | null;
}

export type NdpMessage = NeighborSolicitation | NeighborAdvertisement;

/** Every field of an advertisement; the encoders below fill them in for the usual cases. */
export interface NeighborAdvertisementFields {
  ethDst: MacString;
  ethSrc: MacString;
  srcIp: string;
  dstIp: string;
  target: string;
  router: boolean;
  solicited: boolean;
  override: boolean;
  /** Null leaves the option out. */
  targetLinkAddr: MacString | null;
}

/** ff02::1:ffXX:XXXX, the group a Neighbor Solicitation for `ip` is sent to. */
export function solicitedNodeAddress(ip: string): string {
  const bytes = parseIpv6(ip);
  const group = Buffer.from([0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, bytes[13]!, bytes[14]!, bytes[15]!]);
  return formatIpv6(group);
}

/** 33:33 followed by the low 32 bits of an IPv6 multicast address (RFC 2464 section 7). */
export function ipv6MulticastMac(ip: string): MacString {
  const bytes = parseIpv6(ip);
  return formatMac(Buffer.from([0x33, 0x33, bytes[12]!, bytes[13]!, bytes[14]!, bytes[15]!]));
}

/** Builds an Ethernet + IPv6 + ICMPv6 Neighbor Advertisement, checksum included. */
export function encodeNeighborAdvertisement(fields: NeighborAdvertisementFields, out?: Buffer): Buffer {
  const icmpLength = ND_MESSAGE_LENGTH + (fields.targetLinkAddr === null ? 0 : LINK_ADDRESS_OPTION_LENGTH);
  const frame = frameBuffer(ICMP_OFFSET + icmpLength, out);
  writeMac(fields.ethDst, frame, 0);
  writeMac(fields.ethSrc, frame, 6);
  frame.writeUInt16BE(ETHERTYPE_IPV6, 12);
  frame[IP_OFFSET] = 0x60; // version 6, traffic class and flow label 0
  frame.writeUInt16BE(icmpLength, IP_OFFSET + 4);
  frame[IP_OFFSET + 6] = NEXT_HEADER_ICMPV6;
  frame[IP_OFFSET + 7] = NDP_HOP_LIMIT;
  writeIpv6(fields.srcIp, frame, IP_OFFSET + 8);
  writeIpv6(fields.dstIp, frame, IP_OFFSET + 24);
  frame[ICMP_OFFSET] = ICMPV6_NEIGHBOR_ADVERTISEMENT;
  frame[ICMP_OFFSET + 4] =
    (fields.router ? FLAG_ROUTER : 0) | (fields.solicited ? FLAG_SOLICITED : 0) | (fields.override ? FLAG_OVERRIDE : 0);
  writeIpv6(fields.target, frame, ICMP_OFFSET + 8);
  if (fields.targetLinkAddr !== null) {
    frame[ICMP_OFFSET + 24] = OPTION_TARGET_LINK_ADDRESS;
    frame[ICMP_OFFSET + 25] = 1; // in units of 8 bytes
    writeMac(fields.targetLinkAddr, frame, ICMP_OFFSET + 26);
  }
  frame.writeUInt16BE(icmpv6Checksum(frame, IP_OFFSET, icmpLength), ICMP_OFFSET + 2);
  return frame;
}

/**
 * Unsolicited advertisement of `ip` at `mac` to all nodes (ff02::1): Override
 * set so neighbours replace a cached MAC, Solicited clear. The IPv6 source
 * defaults to `ip` itself; pass the interface's link-local address instead
 * when that is preferred.
 */
export function encodeUnsolicitedNa(
  args: { mac: MacString; ip: string; srcIp?: string; router?: boolean },
  out?: Buffer,
): Buffer {
  return encodeNeighborAdvertisement(
    {
      ethDst: ALL_NODES_MAC,
      ethSrc: args.mac,
      srcIp: args.srcIp ?? args.ip,
      dstIp: ALL_NODES_IPV6,
      target: args.ip,
      router: args.router ?? false,
      solicited: false,
      override: true,
      targetLinkAddr: args.mac,
    },
    out,
  );
}

/**
 * The answer to a Neighbor Solicitation for an IP we own (RFC 4861 7.2.4):
 * to the solicitor with Solicited and Override set, or, for a DAD probe
 * (source ::), to all nodes with Solicited clear. The Ethernet destination is
 * the solicitor's link-layer option, else the frame's source.
 */
export function encodeSolicitedNa(
  ns: NeighborSolicitation,
  args: { mac: MacString; srcIp?: string; router?: boolean },
  out?: Buffer,
): Buffer {
  const dad = ns.srcIp === '::';
  return encodeNeighborAdvertisement(
    {
      ethDst: dad ? ALL_NODES_MAC : (ns.sourceLinkAddr ?? ns.ethSrc),
      ethSrc: args.mac,
      srcIp: args.srcIp ?? ns.target,
      dstIp: dad ? ALL_NODES_IPV6 : ns.srcIp,
      target: ns.target,
      router: args.router ?? false,
      solicited: !dad,
      override: true,
      targetLinkAddr: args.mac,
    },
    out,
  );
}

/**
 * Decodes a Neighbor Solicitation or Advertisement with the validity checks
 * of RFC 4861 7.1 (hop limit 255, code 0, checksum, length, target not
 * multicast, option lengths, the DAD and multicast-destination rules).
 * Anything else yields null; never throws.
 */
export function decodeNdp(frame: Uint8Array): NdpMessage | null {
  if (frame.length < ICMP_OFFSET + ND_MESSAGE_LENGTH) return null;
  if (frame[12] !== 0x86 || frame[13] !== 0xdd) return null;
  if (frame[IP_OFFSET]! >> 4 !== 6) return null;
  if (frame[IP_OFFSET + 6] !== NEXT_HEADER_ICMPV6 || frame[IP_OFFSET + 7] !== NDP_HOP_LIMIT) return null;
  const icmpLength = (frame[IP_OFFSET + 4]! << 8) | frame[IP_OFFSET + 5]!;
  if (icmpLength < ND_MESSAGE_LENGTH || ICMP_OFFSET + icmpLength > frame.length) return null;
  const type = frame[ICMP_OFFSET];
  if (type !== ICMPV6_NEIGHBOR_SOLICITATION && type !== ICMPV6_NEIGHBOR_ADVERTISEMENT) return null;
  if (frame[ICMP_OFFSET + 1] !== 0) return null;
  if (icmpv6Checksum(frame, IP_OFFSET, icmpLength) !== 0) return null;
  if (isIpv6Multicast(frame, ICMP_OFFSET + 8)) return null;

  const wanted = type === ICMPV6_NEIGHBOR_SOLICITATION ? OPTION_SOURCE_LINK_ADDRESS : OPTION_TARGET_LINK_ADDRESS;
  const linkAddr = findLinkAddressOption(frame, ICMP_OFFSET + ND_MESSAGE_LENGTH, ICMP_OFFSET + icmpLength, wanted);
  if (linkAddr === false) return null;

  const srcUnspecified = isIpv6Unspecified(frame, IP_OFFSET + 8);
  const dstMulticast = isIpv6Multicast(frame, IP_OFFSET + 24);
  const common = {
    ethDst: formatMac(frame, 0),
    ethSrc: formatMac(frame, 6),
    srcIp: formatIpv6(frame, IP_OFFSET + 8),
    dstIp: formatIpv6(frame, IP_OFFSET + 24),
    target: formatIpv6(frame, ICMP_OFFSET + 8),
  };

  if (type === ICMPV6_NEIGHBOR_SOLICITATION) {
    // DAD probes go to the solicited-node group and carry no source option.
    if (srcUnspecified && (linkAddr !== null || !isSolicitedNodeGroup(frame, IP_OFFSET + 24))) return null;
    return { type: 'ns', ...common, sourceLinkAddr: linkAddr };
  }
  const flags = frame[ICMP_OFFSET + 4]!;
  const solicited = (flags & FLAG_SOLICITED) !== 0;
  if (dstMulticast && solicited) return null;
  return {
    type: 'na',
    ...common,
    router: (flags & FLAG_ROUTER) !== 0,
    solicited,
    override: (flags & FLAG_OVERRIDE) !== 0,
    targetLinkAddr: linkAddr,
  };
}

export function decodeNeighborSolicitation(frame: Uint8Array): NeighborSolicitation | null {
  const message = decodeNdp(frame);
  return message?.type === 'ns' ? message : null;
}

export function decodeNeighborAdvertisement(frame: Uint8Array): NeighborAdvertisement | null {
  const message = decodeNdp(frame);
  return message?.type === 'na' ? message : null;
}

/**
 * Walks the options in [start, end): the MAC of the first option of type
 * `wanted`, null when there is none, false when the options are malformed
 * (zero length, running past the end, a link-layer option not 8 bytes long).
 */
function findLinkAddressOption(frame: Uint8Array, start: number, end: number, wanted: number): MacString | null | false {
  let found: MacString | null = null;
  for (let offset = start; offset < end; ) {
    if (offset + 2 > end) return false;
    const optionType = frame[offset]!;
    const length = frame[offset + 1]! * 8;
    if (length === 0 || offset + length > end) return false;
    if (optionType === OPTION_SOURCE_LINK_ADDRESS || optionType === OPTION_TARGET_LINK_ADDRESS) {
      if (length !== LINK_ADDRESS_OPTION_LENGTH) return false;
      if (optionType === wanted && found === null) found = formatMac(frame, offset + 2);
    }
    offset += length;
  }
  return found;
}

/** ff02::1:ff00:0/104 */
const SOLICITED_NODE_PREFIX = [0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff];
function isSolicitedNodeGroup(frame: Uint8Array, offset: number): boolean {
  for (let i = 0; i < SOLICITED_NODE_PREFIX.length; i++) if (frame[offset + i] !== SOLICITED_NODE_PREFIX[i]) return false;
  return true;
}
