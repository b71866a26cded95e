// Readers for the field values that decide framing and connection handling,
// shared by the request and response parsers. They work on byte ranges and
// allocate only for rare input (extra Connection options).

import { HTAB, SP } from './char-classes.ts';
import { equalsLower } from './header-fields.ts';

const COMMA = 0x2c;
const EMPTY = new Uint8Array(0);

/**
 * Content-Length = 1*DIGIT (RFC 9110 §8.6), whitespace already trimmed. Returns
 * the value or -1 when it is empty, holds anything but digits (sign, space, hex,
 * a comma list) or exceeds 2^53-1.
 */
export function parseContentLength(buf: Uint8Array, start: number, end: number): number {
  if (start === end) return -1;
  let n = 0;
  for (let i = start; i < end; i++) {
    const d = buf[i]! - 0x30;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
    if (n > Number.MAX_SAFE_INTEGER) return -1;
  }
  return n;
}

/**
 * Walks a comma-separated list without allocating: `next()` moves to the next
 * element and leaves its bounds, OWS trimmed, in `s`/`e` (empty elements included).
 */
class ListCursor {
  s = 0;
  e = 0;
  private pos = 0;
  private end = 0;
  private buf: Uint8Array = EMPTY;

  init(buf: Uint8Array, start: number, end: number): void {
    this.buf = buf;
    this.pos = start;
    this.end = end;
  }

  next(): boolean {
    const { buf, end } = this;
    if (this.pos > end) {
      this.buf = EMPTY; // do not keep the caller's chunk alive
      return false;
    }
    let i = this.pos;
    while (i < end && buf[i] !== COMMA) i++;
    let a = this.pos;
    let b = i;
    while (a < b && (buf[a] === SP || buf[a] === HTAB)) a++;
    while (b > a && (buf[b - 1] === SP || buf[b - 1] === HTAB)) b--;
    this.s = a;
    this.e = b;
    this.pos = i + 1;
    return true;
  }
}

/** Accumulates every Transfer-Encoding line of one message, in order. */
export class TransferEncodingScan {
  present = false;
  emptyElement = false;
  chunkedCount = 0;
  otherCodings = 0;
  lastIsChunked = false;

  reset(): void {
    this.present = false;
    this.emptyElement = false;
    this.chunkedCount = 0;
    this.otherCodings = 0;
    this.lastIsChunked = false;
  }

  private readonly cursor = new ListCursor();

  add(buf: Uint8Array, start: number, end: number): void {
    this.present = true;
    const c = this.cursor;
    c.init(buf, start, end);
    while (c.next()) {
      const { s, e } = c;
      if (s === e) {
        // RFC 9110 §5.6.1 lets recipients skip empty list elements; llhttp rejects
        // "chunked," and so do we: an odd TE is a smuggling probe, not a client.
        this.emptyElement = true;
      } else if (e - s === 7 && equalsLower(buf, s, 'chunked')) {
        this.chunkedCount++;
        this.lastIsChunked = true;
      } else {
        this.otherCodings++;
        this.lastIsChunked = false;
      }
    }
  }

  /** True when the codings are exactly one "chunked" (any case). */
  get isPlainChunked(): boolean {
    return this.present && !this.emptyElement && this.chunkedCount === 1 && this.otherCodings === 0;
  }
}

/** Accumulates every Connection line of one message (RFC 9110 §7.6.1). */
export class ConnectionScan {
  close = false;
  keepAlive = false;
  upgrade = false;
  /** Other connection options, lowercased: header names to drop when forwarding. */
  others: string[] | null = null;

  reset(): void {
    this.close = false;
    this.keepAlive = false;
    this.upgrade = false;
    this.others = null;
  }

  private readonly cursor = new ListCursor();

  add(buf: Buffer, start: number, end: number): void {
    const c = this.cursor;
    c.init(buf, start, end);
    while (c.next()) {
      const { s, e } = c;
      const n = e - s;
      if (n === 0) continue;
      if (n === 5 && equalsLower(buf, s, 'close')) this.close = true;
      else if (n === 10 && equalsLower(buf, s, 'keep-alive')) this.keepAlive = true;
      else if (n === 7 && equalsLower(buf, s, 'upgrade')) this.upgrade = true;
      else (this.others ??= []).push(buf.toString('latin1', s, e).toLowerCase());
    }
  }
}
