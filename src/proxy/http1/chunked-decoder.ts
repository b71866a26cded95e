import { COLON, CR, FIELD_VALUE, HEX, HTAB, LF, SP, TOKEN } from './char-classes.ts';
import { HttpParseError } from './errors.ts';

export interface ChunkedLimits {
  /** Chunk-extension bytes allowed in one message (Node: 16 KiB, then 413). */
  readonly maxExtensionBytes: number;
  /** Trailer-section bytes allowed (they count like head bytes: 431 past it). */
  readonly maxTrailerBytes: number;
}

const DEFAULT_CHUNKED_LIMITS: ChunkedLimits = { maxExtensionBytes: 16 * 1024, maxTrailerBytes: 16 * 1024 };

/** Receives payload bytes buf[start, end) as they are decoded (views, not copies). */
export type ChunkDataSink = (buf: Buffer, start: number, end: number) => void;

// States of the byte machine.
const SIZE_START = 0;
const SIZE = 1;
const EXT_NAME_START = 2;
const EXT_NAME = 3;
const EXT_VALUE_START = 4;
const EXT_TOKEN_VALUE = 5;
const EXT_QUOTED = 6;
const EXT_QUOTED_ESCAPE = 7;
const EXT_AFTER_QUOTED = 8;
const SIZE_LF = 9;
const DATA = 10;
const DATA_CR = 11;
const DATA_LF = 12;
const TRAILER_LINE_START = 13;
const TRAILER_NAME = 14;
const TRAILER_VALUE = 15;
const TRAILER_LF = 16;
const END_LF = 17;
const DONE = 18;

const DQUOTE = 0x22;
const BACKSLASH = 0x5c;
const SEMICOLON = 0x3b;
const EQUALS = 0x3d;

/**
 * Streaming validator/decoder for a chunked body (RFC 9112 §7.1), so the proxy
 * knows exactly where a message ends whatever the chunking of the input.
 * Strict like llhttp: chunk-size is 1*HEXDIG with nothing around it, extensions
 * follow the grammar (";" token ["=" token / quoted-string], no whitespace) and
 * are bounded, every line ends in CRLF exactly, trailer fields follow the header
 * field rules and are bounded.
 *
 * Two ways to use it: pass-through (forward the input bytes unchanged up to the
 * offset push() returns) or decode (pass `onData` to get the payload ranges).
 */
export class ChunkedDecoder {
  /** Payload bytes decoded so far in this message. */
  bodyBytes = 0;

  private readonly limits: ChunkedLimits;
  private readonly badStatus: number;
  private readonly extStatus: number;
  private readonly trailerStatus: number;
  private state = SIZE_START;
  private remaining = 0;
  private extBytes = 0;
  private trailerBytes = 0;

  /** `forResponse`: errors carry 502 (bad upstream) instead of 400/413/431. */
  constructor(limits: Partial<ChunkedLimits> = {}, forResponse = false) {
    this.limits = { ...DEFAULT_CHUNKED_LIMITS, ...limits };
    this.badStatus = forResponse ? 502 : 400;
    this.extStatus = forResponse ? 502 : 413;
    this.trailerStatus = forResponse ? 502 : 431;
  }

  get done(): boolean {
    return this.state === DONE;
  }

  reset(): void {
    this.state = SIZE_START;
    this.remaining = 0;
    this.extBytes = 0;
    this.trailerBytes = 0;
    this.bodyBytes = 0;
  }

  /**
   * Consumes chunk[start..]. Returns the offset just past the end of the message
   * (after the trailer section's final CRLF) or -1 when all of it belonged to the
   * message and more is needed. Throws HttpParseError on malformed input.
   */
  push(chunk: Buffer, start = 0, onData?: ChunkDataSink): number {
    let state = this.state;
    if (state === DONE) return start;
    const len = chunk.length;
    let i = start;
    while (i < len) {
      if (state === DATA) {
        const n = Math.min(this.remaining, len - i);
        if (onData !== undefined) onData(chunk, i, i + n);
        this.remaining -= n;
        this.bodyBytes += n;
        i += n;
        if (this.remaining === 0) state = DATA_CR;
        continue;
      }
      const b = chunk[i++]!;
      switch (state) {
        case SIZE_START:
          if (HEX[b] === 0) throw this.bad('INVALID_CHUNK_SIZE', 'chunk size must be hexadecimal');
          this.remaining = HEX[b]! - 1;
          state = SIZE;
          break;
        case SIZE:
          if (HEX[b] !== 0) {
            this.remaining = this.remaining * 16 + HEX[b]! - 1;
            if (this.remaining > Number.MAX_SAFE_INTEGER) throw this.bad('CHUNK_SIZE_OVERFLOW', 'chunk size too large');
          } else if (b === CR) {
            state = SIZE_LF;
          } else if (b === SEMICOLON) {
            state = this.ext(EXT_NAME_START);
          } else {
            throw this.bad('INVALID_CHUNK_SIZE', 'unexpected byte after chunk size');
          }
          break;
        case EXT_NAME_START:
          if (TOKEN[b] !== 1) throw this.bad('INVALID_CHUNK_EXTENSION', 'chunk extension needs a name');
          state = this.ext(EXT_NAME);
          break;
        case EXT_NAME:
          if (TOKEN[b] === 1) state = this.ext(EXT_NAME);
          else if (b === EQUALS) state = this.ext(EXT_VALUE_START);
          else state = this.endOfExtension(b);
          break;
        case EXT_VALUE_START:
          if (b === DQUOTE) state = this.ext(EXT_QUOTED);
          else if (TOKEN[b] === 1) state = this.ext(EXT_TOKEN_VALUE);
          else throw this.bad('INVALID_CHUNK_EXTENSION', 'chunk extension value must be a token or quoted string');
          break;
        case EXT_TOKEN_VALUE:
          state = TOKEN[b] === 1 ? this.ext(EXT_TOKEN_VALUE) : this.endOfExtension(b);
          break;
        case EXT_QUOTED:
          if (b === DQUOTE) state = this.ext(EXT_AFTER_QUOTED);
          else if (b === BACKSLASH) state = this.ext(EXT_QUOTED_ESCAPE);
          else if (FIELD_VALUE[b] === 1) state = this.ext(EXT_QUOTED);
          else throw this.bad('INVALID_CHUNK_EXTENSION', 'invalid byte in a quoted chunk extension');
          break;
        case EXT_QUOTED_ESCAPE:
          if (FIELD_VALUE[b] !== 1) throw this.bad('INVALID_CHUNK_EXTENSION', 'invalid quoted-pair in a chunk extension');
          state = this.ext(EXT_QUOTED);
          break;
        case EXT_AFTER_QUOTED:
          state = this.endOfExtension(b);
          break;
        case SIZE_LF:
          if (b !== LF) throw this.bad('INVALID_CHUNK_SIZE', 'chunk size line must end with CRLF');
          state = this.remaining === 0 ? TRAILER_LINE_START : DATA;
          break;
        case DATA_CR:
          if (b !== CR) throw this.bad('INVALID_CHUNK_DATA', 'chunk data must be followed by CRLF');
          state = DATA_LF;
          break;
        case DATA_LF:
          if (b !== LF) throw this.bad('INVALID_CHUNK_DATA', 'chunk data must be followed by CRLF');
          state = SIZE_START;
          break;
        case TRAILER_LINE_START:
          if (b === CR) state = END_LF;
          else if (TOKEN[b] === 1) state = this.trailer(TRAILER_NAME);
          else throw this.bad('INVALID_TRAILER', 'trailer line must start with a field name');
          break;
        case TRAILER_NAME:
          if (TOKEN[b] === 1) state = this.trailer(TRAILER_NAME);
          else if (b === COLON) state = this.trailer(TRAILER_VALUE);
          else throw this.bad('INVALID_TRAILER', 'invalid character in a trailer field name');
          break;
        case TRAILER_VALUE:
          if (FIELD_VALUE[b] === 1) state = this.trailer(TRAILER_VALUE);
          else if (b === CR) state = TRAILER_LF;
          else throw this.bad('INVALID_TRAILER', 'invalid character in a trailer field value');
          break;
        case TRAILER_LF:
          if (b !== LF) throw this.bad('INVALID_TRAILER', 'trailer line must end with CRLF');
          state = TRAILER_LINE_START;
          break;
        case END_LF:
          if (b !== LF) throw this.bad('INVALID_TRAILER', 'chunked body must end with CRLF');
          this.state = DONE;
          return i;
      }
    }
    this.state = state;
    return -1;
  }

  /** Counts one extension byte and returns the next state. */
  private ext(next: number): number {
    if (++this.extBytes > this.limits.maxExtensionBytes) {
      throw new HttpParseError('CHUNK_EXTENSIONS_TOO_LARGE', this.extStatus, 'chunk extensions too large');
    }
    return next;
  }

  /** After a complete extension: another one, or the end of the size line. */
  private endOfExtension(b: number): number {
    if (b === SEMICOLON) return this.ext(EXT_NAME_START);
    if (b === CR) return SIZE_LF;
    throw this.bad('INVALID_CHUNK_EXTENSION', b === SP || b === HTAB ? 'whitespace in a chunk extension' : 'invalid chunk extension');
  }

  private trailer(next: number): number {
    if (++this.trailerBytes > this.limits.maxTrailerBytes) {
      throw new HttpParseError('TRAILERS_TOO_LARGE', this.trailerStatus, 'trailer section too large');
    }
    return next;
  }

  private bad(code: string, message: string): HttpParseError {
    return new HttpParseError(code, this.badStatus, message);
  }
}
