// Request-head parsers lent to client connections only while a head is
// being read. A connection waiting for its next request (or for its first
// byte) holds none: with 10,000 idle keep-alive clients that is 10,000
// parsers (about 600 bytes each: the parser, its line reader, field-line
// and header scanners) not kept. A parser comes back between two messages,
// when it holds no partial head, and is then clean for any connection.

import { RequestHeadParser } from '../http1/request-head.ts';

/** Parsers kept for reuse; past this a returned one is left to the collector. */
const KEPT = 256;

export class HeadParserPool {
  readonly #free: RequestHeadParser[] = [];
  readonly #limits: { readonly maxHeadBytes: number; readonly maxHeaders: number };

  constructor(limits: { readonly maxHeadBytes: number; readonly maxHeaders: number }) {
    this.#limits = { maxHeadBytes: limits.maxHeadBytes, maxHeaders: limits.maxHeaders };
  }

  take(): RequestHeadParser {
    return this.#free.pop() ?? new RequestHeadParser(this.#limits);
  }

  /** A parser between messages (no partial head held). */
  give(parser: RequestHeadParser): void {
    if (this.#free.length < KEPT) this.#free.push(parser);
  }
}
