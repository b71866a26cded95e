// PROXY protocol headers (HAProxy's spec, versions 1 and 2): the first bytes
// on a backend connection, telling the backend who the client really was.
// Pure: no I/O. The decoder exists for tests and for accepting the protocol
// from an outer balancer later.

import net from 'node:net';

export interface ProxiedAddresses {
  readonly sourceIp: string;
  readonly sourcePort: number;
  readonly destIp: string;
  readonly destPort: number;
}

const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);

/** "::ffff:198.18.0.1" -> "198.18.0.1" (what dual-stack sockets report for IPv4 peers). */
function unmapV4(ip: string): string {
  return ip.length > 7 && ip.slice(0, 7).toLowerCase() === '::ffff:' && net.isIPv4(ip.slice(7)) ? ip.slice(7) : ip;
}

function stripZone(ip: string): string {
  const pct = ip.indexOf('%');
  return pct < 0 ? ip : ip.slice(0, pct);
}

/**
 * Both addresses in one family: IPv4 when both are IPv4 (or IPv4-mapped),
 * else IPv6 with any IPv4 one mapped into ::ffff:0:0/96.
 */
function normalise(a: ProxiedAddresses): { family: 4 | 6; src: string; dst: string } {
  for (const p of [a.sourcePort, a.destPort]) {
    if (!Number.isInteger(p) || p < 0 || p > 65535) throw new RangeError(`invalid port ${p}`);
  }
  const src = unmapV4(stripZone(a.sourceIp));
  const dst = unmapV4(stripZone(a.destIp));
  const fs = net.isIP(src);
  const fd = net.isIP(dst);
  if (fs === 0 || fd === 0) throw new TypeError(`invalid address ${fs === 0 ? a.sourceIp : a.destIp}`);
  if (fs === 4 && fd === 4) return { family: 4, src, dst };
  return { family: 6, src: fs === 4 ? `::ffff:${src}` : src, dst: fd === 4 ? `::ffff:${dst}` : dst };
}

/**
 * Version 1 (text): "PROXY TCP4|TCP6 src dst sport dport\r\n", or
 * "PROXY UNKNOWN\r\n" when `addresses` is null (e.g. a health check).
 */
export function encodeProxyV1(addresses: ProxiedAddresses | null): Buffer {
  if (addresses === null) return Buffer.from('PROXY UNKNOWN\r\n', 'latin1');
  const { family, src, dst } = normalise(addresses);
  return Buffer.from(`PROXY TCP${family} ${src} ${dst} ${addresses.sourcePort} ${addresses.destPort}\r\n`, 'latin1');
}

function writeIPv4(ip: string, out: Buffer, at: number): void {
  const parts = ip.split('.');
  for (let i = 0; i < 4; i++) out[at + i] = Number(parts[i]);
}

/** 16 bytes of an IPv6 address (validated by net.isIPv6 beforehand; may end in dotted IPv4). */
function writeIPv6(ip: string, out: Buffer, at: number): void {
  let text = ip;
  const lastColon = text.lastIndexOf(':');
  if (text.indexOf('.', lastColon) > 0) {
    // "::ffff:198.18.0.1" -> "::ffff:c612:1"
    const q = text.slice(lastColon + 1).split('.').map(Number) as [number, number, number, number];
    text = `${text.slice(0, lastColon + 1)}${((q[0] << 8) | q[1]).toString(16)}:${((q[2] << 8) | q[3]).toString(16)}`;
  }
  const gap = text.indexOf('::');
  const words = (part: string) => (part === '' ? [] : part.split(':').map((h) => parseInt(h, 16)));
  let all: number[];
  if (gap < 0) {
    all = words(text);
  } else {
    const left = words(text.slice(0, gap));
    const right = words(text.slice(gap + 2));
    all = [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  }
  for (let i = 0; i < 8; i++) out.writeUInt16BE(all[i]!, at + i * 2);
}

/**
 * Version 2 (binary). `addresses` null sends the LOCAL command (the connection
 * is the proxy's own, e.g. a health check; no address block).
 */
export function encodeProxyV2(addresses: ProxiedAddresses | null, transport: 'tcp' | 'udp' = 'tcp'): Buffer {
  if (addresses === null) {
    const out = Buffer.alloc(16);
    V2_SIGNATURE.copy(out, 0);
    out[12] = 0x20; // version 2, LOCAL
    out[13] = 0x00; // AF_UNSPEC, UNSPEC
    out.writeUInt16BE(0, 14);
    return out;
  }
  const { family, src, dst } = normalise(addresses);
  const addrLen = family === 4 ? 12 : 36;
  const out = Buffer.alloc(16 + addrLen);
  V2_SIGNATURE.copy(out, 0);
  out[12] = 0x21; // version 2, PROXY
  out[13] = ((family === 4 ? 1 : 2) << 4) | (transport === 'tcp' ? 1 : 2);
  out.writeUInt16BE(addrLen, 14);
  if (family === 4) {
    writeIPv4(src, out, 16);
    writeIPv4(dst, out, 20);
    out.writeUInt16BE(addresses.sourcePort, 24);
    out.writeUInt16BE(addresses.destPort, 26);
  } else {
    writeIPv6(src, out, 16);
    writeIPv6(dst, out, 32);
    out.writeUInt16BE(addresses.sourcePort, 48);
    out.writeUInt16BE(addresses.destPort, 50);
  }
  return out;
}

export interface DecodedProxyHeader {
  readonly version: 1 | 2;
  readonly command: 'PROXY' | 'LOCAL';
  /** 'UNKNOWN' for v1 UNKNOWN and v2 LOCAL/AF_UNSPEC. */
  readonly protocol: 'TCP4' | 'TCP6' | 'UDP4' | 'UDP6' | 'UNKNOWN';
  readonly addresses: ProxiedAddresses | null;
  /** Header length in bytes: the payload starts here. */
  readonly length: number;
}

function formatIPv6(b: Buffer, at: number): string {
  const words: string[] = [];
  for (let i = 0; i < 8; i++) words.push(b.readUInt16BE(at + i * 2).toString(16));
  // Canonical form through the URL parser's IPv6 serialiser (RFC 5952).
  return new URL(`http://[${words.join(':')}]/`).hostname.slice(1, -1);
}

/**
 * Decodes a header at the start of `buf`. Returns null when more bytes are
 * needed; throws on anything that is not a valid v1/v2 header.
 */
export function decodeProxyHeader(buf: Buffer): DecodedProxyHeader | null {
  if (buf.length >= 1 && buf[0] === 0x0d) {
    if (buf.length < 16) {
      const n = Math.min(buf.length, 12);
      if (!V2_SIGNATURE.subarray(0, n).equals(buf.subarray(0, n))) throw new Error('not a PROXY v2 signature');
      return null;
    }
    if (!buf.subarray(0, 12).equals(V2_SIGNATURE)) throw new Error('not a PROXY v2 signature');
    const verCmd = buf[12]!;
    if (verCmd >> 4 !== 2) throw new Error('PROXY v2: unsupported version');
    const cmd = verCmd & 0x0f;
    if (cmd > 1) throw new Error('PROXY v2: unknown command');
    const len = buf.readUInt16BE(14);
    if (buf.length < 16 + len) return null;
    const fam = buf[13]! >> 4;
    const proto = buf[13]! & 0x0f;
    const base = { version: 2 as const, length: 16 + len };
    if (cmd === 0 || fam === 0) return { ...base, command: cmd === 0 ? 'LOCAL' : 'PROXY', protocol: 'UNKNOWN', addresses: null };
    if ((fam !== 1 && fam !== 2) || (proto !== 1 && proto !== 2)) throw new Error('PROXY v2: unsupported family');
    const tcp = proto === 1;
    if (fam === 1) {
      if (len < 12) throw new Error('PROXY v2: short IPv4 block');
      return {
        ...base,
        command: 'PROXY',
        protocol: tcp ? 'TCP4' : 'UDP4',
        addresses: {
          sourceIp: [...buf.subarray(16, 20)].join('.'),
          destIp: [...buf.subarray(20, 24)].join('.'),
          sourcePort: buf.readUInt16BE(24),
          destPort: buf.readUInt16BE(26),
        },
      };
    }
    if (len < 36) throw new Error('PROXY v2: short IPv6 block');
    return {
      ...base,
      command: 'PROXY',
      protocol: tcp ? 'TCP6' : 'UDP6',
      addresses: { sourceIp: formatIPv6(buf, 16), destIp: formatIPv6(buf, 32), sourcePort: buf.readUInt16BE(48), destPort: buf.readUInt16BE(50) },
    };
  }
  // Version 1: at most 107 bytes including CRLF.
  const end = buf.indexOf('\r\n');
  if (end < 0) {
    if (buf.length >= 107 || !Buffer.from('PROXY ').subarray(0, Math.min(6, buf.length)).equals(buf.subarray(0, 6))) {
      throw new Error('not a PROXY v1 header');
    }
    return null;
  }
  if (end + 2 > 107) throw new Error('PROXY v1 header too long');
  const parts = buf.toString('latin1', 0, end).split(' ');
  if (parts[0] !== 'PROXY') throw new Error('not a PROXY v1 header');
  if (parts[1] === 'UNKNOWN') return { version: 1, command: 'PROXY', protocol: 'UNKNOWN', addresses: null, length: end + 2 };
  if (parts.length !== 6 || (parts[1] !== 'TCP4' && parts[1] !== 'TCP6')) throw new Error('malformed PROXY v1 header');
  const [, protocol, sourceIp, destIp, sp, dp] = parts as [string, 'TCP4' | 'TCP6', string, string, string, string];
  const family = protocol === 'TCP4' ? 4 : 6;
  if (net.isIP(sourceIp) !== family || net.isIP(destIp) !== family) throw new Error('PROXY v1: bad address');
  const port = (s: string) => {
    if (!/^(0|[1-9]\d{0,4})$/.test(s) || Number(s) > 65535) throw new Error('PROXY v1: bad port');
    return Number(s);
  };
  return {
    version: 1,
    command: 'PROXY',
    protocol,
    addresses: { sourceIp, destIp, sourcePort: port(sp), destPort: port(dp) },
    length: end + 2,
  };
}
