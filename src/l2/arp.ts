// ARP for IPv4 over Ethernet (RFC 826): build the frames the speaker sends
// and decode the ones it receives. Pure: no I/O.
//
// Gratuitous ARP choices (both forms go to the Ethernet broadcast address):
// - request form: sender IP = target IP = the announced IP, target MAC all
//   zero (RFC 5227 announcement; receivers ignore it in a request);
// - reply form: target MAC = the sender MAC by default (RFC 2002 4.6). Linux
//   only treats a reply as gratuitous, skipping the neighbour lock time
//   (1 s by default), when target MAC equals sender MAC; with a broadcast
//   target MAC (what some tools send) it waits the lock time out. Pass
//   `targetMac: 'broadcast'` for that variant.
// Frames are zero-padded to the 60-byte Ethernet minimum.

import { ETHERNET_HEADER_LENGTH, ETHERNET_MIN_FRAME_LENGTH, ETHERTYPE_ARP, ETHERTYPE_IPV4, frameBuffer } from './ethernet.ts';
import { formatIpv4, writeIpv4 } from './ip-bytes.ts';
import { BROADCAST_MAC, formatMac, type MacString, writeMac, ZERO_MAC } from './mac.ts';

export const ARP_OP_REQUEST = 1;
export const ARP_OP_REPLY = 2;
export type ArpOp = typeof ARP_OP_REQUEST | typeof ARP_OP_REPLY;

/** Ethernet header plus the 28-byte ARP body, before padding. */
const ARP_PACKET_LENGTH = ETHERNET_HEADER_LENGTH + 28;
/** Length of every frame the encoders build. */
export const ARP_FRAME_LENGTH = ETHERNET_MIN_FRAME_LENGTH;

const HTYPE_ETHERNET = 1;
const UNSPECIFIED_IPV4 = '0.0.0.0';

/** Every field of an ARP frame; ethSrc defaults to senderMac. */
export interface ArpFields {
  op: ArpOp;
  ethDst: MacString;
  ethSrc?: MacString;
  senderMac: MacString;
  senderIp: string;
  targetMac: MacString;
  targetIp: string;
}

/** A decoded ARP frame. */
export interface ArpPacket {
  op: ArpOp;
  ethDst: MacString;
  ethSrc: MacString;
  senderMac: MacString;
  senderIp: string;
  targetMac: MacString;
  targetIp: string;
}

/** Builds an ARP frame from explicit fields, into `out` when given (see frameBuffer). */
export function encodeArp(fields: ArpFields, out?: Buffer): Buffer {
  const frame = frameBuffer(ARP_FRAME_LENGTH, out);
  writeMac(fields.ethDst, frame, 0);
  writeMac(fields.ethSrc ?? fields.senderMac, frame, 6);
  frame.writeUInt16BE(ETHERTYPE_ARP, 12);
  frame.writeUInt16BE(HTYPE_ETHERNET, 14);
  frame.writeUInt16BE(ETHERTYPE_IPV4, 16);
  frame[18] = 6;
  frame[19] = 4;
  frame.writeUInt16BE(fields.op, 20);
  writeMac(fields.senderMac, frame, 22);
  writeIpv4(fields.senderIp, frame, 28);
  writeMac(fields.targetMac, frame, 32);
  writeIpv4(fields.targetIp, frame, 38);
  return frame;
}

/** "Who has targetIp? Tell senderIp", broadcast. */
export function encodeArpRequest(
  args: { senderMac: MacString; senderIp: string; targetIp: string },
  out?: Buffer,
): Buffer {
  const { senderMac, senderIp, targetIp } = args;
  return encodeArp({ op: ARP_OP_REQUEST, ethDst: BROADCAST_MAC, senderMac, senderIp, targetMac: ZERO_MAC, targetIp }, out);
}

/** "senderIp is at senderMac", unicast to targetMac. */
export function encodeArpReply(
  args: { senderMac: MacString; senderIp: string; targetMac: MacString; targetIp: string },
  out?: Buffer,
): Buffer {
  const { senderMac, senderIp, targetMac, targetIp } = args;
  return encodeArp({ op: ARP_OP_REPLY, ethDst: targetMac, senderMac, senderIp, targetMac, targetIp }, out);
}

/**
 * The reply the owner of `request.targetIp` sends: unicast to the asker, who
 * may be probing (sender IP 0.0.0.0; the reply then carries 0.0.0.0 too, as
 * Linux does).
 */
export function encodeArpAnswer(request: ArpPacket, mac: MacString, out?: Buffer): Buffer {
  return encodeArpReply(
    { senderMac: mac, senderIp: request.targetIp, targetMac: request.senderMac, targetIp: request.senderIp },
    out,
  );
}

/** Gratuitous ARP, request form: updates existing neighbour entries at once. */
export function encodeGratuitousArpRequest(args: { mac: MacString; ip: string }, out?: Buffer): Buffer {
  return encodeArp(
    {
      op: ARP_OP_REQUEST,
      ethDst: BROADCAST_MAC,
      senderMac: args.mac,
      senderIp: args.ip,
      targetMac: ZERO_MAC,
      targetIp: args.ip,
    },
    out,
  );
}

/** Gratuitous ARP, reply form; target MAC = own MAC unless 'broadcast' (see the header comment). */
export function encodeGratuitousArpReply(
  args: { mac: MacString; ip: string; targetMac?: 'sender' | 'broadcast' },
  out?: Buffer,
): Buffer {
  return encodeArp(
    {
      op: ARP_OP_REPLY,
      ethDst: BROADCAST_MAC,
      senderMac: args.mac,
      senderIp: args.ip,
      targetMac: args.targetMac === 'broadcast' ? BROADCAST_MAC : args.mac,
      targetIp: args.ip,
    },
    out,
  );
}

/** ARP probe (RFC 5227): asks whether anyone holds `ip` without claiming it. */
export function encodeArpProbe(args: { mac: MacString; ip: string }, out?: Buffer): Buffer {
  return encodeArp(
    {
      op: ARP_OP_REQUEST,
      ethDst: BROADCAST_MAC,
      senderMac: args.mac,
      senderIp: UNSPECIFIED_IPV4,
      targetMac: ZERO_MAC,
      targetIp: args.ip,
    },
    out,
  );
}

/**
 * Decodes an Ethernet frame carrying IPv4-over-Ethernet ARP (hardware type 1,
 * protocol 0x0800, lengths 6/4, opcode request or reply). Anything else,
 * including truncated frames, yields null; never throws.
 */
export function decodeArp(frame: Uint8Array): ArpPacket | null {
  if (frame.length < ARP_PACKET_LENGTH) return null;
  if (frame[12] !== 0x08 || frame[13] !== 0x06) return null;
  if (frame[14] !== 0 || frame[15] !== HTYPE_ETHERNET) return null;
  if (frame[16] !== 0x08 || frame[17] !== 0x00) return null;
  if (frame[18] !== 6 || frame[19] !== 4) return null;
  if (frame[20] !== 0) return null;
  const op = frame[21];
  if (op !== ARP_OP_REQUEST && op !== ARP_OP_REPLY) return null;
  return {
    op,
    ethDst: formatMac(frame, 0),
    ethSrc: formatMac(frame, 6),
    senderMac: formatMac(frame, 22),
    senderIp: formatIpv4(frame, 28),
    targetMac: formatMac(frame, 32),
    targetIp: formatIpv4(frame, 38),
  };
}

/** Sender announces its own address (either form of gratuitous ARP). */
export function isGratuitousArp(packet: ArpPacket): boolean {
  return packet.senderIp === packet.targetIp && packet.senderIp !== UNSPECIFIED_IPV4;
}

/** RFC 5227 probe: a request from 0.0.0.0, someone checking whether targetIp is free. */
export function isArpProbe(packet: ArpPacket): boolean {
  return packet.op === ARP_OP_REQUEST && packet.senderIp === UNSPECIFIED_IPV4;
}
