import { CR, FIELD_VALUE, LF, SP } from './char-classes.ts';
import { HttpParseError } from './errors.ts';
import { ConnectionScan, TransferEncodingScan, parseContentLength } from './framing-fields.ts';
import { IncrementalHeadParser } from './incremental-head-parser.ts';
import { FIELD_STRIDE, HeaderFields, HeaderKind, KIND, VALUE_END, VALUE_START } from './header-fields.ts';

export interface ResponseLimits {
  /** Status line + field lines + final CRLF (Node's client allows 16 KiB too). */
  readonly maxHeadBytes: number;
  readonly maxHeaders: number;
}

const DEFAULT_RESPONSE_LIMITS: ResponseLimits = { maxHeadBytes: 16 * 1024, maxHeaders: 100 };

export interface ResponseHead {
  /** 100-599. */
  readonly status: number;
  readonly reason: string;
  readonly versionMinor: 0 | 1;
  readonly headers: HeaderFields;
  /** -1 when absent. */
  readonly contentLength: number;
  /** Transfer-Encoding is exactly "chunked". */
  readonly chunked: boolean;
  /** The server allows another request on this connection (body framing permitting). */
  readonly keepAlive: boolean;
  /** The Upgrade value (meaningful with 101). */
  readonly upgrade: string | undefined;
  /** Lowercased Connection options other than close/keep-alive/upgrade. */
  readonly connectionOptions: readonly string[];
}

/**
 * How the body after a response head is delimited (RFC 9112 §6.3):
 * none (1xx, 204, 304, answer to HEAD), length, chunked, close (read until the
 * server closes), switch (101, or 2xx to CONNECT: the connection becomes a tunnel).
 */
export type ResponseBodyKind = 'none' | 'length' | 'chunked' | 'close' | 'switch';

export function responseBodyKind(head: ResponseHead, requestMethod: string): ResponseBodyKind {
  const s = head.status;
  if (s < 200) return s === 101 ? 'switch' : 'none';
  if (requestMethod === 'CONNECT' && s < 300) return 'switch';
  if (requestMethod === 'HEAD' || s === 204 || s === 304) return 'none';
  if (head.chunked) return 'chunked';
  if (head.contentLength >= 0) return 'length';
  return 'close';
}

const NO_OPTIONS: readonly string[] = Object.freeze([]);
const bad = (code: string, message: string) => new HttpParseError(code, 502, message);

/**
 * Incremental parser for upstream response heads. Every error carries status
 * 502: the proxy must drop the upstream connection and answer 502 (RFC 9112 §6.3).
 * A 1xx head is returned like any other; the caller forwards it and pushes the
 * remaining bytes again for the final response.
 */
export class ResponseHeadParser extends IncrementalHeadParser<ResponseHead> {
  private readonly te = new TransferEncodingScan();
  private readonly conn = new ConnectionScan();

  constructor(limits: Partial<ResponseLimits> = {}) {
    super({ ...DEFAULT_RESPONSE_LIMITS, ...limits }, 502, 502, false);
  }

  protected incomplete(): HttpParseError {
    return bad('INCOMPLETE', 'head ended early');
  }

  /** Parses buf[start, end); null when the head goes on past `end`. */
  protected parse(buf: Buffer, start: number, end: number): ResponseHead | null {
    // status-line = HTTP-version SP 3DIGIT SP [reason-phrase] CRLF; like Node we
    // also take "HTTP/1.1 200" CRLF without the second space.
    const s = start;
    if (end - s < 14) {
      // Too short to judge: wait, unless the line already ended.
      const lf = buf.indexOf(LF, s);
      if (lf < 0 || lf >= end) return null;
    }
    const major = buf[s + 5]! - 0x30;
    const minor = buf[s + 7]! - 0x30;
    if (
      buf[s] !== 0x48 ||
      buf[s + 1] !== 0x54 ||
      buf[s + 2] !== 0x54 ||
      buf[s + 3] !== 0x50 ||
      buf[s + 4] !== 0x2f ||
      buf[s + 6] !== 0x2e ||
      major !== 1 ||
      (minor !== 0 && minor !== 1) ||
      buf[s + 8] !== SP
    ) {
      if (buf[s] === CR || buf[s] === LF) throw bad('EMPTY_START_LINE', 'empty line before the status line');
      throw bad('INVALID_VERSION', 'status line must start with HTTP/1.0 or HTTP/1.1 and one space');
    }
    const d0 = buf[s + 9]! - 0x30;
    const d1 = buf[s + 10]! - 0x30;
    const d2 = buf[s + 11]! - 0x30;
    if (!(d0 >= 1 && d0 <= 5) || !(d1 >= 0 && d1 <= 9) || !(d2 >= 0 && d2 <= 9)) {
      throw bad('INVALID_STATUS', 'status code must be three digits, 100-599');
    }
    const status = d0 * 100 + d1 * 10 + d2;
    let p = s + 12;
    let reason = '';
    if (buf[p] === SP) {
      const rs = ++p;
      while (p < end && FIELD_VALUE[buf[p]!] === 1) p++;
      if (p >= end) return null;
      reason = buf.toString('latin1', rs, p);
    }
    if (p + 1 >= end) return null;
    if (buf[p] !== CR || buf[p + 1] !== LF) {
      throw bad(buf[p] === LF ? 'BARE_LF' : 'INVALID_STATUS_LINE', 'invalid character in the status line');
    }
    p += 2;

    const fl = this.fieldLines;
    if (!fl.parse(buf, p, end)) return null;
    const count = fl.count;
    const fields = fl.scratch.slice(0, count * FIELD_STRIDE);
    const headers = new HeaderFields(buf, count, fields, fl.end - 2);

    const te = this.te;
    const conn = this.conn;
    te.reset();
    conn.reset();
    let clSeen = false;
    let contentLength = -1;
    let upgradeAt = -1;
    for (let i = 0, o = 0; i < count; i++, o += FIELD_STRIDE) {
      const k = fields[o + KIND];
      if (k === HeaderKind.OTHER) continue;
      const vs = fields[o + VALUE_START]!;
      const ve = fields[o + VALUE_END]!;
      if (k === HeaderKind.CONTENT_LENGTH) {
        if (clSeen) throw bad('DUPLICATE_CONTENT_LENGTH', 'more than one Content-Length field');
        clSeen = true;
        contentLength = parseContentLength(buf, vs, ve);
        if (contentLength < 0) throw bad('INVALID_CONTENT_LENGTH', 'Content-Length is not a decimal number');
      } else if (k === HeaderKind.TRANSFER_ENCODING) {
        te.add(buf, vs, ve);
      } else if (k === HeaderKind.CONNECTION) {
        conn.add(buf, vs, ve);
      } else if (k === HeaderKind.UPGRADE && upgradeAt < 0) {
        upgradeAt = i;
      }
    }
    if (te.present) {
      if (clSeen) throw bad('CONTENT_LENGTH_WITH_TRANSFER_ENCODING', 'both Transfer-Encoding and Content-Length');
      if (minor === 0) throw bad('TRANSFER_ENCODING_IN_HTTP10', 'Transfer-Encoding in an HTTP/1.0 response');
      // Other codings would have to be forwarded untouched; nginx answers 502 too.
      if (!te.isPlainChunked) throw bad('UNSUPPORTED_TRANSFER_CODING', 'only Transfer-Encoding: chunked is supported');
    }

    return {
      status,
      reason,
      versionMinor: minor as 0 | 1,
      headers,
      contentLength,
      chunked: te.present,
      keepAlive: minor === 1 ? !conn.close : conn.keepAlive && !conn.close,
      upgrade:
        upgradeAt >= 0
          ? buf.toString('latin1', fields[upgradeAt * FIELD_STRIDE + VALUE_START]!, fields[upgradeAt * FIELD_STRIDE + VALUE_END]!)
          : undefined,
      connectionOptions: conn.others ?? NO_OPTIONS,
    };
  }
}

export function parseResponseHead(bytes: Buffer, limits: Partial<ResponseLimits> = {}): ResponseHead {
  const parser = new ResponseHeadParser(limits);
  const head = parser.push(bytes);
  if (head === null) throw bad('INCOMPLETE', 'head does not end with an empty line');
  return head;
}
