// Builds the heads the proxy sends on: the request to the upstream and the
// response to the client. Field lines are copied from the parsed head's bytes;
// hop-by-hop fields are dropped (RFC 9110 §7.6.1) and framing fields rewritten
// from what the proxy will actually send, so the next hop never sees the
// framing the client chose.

import { FIELD_VALUE, TOKEN } from './char-classes.ts';
import {
  FIELD_STRIDE,
  HeaderKind,
  KIND,
  NAME_END,
  NAME_START,
  VALUE_END,
  VALUE_START,
  type HeaderFields,
  equalsLower,
} from './header-fields.ts';
import type { RequestHead } from './request-head.ts';
import type { ResponseHead } from './response-head.ts';

/** How the body that follows the head is delimited on the outgoing side. */
export type OutgoingFraming = 'none' | 'length' | 'chunked' | 'close';

export type ExtraHeaders = ReadonlyArray<readonly [name: string, value: string]>;

export interface ForwardRequestOptions {
  /** The client's address, appended to X-Forwarded-For. */
  readonly clientIp: string;
  /** The scheme the client used, sent as X-Forwarded-Proto. */
  readonly proto: 'http' | 'https';
  /** 'append' (default) keeps an incoming X-Forwarded-For and adds the client; 'replace' drops it. */
  readonly forwardedFor?: 'append' | 'replace';
  /** Host to send; default the request's authority (absolute-form target, else Host). */
  readonly host?: string;
  /** Keep Upgrade and send Connection: upgrade. Default: whether the client asked to upgrade. */
  readonly upgrade?: boolean;
  /** Send Connection: close (default: nothing, HTTP/1.1 keep-alive). */
  readonly close?: boolean;
  /** Body framing upstream; default as received: chunked, Content-Length (even 0), or none. */
  readonly framing?: OutgoingFraming;
  /** With framing 'length'; default the received Content-Length. */
  readonly contentLength?: number;
  /** Fields to add at the end; validated, throws on a non-token name or CR/LF/NUL in a value. */
  readonly extraHeaders?: ExtraHeaders;
}

export interface ForwardResponseOptions {
  /** How the body is sent to the client. With 'none' a received Content-Length is kept (HEAD, 304). */
  readonly framing: OutgoingFraming;
  /** With framing 'length'; default the received Content-Length. */
  readonly contentLength?: number;
  /**
   * Connection field for the client: 'close', 'keep-alive' (needed by HTTP/1.0
   * clients), 'upgrade' (keeps Upgrade; for 101) or undefined for none.
   */
  readonly connection?: 'close' | 'keep-alive' | 'upgrade';
  readonly extraHeaders?: ExtraHeaders;
}

// Which received fields are never copied as they are.
const DROP_ALWAYS = new Uint8Array(16);
for (const k of [
  HeaderKind.CONNECTION,
  HeaderKind.KEEP_ALIVE,
  HeaderKind.PROXY_CONNECTION,
  HeaderKind.TE,
  HeaderKind.TRAILER,
  HeaderKind.TRANSFER_ENCODING,
  HeaderKind.CONTENT_LENGTH,
]) {
  DROP_ALWAYS[k] = 1;
}

const CRLF_LEN = 2;

/** Is field i named by a Connection option (RFC 9110 §7.6.1)? */
function namedByConnection(h: HeaderFields, i: number, options: readonly string[]): boolean {
  const s = h.fields[i * FIELD_STRIDE + NAME_START]!;
  const n = h.fields[i * FIELD_STRIDE + NAME_END]! - s;
  for (const o of options) if (o.length === n && equalsLower(h.buf, s, o)) return true;
  return false;
}

/** Throws unless `name: value` is a safe field line (no header injection). */
export function assertValidField(name: string, value: string): void {
  if (name.length === 0) throw new TypeError('empty header name');
  for (let i = 0; i < name.length; i++) {
    if (TOKEN[name.charCodeAt(i)] !== 1) throw new TypeError(`invalid header name ${JSON.stringify(name)}`);
  }
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c > 0xff || FIELD_VALUE[c] !== 1) throw new TypeError(`invalid character in value of header ${name}`);
  }
}

/** Accumulates "name: value\r\n" lines written after the copied fields. */
class Tail {
  readonly lines: string[] = [];
  bytes = 0;

  add(name: string, value: string): void {
    assertValidField(name, value);
    const line = `${name}: ${value}\r\n`;
    this.lines.push(line);
    this.bytes += line.length;
  }

  addAll(extra: ExtraHeaders | undefined): void {
    if (extra !== undefined) for (const [n, v] of extra) this.add(n, v);
  }
}

/**
 * Start line + kept field lines + tail + empty line. Kept lines are copied as
 * received, and consecutive ones in one copy: typically two or three copies
 * per head instead of one per field.
 */
function assemble(first: string, h: HeaderFields, keep: (i: number) => boolean, tail: Tail): Buffer {
  const runs = RUNS;
  let nRuns = 0;
  let size = first.length + tail.bytes + CRLF_LEN;
  for (let i = 0; i < h.count; i++) {
    if (!keep(i)) continue;
    const s = h.lineStart(i);
    const e = h.lineEnd(i);
    if (nRuns > 0 && runs[nRuns * 2 - 1] === s) {
      runs[nRuns * 2 - 1] = e;
    } else {
      runs[nRuns * 2] = s;
      runs[nRuns * 2 + 1] = e;
      nRuns++;
    }
    size += e - s;
  }
  const out = Buffer.allocUnsafe(size);
  let at = out.write(first, 0, 'latin1');
  for (let r = 0; r < nRuns; r++) at += h.buf.copy(out, at, runs[r * 2]!, runs[r * 2 + 1]!);
  for (const line of tail.lines) at += out.write(line, at, 'latin1');
  out[at++] = 0x0d;
  out[at++] = 0x0a;
  return out;
}

/** Scratch for assemble(): start/end pairs of runs of kept lines (fields are bounded by the parsers' limits). */
const RUNS: number[] = [];

/**
 * The head to send upstream: "METHOD path HTTP/1.1", Host first, the client's
 * fields minus hop-by-hop ones (Connection and what it names, Keep-Alive,
 * Proxy-Connection, TE, Trailer, Transfer-Encoding, Upgrade unless upgrading),
 * then X-Forwarded-For/-Proto/-Host, framing fields, Connection, extras.
 */
export function serializeRequestHead(head: RequestHead, opts: ForwardRequestOptions): Buffer {
  const h = head.headers;
  const upgrade = opts.upgrade ?? head.upgrade !== undefined;
  const options = head.connectionOptions;
  const appendXff = (opts.forwardedFor ?? 'append') === 'append';

  let xff = '';
  const keep = (i: number): boolean => {
    const k = h.fields[i * FIELD_STRIDE + KIND]!;
    if (k !== HeaderKind.OTHER) {
      if (DROP_ALWAYS[k] === 1) return false;
      if (k === HeaderKind.HOST || k === HeaderKind.X_FORWARDED_PROTO || k === HeaderKind.X_FORWARDED_HOST) return false;
      if (k === HeaderKind.X_FORWARDED_FOR) return false;
      if (k === HeaderKind.UPGRADE && !upgrade) return false;
    }
    return options.length === 0 || !namedByConnection(h, i, options);
  };
  if (appendXff) {
    for (let i = 0; i < h.count; i++) {
      if (h.fields[i * FIELD_STRIDE + KIND] === HeaderKind.X_FORWARDED_FOR && !(options.length > 0 && namedByConnection(h, i, options))) {
        const v = h.value(i);
        if (v.length > 0) xff = xff.length === 0 ? v : `${xff}, ${v}`;
      }
    }
  }

  const tail = new Tail();
  tail.add('X-Forwarded-For', xff.length === 0 ? opts.clientIp : `${xff}, ${opts.clientIp}`);
  tail.add('X-Forwarded-Proto', opts.proto);
  if (head.authority.length > 0) tail.add('X-Forwarded-Host', head.authority);
  const framing = opts.framing ?? (head.chunked ? 'chunked' : head.contentLength >= 0 ? 'length' : 'none');
  if (framing === 'chunked') tail.add('Transfer-Encoding', 'chunked');
  else if (framing === 'length') tail.add('Content-Length', String(opts.contentLength ?? Math.max(0, head.contentLength)));
  if (upgrade) tail.add('Connection', 'upgrade');
  else if (opts.close === true) tail.add('Connection', 'close');
  tail.addAll(opts.extraHeaders);

  const host = opts.host ?? head.authority;
  assertValidField('Host', host);
  return assemble(`${head.method} ${head.path} HTTP/1.1\r\nHost: ${host}\r\n`, h, keep, tail);
}

/**
 * The head to send to the client: "HTTP/1.1 status reason", the upstream's
 * fields minus hop-by-hop ones, framing fields for how the body is sent, then
 * Connection and extras.
 */
export function serializeResponseHead(head: ResponseHead, opts: ForwardResponseOptions): Buffer {
  const h = head.headers;
  const options = head.connectionOptions;
  const upgrade = opts.connection === 'upgrade';
  const keepLength = opts.framing === 'none';
  const keep = (i: number): boolean => {
    const k = h.fields[i * FIELD_STRIDE + KIND]!;
    if (k !== HeaderKind.OTHER) {
      if (k === HeaderKind.CONTENT_LENGTH) return keepLength;
      if (DROP_ALWAYS[k] === 1) return false;
      if (k === HeaderKind.UPGRADE && !upgrade) return false;
    }
    return options.length === 0 || !namedByConnection(h, i, options);
  };
  const tail = new Tail();
  if (opts.framing === 'chunked') tail.add('Transfer-Encoding', 'chunked');
  else if (opts.framing === 'length') tail.add('Content-Length', String(opts.contentLength ?? Math.max(0, head.contentLength)));
  if (opts.connection !== undefined) tail.add('Connection', opts.connection);
  tail.addAll(opts.extraHeaders);
  return assemble(`HTTP/1.1 ${head.status} ${head.reason}\r\n`, h, keep, tail);
}
