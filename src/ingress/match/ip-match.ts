// IP addresses and CIDRs for the ClientIP matcher, with Go's net package
// semantics: IPv4-mapped IPv6 addresses (what a dual-stack Node socket
// reports as remoteAddress, `::ffff:198.18.0.1`) are IPv4; IPv4 parts with
// leading zeros are rejected; an IPv6 zone (`%eth0`) is ignored.
//
// Request-side parsing writes into a caller-owned Uint32Array so that the
// per-request path does not allocate (ip-address objects would).

export type IpFamily = 4 | 6;

/** A network: for IPv4 only words[0] is used. */
export interface IpNetwork {
  readonly family: IpFamily;
  readonly words: Uint32Array;
  readonly prefix: number;
}

const groups = new Uint16Array(8);

function digitAt(s: string, i: number): number {
  const c = s.charCodeAt(i) - 48;
  return c >= 0 && c <= 9 ? c : -1;
}

function hexAt(s: string, i: number): number {
  const c = s.charCodeAt(i);
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/** Dotted quad in s[start, end) as an unsigned 32-bit number, or -1. */
function parseIpv4(s: string, start: number, end: number): number {
  let value = 0;
  let i = start;
  for (let part = 0; part < 4; part++) {
    if (part > 0) {
      if (s.charCodeAt(i) !== 46) return -1;
      i++;
    }
    const first = i;
    let n = 0;
    while (i < end && i - first < 4) {
      const d = digitAt(s, i);
      if (d < 0) break;
      n = n * 10 + d;
      i++;
    }
    const len = i - first;
    if (len === 0 || len > 3 || n > 255 || (len > 1 && s.charCodeAt(first) === 48)) return -1;
    value = value * 256 + n;
  }
  return i === end ? value : -1;
}

/** RFC 4291 text form in s[start, end) into `groups`; false when invalid. */
function parseIpv6(s: string, start: number, end: number): boolean {
  let n = 0;
  let gap = -1;
  let i = start;
  if (s.charCodeAt(i) === 58) {
    if (s.charCodeAt(i + 1) !== 58) return false;
    gap = 0;
    i += 2;
  }
  while (i < end) {
    if (n === 8) return false;
    const first = i;
    let v = 0;
    while (i < end) {
      const h = hexAt(s, i);
      if (h < 0) break;
      v = (v << 4) | h;
      i++;
      if (i - first > 4) break;
    }
    if (i < end && s.charCodeAt(i) === 46) {
      // Embedded IPv4 tail takes the last two groups.
      if (n > 6) return false;
      const v4 = parseIpv4(s, first, end);
      if (v4 < 0) return false;
      groups[n++] = v4 >>> 16;
      groups[n++] = v4 & 0xffff;
      i = end;
      break;
    }
    const len = i - first;
    if (len === 0 || len > 4) return false;
    groups[n++] = v;
    if (i === end) break;
    if (s.charCodeAt(i) !== 58) return false;
    i++;
    if (s.charCodeAt(i) === 58) {
      if (gap >= 0) return false;
      gap = n;
      i++;
    } else if (i === end) {
      return false;
    }
  }
  if (gap < 0) return n === 8;
  if (n > 7) return false;
  const tail = n - gap;
  for (let k = 0; k < tail; k++) groups[7 - k] = groups[n - 1 - k]!;
  for (let k = gap; k < 8 - tail; k++) groups[k] = 0;
  return true;
}

/**
 * Parses an address into `out` (length >= 4). Returns 4 (out[0] holds the
 * IPv4 address, also for IPv4-mapped IPv6), 6 (out[0..3]), or 0 if invalid.
 */
export function parseIpInto(s: string, out: Uint32Array): 0 | IpFamily {
  let end = s.indexOf('%');
  if (end < 0) end = s.length;
  if (s.indexOf(':') < 0) {
    const v4 = parseIpv4(s, 0, end);
    if (v4 < 0 || end !== s.length) return 0;
    out[0] = v4;
    return 4;
  }
  if (!parseIpv6(s, 0, end)) return 0;
  for (let k = 0; k < 4; k++) out[k] = ((groups[2 * k]! << 16) | groups[2 * k + 1]!) >>> 0;
  if (out[0] === 0 && out[1] === 0 && out[2] === 0xffff) {
    out[0] = out[3]!;
    return 4;
  }
  return 6;
}

/** `198.18.0.1`, `198.18.0.0/15`, `2001:db8::1`, `2001:db8::/32`; null when invalid. */
export function parseIpNetwork(text: string): IpNetwork | null {
  const slash = text.indexOf('/');
  const words = new Uint32Array(4);
  const addr = slash < 0 ? text : text.slice(0, slash);
  if (addr.includes('%')) return null;
  const family = parseIpInto(addr, words);
  if (family === 0) return null;
  const max = family === 4 ? 32 : 128;
  let prefix = max;
  if (slash >= 0) {
    const bits = text.slice(slash + 1);
    if (!/^(0|[1-9][0-9]{0,2})$/.test(bits)) return null;
    prefix = Number(bits);
    // An IPv4-mapped address written with an IPv6 prefix length (Go's
    // ParseCIDR keeps the mask's last 32 bits for it).
    const mapped = family === 4 && addr.includes(':');
    if (mapped) prefix = Math.max(0, prefix - 96);
    if (prefix > (mapped ? 32 : max) || (mapped && Number(bits) > 128)) return null;
  }
  if (family === 4) words[1] = words[2] = words[3] = 0;
  // Keep only the network bits, so matching is a masked compare.
  for (let k = 0; k < 4; k++) words[k] = (words[k]! & wordMask(prefix, k)) >>> 0;
  return Object.freeze({ family, words, prefix });
}

/** Mask of word k (0..3) for a prefix length. */
function wordMask(prefix: number, k: number): number {
  const bits = prefix - 32 * k;
  if (bits >= 32) return 0xffffffff;
  if (bits <= 0) return 0;
  return (0xffffffff << (32 - bits)) >>> 0;
}

/** Whether an address parsed by parseIpInto lies in the network. */
export function networkContains(net: IpNetwork, family: IpFamily, words: Uint32Array): boolean {
  if (net.family !== family) return false;
  const n = family === 4 ? 1 : 4;
  for (let k = 0; k < n; k++) {
    const mask = wordMask(net.prefix, k);
    if (((words[k]! & mask) >>> 0) !== net.words[k]) return false;
  }
  return true;
}
