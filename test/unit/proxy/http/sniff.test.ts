// The content sniffer of Traefik's contentType middleware: a few answers and
// the chunked-body helper (compared with Go's http.DetectContentType in
// test/integration/proxy/sniff-go.test.ts).
import { describe, expect, test } from 'vitest';
import { firstChunkData, sniffContentType } from '../../../../src/proxy/http/sniff.ts';

const latin1 = (s: string): Uint8Array => Buffer.from(s, 'latin1');

describe('sniffContentType', () => {
  test('a few answers, without Go', () => {
    expect(sniffContentType(latin1(' <!DOCTYPE html>'))).toBe('text/html; charset=utf-8');
    expect(sniffContentType(latin1('\x89PNG\r\n\x1A\n'))).toBe('image/png');
    expect(sniffContentType(latin1('{"json":true}'))).toBe('text/plain; charset=utf-8');
    expect(sniffContentType(latin1('a\x00b'))).toBe('application/octet-stream');
  });

  test("the first chunk's payload of a chunked body", () => {
    expect(Buffer.from(firstChunkData(latin1('5;ext=1\r\nhello\r\n0\r\n\r\n'), 0)).toString()).toBe('hello');
    expect(Buffer.from(firstChunkData(latin1('xxA\r\n<html> ok'), 2)).toString()).toBe('<html> ok');
    expect(firstChunkData(latin1('5'), 0).length).toBe(0);
  });
});
