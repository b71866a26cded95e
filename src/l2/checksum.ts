// Internet checksum (RFC 1071) and the ICMPv6 variant over the IPv6
// pseudo-header (RFC 8200 section 8.1).

const NEXT_HEADER_ICMPV6 = 58;

/**
 * Adds the big-endian 16-bit words of data[start, end) to `sum`, unfolded; an
 * odd last byte counts as the high half of a word. A JS number holds the sum
 * of any frame exactly.
 */
export function addWords(data: Uint8Array, start: number, end: number, sum = 0): number {
  let i = start;
  for (; i + 1 < end; i += 2) sum += (data[i]! << 8) | data[i + 1]!;
  if (i < end) sum += data[i]! << 8;
  return sum;
}

/** Folds the carries of a word sum and complements it: the value for the checksum field. */
export function finishChecksum(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return ~sum & 0xffff;
}

/**
 * ICMPv6 checksum of the message that follows the IPv6 header at `ipOffset`
 * (no extension headers), `icmpLength` bytes long. Over a message whose
 * checksum field is zero this is the value to store; over a received message
 * it is 0 when the stored checksum is right.
 */
export function icmpv6Checksum(packet: Uint8Array, ipOffset: number, icmpLength: number): number {
  const icmpOffset = ipOffset + 40;
  // Pseudo-header: source and destination address, 32-bit length, next header.
  let sum = addWords(packet, ipOffset + 8, ipOffset + 40);
  sum += Math.floor(icmpLength / 0x10000) + (icmpLength & 0xffff) + NEXT_HEADER_ICMPV6;
  return finishChecksum(addWords(packet, icmpOffset, icmpOffset + icmpLength, sum));
}
