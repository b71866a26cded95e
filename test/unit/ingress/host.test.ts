import { describe, expect, test } from 'vitest';
import {
  ingressHostMatches,
  normalizeHostName,
  normalizeRequestHost,
  parseIngressHost,
  type IngressHost,
} from '../../../src/ingress/match/host.ts';

function host(h: string | undefined): IngressHost {
  const r = parseIngressHost(h);
  if (!r.ok) throw new Error(r.error);
  return r.host;
}

describe('Kubernetes documentation wildcard table', () => {
  const table: [string, string, boolean][] = [
    ['*.foo.com', 'bar.foo.com', true], // shared suffix
    ['*.foo.com', 'baz.bar.foo.com', false], // wildcard covers a single label
    ['*.foo.com', 'foo.com', false], // wildcard covers a single label
  ];
  for (const [pattern, header, want] of table) {
    test(`${pattern} vs ${header} -> ${want}`, () => {
      expect(ingressHostMatches(host(pattern), normalizeRequestHost(header))).toBe(want);
    });
  }
});

describe('host matching', () => {
  const cases: [string | undefined, string, boolean][] = [
    ['foo.bar.com', 'foo.bar.com', true],
    ['foo.bar.com', 'FOO.Bar.COM', true],
    ['foo.bar.com', 'foo.bar.com:8080', true],
    ['foo.bar.com', 'foo.bar.com.', true],
    ['foo.bar.com', 'xfoo.bar.com', false],
    ['FOO.bar.com', 'foo.bar.com', true],
    ['*.foo.com', 'BAR.foo.com:443', true],
    ['*.foo.com', '.foo.com', false],
    ['*.foo.com', 'barfoo.com', false],
    ['*.foo.com', 'bar.foo.co', false],
    [undefined, 'anything.example', true],
    ['', '', true],
  ];
  for (const [pattern, header, want] of cases) {
    test(`${String(pattern)} vs ${header} -> ${want}`, () => {
      expect(ingressHostMatches(host(pattern), normalizeRequestHost(header))).toBe(want);
    });
  }
});

describe('parseIngressHost errors', () => {
  const bad: [string, string][] = [
    ['*', 'invalid host "*": a wildcard must be "*." followed by a DNS name'],
    ['foo.*.com', 'invalid host "foo.*.com": a wildcard must be "*." followed by a DNS name'],
    ['*.*.com', 'invalid host "*.*.com": "*" is only allowed as the whole first label'],
    ['foo_bar.com', 'invalid host "foo_bar.com": labels must be 1-63 characters of a-z, 0-9 and "-", starting and ending with a letter or digit'],
    ['-a.com', 'invalid host "-a.com": labels must be 1-63 characters of a-z, 0-9 and "-", starting and ending with a letter or digit'],
    ['a..com', 'invalid host "a..com": labels must be 1-63 characters of a-z, 0-9 and "-", starting and ending with a letter or digit'],
    ['198.18.0.1', 'invalid host "198.18.0.1": must be a DNS name, not an IP address'],
    ['2001:db8::1', 'invalid host "2001:db8::1": must be a DNS name, not an IP address'],
    ['foo.com:80', 'invalid host "foo.com:80": must not contain a port'],
    [`${'a'.repeat(64)}.com`, `invalid host "${'a'.repeat(64)}.com": label longer than 63 characters`],
  ];
  for (const [h, message] of bad) {
    test(h.slice(0, 30), () => expect(parseIngressHost(h)).toEqual({ ok: false, error: message }));
  }
  test('wildcard holds its suffix, lowercased', () => {
    expect(host('*.Foo.COM')).toEqual({ kind: 'wildcard', suffix: 'foo.com' });
    expect(host('Foo.COM')).toEqual({ kind: 'exact', host: 'foo.com' });
  });
});

describe('normalizeRequestHost', () => {
  const cases: [string, string][] = [
    ['example.com', 'example.com'],
    ['Example.COM', 'example.com'],
    ['example.com:8443', 'example.com'],
    ['example.com.', 'example.com'],
    ['example.com.:80', 'example.com'],
    ['[2001:db8::1]:443', '2001:db8::1'],
    ['[2001:DB8::1]', '2001:db8::1'],
    ['2001:db8::1', '2001:db8::1'],
    ['', ''],
  ];
  for (const [raw, want] of cases) test(`${JSON.stringify(raw)} -> ${want}`, () => expect(normalizeRequestHost(raw)).toBe(want));
  test('returns the very same string when already canonical', () => {
    const s = ['exa', 'mple.org'].join('');
    expect(normalizeRequestHost(s)).toBe(s);
  });
  test('rule host names keep a port', () => {
    expect(normalizeHostName('A.com.')).toBe('a.com');
    expect(normalizeHostName('a.com:8080')).toBe('a.com:8080');
    expect(normalizeHostName('[::1]')).toBe('::1');
  });
});
