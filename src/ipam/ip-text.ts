// Private IP text <-> bigint conversion for the allocator.
// Stop-gap until src/config/ip-range.ts lands; then this file goes away.
// IPv4 is handled by hand because the allocator formats one address per
// allocation (100k in the benchmark); IPv6 is rare enough to go through
// ip-address, which already knows the compressed canonical form.
import { isIPv4, isIPv6 } from 'node:net';
import { Address6 } from 'ip-address';
import type { IpFamily } from '../config/types.ts';

export interface ParsedIp {
  family: IpFamily;
  address: bigint;
}

/** A plain address (no prefix, no zone), or undefined when `text` is not one. */
export function parseIp(text: string): ParsedIp | undefined {
  if (isIPv4(text)) {
    let value = 0;
    for (const part of text.split('.')) value = value * 256 + Number(part);
    return { family: 4, address: BigInt(value) };
  }
  if (isIPv6(text) && !text.includes('%')) {
    return { family: 6, address: new Address6(text).bigInt() };
  }
  return undefined;
}

/** Canonical text: dotted quad, or compressed lower-case IPv6. */
export function formatIp(family: IpFamily, address: bigint): string {
  if (family === 4) {
    const v = Number(address);
    return `${(v >>> 24) & 255}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
  }
  return Address6.fromBigInt(address).correctForm();
}

export function familyName(family: IpFamily): 'IPv4' | 'IPv6' {
  return family === 4 ? 'IPv4' : 'IPv6';
}
