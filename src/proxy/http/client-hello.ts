// The server name (SNI) of a TLS ClientHello, read from the first bytes of a
// connection before anything terminates it (ssl-passthrough routes by it).
// Pure: bytes in, a verdict out. Follows RFC 8446 §4.1.2 and RFC 6066 §3;
// the ClientHello may span several handshake records (post-quantum key
// shares make it larger than one), bounded by MAX_HELLO_BYTES.

/** Beyond this a ClientHello is not waited for: the connection is TLS-terminated as usual. */
export const MAX_HELLO_BYTES = 16 * 1024;

export type HelloVerdict =
  /** Send more bytes. */
  | { readonly kind: 'more' }
  /** Not a TLS ClientHello we can read (or too large): terminate as usual. */
  | { readonly kind: 'other' }
  /** A ClientHello; `sni` is its host_name, lowercased, when it has one. */
  | { readonly kind: 'hello'; readonly sni: string | undefined };

const MORE: HelloVerdict = { kind: 'more' };
const OTHER: HelloVerdict = { kind: 'other' };

export function readClientHello(buf: Buffer): HelloVerdict {
  // Gather the handshake bytes from as many records as the message needs.
  const parts: Buffer[] = [];
  let have = 0;
  let need = -1;
  let at = 0;
  for (;;) {
    if (buf.length - at < 5) return buf.length >= MAX_HELLO_BYTES ? OTHER : MORE;
    if (buf[at] !== 22 || buf[at + 1] !== 3) return OTHER; // handshake record, TLS 1.x
    const len = buf.readUInt16BE(at + 3);
    if (len === 0 || len > 16384 + 2048) return OTHER;
    if (buf.length - at - 5 < len) return at + 5 + len > MAX_HELLO_BYTES ? OTHER : MORE;
    parts.push(buf.subarray(at + 5, at + 5 + len));
    have += len;
    at += 5 + len;
    if (need < 0 && have >= 4) {
      const head = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
      if (head[0] !== 1) return OTHER; // client_hello
      need = 4 + head.readUIntBE(1, 3);
      if (need > MAX_HELLO_BYTES) return OTHER;
    }
    if (need >= 0 && have >= need) break;
  }
  const msg = (parts.length === 1 ? parts[0]! : Buffer.concat(parts)).subarray(4, need);
  return parseHello(msg);
}

function parseHello(m: Buffer): HelloVerdict {
  let p = 2 + 32; // legacy_version, random
  if (p + 1 > m.length) return OTHER;
  p += 1 + m[p]!; // session id
  if (p + 2 > m.length) return OTHER;
  p += 2 + m.readUInt16BE(p); // cipher suites
  if (p + 1 > m.length) return OTHER;
  p += 1 + m[p]!; // compression methods
  if (p === m.length) return { kind: 'hello', sni: undefined };
  if (p + 2 > m.length) return OTHER;
  const end = p + 2 + m.readUInt16BE(p);
  if (end > m.length) return OTHER;
  p += 2;
  while (p + 4 <= end) {
    const type = m.readUInt16BE(p);
    const len = m.readUInt16BE(p + 2);
    p += 4;
    if (p + len > end) return OTHER;
    if (type === 0) return serverName(m.subarray(p, p + len));
    p += len;
  }
  return p === end ? { kind: 'hello', sni: undefined } : OTHER;
}

function serverName(ext: Buffer): HelloVerdict {
  if (ext.length < 2) return OTHER;
  const end = 2 + ext.readUInt16BE(0);
  if (end > ext.length) return OTHER;
  let p = 2;
  while (p + 3 <= end) {
    const type = ext[p]!;
    const len = ext.readUInt16BE(p + 1);
    p += 3;
    if (p + len > end) return OTHER;
    if (type === 0) {
      const name = ext.subarray(p, p + len).toString('latin1');
      // A DNS name: letters, digits, hyphens and dots only (RFC 6066 host_name, no trailing dot).
      if (!/^[A-Za-z0-9.-]{1,253}$/.test(name)) return OTHER;
      return { kind: 'hello', sni: name.toLowerCase() };
    }
    p += len;
  }
  return { kind: 'hello', sni: undefined };
}
