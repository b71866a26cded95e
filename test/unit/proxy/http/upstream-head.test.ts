import { describe, expect, test } from 'vitest';
import { parseRequestHead } from '../../../../src/proxy/http1/request-head.ts';
import { HeaderEdits } from '../../../../src/proxy/http/header-edits.ts';
import {
  canCopyRequestHead,
  copyRequestHead,
  forwardingFields,
  rebuildRequestHead,
  receivedForwardedFor,
  requestLineStart,
  type ForwardingIdentity,
} from '../../../../src/proxy/http/upstream-head.ts';

const ID: ForwardingIdentity = { clientIp: '192.0.2.7', proto: 'http', port: 80, forwardedFor: 'replace' };
const head = (s: string) => parseRequestHead(Buffer.from(s, 'latin1'));
const FWD = 'X-Forwarded-For: 192.0.2.7\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Host: a\r\nX-Forwarded-Port: 80\r\nX-Real-IP: 192.0.2.7\r\n';

describe('copy path', () => {
  test.each([
    ['GET / HTTP/1.1\r\nHost: a\r\nAccept: */*\r\n\r\n', true],
    ['POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\n', false], // framing is always written by metalgate, never copied
    ['POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n', false],
    ['GET / HTTP/1.0\r\nHost: a\r\n\r\n', false],
    ['GET http://a/x HTTP/1.1\r\nHost: a\r\n\r\n', false],
    ['GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\n\r\n', false],
    ['GET / HTTP/1.1\r\nHost: a\r\nKeep-Alive: 5\r\n\r\n', false],
    ['GET / HTTP/1.1\r\nHost: a\r\nTE: trailers\r\n\r\n', false],
    ['GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 1.1.1.1\r\n\r\n', false],
    ['GET / HTTP/1.1\r\nHost: a\r\nX-Real-IP: 1.1.1.1\r\n\r\n', false],
    ['GET / HTTP/1.1\r\nHost: a\r\nx-forwarded-port: 1\r\n\r\n', false],
    ['POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n', false],
    ['GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n', false],
  ])('canCopyRequestHead(%j) = %s', (raw, want) => expect(canCopyRequestHead(head(raw))).toBe(want));

  test('copies the request line and fields as received, then the forwarding fields', () => {
    const raw = '\r\nGET /p?q HTTP/1.1\r\nHost: a\r\nAccept: */*\r\n\r\n';
    const h = head(raw);
    const start = requestLineStart(h.headers.buf, 0);
    const out = copyRequestHead(h, start, Buffer.from(forwardingFields(ID, h.authority, ''), 'latin1'));
    expect(out.toString('latin1')).toBe(`GET /p?q HTTP/1.1\r\nHost: a\r\nAccept: */*\r\n${FWD}\r\n`);
  });
});

describe('rebuild path', () => {
  const rebuild = (raw: string, o: Partial<Parameters<typeof rebuildRequestHead>[1]> = {}) => {
    const h = head(raw);
    return rebuildRequestHead(h, {
      target: h.path,
      host: h.authority,
      forwarding: forwardingFields(ID, h.authority, ''),
      framing: h.chunked ? 'chunked' : h.contentLength >= 0 ? 'length' : 'none',
      contentLength: h.contentLength,
      upgrade: h.upgrade !== undefined,
      edits: undefined,
      ...o,
    }).toString('latin1');
  };

  test('drops hop-by-hop fields, what Connection names, Expect and client forwarding fields', () => {
    const out = rebuild(
      'POST /x HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\nKeep-Alive: 5\r\nProxy-Connection: x\r\nTE: trailers\r\nTrailer: X\r\n' +
        'Expect: 100-continue\r\nX-Forwarded-For: 1.1.1.1\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Host: evil\r\nX-Real-IP: 1.1.1.1\r\nX-Forwarded-Port: 1\r\nUpgrade: h2c\r\nAccept: */*\r\nContent-Length: 3\r\n\r\n',
    );
    expect(out).toBe(`POST /x HTTP/1.1\r\nHost: a\r\nAccept: */*\r\n${FWD}Content-Length: 3\r\n\r\n`);
  });

  test('HTTP/1.0 and absolute-form become an HTTP/1.1 origin-form request', () => {
    expect(rebuild('GET http://b.example/p?q HTTP/1.1\r\nHost: ignored\r\n\r\n')).toBe(
      `GET /p?q HTTP/1.1\r\nHost: b.example\r\n${FWD.replace('X-Forwarded-Host: a', 'X-Forwarded-Host: b.example')}\r\n`,
    );
    expect(rebuild('GET / HTTP/1.0\r\n\r\n')).toBe(`GET / HTTP/1.1\r\nHost: \r\n${FWD.replace('X-Forwarded-Host: a\r\n', '')}\r\n`);
  });

  test('chunked framing is re-emitted canonically; an upgrade keeps Upgrade with Connection: upgrade', () => {
    expect(rebuild('POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:  CHUNKED \r\nConnection: x\r\n\r\n')).toBe(`POST / HTTP/1.1\r\nHost: a\r\n${FWD}Transfer-Encoding: chunked\r\n\r\n`);
    expect(rebuild('GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: k\r\n\r\n')).toBe(
      `GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nSec-WebSocket-Key: k\r\n${FWD}Connection: upgrade\r\n\r\n`,
    );
  });

  test('middleware edits: target, host, removed and added fields', () => {
    const edits = new HeaderEdits();
    edits.set('X-Set', 'v');
    edits.remove('accept');
    edits.add('X-Add', '1');
    expect(rebuild('GET /api/x HTTP/1.1\r\nHost: a\r\nAccept: */*\r\nX-Set: old\r\n\r\n', { target: '/x', host: 'svc', edits })).toBe(
      `GET /x HTTP/1.1\r\nHost: svc\r\n${FWD}X-Set: v\r\nX-Add: 1\r\n\r\n`,
    );
  });

  test('append mode keeps the received chain', () => {
    const h = head('GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 1.1.1.1\r\nX-Forwarded-For: 2.2.2.2, 3.3.3.3\r\n\r\n');
    expect(receivedForwardedFor(h)).toBe('1.1.1.1, 2.2.2.2, 3.3.3.3');
    expect(forwardingFields(ID, 'a', receivedForwardedFor(h))).toContain('X-Forwarded-For: 1.1.1.1, 2.2.2.2, 3.3.3.3, 192.0.2.7\r\n');
  });
});
