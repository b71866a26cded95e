import { describe, expect, test } from 'vitest';
import { compileGoRegexp, type GoRegexp } from '../../../src/ingress/match/go-regexp.ts';
import { compileMuxTemplate } from '../../../src/ingress/match/mux-template.ts';

function re(src: string): GoRegexp {
  const r = compileGoRegexp(src);
  if (!r.ok) throw new Error(r.error);
  return r.regexp;
}

describe('Go regexp syntax', () => {
  const cases: [string, string, boolean][] = [
    ['(?i)abc', 'xABCx', true],
    ['x(?i)a|b', 'B', true], // (?i) reaches the end of the group, across "|"
    ['x(?i)a|b', 'xA', true],
    ['x(?i)a|b', 'XA', false],
    ['(a(?i)b)c', 'aBc', true],
    ['(a(?i)b)c', 'aBC', false],
    ['(?i:a)b', 'Ab', true],
    ['(?i:a)b', 'AB', false],
    ['(?s)a.b', 'a\nb', true],
    ['a.b', 'a\nb', false],
    ['(?m)^b$', 'a\nb\nc', true],
    ['^b$', 'a\nb\nc', false],
    ['(?P<year>[0-9]{4})-(?<m>[0-9]{2})', '2024-05', true],
    ['[[:alpha:]]+[[:digit:]]', 'ab1', true],
    ['^[[:xdigit:]]+$', 'c0ffee', true],
    ['^[[:xdigit:]]+$', 'coffee', false],
    ['^\\pL+$', 'été', true],
    ['^\\p{Greek}+$', 'αβγ', true],
    ['^\\PL$', '1', true],
    ['\\x{20AC}', '€', true],
    ['\\x41', 'A', true],
    ['\\101', 'A', true],
    ['\\QA.B\\E', 'A.B', true],
    ['\\QA.B\\E', 'AxB', false],
    ['\\Aab', 'ab', true],
    ['ab\\z', 'xab', true],
    ['ab\\z', 'ab\n', false],
    ['a{', 'a{', true],
    ['a{,2}', 'a{,2}', true],
    ['}', '}', true],
    ['[]a]+', ']a', true],
    ['[^]a]', 'b', true],
    ['\\-\\!\\@', '-!@', true],
    ['[\\d\\-]+', '1-2', true],
    ['a{2}', 'aa', true],
    ['\\bfoo\\b', 'a foo b', true],
  ];
  for (const [src, input, want] of cases) {
    test(`${src} on ${JSON.stringify(input)} -> ${want}`, () => expect(re(src).test(input)).toBe(want));
  }
});

describe('what RE2 rejects, in Go\'s words', () => {
  const bad: [string, string][] = [
    ['(?=a)', 'invalid or unsupported Perl syntax: `(?=`'],
    ['(?!a)', 'invalid or unsupported Perl syntax: `(?!`'],
    ['(?<=a)b', 'invalid named capture: `(?<=a)b`'],
    ['(a)\\1', 'invalid escape sequence: `\\1`'],
    ['\\8', 'invalid escape sequence: `\\8`'],
    ['\\Z', 'invalid escape sequence: `\\Z`'],
    ['a{1001}', 'invalid repeat count: `{1001}`'],
    ['a{3,2}', 'invalid repeat count: `{3,2}`'],
    ['(a', 'missing closing ): `(a`'],
    ['a)', 'unexpected ): `a)`'],
    ['[a', 'missing closing ]: `[a`'],
    ['[[:foo:]]', 'invalid character class range: `[:foo:]`'],
    ['a\\', 'trailing backslash at end of expression'],
    ['*a', 'missing argument to repetition operator: `*`'],
    ['a**', 'invalid nested repetition operator: `**`'],
  ];
  for (const [src, error] of bad) test(src, () => expect(compileGoRegexp(src)).toEqual({ ok: false, error }));
});

describe('RE2 syntax JavaScript has no word for', () => {
  test('(?U) swaps greedy and lazy; negated POSIX classes; group names may start with a digit', () => {
    expect(re('(?U)a+').exec('aaa')?.[0]).toBe('a');
    expect(re('^[[:^alpha:]]+$').test('123')).toBe(true);
    expect(re('^[[:^alpha:]]+$').test('1a3')).toBe(false);
    expect(re('(?P<1x>a)').exec('a')?.groups?.['1x']).toBe('a');
  });
});

describe('linear time', () => {
  test('a pattern that makes a backtracking engine exponential answers at once', () => {
    // V8's RegExp took 387 ms on 27 characters; this is 10,000, with a budget that only a linear engine meets.
    const input = `/${'a'.repeat(10_000)}b`;
    const started = performance.now();
    expect(re('^/(a+)+$').test(input)).toBe(false);
    expect(performance.now() - started).toBeLessThan(2_000);
  });
});

describe('gorilla/mux templates (v2)', () => {
  test('host: default pattern is one label, literals lowercased and quoted', () => {
    const r = compileMuxTemplate('{sub}.Example.com', 'host');
    expect(r.ok && r.regexp.source).toBe('^(?:[^.]+)\\.example\\.com$');
  });
  test('path prefix is anchored at the start only', () => {
    const r = compileMuxTemplate('/a/{id:[0-9]+}', 'pathPrefix');
    expect(r.ok && r.regexp.source).toBe('^/a/(?:[0-9]+)');
  });
  test('nested braces inside a pattern', () => {
    const r = compileMuxTemplate('/{y:[0-9]{4}}', 'path');
    expect(r.ok && r.regexp.test('/2024')).toBe(true);
  });
  test('a leading flag in a fragment stays in the fragment', () => {
    const r = compileMuxTemplate('/{x:(?i)ab}/c', 'path');
    expect(r.ok && [r.regexp.test('/AB/c'), r.regexp.test('/ab/C')]).toEqual([true, false]);
  });
  test('errors', () => {
    expect(compileMuxTemplate('{a', 'host')).toEqual({ ok: false, error: 'unbalanced braces' });
    expect(compileMuxTemplate('a}', 'host')).toEqual({ ok: false, error: 'unbalanced braces' });
    expect(compileMuxTemplate('{:x}', 'host')).toEqual({ ok: false, error: 'missing name or pattern in {:x}' });
  });
});
