import { COLON, CR, FIELD_VALUE, HTAB, LF, SP, TOKEN } from './char-classes.ts';
import { HttpParseError } from './errors.ts';
import { classifyName } from './header-fields.ts';

/**
 * Parses the field lines of a complete head starting at `pos` (the byte after the
 * start line's CRLF) into `offsets`/`kinds`; returns the field count. The head
 * must end with an empty line and contain no bare LF (HeadReader guarantees
 * both), so every line ends in CRLF and the loop needs no bounds checks beyond it.
 *
 * RFC 9112 §5: field-name is a token directly followed by ":" (whitespace before
 * the colon is rejected, §5.1), the value holds no CR/LF/NUL/CTL, and a line
 * starting with whitespace (obs-fold, §5.2) is rejected.
 */
export function parseFieldLines(
  buf: Buffer,
  pos: number,
  offsets: Uint32Array,
  kinds: Uint8Array,
  maxFields: number,
  badStatus: number,
  tooManyStatus: number,
): number {
  let count = 0;
  for (;;) {
    let b = buf[pos]!;
    if (b === CR) {
      if (buf[pos + 1] !== LF) throw new HttpParseError('BARE_CR', badStatus, 'CR not followed by LF');
      return count;
    }
    if (b === SP || b === HTAB) {
      throw new HttpParseError('OBS_FOLD', badStatus, 'line folding (obs-fold) or whitespace before a field name');
    }
    const nameStart = pos;
    while (TOKEN[b] === 1) b = buf[++pos]!;
    if (pos === nameStart) throw new HttpParseError('INVALID_HEADER_NAME', badStatus, 'invalid character in a field name');
    if (b !== COLON) {
      throw new HttpParseError(
        b === SP || b === HTAB ? 'SPACE_BEFORE_COLON' : 'INVALID_HEADER_NAME',
        badStatus,
        b === SP || b === HTAB ? 'whitespace between field name and colon' : 'invalid character in a field name',
      );
    }
    const nameEnd = pos;
    b = buf[++pos]!;
    while (b === SP || b === HTAB) b = buf[++pos]!;
    const valueStart = pos;
    while (FIELD_VALUE[b] === 1) b = buf[++pos]!;
    if (b !== CR || buf[pos + 1] !== LF) {
      throw new HttpParseError('INVALID_HEADER_VALUE', badStatus, 'invalid character in a field value');
    }
    let valueEnd = pos;
    while (valueEnd > valueStart && (buf[valueEnd - 1] === SP || buf[valueEnd - 1] === HTAB)) valueEnd--;
    if (count === maxFields) throw new HttpParseError('TOO_MANY_HEADERS', tooManyStatus, `more than ${maxFields} header fields`);
    const o = count * 4;
    offsets[o] = nameStart;
    offsets[o + 1] = nameEnd;
    offsets[o + 2] = valueStart;
    offsets[o + 3] = valueEnd;
    kinds[count] = classifyName(buf, nameStart, nameEnd);
    count++;
    pos += 2;
  }
}
