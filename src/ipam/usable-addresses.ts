// avoid-buggy-ips: some old client stacks treat IPv4 x.x.x.0 and x.x.x.255
// as network/broadcast addresses even inside a larger subnet, so pools
// that ask for it never hand them out. IPv6 has no such addresses.
import type { IpFamily, IpRange } from '../config/types.ts';

export function isBuggyIpv4(address: bigint): boolean {
  const low = address & 0xffn;
  return low === 0n || low === 0xffn;
}

export function isSkipped(family: IpFamily, avoidBuggyIps: boolean, address: bigint): boolean {
  return avoidBuggyIps && family === 4 && isBuggyIpv4(address);
}

/** Addresses of the range the allocator may hand out. */
export function usableCount(range: IpRange, avoidBuggyIps: boolean): bigint {
  const all = range.last - range.first + 1n;
  if (!avoidBuggyIps || range.family !== 4) return all;
  const buggy =
    countWithLowByte(range.first, range.last, 0n) + countWithLowByte(range.first, range.last, 0xffn);
  return all - buggy;
}

/** How many a in [first, last] have (a mod 256) === low. */
function countWithLowByte(first: bigint, last: bigint, low: bigint): bigint {
  const upTo = (x: bigint): bigint => (x < low ? 0n : (x - low) / 256n + 1n);
  return upTo(last) - upTo(first - 1n);
}
