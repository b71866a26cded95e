// Address blocks that no LoadBalancer IP can come from, so a pool that
// touches one is refused: handing out 0.0.0.0, ::1 or 224.0.0.1 gives the
// Service an address no client can reach it on (and binding 0.0.0.0 or ::
// would make the proxy listen on every address of the node).
//
// The list follows the IANA special-purpose registries (RFC 6890) for what
// can never be a unicast destination on a LAN. Documentation and benchmark
// blocks (198.18.0.0/15, 2001:db8::/32, 192.0.2.0/24, ...) stay allowed:
// labs and tests use them. 240.0.0.0/4 ("reserved") stays allowed too: some
// operators route it internally; only its last address, broadcast, is refused.
// Pure: no I/O.

import type { IpFamily, IpRange } from './types.ts';

interface SpecialBlock {
  family: IpFamily;
  first: bigint;
  last: bigint;
  cidr: string;
  why: string;
}

function block(family: IpFamily, base: bigint, prefix: number, cidr: string, why: string): SpecialBlock {
  const bits = family === 4 ? 32 : 128;
  const size = 1n << BigInt(bits - prefix);
  return { family, first: base, last: base + size - 1n, cidr, why };
}

// Narrow blocks first: the first match names the most specific reason.
const BLOCKS: readonly SpecialBlock[] = [
  block(4, 0x0000_0000n, 8, '0.0.0.0/8', 'unspecified / "this network" (RFC 1122): never a destination'),
  block(4, 0x7f00_0000n, 8, '127.0.0.0/8', 'loopback: it never leaves a host'),
  block(4, 0xa9fe_0000n, 16, '169.254.0.0/16', 'link-local: not routed, and owned by each host'),
  block(4, 0xe000_0000n, 4, '224.0.0.0/4', 'multicast: not a unicast address'),
  block(4, 0xffff_ffffn, 32, '255.255.255.255/32', 'limited broadcast'),
  block(6, 0n, 128, '::/128', 'unspecified: never a destination'),
  block(6, 1n, 128, '::1/128', 'loopback: it never leaves a host'),
  block(6, 0n, 96, '::/96', 'IPv4-compatible IPv6 (deprecated by RFC 4291): write IPv4 addresses as IPv4'),
  block(6, 0xfe80n << 112n, 10, 'fe80::/10', 'link-local: not routed, and owned by each interface'),
  block(6, 0xffn << 120n, 8, 'ff00::/8', 'multicast: not a unicast address'),
];

/** The first special-purpose block the range touches, with why it is refused; undefined when none. */
export function specialBlockIn(range: Pick<IpRange, 'family' | 'first' | 'last'>): { cidr: string; why: string } | undefined {
  for (const b of BLOCKS) {
    if (b.family === range.family && range.first <= b.last && b.first <= range.last) return { cidr: b.cidr, why: b.why };
  }
  return undefined;
}
