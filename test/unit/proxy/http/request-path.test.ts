import { describe, expect, test } from 'vitest';
import { needsNormalizing, normalizePath, queryStart } from '../../../../src/proxy/http/request-path.ts';

const norm = (p: string): string | null => normalizePath(p, p.length);

describe('request path for routing', () => {
  test('query split', () => {
    expect(queryStart('/a?b=1')).toBe(2);
    expect(queryStart('/a')).toBe(2);
    expect(queryStart('/?')).toBe(1);
  });

  test.each([
    ['/', false],
    ['/a/b.css', false],
    ['/a/.well-known', true],
    ['/a//b', true],
    ['/a%20b', true],
    ['/a/b/', false],
  ])('needsNormalizing(%s) = %s', (p, want) => expect(needsNormalizing(p, p.length)).toBe(want));

  test.each([
    ['/a//b///c', '/a/b/c'],
    ['/a/./b', '/a/b'],
    ['/a/b/..', '/a/'],
    ['/a/b/../c', '/a/c'],
    ['/../../etc/passwd', '/etc/passwd'],
    ['/a/%2e%2e/b', '/b'],
    ['/caf%C3%A9', '/café'],
    ['/%E9', '/é'], // not UTF-8: bytes kept as latin1
    ['/a%2Fb', '/a/b'],
    ['/a/.', '/a/'],
    ['/.', '/'],
    ['/%zz', '/%zz'],
  ])('normalizePath(%s) = %s', (p, want) => expect(norm(p)).toBe(want));

  test('control characters after decoding are refused', () => {
    expect(norm('/a%00b')).toBeNull();
    expect(norm('/a%0d%0aX')).toBeNull();
    expect(norm('/a%7f')).toBeNull();
  });
});
