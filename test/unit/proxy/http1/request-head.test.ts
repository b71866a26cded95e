import { describe, expect, test } from 'vitest';
import { HttpParseError } from '../../../../src/proxy/http1/errors.ts';
import { HeaderKind } from '../../../../src/proxy/http1/header-fields.ts';
import { RequestHeadParser, parseRequestHead, requestHasBody } from '../../../../src/proxy/http1/request-head.ts';

const b = (s: string) => Buffer.from(s, 'latin1');

function parseError(fn: () => unknown): HttpParseError {
  try {
    fn();
  } catch (e) {
    if (e instanceof HttpParseError) return e;
    throw e;
  }
  throw new Error('expected an HttpParseError');
}

describe('RequestHead fields', () => {
  const browser = b(
    'GET /search?q=x HTTP/1.1\r\n' +
      'Host: example.com:8080\r\n' +
      'User-Agent: Mozilla/5.0\r\n' +
      'Accept:   text/html \t\r\n' +
      'Cookie: a=1; b=2\r\n' +
      'Connection: keep-alive, X-Trace\r\n' +
      'X-Trace: 1\r\n\r\n',
  );

  test('request line, authority, fields with trimmed values and original name case', () => {
    const h = parseRequestHead(browser);
    expect(h).toMatchObject({
      method: 'GET',
      target: '/search?q=x',
      targetForm: 'origin',
      path: '/search?q=x',
      authority: 'example.com:8080',
      versionMinor: 1,
      contentLength: -1,
      chunked: false,
      keepAlive: true,
      upgrade: undefined,
      expectContinue: false,
      connectionOptions: ['x-trace'],
    });
    expect(h.headers.count).toBe(6);
    expect(h.headers.name(2)).toBe('Accept');
    expect(h.headers.value(2)).toBe('text/html');
    expect(h.headers.get('cookie')).toBe('a=1; b=2');
    expect(h.headers.get('COOKIE')).toBe('a=1; b=2');
    expect(h.headers.get('missing')).toBeUndefined();
    expect(h.headers.kind(0)).toBe(HeaderKind.HOST);
    expect(h.headers.kind(4)).toBe(HeaderKind.CONNECTION);
    expect(h.headers.kind(1)).toBe(HeaderKind.OTHER);
    expect(h.headers.valueBytes(0).toString()).toBe('example.com:8080');
    expect(h.headers.nameBytes(3).toString()).toBe('Cookie');
    expect(requestHasBody(h)).toBe(false);
  });

  test('the head is a view of the input chunk when it fits in one chunk (no copy)', () => {
    const h = parseRequestHead(browser);
    expect(h.headers.buf.buffer).toBe(browser.buffer);
  });

  test('getAll and entries keep order and duplicates', () => {
    const h = parseRequestHead(b('GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\nx-a: 2\r\n\r\n'));
    expect(h.headers.getAll('X-A')).toEqual(['1', '2']);
    expect(h.headers.entries()).toEqual([
      ['Host', 'a'],
      ['X-A', '1'],
      ['x-a', '2'],
    ]);
  });

  test('obs-text values decode as latin1 (like Node), so bytes round-trip', () => {
    const h = parseRequestHead(b('GET / HTTP/1.1\r\nHost: a\r\nX: caf\xc3\xa9\r\n\r\n'));
    expect(Buffer.from(h.headers.value(1), 'latin1')).toEqual(Buffer.from('café'));
  });

  test('absolute-form: authority from the target wins over Host, path becomes origin-form', () => {
    const cases: Array<[string, string, string]> = [
      ['http://b.example/x?y', 'b.example', '/x?y'],
      ['HTTPS://b.example:8443', 'b.example:8443', '/'],
      ['http://[2001:db8::1]:80?q', '[2001:db8::1]:80', '/?q'],
    ];
    for (const [target, authority, path] of cases) {
      const h = parseRequestHead(b(`GET ${target} HTTP/1.1\r\nHost: other\r\n\r\n`));
      expect(h).toMatchObject({ targetForm: 'absolute', target, authority, path });
    }
  });

  test('asterisk and authority forms', () => {
    expect(parseRequestHead(b('OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n'))).toMatchObject({ targetForm: 'asterisk', path: '*' });
    expect(parseRequestHead(b('CONNECT [::1]:443 HTTP/1.1\r\nHost: x\r\n\r\n'))).toMatchObject({
      targetForm: 'authority',
      path: '[::1]:443',
    });
    expect(parseError(() => parseRequestHead(b('CONNECT /x HTTP/1.1\r\nHost: a\r\n\r\n'))).code).toBe('INVALID_TARGET');
    expect(parseError(() => parseRequestHead(b('CONNECT a: HTTP/1.1\r\nHost: a\r\n\r\n'))).code).toBe('INVALID_TARGET');
  });

  test('keep-alive decision', () => {
    const ka = (s: string) => parseRequestHead(b(s)).keepAlive;
    expect(ka('GET / HTTP/1.1\r\nHost: a\r\n\r\n')).toBe(true);
    expect(ka('GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')).toBe(false);
    expect(ka('GET / HTTP/1.1\r\nHost: a\r\nConnection: Keep-Alive\r\nConnection: CLOSE\r\n\r\n')).toBe(false);
    expect(ka('GET / HTTP/1.0\r\n\r\n')).toBe(false);
    expect(ka('GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n')).toBe(true);
    expect(ka('GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n')).toBe(false);
  });

  test('upgrade needs Connection: upgrade, an Upgrade field and HTTP/1.1', () => {
    const up = (s: string) => parseRequestHead(b(s)).upgrade;
    expect(up('GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n\r\n')).toBe('websocket');
    expect(up('GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n')).toBeUndefined();
    expect(up('GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\n\r\n')).toBeUndefined();
    expect(up('GET / HTTP/1.0\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n')).toBeUndefined();
  });

  test('body framing', () => {
    const cl = parseRequestHead(b('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 12\r\n\r\n'));
    expect([cl.contentLength, cl.chunked, requestHasBody(cl)]).toEqual([12, false, true]);
    const zero = parseRequestHead(b('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n'));
    expect([zero.contentLength, requestHasBody(zero)]).toEqual([0, false]);
    const ch = parseRequestHead(b('POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n'));
    expect([ch.contentLength, ch.chunked, requestHasBody(ch)]).toEqual([-1, true, true]);
  });

  test('Expect: 100-continue', () => {
    expect(parseRequestHead(b('PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 9\r\n\r\n')).expectContinue).toBe(true);
  });
});

describe('RequestHeadParser incremental use', () => {
  test('heads from different parsers stay intact when parsed in turn (the field scratch array is one per process)', () => {
    const p1 = new RequestHeadParser();
    const p2 = new RequestHeadParser({ maxHeaders: 200 });
    const h1 = p1.push(b('GET /one HTTP/1.1\r\nHost: one.example\r\nX-A: 1\r\nX-B: 2\r\n\r\n'))!;
    const h2 = p2.push(b('GET /two HTTP/1.1\r\nUser-Agent: two\r\nHost: two.example\r\n\r\n'))!;
    // A partial head on the first parser writes into the scratch too.
    expect(p1.push(b('GET /three HTTP/1.1\r\nX-Long-Name-Here: value\r\n'))).toBeNull();
    expect(h1.headers.count).toBe(3);
    expect([h1.headers.name(0), h1.headers.value(0)]).toEqual(['Host', 'one.example']);
    expect([h1.headers.name(2), h1.headers.value(2)]).toEqual(['X-B', '2']);
    expect(h2.headers.count).toBe(2);
    expect([h2.headers.name(0), h2.headers.value(0)]).toEqual(['User-Agent', 'two']);
    expect(h2.headers.get('host')).toBe('two.example');
  });

  test('a head straddling chunks, then the body and the next request in the last chunk', () => {
    const p = new RequestHeadParser();
    expect(p.push(b('POST /up HTTP/1.1\r\nHo'))).toBeNull();
    expect(p.pendingBytes).toBe(21);
    expect(p.push(b('st: a\r\nContent-Length: 3\r'))).toBeNull();
    const last = b('\n\r\nabcGET /next HTTP/1.1\r\nHost: a\r\n\r\n');
    const h = p.push(last)!;
    expect(h.method).toBe('POST');
    expect(h.headers.get('host')).toBe('a');
    expect(p.consumed).toBe(3);
    expect(p.pendingBytes).toBe(0);
    const next = p.push(last, p.consumed + h.contentLength)!;
    expect(next.target).toBe('/next');
    expect(p.consumed).toBe(last.length);
  });

  test('CR at the end of one chunk and LF at the start of the next', () => {
    const p = new RequestHeadParser();
    expect(p.push(b('GET / HTTP/1.1\r'))).toBeNull();
    expect(p.push(b('\nHost: a\r\n\r'))).toBeNull();
    expect(p.push(b('\n'))?.authority).toBe('a');
    expect(p.consumed).toBe(1);
  });

  test('bare LF at a chunk boundary is still caught', () => {
    const p = new RequestHeadParser();
    expect(p.push(b('GET / HTTP/1.1\r\nHost: a'))).toBeNull();
    expect(parseError(() => p.push(b('\n\r\n'))).code).toBe('BARE_LF');
  });

  test('a head dribbled one byte at a time keeps bounded state and parses', () => {
    const raw = b(`GET / HTTP/1.1\r\nHost: a\r\nX: ${'y'.repeat(10_000)}\r\n\r\n`);
    const p = new RequestHeadParser();
    let head = null;
    for (let i = 0; i < raw.length && head === null; i++) head = p.push(raw.subarray(i, i + 1));
    expect(head?.headers.value(1).length).toBe(10_000);
  });

  test('the size limit is enforced before the end of the head is seen', () => {
    const p = new RequestHeadParser({ maxHeadBytes: 1024 });
    expect(p.push(b(`GET /${'a'.repeat(1000)}`))).toBeNull();
    const e = parseError(() => p.push(b('a'.repeat(100))));
    expect([e.status, e.code]).toEqual([431, 'HEAD_TOO_LARGE']);
  });

  test('leading empty lines count toward the size limit', () => {
    const p = new RequestHeadParser({ maxHeadBytes: 64 });
    expect(parseError(() => p.push(b('\r\n'.repeat(40)))).status).toBe(431);
  });

  test('maxHeaders limit', () => {
    const fields = (n: number) => Array.from({ length: n }, (_, i) => `X${i}: y\r\n`).join('');
    expect(parseRequestHead(b(`GET / HTTP/1.1\r\nHost: a\r\n${fields(9)}\r\n`), { maxHeaders: 10 }).headers.count).toBe(10);
    const e = parseError(() => parseRequestHead(b(`GET / HTTP/1.1\r\nHost: a\r\n${fields(10)}\r\n`), { maxHeaders: 10 }));
    expect([e.status, e.code]).toEqual([431, 'TOO_MANY_HEADERS']);
  });

  test('reset drops a partial head', () => {
    const p = new RequestHeadParser();
    p.push(b('GARBAGE'));
    p.reset();
    expect(p.pendingBytes).toBe(0);
    expect(p.push(b('GET / HTTP/1.1\r\nHost: a\r\n\r\n'))?.method).toBe('GET');
  });

  test('incomplete input to parseRequestHead is an error', () => {
    expect(parseError(() => parseRequestHead(b('GET / HTTP/1.1\r\nHost: a\r\n'))).code).toBe('INCOMPLETE');
  });
});
