import { describe, expect, test } from 'vitest';
import { ResponseHeadParser, parseResponseHead, responseBodyKind } from '../../../../src/proxy/http1/response-head.ts';

const b = (s: string) => Buffer.from(s, 'latin1');

describe('ResponseHead', () => {
  test('status line and fields', () => {
    const h = parseResponseHead(b('HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nConnection: close, X-A\r\nX-A: 1\r\n\r\n'));
    expect(h).toMatchObject({
      status: 404,
      reason: 'Not Found',
      versionMinor: 1,
      contentLength: 9,
      chunked: false,
      keepAlive: false,
      connectionOptions: ['x-a'],
    });
    expect(h.headers.get('x-a')).toBe('1');
  });

  test('keep-alive by version and Connection', () => {
    expect(parseResponseHead(b('HTTP/1.1 200 OK\r\n\r\n')).keepAlive).toBe(true);
    expect(parseResponseHead(b('HTTP/1.0 200 OK\r\n\r\n')).keepAlive).toBe(false);
    expect(parseResponseHead(b('HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\n')).keepAlive).toBe(true);
  });

  test('101 carries the Upgrade value and switches', () => {
    const h = parseResponseHead(b('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n'));
    expect(h.upgrade).toBe('websocket');
    expect(responseBodyKind(h, 'GET')).toBe('switch');
  });

  test('body kind per RFC 9112 §6.3', () => {
    const kind = (raw: string, method = 'GET') => responseBodyKind(parseResponseHead(b(raw)), method);
    expect(kind('HTTP/1.1 100 Continue\r\n\r\n')).toBe('none');
    expect(kind('HTTP/1.1 204 No Content\r\nContent-Length: 3\r\n\r\n')).toBe('none');
    expect(kind('HTTP/1.1 304 Not Modified\r\n\r\n')).toBe('none');
    expect(kind('HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n', 'HEAD')).toBe('none');
    expect(kind('HTTP/1.1 200 OK\r\n\r\n', 'CONNECT')).toBe('switch');
    expect(kind('HTTP/1.1 407 Auth\r\nContent-Length: 3\r\n\r\n', 'CONNECT')).toBe('length');
    expect(kind('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n')).toBe('chunked');
    expect(kind('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n')).toBe('length');
    expect(kind('HTTP/1.1 200 OK\r\n\r\n')).toBe('close');
  });

  test('an interim response and the final one from one chunk', () => {
    const raw = b('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n');
    const p = new ResponseHeadParser();
    expect(p.push(raw)?.status).toBe(100);
    expect(p.push(raw, p.consumed)?.status).toBe(201);
    expect(p.consumed).toBe(raw.length);
  });

  test('an empty line before the status line is an upstream error (no leniency)', () => {
    expect(() => parseResponseHead(b('\r\nHTTP/1.1 200 OK\r\n\r\n'))).toThrow(/empty line/);
  });
});
