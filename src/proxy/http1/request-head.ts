import { CR, HOST, HTAB, LF, SP, TARGET, TOKEN } from './char-classes.ts';
import { HttpParseError, badRequest } from './errors.ts';
import { ConnectionScan, TransferEncodingScan, parseContentLength } from './framing-fields.ts';
import { IncrementalHeadParser } from './incremental-head-parser.ts';
import { FIELD_STRIDE, HeaderFields, HeaderKind, KIND, VALUE_END, VALUE_START, equalsLower, includesByte } from './header-fields.ts';

export interface RequestLimits {
  /** Request line + field lines + final CRLF; more is answered 431 (Node's default is 16 KiB too). */
  readonly maxHeadBytes: number;
  /** More field lines than this is answered 431 (Node truncates at 2000 instead; Envoy's default is 100). */
  readonly maxHeaders: number;
}

const DEFAULT_REQUEST_LIMITS: RequestLimits = { maxHeadBytes: 16 * 1024, maxHeaders: 100 };

/** RFC 9112 §3.2. */
export type TargetForm = 'origin' | 'absolute' | 'authority' | 'asterisk';

export interface RequestHead {
  /** Case-sensitive token; common methods are interned strings. */
  readonly method: string;
  /** The request-target exactly as received. */
  readonly target: string;
  readonly targetForm: TargetForm;
  /**
   * What to put on the request line upstream: the origin-form "/p?q" (derived
   * from an absolute-form target), "*" for asterisk-form, the authority for CONNECT.
   */
  readonly path: string;
  /**
   * The authority the request is for: an absolute-form target's (RFC 9112 §3.2.2
   * says Host is then ignored), else the Host value, else "" (HTTP/1.0 without Host).
   */
  readonly authority: string;
  readonly versionMinor: 0 | 1;
  readonly headers: HeaderFields;
  /** -1 when absent. */
  readonly contentLength: number;
  /** Body is chunked (Transfer-Encoding is exactly "chunked"). */
  readonly chunked: boolean;
  /** The client allows another request on this connection after this one. */
  readonly keepAlive: boolean;
  /** The Upgrade value when an HTTP/1.1 request also says Connection: upgrade. */
  readonly upgrade: string | undefined;
  /** Expect: 100-continue on an HTTP/1.1 request. */
  readonly expectContinue: boolean;
  /** Lowercased Connection options other than close/keep-alive/upgrade: hop-by-hop names. */
  readonly connectionOptions: readonly string[];
}

const NO_OPTIONS: readonly string[] = Object.freeze([]);

/** The request has a body to read, by length or chunked. */
export function requestHasBody(head: RequestHead): boolean {
  return head.chunked || head.contentLength > 0;
}

/**
 * Incremental request-head parser. Feed it the connection's chunks; it returns a
 * head once complete and says where in the last chunk the head ended. Between
 * messages the caller handles the body (contentLength / ChunkedDecoder) and
 * pushes the remaining bytes again for the next pipelined request.
 */
export class RequestHeadParser extends IncrementalHeadParser<RequestHead> {
  private readonly te = new TransferEncodingScan();
  private readonly conn = new ConnectionScan();

  /** push() throws HttpParseError with status 400, 431, 417, 501 or 505 on a bad head. */
  constructor(limits: Partial<RequestLimits> = {}) {
    super({ ...DEFAULT_REQUEST_LIMITS, ...limits }, 400, 431, true);
  }

  protected incomplete(): HttpParseError {
    return badRequest('INCOMPLETE', 'head ended early');
  }

  /** Parses buf[start, end); null when the head goes on past `end`. */
  protected parse(buf: Buffer, start: number, end: number): RequestHead | null {
    // RFC 9112 §2.2: empty lines before the request-line are ignored.
    let p = start;
    while (p + 1 < end && buf[p] === CR && buf[p + 1] === LF) p += 2;
    if (p >= end) return null;

    // Request line: method SP request-target SP HTTP-version CRLF, single spaces.
    const methodStart = p;
    let b = buf[p]!;
    while (TOKEN[b] === 1 && ++p < end) b = buf[p]!;
    if (p >= end) return null;
    if (p === methodStart || b !== SP) {
      if (b === CR && p + 1 >= end) return null;
      throw unexpected(b, 'INVALID_METHOD', 'request line must start with a method token and one space');
    }
    // nginx's method rule, which llhttp's fixed list also keeps to: upper-case
    // letters, "_" and "-" only. `get` is a token, but a backend that
    // upper-cases it would see another method than the one routed.
    for (let q = methodStart; q < p; q++) {
      const c = buf[q]!;
      if ((c < 0x41 || c > 0x5a) && c !== 0x5f && c !== 0x2d) throw badRequest('INVALID_METHOD', 'a method is upper-case letters, "_" and "-"');
    }
    const method = methodName(buf, methodStart, p);
    const targetStart = ++p;
    if (p >= end) return null;
    b = buf[p]!;
    while (TARGET[b] === 1 && ++p < end) b = buf[p]!;
    if (p >= end) return null;
    const targetEnd = p;
    if (targetEnd === targetStart || b !== SP) throw unexpected(b, 'INVALID_TARGET', 'invalid request-target');
    p++;
    if (p + 10 > end) {
      // Not all of "HTTP/x.y" CRLF yet: wait, unless the line already ended.
      if (firstLineEnd(buf, p, end) === NO_LINE_END) return null;
      throw invalidVersion(buf, p, end);
    }
    const versionMinor = readVersion(buf, p);
    p += 10;

    const fl = this.fieldLines;
    if (!fl.parse(buf, p, end)) return null;
    const count = fl.count;
    const fields = fl.scratch.slice(0, count * FIELD_STRIDE);
    const headers = new HeaderFields(buf, count, fields, fl.end - 2);

    const te = this.te;
    const conn = this.conn;
    te.reset();
    conn.reset();
    let host = -1;
    let upgradeAt = -1;
    let clSeen = false;
    let contentLength = -1;
    let expectContinue = false;
    for (let i = 0, o = 0; i < count; i++, o += FIELD_STRIDE) {
      const k = fields[o + KIND];
      if (k === HeaderKind.OTHER) continue;
      const vs = fields[o + VALUE_START]!;
      const ve = fields[o + VALUE_END]!;
      switch (k) {
        case HeaderKind.HOST:
          // RFC 9112 §3.2: more than one Host is a 400. (Node keeps the first.)
          if (host >= 0) throw badRequest('DUPLICATE_HOST', 'more than one Host field');
          host = i;
          break;
        case HeaderKind.CONTENT_LENGTH:
          // llhttp rejects any second Content-Length, even an identical one; so do we.
          if (clSeen) throw badRequest('DUPLICATE_CONTENT_LENGTH', 'more than one Content-Length field');
          clSeen = true;
          contentLength = parseContentLength(buf, vs, ve);
          if (contentLength < 0) throw badRequest('INVALID_CONTENT_LENGTH', 'Content-Length is not a decimal number');
          break;
        case HeaderKind.TRANSFER_ENCODING:
          // HTAB anywhere in the field (even as OWS, which RFC 9110 allows):
          // nginx (501) and llhttp (400) both refuse it, and a backend that
          // reads `chunked\t` as a coding it does not know would frame the
          // body differently from us.
          if (includesByte(buf, headers.lineStart(i), headers.lineEnd(i), HTAB)) throw badRequest('INVALID_TRANSFER_ENCODING', 'Transfer-Encoding with a tab');
          te.add(buf, vs, ve);
          break;
        case HeaderKind.CONNECTION:
          conn.add(buf, vs, ve);
          break;
        case HeaderKind.UPGRADE:
          if (upgradeAt < 0) upgradeAt = i;
          break;
        case HeaderKind.EXPECT:
          // RFC 9110 §10.1.1: ignored in HTTP/1.0; anything but 100-continue is a 417 (as Node).
          if (versionMinor === 1) {
            if (ve - vs !== 12 || !equalsLower(buf, vs, '100-continue')) {
              throw new HttpParseError('UNSUPPORTED_EXPECTATION', 417, 'only Expect: 100-continue is supported');
            }
            expectContinue = true;
          }
          break;
      }
    }

    let chunked = false;
    if (te.present) {
      // RFC 9112 §6.1-6.3. Order matters only for which error is reported.
      if (clSeen) throw badRequest('CONTENT_LENGTH_WITH_TRANSFER_ENCODING', 'both Transfer-Encoding and Content-Length');
      if (versionMinor === 0) throw badRequest('TRANSFER_ENCODING_IN_HTTP10', 'Transfer-Encoding in an HTTP/1.0 request');
      if (te.emptyElement || !te.lastIsChunked || te.chunkedCount > 1) {
        throw badRequest('INVALID_TRANSFER_ENCODING', 'Transfer-Encoding must end with a single chunked');
      }
      if (te.otherCodings > 0) {
        // nginx does the same: we cannot forward a coding we do not decode.
        throw new HttpParseError('UNSUPPORTED_TRANSFER_CODING', 501, 'only Transfer-Encoding: chunked is supported');
      }
      chunked = true;
    }

    if (host < 0 && versionMinor === 1) throw badRequest('MISSING_HOST', 'HTTP/1.1 request without Host');
    let authority = '';
    if (host >= 0) {
      const vs = fields[host * FIELD_STRIDE + VALUE_START]!;
      const ve = fields[host * FIELD_STRIDE + VALUE_END]!;
      if (!allIn(HOST, buf, vs, ve)) throw badRequest('INVALID_HOST', 'invalid character in Host');
      authority = buf.toString('latin1', vs, ve);
    }

    const target = buf.toString('latin1', targetStart, targetEnd);
    let targetForm: TargetForm;
    let path = target;
    if (method === 'CONNECT') {
      if (!isAuthorityForm(buf, targetStart, targetEnd)) throw badRequest('INVALID_TARGET', 'CONNECT needs host:port');
      targetForm = 'authority';
    } else if (buf[targetStart] === 0x2f) {
      targetForm = 'origin';
    } else if (buf[targetStart] === 0x2a && targetEnd - targetStart === 1) {
      if (method !== 'OPTIONS') throw badRequest('INVALID_TARGET', '"*" is only for OPTIONS');
      targetForm = 'asterisk';
    } else {
      const authEnd = absoluteAuthorityEnd(buf, targetStart, targetEnd);
      if (authEnd < 0) throw badRequest('INVALID_TARGET', 'request-target is neither origin-form nor an http(s) absolute URI');
      targetForm = 'absolute';
      const authStart = targetStart + (buf[targetStart + 4] === 0x3a ? 7 : 8); // "http://" or "https://"
      authority = buf.toString('latin1', authStart, authEnd);
      path = authEnd === targetEnd ? '/' : buf[authEnd] === 0x2f ? target.slice(authEnd - targetStart) : '/' + target.slice(authEnd - targetStart);
    }

    const keepAlive = versionMinor === 1 ? !conn.close : conn.keepAlive && !conn.close;
    const upgrade =
      versionMinor === 1 && conn.upgrade && upgradeAt >= 0
        ? buf.toString('latin1', fields[upgradeAt * FIELD_STRIDE + VALUE_START]!, fields[upgradeAt * FIELD_STRIDE + VALUE_END]!)
        : undefined;

    return {
      method,
      target,
      targetForm,
      path,
      authority,
      versionMinor,
      headers,
      contentLength,
      chunked,
      keepAlive,
      upgrade,
      expectContinue,
      connectionOptions: conn.others ?? NO_OPTIONS,
    };
  }
}

/** An unexpected LF is reported as a bare LF (as the chunk-gathering path would). */
function unexpected(b: number, code: string, message: string): HttpParseError {
  return b === LF ? bareLf() : badRequest(code, message);
}

const bareLf = (): HttpParseError => badRequest('BARE_LF', 'line ends with LF without CR');

/**
 * Parses one complete request head (it must end with the empty line; bytes after
 * it are ignored). Convenience for tests and one-shot callers.
 */
export function parseRequestHead(bytes: Buffer, limits: Partial<RequestLimits> = {}): RequestHead {
  const parser = new RequestHeadParser(limits);
  const head = parser.push(bytes);
  if (head === null) throw badRequest('INCOMPLETE', 'head does not end with an empty line');
  return head;
}

/** "HTTP/" DIGIT "." DIGIT CRLF at p; only 1.0 and 1.1 are served. */
function readVersion(buf: Buffer, p: number): 0 | 1 {
  const major = buf[p + 5]! - 0x30;
  const minor = buf[p + 7]! - 0x30;
  if (
    buf[p] !== 0x48 ||
    buf[p + 1] !== 0x54 ||
    buf[p + 2] !== 0x54 ||
    buf[p + 3] !== 0x50 ||
    buf[p + 4] !== 0x2f ||
    !(major >= 0 && major <= 9) ||
    buf[p + 6] !== 0x2e ||
    !(minor >= 0 && minor <= 9) ||
    buf[p + 8] !== CR ||
    buf[p + 9] !== LF
  ) {
    throw invalidVersion(buf, p, p + 10);
  }
  if (major !== 1 || minor > 1) throw new HttpParseError('VERSION_NOT_SUPPORTED', 505, 'only HTTP/1.0 and HTTP/1.1');
  return minor as 0 | 1;
}

function invalidVersion(buf: Buffer, from: number, to: number): HttpParseError {
  if (firstLineEnd(buf, from, to) === BARE_LF_END) return bareLf();
  return badRequest('INVALID_VERSION', 'request line must end with " HTTP/x.y" and CRLF');
}

const NO_LINE_END = 0;
const CRLF_END = 1;
const BARE_LF_END = 2;

/** Whether buf[from, to) holds an LF, and whether the first one follows a CR. */
function firstLineEnd(buf: Buffer, from: number, to: number): number {
  for (let i = from; i < to; i++) {
    if (buf[i] === LF) return i > from && buf[i - 1] === CR ? CRLF_END : BARE_LF_END;
  }
  return NO_LINE_END;
}

function allIn(table: Uint8Array, buf: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (table[buf[i]!] !== 1) return false;
  return true;
}

/** authority-form for CONNECT: host ":" port, host non-empty, port 1*DIGIT. */
function isAuthorityForm(buf: Buffer, start: number, end: number): boolean {
  if (!allIn(HOST, buf, start, end)) return false;
  const colon = buf.lastIndexOf(0x3a, end - 1);
  if (colon <= start || colon >= end - 1) return false;
  for (let i = colon + 1; i < end; i++) if (buf[i]! < 0x30 || buf[i]! > 0x39) return false;
  return true;
}

/**
 * For an absolute-form target "http[s]://authority[/path][?query]" returns where
 * the authority ends, or -1. Only http and https are proxied; userinfo ("@") and
 * an empty authority are rejected (llhttp admits both).
 */
function absoluteAuthorityEnd(buf: Buffer, start: number, end: number): number {
  let p = start;
  if (end - p >= 7 && equalsLower(buf, p, 'http://')) p += 7;
  else if (end - p >= 8 && equalsLower(buf, p, 'https://')) p += 8;
  else return -1;
  const authStart = p;
  while (p < end && buf[p] !== 0x2f && buf[p] !== 0x3f) {
    if (HOST[buf[p]!] !== 1) return -1;
    p++;
  }
  return p === authStart ? -1 : p;
}

/** Interned strings for the common methods: no allocation on the hot path. */
function methodName(buf: Buffer, s: number, end: number): string {
  const c = buf[s];
  switch (end - s) {
    case 3:
      if (c === 0x47 && buf[s + 1] === 0x45 && buf[s + 2] === 0x54) return 'GET';
      if (c === 0x50 && buf[s + 1] === 0x55 && buf[s + 2] === 0x54) return 'PUT';
      break;
    case 4:
      if (c === 0x50 && buf[s + 1] === 0x4f && buf[s + 2] === 0x53 && buf[s + 3] === 0x54) return 'POST';
      if (c === 0x48 && buf[s + 1] === 0x45 && buf[s + 2] === 0x41 && buf[s + 3] === 0x44) return 'HEAD';
      break;
    default:
      break;
  }
  return buf.toString('latin1', s, end);
}
