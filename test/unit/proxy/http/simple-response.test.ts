import { describe, expect, test } from 'vitest';
import { errorResponse, serializeSimpleResponse } from '../../../../src/proxy/http/simple-response.ts';

const text = (b: Buffer) => b.toString('latin1').replace(/Date: [^\r]+\r\n/, '');

describe('proxy-made responses', () => {
  test('text body with type, length and close', () => {
    expect(text(serializeSimpleResponse(errorResponse(503, 'no endpoint'), { close: true, head: false }))).toBe(
      'HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 12\r\nConnection: close\r\n\r\nno endpoint\n',
    );
  });

  test('redirect with fields; HEAD keeps the length and drops the body; framing fields from the caller are ignored', () => {
    const r = { status: 308, headers: [['Location', 'https://a/'], ['Content-Length', '99'], ['Connection', 'keep-alive']] as [string, string][], body: 'moved' };
    expect(text(serializeSimpleResponse(r, { close: false, head: true }))).toBe(
      'HTTP/1.1 308 Permanent Redirect\r\nLocation: https://a/\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 5\r\n\r\n',
    );
  });

  test('204 has neither body nor length; UTF-8 bodies are counted in bytes', () => {
    expect(text(serializeSimpleResponse({ status: 204 }, { close: false, head: false }))).toBe('HTTP/1.1 204 No Content\r\n\r\n');
    expect(text(serializeSimpleResponse({ status: 200, body: 'é' }, { close: false, head: false }))).toContain('Content-Length: 2\r\n');
  });

  test('header injection is refused', () => {
    expect(() => serializeSimpleResponse({ status: 302, headers: [['Location', '/a\r\nSet-Cookie: x=1']] }, { close: false, head: false })).toThrow(TypeError);
    expect(() => serializeSimpleResponse({ status: 302, headers: [['Bad Name', 'x']] }, { close: false, head: false })).toThrow(TypeError);
  });
});
