import { CR, LF } from './char-classes.ts';
import { HttpParseError } from './errors.ts';

/**
 * Gathers the bytes of one message head (start line + field lines + empty line)
 * across chunks. It looks only at line ends: every LF must follow a CR (a bare
 * LF is rejected here, so both parsers may assume CRLF line ends), and the first
 * empty line after a non-empty one ends the head. Bytes are kept by reference and
 * copied once, only when a head straddles chunks.
 */
export class HeadReader {
  /** Offset in the last pushed chunk just past the head, once push() returned one. */
  end = 0;

  private readonly maxBytes: number;
  private readonly tooLargeStatus: number;
  private readonly badStatus: number;
  private readonly skipLeadingEmptyLines: boolean;
  private parts: Buffer[] = [];
  private partsBytes = 0;
  /** Bytes of the current (unterminated) line held in `parts`. */
  private lineBytes = 0;
  private lastWasCR = false;
  private sawContent = false;
  /** Bytes of empty lines skipped before the start line (they count toward the limit). */
  private skipped = 0;

  constructor(maxBytes: number, badStatus: number, tooLargeStatus: number, skipLeadingEmptyLines: boolean) {
    this.maxBytes = maxBytes;
    this.badStatus = badStatus;
    this.tooLargeStatus = tooLargeStatus;
    this.skipLeadingEmptyLines = skipLeadingEmptyLines;
  }

  /** Bytes held toward an incomplete head. */
  get pendingBytes(): number {
    return this.partsBytes;
  }

  /** Nothing seen since the last head (not even skipped empty lines). */
  get idle(): boolean {
    return this.partsBytes === 0 && this.skipped === 0;
  }

  reset(): void {
    if (this.parts.length > 0) this.parts = [];
    this.partsBytes = 0;
    this.lineBytes = 0;
    this.lastWasCR = false;
    this.sawContent = false;
    this.skipped = 0;
  }

  /**
   * Scans chunk[start..]. Returns the complete head (a view of `chunk` when it did
   * not straddle chunks, else one copy) and sets `end`, or returns null having
   * kept what it saw.
   */
  push(chunk: Buffer, start: number): Buffer | null {
    let headStart = start;
    let pos = start;
    const len = chunk.length;
    while (pos < len) {
      const lf = chunk.indexOf(LF, pos);
      if (lf < 0) break;
      const crBefore = lf > start ? chunk[lf - 1] === CR : this.lastWasCR;
      if (!crBefore) throw new HttpParseError('BARE_LF', this.badStatus, 'line ends with LF without CR');
      const lineLen = lf - pos + (pos === start ? this.lineBytes : 0);
      this.lineBytes = 0;
      pos = lf + 1;
      if (this.skipped + this.partsBytes + (pos - headStart) > this.maxBytes) throw this.tooLarge();
      if (lineLen === 1) {
        if (this.sawContent) return this.finish(chunk, headStart, pos);
        if (!this.skipLeadingEmptyLines) throw new HttpParseError('EMPTY_START_LINE', this.badStatus, 'empty line before the start line');
        // RFC 9112 §2.2: ignore empty lines before a request-line (they still
        // count toward the size limit).
        this.skipped += pos - headStart + this.partsBytes;
        this.parts = [];
        this.partsBytes = 0;
        headStart = pos;
      } else {
        this.sawContent = true;
      }
    }
    // No end of head in this chunk: keep the rest.
    const kept = len - headStart;
    if (len > start) this.lastWasCR = chunk[len - 1] === CR;
    if (kept > 0) {
      this.lineBytes += len - pos;
      this.partsBytes += kept;
      if (this.partsBytes + this.skipped > this.maxBytes) throw this.tooLarge();
      this.parts.push(headStart === 0 && kept === len ? chunk : chunk.subarray(headStart));
      // A slow sender dribbling bytes must not grow the list without bound.
      if (this.parts.length > 32) this.parts = [Buffer.concat(this.parts, this.partsBytes)];
    }
    return null;
  }

  private finish(chunk: Buffer, headStart: number, end: number): Buffer {
    this.end = end;
    let head: Buffer;
    if (this.parts.length === 0) {
      head = chunk.subarray(headStart, end);
    } else {
      this.parts.push(chunk.subarray(headStart, end));
      head = Buffer.concat(this.parts, this.partsBytes + end - headStart);
    }
    this.reset();
    return head;
  }

  private tooLarge(): HttpParseError {
    return new HttpParseError('HEAD_TOO_LARGE', this.tooLargeStatus, `head larger than ${this.maxBytes} bytes`);
  }
}
