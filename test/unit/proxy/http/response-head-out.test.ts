import { describe, expect, test } from 'vitest';
import { parseResponseHead } from '../../../../src/proxy/http1/response-head.ts';
import { HeaderEdits } from '../../../../src/proxy/http/header-edits.ts';
import { buildResponseHead, canPassResponseHead, responseFieldsForH2 } from '../../../../src/proxy/http/response-head-out.ts';

const head = (s: string) => parseResponseHead(Buffer.from(s, 'latin1'));

describe('response head to the client', () => {
  test.each([
    ['HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n', true],
    ['HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\n', true],
    ['HTTP/1.1 200 OK\r\nConnection: Keep-Alive\r\nTransfer-Encoding: chunked\r\n\r\n', true],
    ['HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\n', false],
    ['HTTP/1.1 200 OK\r\nConnection: keep-alive, x-foo\r\nContent-Length: 2\r\n\r\n', false],
    ['HTTP/1.1 200 OK\r\nKeep-Alive: timeout=5\r\nContent-Length: 2\r\n\r\n', false],
    ['HTTP/1.1 200 OK\r\nTrailer: X\r\nContent-Length: 2\r\n\r\n', false],
    ['HTTP/1.1 200 OK\r\nUpgrade: h2c\r\nContent-Length: 2\r\n\r\n', false],
    ['HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n', false],
  ])('canPassResponseHead(%j) = %s', (raw, want) => expect(canPassResponseHead(head(raw))).toBe(want));

  test('rebuilt: HTTP/1.1 status line, hop-by-hop dropped, framing and Connection added', () => {
    const h = head('HTTP/1.0 404 Not Found\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\nKeep-Alive: timeout=5\r\nServer: s\r\nContent-Length: 2\r\n\r\n');
    expect(buildResponseHead(h, { framing: 'asis', connection: 'close', edits: undefined }).toString('latin1')).toBe(
      'HTTP/1.1 404 Not Found\r\nServer: s\r\nContent-Length: 2\r\nConnection: close\r\n\r\n',
    );
    const c = head('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 20\r\n\r\n');
    const edits = new HeaderEdits();
    edits.set('Content-Encoding', 'gzip');
    expect(buildResponseHead(c, { framing: 'chunked', connection: undefined, edits }).toString('latin1')).toBe(
      'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\nContent-Encoding: gzip\r\n\r\n',
    );
    const close = head('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n');
    expect(buildResponseHead(close, { framing: 'close', connection: 'close', edits: undefined }).toString('latin1')).toBe('HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n');
  });

  test('101 keeps Upgrade with Connection: upgrade', () => {
    const h = head('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: x\r\n\r\n');
    expect(buildResponseHead(h, { framing: 'asis', connection: 'upgrade', edits: undefined }).toString('latin1')).toBe(
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: x\r\nConnection: upgrade\r\n\r\n',
    );
  });

  test('HTTP/2 fields: lowercase, no connection-specific ones, repeated fields as lists', () => {
    const h = head('HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nX-Y: z\r\n\r\n');
    expect(responseFieldsForH2(h, undefined)).toEqual({ 'set-cookie': ['a=1', 'b=2'], 'x-y': 'z' });
  });
});
