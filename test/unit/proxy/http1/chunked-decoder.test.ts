import { describe, expect, test } from 'vitest';
import { ChunkedDecoder } from '../../../../src/proxy/http1/chunked-decoder.ts';
import { HttpParseError } from '../../../../src/proxy/http1/errors.ts';
import { splits } from './serve-simulator.ts';

const b = (s: string) => Buffer.from(s, 'latin1');

function decodeAll(chunks: Buffer[], dec = new ChunkedDecoder()): { payload: string; end: number; chunkIndex: number } {
  const parts: string[] = [];
  for (let i = 0; i < chunks.length; i++) {
    const end = dec.push(chunks[i]!, 0, (buf, s, e) => parts.push(buf.toString('latin1', s, e)));
    if (end >= 0) return { payload: parts.join(''), end, chunkIndex: i };
  }
  return { payload: parts.join(''), end: -1, chunkIndex: -1 };
}

describe('ChunkedDecoder', () => {
  const body = '4\r\nWiki\r\n7;lang=en\r\npedia i\r\nB\r\nn \r\nchunks.\r\n0\r\nExpires: never\r\n\r\n';

  test('decodes payload and finds the exact end, however the input is cut', () => {
    for (const chunks of splits(b(body + 'NEXT'))) {
      const dec = new ChunkedDecoder();
      const r = decodeAll(chunks, dec);
      expect(r.payload).toBe('Wikipedia in \r\nchunks.');
      expect(dec.bodyBytes).toBe(22);
      expect(dec.done).toBe(true);
      // The end offset points at the first byte after the message in that chunk.
      const consumedBefore = chunks.slice(0, r.chunkIndex).reduce((n, c) => n + c.length, 0);
      expect(consumedBefore + r.end).toBe(body.length);
    }
  });

  test('payload ranges are views into the input (pass-through needs no copy)', () => {
    const input = b('5\r\nhello\r\n0\r\n\r\n');
    const seen: Buffer[] = [];
    new ChunkedDecoder().push(input, 0, (buf) => seen.push(buf));
    expect(seen[0]).toBe(input);
  });

  test('start offset, push after done, reset for the next message', () => {
    const dec = new ChunkedDecoder();
    const input = b('HEAD0\r\n\r\nTAIL');
    expect(dec.push(input, 4)).toBe(9);
    expect(dec.push(input, 9)).toBe(9); // done: consumes nothing more
    dec.reset();
    expect(dec.done).toBe(false);
    expect(dec.push(b('0\r\n\r\n'))).toBe(5);
  });

  test('a large chunk size is streamed without buffering', () => {
    const dec = new ChunkedDecoder();
    let got = 0;
    expect(dec.push(b('100000\r\n'), 0, (_b, s, e) => (got += e - s))).toBe(-1);
    const piece = Buffer.alloc(64 * 1024, 0x61);
    for (let i = 0; i < 16; i++) expect(dec.push(piece, 0, (_b, s, e) => (got += e - s))).toBe(-1);
    expect(dec.push(b('\r\n0\r\n\r\n'))).toBe(7);
    expect(got).toBe(0x100000);
  });

  test('limits are configurable; response-side errors carry 502', () => {
    const ext = (d: ChunkedDecoder) => {
      try {
        d.push(b('1;aaaaaaaaaa=bbbbbbbbbb\r\n'));
      } catch (e) {
        return e as HttpParseError;
      }
      return undefined;
    };
    expect(ext(new ChunkedDecoder({ maxExtensionBytes: 8 }))?.status).toBe(413);
    expect(ext(new ChunkedDecoder({ maxExtensionBytes: 8 }, true))?.status).toBe(502);
    expect(ext(new ChunkedDecoder())).toBeUndefined();
    const trailer = new ChunkedDecoder({ maxTrailerBytes: 4 });
    expect(() => trailer.push(b('0\r\nX-Long: 1\r\n\r\n'))).toThrow(/trailer section too large/);
  });
});
