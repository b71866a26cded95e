// Test helpers: frames written out as hex, and reference checksums that share
// no code with src/l2.

/** Hex with any whitespace and `|` separators, to Buffer. */
export function hex(text: string): Buffer {
  const clean = text.replace(/[\s|]+/g, '');
  if (!/^([0-9a-f]{2})*$/i.test(clean)) throw new Error(`bad hex: ${text}`);
  return Buffer.from(clean, 'hex');
}

/** Plain one's-complement sum of 16-bit words, carries folded at each step. */
export function referenceChecksum(bytes: readonly number[]): number {
  let sum = 0;
  for (let i = 0; i < bytes.length; i += 2) {
    sum += bytes[i]! * 256 + (bytes[i + 1] ?? 0);
    if (sum > 0xffff) sum -= 0xffff;
  }
  return 0xffff - sum;
}

/** ICMPv6 checksum of an Ethernet/IPv6 frame, built from a fresh pseudo-header array. */
export function referenceIcmpv6Checksum(frame: Buffer): number {
  const payloadLength = frame.readUInt16BE(18);
  const icmp = [...frame.subarray(54, 54 + payloadLength)];
  icmp[2] = 0;
  icmp[3] = 0;
  const pseudo = [
    ...frame.subarray(22, 38),
    ...frame.subarray(38, 54),
    (payloadLength >>> 24) & 0xff,
    (payloadLength >>> 16) & 0xff,
    (payloadLength >>> 8) & 0xff,
    payloadLength & 0xff,
    0,
    0,
    0,
    58,
  ];
  return referenceChecksum([...pseudo, ...icmp]);
}
