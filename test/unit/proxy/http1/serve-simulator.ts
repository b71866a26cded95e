// Runs bytes through the parsers the way the proxy's connection loop will:
// head, then the body by its framing, then the next pipelined head, stopping
// after an error, a non-keep-alive message or a tunnel (CONNECT). The outcome
// list is what a server built on these parsers would answer.

import { ChunkedDecoder } from '../../../../src/proxy/http1/chunked-decoder.ts';
import { HttpParseError } from '../../../../src/proxy/http1/errors.ts';
import { type RequestLimits, RequestHeadParser } from '../../../../src/proxy/http1/request-head.ts';

export interface Outcome {
  status: number;
  /** Our error code (not compared with Node). */
  code?: string;
  method?: string;
  target?: string;
  body?: number;
  /** Expect: 100-continue was honoured. */
  continue?: boolean;
}

export function simulate(chunks: readonly Buffer[], limits: Partial<RequestLimits> = {}): Outcome[] {
  const out: Outcome[] = [];
  const parser = new RequestHeadParser(limits);
  const decoder = new ChunkedDecoder();
  let current: Outcome | null = null;
  let remaining = 0; // Content-Length body left
  let chunked = false;
  let keepAlive = true;
  let stop = false;

  const finish = () => {
    out.push(current!);
    current = null;
  };

  try {
    for (const chunk of chunks) {
      let pos = 0;
      while (pos < chunk.length && !stop) {
        if (current === null) {
          const head = parser.push(chunk, pos);
          if (head === null) break;
          pos = parser.consumed;
          current = { status: 200, method: head.method, target: head.target, body: 0 };
          if (head.expectContinue) current.continue = true;
          keepAlive = head.keepAlive;
          if (head.method === 'CONNECT') {
            finish();
            stop = true; // the rest is tunnel payload
            break;
          }
          chunked = head.chunked;
          remaining = head.contentLength > 0 ? head.contentLength : 0;
          if (chunked) decoder.reset();
        } else if (chunked) {
          const end = decoder.push(chunk, pos);
          current.body = decoder.bodyBytes;
          if (end < 0) {
            pos = chunk.length;
            break;
          }
          pos = end;
          chunked = false;
        } else {
          const n = Math.min(remaining, chunk.length - pos);
          current.body! += n;
          remaining -= n;
          pos += n;
        }
        if (current !== null && !chunked && remaining === 0) {
          finish();
          if (!keepAlive) stop = true;
        }
      }
      if (stop) break;
    }
    // A message cut short by end of input gets a 400, as Node answers.
    if (!stop && (current !== null || parser.pendingBytes > 0)) out.push({ status: 400, code: 'INCOMPLETE' });
  } catch (e) {
    if (!(e instanceof HttpParseError)) throw e;
    out.push({ status: e.status, code: e.code });
  }
  return out;
}

/** The ways a vector is cut into chunks: whole, byte by byte, and seeded random cuts. */
export function splits(raw: Buffer, seeds = 3): Buffer[][] {
  const ways: Buffer[][] = [[raw]];
  const bytes: Buffer[] = [];
  for (let i = 0; i < raw.length; i++) bytes.push(raw.subarray(i, i + 1));
  ways.push(bytes);
  for (let seed = 1; seed <= seeds; seed++) {
    let x = seed * 2654435761;
    const parts: Buffer[] = [];
    let at = 0;
    while (at < raw.length) {
      x = (x * 1103515245 + 12345) >>> 0;
      const n = 1 + (x % 23);
      parts.push(raw.subarray(at, at + n));
      at += n;
    }
    ways.push(parts);
  }
  return ways;
}
