// Ethernet II header: destination MAC, source MAC, ethertype (14 bytes).
// No 802.1Q tag: the kernel strips VLAN tags before a packet socket bound
// to one ethertype sees the frame.

import { formatMac, type MacString } from './mac.ts';

export const ETHERNET_HEADER_LENGTH = 14;
/** Shortest frame on the wire without FCS; shorter frames are zero-padded. */
export const ETHERNET_MIN_FRAME_LENGTH = 60;

export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_ARP = 0x0806;
export const ETHERTYPE_IPV6 = 0x86dd;

export interface EthernetHeader {
  dst: MacString;
  src: MacString;
  ethertype: number;
}

/** Null when the frame is too short to hold a header. */
export function readEthernetHeader(frame: Uint8Array): EthernetHeader | null {
  if (frame.length < ETHERNET_HEADER_LENGTH) return null;
  return { dst: formatMac(frame, 0), src: formatMac(frame, 6), ethertype: (frame[12]! << 8) | frame[13]! };
}

/** The ethertype without decoding anything else; -1 for a runt. */
export function peekEthertype(frame: Uint8Array): number {
  return frame.length < ETHERNET_HEADER_LENGTH ? -1 : (frame[12]! << 8) | frame[13]!;
}

/**
 * A buffer of exactly `length` bytes for a new frame: `out` cut to size when
 * the caller passes one big enough (reused across sends), a new one otherwise.
 * Zero-filled, so padding and reserved fields need no extra writes.
 */
export function frameBuffer(length: number, out?: Buffer): Buffer {
  if (out === undefined) return Buffer.alloc(length);
  if (out.length < length) throw new RangeError(`output buffer holds ${out.length} bytes, frame needs ${length}`);
  const frame = out.subarray(0, length);
  frame.fill(0);
  return frame;
}
