// IP addresses cross the l2 API as strings and sit in frames as 4 or 16
// bytes. Text to bytes happens when a frame is built (rare); bytes to text
// on every received frame, so formatting is hand-rolled and allocation-light.

import { isParseError, parseIp } from '../config/ip-range.ts';

const IPV4_PATTERN = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

/** Dotted quad without leading zeros (as net.isIPv4 has it). */
export function writeIpv4(ip: string, target: Uint8Array, offset: number): void {
  const match = IPV4_PATTERN.exec(ip);
  if (match === null) throw new TypeError(`invalid IPv4 address: ${JSON.stringify(ip)}`);
  for (let i = 0; i < 4; i++) target[offset + i] = Number(match[i + 1]);
}

export function formatIpv4(source: Uint8Array, offset = 0): string {
  if (offset < 0 || offset + 4 > source.length) throw new RangeError('IPv4 address runs past the end of the buffer');
  return `${source[offset]}.${source[offset + 1]}.${source[offset + 2]}.${source[offset + 3]}`;
}

// Parsed IPv6 addresses by text: the speaker builds frames for the same few
// addresses over and over, and a full parse costs microseconds. Bounded by
// dropping everything when full.
const IPV6_CACHE_LIMIT = 4096;
const ipv6Cache = new Map<string, Uint8Array>();

/** Any textual IPv6 form, without prefix length or zone. */
export function writeIpv6(ip: string, target: Uint8Array, offset: number): void {
  let bytes = ipv6Cache.get(ip);
  if (bytes === undefined) {
    bytes = parseIpv6Text(ip);
    if (ipv6Cache.size >= IPV6_CACHE_LIMIT) ipv6Cache.clear();
    ipv6Cache.set(ip, bytes);
  }
  target.set(bytes, offset);
}

function parseIpv6Text(ip: string): Uint8Array {
  // The project's one IP parser (src/config/ip-range.ts): no zones, no prefix.
  const parsed = parseIp(ip);
  if (isParseError(parsed) || parsed.family !== 6) throw new TypeError(`invalid IPv6 address: ${JSON.stringify(ip)}`);
  const result = new Uint8Array(16);
  let v = parsed.value;
  for (let i = 15; i >= 0; i--) {
    result[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return result;
}

export function parseIpv6(ip: string): Buffer {
  const bytes = Buffer.alloc(16);
  writeIpv6(ip, bytes, 0);
  return bytes;
}

/** RFC 5952 text: lowercase, no leading zeros, the first longest run (>= 2) of zero groups as "::". */
export function formatIpv6(source: Uint8Array, offset = 0): string {
  if (offset < 0 || offset + 16 > source.length) throw new RangeError('IPv6 address runs past the end of the buffer');
  let bestStart = -1;
  let bestLength = 1;
  let runStart = -1;
  for (let group = 0; group <= 8; group++) {
    const zero = group < 8 && source[offset + group * 2] === 0 && source[offset + group * 2 + 1] === 0;
    if (zero) {
      if (runStart < 0) runStart = group;
    } else if (runStart >= 0) {
      if (group - runStart > bestLength) {
        bestStart = runStart;
        bestLength = group - runStart;
      }
      runStart = -1;
    }
  }
  let text = '';
  for (let group = 0; group < 8; group++) {
    if (group === bestStart) {
      text += group === 0 ? '::' : ':';
      group += bestLength - 1;
      continue;
    }
    const value = (source[offset + group * 2]! << 8) | source[offset + group * 2 + 1]!;
    text += value.toString(16);
    if (group < 7) text += ':';
  }
  return text;
}

export function isIpv6Multicast(source: Uint8Array, offset: number): boolean {
  return source[offset] === 0xff;
}

export function isIpv6Unspecified(source: Uint8Array, offset: number): boolean {
  for (let i = 0; i < 16; i++) if (source[offset + i] !== 0) return false;
  return true;
}
