// BodyCollector: the payload of a request body read ahead, whatever the
// chunking of the wire bytes, bounded, and blind to what follows the body.
import { describe, expect, test } from 'vitest';
import { BodyCollector } from '../../../../src/proxy/http1/body-collector.ts';

/** Feeds `wire` to the collector in pieces cut at `cuts`. */
function feed(c: BodyCollector, wire: Buffer, cuts: number[]): string {
  let from = 0;
  let state = c.state;
  for (const at of [...cuts.filter((x) => x > 0 && x < wire.length).sort((a, b) => a - b), wire.length]) {
    if (at <= from) continue;
    state = c.push(wire.subarray(from, at), 0);
    from = at;
    if (state !== 'more') break;
  }
  return state;
}

const chunked = (parts: string[]): Buffer => Buffer.from(`${parts.map((p) => `${p.length.toString(16)};ext=1\r\n${p}\r\n`).join('')}0\r\nX-Trailer: t\r\n\r\n`, 'latin1');

describe('BodyCollector', () => {
  test('model: any cut of a chunked body and a pipelined request behind it gives the payload', () => {
    let seed = 7;
    const rnd = (n: number): number => ((seed = (seed * 1103515245 + 12345) % 2147483648), seed % n);
    for (let round = 0; round < 300; round++) {
      const parts = Array.from({ length: 1 + rnd(5) }, () => 'abcdefghij'.slice(0, 1 + rnd(10)).repeat(1 + rnd(30)));
      const wire = Buffer.concat([chunked(parts), Buffer.from('GET /next HTTP/1.1\r\n\r\n')]);
      const cuts = Array.from({ length: rnd(8) }, () => rnd(wire.length));
      const c = new BodyCollector('chunked', Infinity);
      expect(feed(c, wire, cuts)).toBe('done');
      expect(c.payload().toString('latin1')).toBe(parts.join(''));
    }
  });

  test('Content-Length: exactly that many bytes, the rest ignored', () => {
    const c = new BodyCollector(5, 100);
    expect(c.push(Buffer.from('hel'), 0)).toBe('more');
    expect(c.push(Buffer.from('xxloGET /'), 2)).toBe('done');
    expect(c.payload().toString()).toBe('hello');
    expect(new BodyCollector(0, 100).state).toBe('done');
  });

  test('over the bound: a declared length at once, a chunked body as soon as it passes it (nothing kept)', () => {
    expect(new BodyCollector(101, 100).state).toBe('over');
    const c = new BodyCollector('chunked', 10);
    expect(feed(c, chunked(['123456', '78901']), [9])).toBe('over');
    expect(c.size).toBe(11);
    const exact = new BodyCollector('chunked', 11);
    expect(feed(exact, chunked(['123456', '78901']), [])).toBe('done');
  });

  test('a malformed chunked body throws the parser\'s error', () => {
    const c = new BodyCollector('chunked', Infinity);
    expect(() => c.push(Buffer.from('zz\r\nhello\r\n'), 0)).toThrow();
  });
});
