// The request head sent upstream (pure). Two ways:
// - copy: a plain HTTP/1.1 origin-form request with nothing to drop has its
//   request line and field lines copied as received, in one copy, followed
//   by the connection's forwarding fields;
// - rebuild: otherwise the request line and Host are written anew, hop-by-hop
//   and client-supplied forwarding fields dropped (RFC 9110 §7.6.1), framing
//   re-emitted from what is actually sent, and middleware edits applied.

import { FIELD_STRIDE, HeaderKind, KIND, NAME_END, NAME_START, equalsLower, includesByte } from '../http1/header-fields.ts';
import type { RequestHead } from '../http1/request-head.ts';
import type { HeaderEdits } from './header-edits.ts';
import { assembleHead, keepLine, namedIn } from './kept-lines.ts';

/** Per-connection facts for the forwarding fields. */
export interface ForwardingIdentity {
  /** Client address without an IPv4-mapped prefix. */
  readonly clientIp: string;
  readonly proto: 'http' | 'https';
  readonly port: number;
  /** 'append' keeps a received X-Forwarded-For chain and adds the client. */
  readonly forwardedFor: 'replace' | 'append';
}

/**
 * Fields the copy path cannot keep as received: hop-by-hop ones it would
 * have to drop, forwarding fields it sets itself, and the framing fields
 * (the backend gets metalgate's own Content-Length or Transfer-Encoding,
 * never the client's bytes: `chunked\t`, `CHUNKED` or `0005` would reach
 * a backend that may read them differently). Host stays.
 */
const NOT_COPYABLE = new Uint8Array(16);
for (const k of [
  HeaderKind.CONTENT_LENGTH,
  HeaderKind.TRANSFER_ENCODING,
  HeaderKind.CONNECTION,
  HeaderKind.KEEP_ALIVE,
  HeaderKind.PROXY_CONNECTION,
  HeaderKind.TE,
  HeaderKind.TRAILER,
  HeaderKind.UPGRADE,
  HeaderKind.EXPECT,
  HeaderKind.X_FORWARDED_FOR,
  HeaderKind.X_FORWARDED_PROTO,
  HeaderKind.X_FORWARDED_HOST,
]) {
  NOT_COPYABLE[k] = 1;
}

/** Dropped by the rebuild path whatever the options (re-emitted as needed). */
const ALWAYS_DROPPED = new Uint8Array(16);
for (const k of [
  HeaderKind.HOST,
  HeaderKind.CONTENT_LENGTH,
  HeaderKind.TRANSFER_ENCODING,
  HeaderKind.CONNECTION,
  HeaderKind.KEEP_ALIVE,
  HeaderKind.PROXY_CONNECTION,
  HeaderKind.TE,
  HeaderKind.TRAILER,
  HeaderKind.EXPECT,
  HeaderKind.X_FORWARDED_FOR,
  HeaderKind.X_FORWARDED_PROTO,
  HeaderKind.X_FORWARDED_HOST,
]) {
  ALWAYS_DROPPED[k] = 1;
}

/** Other names we set ourselves (not classified by the parser). */
function isOwnForwardingField(buf: Uint8Array, s: number, e: number): boolean {
  const n = e - s;
  return (n === 9 && equalsLower(buf, s, 'x-real-ip')) || (n === 16 && equalsLower(buf, s, 'x-forwarded-port'));
}

/**
 * A field name with an underscore. Dropped by default, as nginx does
 * (underscores_in_headers off): CGI-style backends read `X_Real_IP` and
 * `X-Real-IP` as the same variable, so a client could pass one off as the
 * other, which the proxy sets.
 */
function hasUnderscore(buf: Uint8Array, s: number, e: number): boolean {
  return includesByte(buf, s, e, 0x5f);
}

/** Where the request line starts in head.headers.buf (after skipped empty lines). */
export function requestLineStart(buf: Uint8Array, from: number): number {
  let p = from;
  while (buf[p] === 0x0d && buf[p + 1] === 0x0a) p += 2;
  return p;
}

/**
 * Can the head be forwarded by copying its bytes? Needs HTTP/1.1, origin-form,
 * no upgrade, and no field the proxy must drop.
 */
export function canCopyRequestHead(head: RequestHead, underscores = false): boolean {
  if (head.versionMinor !== 1 || head.targetForm !== 'origin' || head.upgrade !== undefined) return false;
  if (head.connectionOptions.length > 0) return false;
  const h = head.headers;
  const f = h.fields;
  for (let i = 0, o = 0; i < h.count; i++, o += FIELD_STRIDE) {
    const k = f[o + KIND]!;
    if (k === HeaderKind.OTHER) {
      const ns = f[o + NAME_START]!;
      const ne = f[o + NAME_END]!;
      if (isOwnForwardingField(h.buf, ns, ne) || (!underscores && hasUnderscore(h.buf, ns, ne))) return false;
    } else if (NOT_COPYABLE[k] === 1) {
      return false;
    }
  }
  return true;
}

/**
 * The forwarding fields (X-Forwarded-For/-Proto/-Host/-Port, X-Real-IP),
 * CRLF-terminated lines. `priorChain` is the received X-Forwarded-For chain in
 * append mode ("" otherwise).
 */
export function forwardingFields(id: ForwardingIdentity, authority: string, priorChain: string): string {
  const xff = priorChain.length === 0 ? id.clientIp : `${priorChain}, ${id.clientIp}`;
  let s = `X-Forwarded-For: ${xff}\r\nX-Forwarded-Proto: ${id.proto}\r\n`;
  if (authority.length > 0) s += `X-Forwarded-Host: ${authority}\r\n`;
  return `${s}X-Forwarded-Port: ${id.port}\r\nX-Real-IP: ${id.clientIp}\r\n`;
}

/** Copy path: buf[lineStart, linesEnd) + forwarding + CRLF, one buffer. */
export function copyRequestHead(head: RequestHead, lineStart: number, forwarding: Buffer): Buffer {
  const h = head.headers;
  const n = h.linesEnd - lineStart;
  const out = Buffer.allocUnsafe(n + forwarding.length + 2);
  h.buf.copy(out, 0, lineStart, h.linesEnd);
  forwarding.copy(out, n);
  out[n + forwarding.length] = 0x0d;
  out[n + forwarding.length + 1] = 0x0a;
  return out;
}

export interface RebuildOptions {
  /** Request-target to send (origin-form, or "*"). */
  readonly target: string;
  readonly host: string;
  /** Forwarding lines (forwardingFields()). */
  readonly forwarding: string;
  readonly framing: 'none' | 'length' | 'chunked';
  readonly contentLength: number;
  /** Keep Upgrade and send Connection: upgrade. */
  readonly upgrade: boolean;
  readonly edits: HeaderEdits | undefined;
  /** Forward field names with underscores (nginx's underscores_in_headers on); default: drop them. */
  readonly underscores?: boolean;
}

/** Rebuild path. */
export function rebuildRequestHead(head: RequestHead, opts: RebuildOptions): Buffer {
  const h = head.headers;
  const f = h.fields;
  const options = head.connectionOptions;
  const edits = opts.edits;
  let tail = opts.forwarding;
  if (opts.framing === 'chunked') tail += 'Transfer-Encoding: chunked\r\n';
  else if (opts.framing === 'length') tail += `Content-Length: ${opts.contentLength}\r\n`;
  if (opts.upgrade) tail += 'Connection: upgrade\r\n';
  if (edits !== undefined) tail += edits.lines();
  tail += '\r\n';
  const first = `${head.method} ${opts.target} HTTP/1.1\r\nHost: ${opts.host}\r\n`;

  // Runs of kept lines, copied as received.
  const runs: number[] = [];
  let size = first.length + tail.length;
  for (let i = 0, o = 0; i < h.count; i++, o += FIELD_STRIDE) {
    const k = f[o + KIND]!;
    const ns = f[o + NAME_START]!;
    const ne = f[o + NAME_END]!;
    if (k === HeaderKind.OTHER) {
      if (isOwnForwardingField(h.buf, ns, ne) || (opts.underscores !== true && hasUnderscore(h.buf, ns, ne))) continue;
    } else if (ALWAYS_DROPPED[k] === 1 || (k === HeaderKind.UPGRADE && !opts.upgrade)) {
      continue;
    }
    if (options.length > 0 && namedIn(h.buf, ns, ne, options)) continue;
    if (edits !== undefined && edits.drops(h.buf, ns, ne)) continue;
    size += keepLine(runs, h.lineStart(i), h.lineEnd(i));
  }
  return assembleHead(h.buf, runs, size, first, tail);
}

/** The received X-Forwarded-For chain (append mode), "" when none. */
export function receivedForwardedFor(head: RequestHead): string {
  const h = head.headers;
  let chain = '';
  for (let i = 0; i < h.count; i++) {
    if (h.kind(i) !== HeaderKind.X_FORWARDED_FOR) continue;
    const v = h.value(i);
    if (v.length > 0) chain = chain.length === 0 ? v : `${chain}, ${v}`;
  }
  return chain;
}
