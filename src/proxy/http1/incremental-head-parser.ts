// What the request and the response head parsers share: feeding chunks,
// parsing a head in place when it arrived whole (the common case), and
// gathering it through a HeadReader when it straddles chunks.
import type { HttpParseError } from './errors.ts';
import { FieldLineParser } from './field-lines.ts';
import { HeadReader } from './head-reader.ts';

export interface HeadLimits {
  maxHeadBytes: number;
  maxHeaders: number;
}

export abstract class IncrementalHeadParser<Head> {
  /** After push() returned a head: offset in that chunk just past the head. */
  consumed = 0;

  protected readonly fieldLines: FieldLineParser;
  private readonly reader: HeadReader;
  private readonly maxHeadBytes: number;

  /**
   * `badStatus`/`tooLargeStatus`: the status carried by errors (400/431 for
   * requests, 502 for responses); `skipLeadingEmptyLines`: RFC 9112 §2.2 for
   * requests.
   */
  protected constructor(limits: HeadLimits, badStatus: number, tooLargeStatus: number, skipLeadingEmptyLines: boolean) {
    this.maxHeadBytes = limits.maxHeadBytes;
    this.reader = new HeadReader(limits.maxHeadBytes, badStatus, tooLargeStatus, skipLeadingEmptyLines);
    this.fieldLines = new FieldLineParser(limits.maxHeaders, badStatus, tooLargeStatus);
  }

  /** Bytes held toward a head not yet complete (0 between messages). */
  get pendingBytes(): number {
    return this.reader.pendingBytes;
  }

  /** Drops any partial head. */
  reset(): void {
    this.reader.reset();
  }

  /** A complete head, or null when more bytes are needed; throws HttpParseError on a bad head. */
  push(chunk: Buffer, start = 0): Head | null {
    if (this.reader.idle) {
      // Fast path: the whole head is usually in one chunk; parse it in place.
      // Bounded by the size limit: a longer head falls through to the reader, which rejects it.
      const head = this.parse(chunk, start, Math.min(chunk.length, start + this.maxHeadBytes));
      if (head !== null) {
        this.consumed = this.fieldLines.end;
        return head;
      }
    }
    // The head straddles chunks: gather it, then parse the gathered copy.
    const gathered = this.reader.push(chunk, start);
    if (gathered === null) return null;
    this.consumed = this.reader.end;
    const head = this.parse(gathered, 0, gathered.length);
    if (head === null) throw this.incomplete(); // cannot happen: a gathered head ends with an empty line
    return head;
  }

  /** Parses buf[start, end); null when the head goes on past `end`. */
  protected abstract parse(buf: Buffer, start: number, end: number): Head | null;

  protected abstract incomplete(): HttpParseError;
}
