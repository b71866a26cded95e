// 32-bit string hashes for the places that spread or bucket by a key
// (election scores, announce schedules, the upstream-hash-by ring, cookie
// values, host suffix buckets). Not cryptographic. Pure.

/** FNV-1a over the UTF-16 code units of `s` from `start`. */
export function fnv1a32(s: string, start = 0): number {
  let h = 0x811c9dc5;
  for (let i = start; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * A 32-bit bijective mixer (xorshift-multiply, constants from Chris
 * Wellons' hash-prospector search): full avalanche, two multiplications.
 */
export function mix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

/**
 * FNV-1a then the mixer: FNV's high bits barely depend on the last
 * characters, and keys such as consecutive IPs differ only there.
 */
export function spreadHash(text: string): number {
  return mix32(fnv1a32(text));
}
