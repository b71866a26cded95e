import { COLON, CR, FIELD_VALUE, HTAB, LF, SP, TOKEN } from './char-classes.ts';
import { HttpParseError } from './errors.ts';
import { FIELD_STRIDE, classifyName } from './header-fields.ts';

let scratch: number[] = [];

/** The process's scratch array, at least `size` long (it only grows). */
function sharedScratch(size: number): number[] {
  if (scratch.length < size) scratch = new Array<number>(size).fill(0);
  return scratch;
}

/**
 * Parses field lines (RFC 9112 §5) into a reusable scratch array, one per
 * process: parse() runs to the end in one call and the head parsers copy out
 * what it wrote before returning (slice), so parsers need no array of their
 * own; a connection's parser then costs no 500-number array. Per line: a
 * token name directly followed by ":" (whitespace before the colon is rejected,
 * §5.1), optional whitespace, a value of VCHAR/obs-text/SP/HTAB (no CR, LF, NUL
 * or other CTL), CRLF. A line starting with whitespace (obs-fold, §5.2) is
 * rejected, and so is an LF without CR.
 *
 * Every loop checks `end`, so the parser can run straight on a socket chunk and
 * report "incomplete" instead of reading past it (an out-of-bounds typed-array
 * read would also send V8 down a slow path).
 */
export class FieldLineParser {
  /** After parse() returned true: field count and the offset just past the empty line. */
  count = 0;
  end = 0;
  /**
   * FIELD_STRIDE numbers per field, valid until the next parse() of any
   * parser: copy out with slice(0, count * FIELD_STRIDE) at once.
   */
  readonly scratch: number[];

  private readonly maxFields: number;
  private readonly badStatus: number;
  private readonly tooManyStatus: number;

  constructor(maxFields: number, badStatus: number, tooManyStatus: number) {
    this.maxFields = maxFields;
    this.badStatus = badStatus;
    this.tooManyStatus = tooManyStatus;
    this.scratch = sharedScratch(maxFields * FIELD_STRIDE);
  }

  /**
   * Parses from `pos` (the byte after the start line) up to the empty line.
   * Returns false if buf[..end) stops before it; throws HttpParseError on bad input.
   */
  parse(buf: Buffer, pos: number, end: number): boolean {
    const out = this.scratch;
    let count = 0;
    for (;;) {
      if (pos >= end) return false;
      let b = buf[pos]!;
      if (b === CR) {
        if (pos + 1 >= end) return false;
        if (buf[pos + 1] !== LF) throw this.bad('BARE_CR', 'CR not followed by LF');
        // Checked on the complete head only, so an oversized head is always
        // "too large" whatever the chunking.
        if (count > this.maxFields) {
          throw new HttpParseError('TOO_MANY_HEADERS', this.tooManyStatus, `more than ${this.maxFields} header fields`);
        }
        this.count = count;
        this.end = pos + 2;
        return true;
      }
      if (b === SP || b === HTAB) throw this.bad('OBS_FOLD', 'line folding (obs-fold) or whitespace before a field name');
      const nameStart = pos;
      while (TOKEN[b] === 1 && ++pos < end) b = buf[pos]!;
      if (pos >= end) return false;
      if (b !== COLON) {
        if (pos === nameStart && b === LF) throw this.bad('BARE_LF', 'line ends with LF without CR');
        if (pos > nameStart && (b === SP || b === HTAB)) throw this.bad('SPACE_BEFORE_COLON', 'whitespace between field name and colon');
        throw this.bad('INVALID_HEADER_NAME', 'invalid character in a field name');
      }
      const nameEnd = pos;
      if (nameEnd === nameStart) throw this.bad('INVALID_HEADER_NAME', 'empty field name');
      if (++pos >= end) return false;
      b = buf[pos]!;
      while ((b === SP || b === HTAB) && ++pos < end) b = buf[pos]!;
      const valueStart = pos;
      while (FIELD_VALUE[b] === 1 && ++pos < end) b = buf[pos]!;
      if (pos >= end) return false;
      if (b !== CR) {
        if (b === LF) throw this.bad('BARE_LF', 'line ends with LF without CR');
        throw this.bad('INVALID_HEADER_VALUE', 'invalid character in a field value');
      }
      if (pos + 1 >= end) return false;
      if (buf[pos + 1] !== LF) throw this.bad('INVALID_HEADER_VALUE', 'CR inside a field value');
      let valueEnd = pos;
      while (valueEnd > valueStart && (buf[valueEnd - 1] === SP || buf[valueEnd - 1] === HTAB)) valueEnd--;
      if (count < this.maxFields) {
        const o = count * FIELD_STRIDE;
        out[o] = nameStart;
        out[o + 1] = nameEnd;
        out[o + 2] = valueStart;
        out[o + 3] = valueEnd;
        out[o + 4] = classifyName(buf, nameStart, nameEnd);
      }
      count++;
      pos += 2;
    }
  }

  private bad(code: string, message: string): HttpParseError {
    return new HttpParseError(code, this.badStatus, message);
  }
}
