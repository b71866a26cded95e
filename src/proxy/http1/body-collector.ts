// A request body read whole before the request goes on (Traefik forwardAuth
// forwardBody sends it to the auth service first): the payload is collected
// from the wire bytes as they arrive, chunk framing removed, and bounded.
// Pure: the connection feeds it bytes and keeps those bytes itself, to
// forward them unchanged afterwards. It is not the forwarding path, which
// streams bodies without holding them (proxy/http/h1-connection.ts).

import { ChunkedDecoder } from './chunked-decoder.ts';

/** What push() found: the body needs more bytes, is complete, or is larger than the bound. */
export type BodyCollectState = 'more' | 'done' | 'over';

export class BodyCollector {
  readonly #max: number;
  readonly #parts: Buffer[] = [];
  #size = 0;
  /** Content-Length bytes still to come; -1 for a chunked body. */
  #remaining: number;
  readonly #decoder: ChunkedDecoder | undefined;
  #state: BodyCollectState = 'more';

  /** `length`: the Content-Length, or 'chunked'. `maxBytes`: payload bytes kept at most (Infinity: no bound). */
  constructor(length: number | 'chunked', maxBytes: number) {
    this.#max = maxBytes;
    this.#remaining = length === 'chunked' ? -1 : length;
    this.#decoder = length === 'chunked' ? new ChunkedDecoder() : undefined;
    if (length !== 'chunked') this.#state = length > maxBytes ? 'over' : length === 0 ? 'done' : 'more';
  }

  get state(): BodyCollectState {
    return this.#state;
  }

  /** Payload bytes seen so far. */
  get size(): number {
    return this.#size;
  }

  /**
   * Feeds chunk[off..]; bytes after the end of the body are ignored (they are
   * the next request's). Throws HttpParseError on a malformed chunked body.
   */
  push(chunk: Buffer, off: number): BodyCollectState {
    if (this.#state !== 'more') return this.#state;
    const d = this.#decoder;
    if (d === undefined) {
      const n = Math.min(chunk.length - off, this.#remaining);
      if (n > 0) this.#keep(chunk, off, off + n);
      this.#remaining -= n;
      if (this.#remaining === 0) this.#state = 'done';
      return this.#state;
    }
    const end = d.push(chunk, off, (buf, start, stop) => {
      if (this.#state === 'more') this.#keep(buf, start, stop);
    });
    if (this.#state === 'more' && end >= 0) this.#state = 'done';
    return this.#state;
  }

  /** The payload, once complete. */
  payload(): Buffer {
    return this.#parts.length === 1 ? this.#parts[0]! : Buffer.concat(this.#parts, this.#size);
  }

  #keep(buf: Buffer, start: number, end: number): void {
    if (end <= start) return;
    this.#size += end - start;
    if (this.#size > this.#max) {
      this.#state = 'over';
      this.#parts.length = 0;
      return;
    }
    this.#parts.push(buf.subarray(start, end));
  }
}
