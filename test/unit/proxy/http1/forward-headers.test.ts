import { describe, expect, test } from 'vitest';
import { assertValidField, serializeRequestHead, serializeResponseHead } from '../../../../src/proxy/http1/forward-headers.ts';
import { parseRequestHead } from '../../../../src/proxy/http1/request-head.ts';
import { parseResponseHead } from '../../../../src/proxy/http1/response-head.ts';

const b = (s: string) => Buffer.from(s, 'latin1');
const lines = (buf: Buffer) => buf.toString('latin1').split('\r\n');

describe('serializeRequestHead', () => {
  const raw = b(
    'POST /api?x=1 HTTP/1.1\r\n' +
      'User-Agent: t\r\n' +
      'host: app.example\r\n' +
      'Connection: keep-alive, X-Secret, TE\r\n' +
      'Keep-Alive: timeout=5\r\n' +
      'Proxy-Connection: keep-alive\r\n' +
      'TE: trailers\r\n' +
      'Trailer: X-Sum\r\n' +
      'X-Secret: hop\r\n' +
      'X-Forwarded-For: 198.18.0.1\r\n' +
      'Accept: */*\r\n' +
      'X-Forwarded-For: 198.18.0.2, 198.18.0.3\r\n' +
      'X-Forwarded-Proto: gopher\r\n' +
      'X-Forwarded-Host: evil\r\n' +
      'Upgrade: h2c\r\n' +
      'Transfer-Encoding: chunked\r\n\r\n',
  );

  test('byte-exact: hop-by-hop gone, X-Forwarded-* appended/set, framing re-emitted', () => {
    const out = serializeRequestHead(parseRequestHead(raw), { clientIp: '198.18.0.9', proto: 'https' });
    expect(out.toString('latin1')).toBe(
      'POST /api?x=1 HTTP/1.1\r\n' +
        'Host: app.example\r\n' +
        'User-Agent: t\r\n' +
        'Accept: */*\r\n' +
        'X-Forwarded-For: 198.18.0.1, 198.18.0.2, 198.18.0.3, 198.18.0.9\r\n' +
        'X-Forwarded-Proto: https\r\n' +
        'X-Forwarded-Host: app.example\r\n' +
        'Transfer-Encoding: chunked\r\n\r\n',
    );
  });

  test('the output parses back as a valid request', () => {
    const out = serializeRequestHead(parseRequestHead(raw), { clientIp: '2001:db8::9', proto: 'http' });
    const again = parseRequestHead(out);
    expect(again.chunked).toBe(true);
    expect(again.headers.get('x-forwarded-for')).toBe('198.18.0.1, 198.18.0.2, 198.18.0.3, 2001:db8::9');
  });

  test('replace mode drops incoming X-Forwarded-For', () => {
    const out = serializeRequestHead(parseRequestHead(raw), { clientIp: '198.18.0.9', proto: 'http', forwardedFor: 'replace' });
    expect(lines(out)).toContain('X-Forwarded-For: 198.18.0.9');
  });

  test('a field named by Connection is dropped even when it is X-Forwarded-For', () => {
    const h = parseRequestHead(b('GET / HTTP/1.1\r\nHost: a\r\nConnection: x-forwarded-for\r\nX-Forwarded-For: 1.1.1.1\r\n\r\n'));
    expect(lines(serializeRequestHead(h, { clientIp: '198.18.0.9', proto: 'http' }))).toContain('X-Forwarded-For: 198.18.0.9');
  });

  test('Content-Length is re-emitted, also 0; no body means no framing field', () => {
    const cl = parseRequestHead(b('POST / HTTP/1.1\r\nHost: a\r\ncontent-length: 0\r\n\r\n'));
    expect(lines(serializeRequestHead(cl, { clientIp: 'c', proto: 'http' }))).toContain('Content-Length: 0');
    const none = parseRequestHead(b('GET / HTTP/1.1\r\nHost: a\r\n\r\n'));
    const out = serializeRequestHead(none, { clientIp: 'c', proto: 'http' }).toString('latin1');
    expect(out).not.toMatch(/content-length|transfer-encoding/i);
  });

  test('re-framing: a chunked request sent with a length', () => {
    const h = parseRequestHead(b('POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n'));
    const out = serializeRequestHead(h, { clientIp: 'c', proto: 'http', framing: 'length', contentLength: 42 }).toString('latin1');
    expect(out).toContain('Content-Length: 42\r\n');
    expect(out).not.toMatch(/transfer-encoding/i);
  });

  test('absolute-form becomes origin-form with Host from the target', () => {
    const h = parseRequestHead(b('GET http://b.example:81/p?q HTTP/1.1\r\nHost: ignored\r\n\r\n'));
    const l = lines(serializeRequestHead(h, { clientIp: 'c', proto: 'http' }));
    expect(l[0]).toBe('GET /p?q HTTP/1.1');
    expect(l[1]).toBe('Host: b.example:81');
    expect(l).toContain('X-Forwarded-Host: b.example:81');
    expect(l.filter((x) => /^host:/i.test(x))).toHaveLength(1);
  });

  test('HTTP/1.0 request goes upstream as HTTP/1.1 with an empty Host when it had none', () => {
    const h = parseRequestHead(b('GET / HTTP/1.0\r\n\r\n'));
    const l = lines(serializeRequestHead(h, { clientIp: 'c', proto: 'http', close: true }));
    expect(l.slice(0, 2)).toEqual(['GET / HTTP/1.1', 'Host: ']);
    expect(l).toContain('Connection: close');
    expect(l.some((x) => x.startsWith('X-Forwarded-Host'))).toBe(false);
  });

  test('upgrade keeps Upgrade and says Connection: upgrade', () => {
    const h = parseRequestHead(b('GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: k\r\n\r\n'));
    const l = lines(serializeRequestHead(h, { clientIp: 'c', proto: 'http' }));
    expect(l).toContain('Upgrade: websocket');
    expect(l).toContain('Connection: upgrade');
    expect(l).toContain('Sec-WebSocket-Key: k');
    const refused = lines(serializeRequestHead(h, { clientIp: 'c', proto: 'http', upgrade: false }));
    expect(refused.some((x) => /^upgrade:|^connection:/i.test(x))).toBe(false);
  });

  test('extra headers are appended; injection attempts throw', () => {
    const h = parseRequestHead(b('GET / HTTP/1.1\r\nHost: a\r\n\r\n'));
    expect(lines(serializeRequestHead(h, { clientIp: 'c', proto: 'http', extraHeaders: [['X-Request-Id', 'r1']] }))).toContain(
      'X-Request-Id: r1',
    );
    for (const [n, v] of [
      ['X-A', 'v\r\nInjected: 1'],
      ['X-A', 'v\nx'],
      ['X-A', 'v\0'],
      ['X A', 'v'],
      ['X:A', 'v'],
      ['', 'v'],
      ['X-A', 'caf\u20ac'],
    ] as const) {
      expect(() => serializeRequestHead(h, { clientIp: 'c', proto: 'http', extraHeaders: [[n, v]] })).toThrow(TypeError);
    }
    expect(() => serializeRequestHead(h, { clientIp: 'c\r\nX: 1', proto: 'http' })).toThrow(TypeError);
    expect(() => serializeRequestHead(h, { clientIp: 'c', proto: 'http', host: 'a\r\nX: 1' })).toThrow(TypeError);
    expect(() => assertValidField('X-Ok', 'tab\tand obs-text \xe9')).not.toThrow();
  });
});

describe('serializeResponseHead', () => {
  const raw = b(
    'HTTP/1.1 200 OK\r\n' +
      'Content-Type: text/plain\r\n' +
      'Connection: keep-alive, X-Internal\r\n' +
      'Keep-Alive: timeout=5\r\n' +
      'X-Internal: 1\r\n' +
      'Transfer-Encoding: chunked\r\n' +
      'Trailer: X-Sum\r\n' +
      'Set-Cookie: a=1\r\n' +
      'Set-Cookie: b=2\r\n\r\n',
  );

  test('byte-exact with chunked framing and keep-alive for an HTTP/1.0-style client', () => {
    const out = serializeResponseHead(parseResponseHead(raw), { framing: 'chunked', connection: 'keep-alive' });
    expect(out.toString('latin1')).toBe(
      'HTTP/1.1 200 OK\r\n' +
        'Content-Type: text/plain\r\n' +
        'Set-Cookie: a=1\r\n' +
        'Set-Cookie: b=2\r\n' +
        'Transfer-Encoding: chunked\r\n' +
        'Connection: keep-alive\r\n\r\n',
    );
  });

  test('close-delimited re-send: no framing field, Connection: close', () => {
    const l = lines(serializeResponseHead(parseResponseHead(raw), { framing: 'close', connection: 'close' }));
    expect(l.some((x) => /^(transfer-encoding|content-length):/i.test(x))).toBe(false);
    expect(l).toContain('Connection: close');
  });

  test('framing none keeps the received Content-Length (HEAD, 304)', () => {
    const h = parseResponseHead(b('HTTP/1.1 304 Not Modified\r\nContent-Length: 120\r\nETag: "x"\r\n\r\n'));
    expect(lines(serializeResponseHead(h, { framing: 'none' }))).toContain('Content-Length: 120');
    const l = lines(serializeResponseHead(h, { framing: 'length', contentLength: 7 }));
    expect(l.filter((x) => /^content-length/i.test(x))).toEqual(['Content-Length: 7']);
  });

  test('101 keeps Upgrade only when switching', () => {
    const h = parseResponseHead(b('HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: x\r\n\r\n'));
    expect(serializeResponseHead(h, { framing: 'none', connection: 'upgrade' }).toString('latin1')).toBe(
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: x\r\nConnection: upgrade\r\n\r\n',
    );
  });
});
