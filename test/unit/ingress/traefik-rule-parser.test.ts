import { describe, expect, test } from 'vitest';
import { compileTraefikRule } from '../../../src/ingress/match/traefik-rule-compiler.ts';
import type { RuleSyntax } from '../../../src/ingress/match/traefik-rule-matchers.ts';
import { parseTraefikRule } from '../../../src/ingress/match/traefik-rule-parser.ts';
import type { RuleNode } from '../../../src/ingress/match/traefik-rule-ast.ts';

/** Valid rules and the hosts they index under (null: any host). */
const VALID: readonly [RuleSyntax, string, readonly string[] | null][] = [
  ['v3', 'Host(`example.com`)', ['example.com']],
  ['v3', 'Host("example.com")', ['example.com']],
  ['v3', 'host(`example.com`)', ['example.com']],
  ['v3', 'HOST(`example.com`)', ['example.com']],
  ['v3', 'Host(`example.com`) && PathPrefix(`/api`)', ['example.com']],
  ['v3', 'Host(`a.com`) || Host(`b.com`)', ['a.com', 'b.com']],
  ['v3', '!Host(`a.com`)', null],
  ['v3', '!!Host(`a.com`)', null],
  ['v3', '(Host(`a.com`))', ['a.com']],
  ['v3', '((Host(`a.com`) || Host(`b.com`)) && Path(`/x`))', ['a.com', 'b.com']],
  ['v3', 'Host(`a.com`) && !(Path(`/a`) || Path(`/b`))', ['a.com']],
  ['v3', 'Host(`a.com`) || PathPrefix(`/`)', null],
  ['v3', 'Host(`a.com`) && Host(`b.com`)', []],
  ['v3', '(Host(`a.com`) || Host(`b.com`)) && (Host(`b.com`) || Host(`c.com`))', ['b.com']],
  ['v3', 'HostRegexp(`^[a-z]+\\.example\\.com$`)', null],
  ['v3', 'Hostregexp(`^x$`)', null],
  ['v3', 'PathRegexp(`^/api/v[0-9]+/`)', null],
  ['v3', 'Method(`get`)', null],
  ['v3', 'Header(`X-Canary`, `always`)', null],
  ['v3', 'HeaderRegexp(`User-Agent`, `(?i)mobile`)', null],
  ['v3', 'Query(`mobile`)', null],
  ['v3', 'Query(`lang`, `fr`)', null],
  ['v3', 'QueryRegexp(`lang`, `^(fr|de)$`)', null],
  ['v3', 'QueryRegexp(`debug`)', null],
  ['v3', 'ClientIP(`198.18.0.0/15`)', null],
  ['v3', 'ClientIP(`2001:db8::/32`)', null],
  ['v3', 'ClientIP(`198.18.0.1`)', null],
  ['v3', 'Host("a.com",)', ['a.com']],
  ['v3', '  Host(`a.com`)\n\t&& Path(`/`)  ', ['a.com']],
  ['v3', 'Host("\\x61.com")', ['a.com']],
  ['v3', 'Host(`A.COM.`)', ['a.com']],
  ['v3', 'Path(`/a b`)', null],
  ['v2', 'Host(`a.com`, `b.com`)', ['a.com', 'b.com']],
  ['v2', 'HostHeader(`a.com`)', ['a.com']],
  ['v2', 'HostRegexp(`{sub:[a-z]+}.example.com`)', null],
  ['v2', 'HostRegexp(`{sub}.example.com`, `example.org`)', null],
  ['v2', 'Path(`/articles/{cat:[a-z]+}/{id:[0-9]+}`)', null],
  ['v2', 'PathPrefix(`/a`, `/b/{id}`)', null],
  ['v2', 'Method(`GET`, `POST`)', null],
  ['v2', 'Headers(`X-A`, `1`)', null],
  ['v2', 'HeadersRegexp(`X-A`, `^[0-9]+$`)', null],
  ['v2', 'Query(`a=1`, `b=`)', null],
  ['v2', 'ClientIP(`198.18.0.0/15`, `2001:db8::1`)', null],
  ['v2', 'Host(`a.com`) && (Host(`a.com`, `b.com`) || Host(`a.com`))', ['a.com']],
];

/** Invalid rules and their exact message (reason + 0-based position). */
const INVALID: readonly [RuleSyntax, string, string][] = [
  ['v3', '', 'empty rule at 0'],
  ['v3', '   ', 'empty rule at 0'],
  ['v3', 'Hots(`a`)', 'unknown matcher "Hots" at 0'],
  ['v3', 'Host(`a`, `b`)', 'Host takes 1 argument, got 2 at 0'],
  ['v3', 'Host()', 'Host takes 1 argument, got 0 at 0'],
  ['v3', 'Header(`a`)', 'Header takes 2 arguments, got 1 at 0'],
  ['v3', 'Query(`a`, `b`, `c`)', 'Query takes 1 or 2 arguments, got 3 at 0'],
  ['v3', 'Host(`ab.com`))', 'unexpected token ")" at 14'],
  ['v3', 'Host(`a`) && Path(`/x`))', 'unexpected token ")" at 23'],
  ['v3', 'Host(`a`) &&', 'unexpected end of rule at 12'],
  ['v3', 'Host(`a`) ||   ', 'unexpected end of rule at 15'],
  ['v3', 'Host(`a', 'unterminated string at 5'],
  ['v3', 'Host("a)', 'unterminated string at 5'],
  ['v3', 'Host("a\nb")', 'unterminated string at 5'],
  ['v3', 'Host("a\\q")', 'invalid escape sequence \\q at 7'],
  ['v3', 'Host("\\u00")', 'invalid escape sequence \\u at 6'],
  ['v3', "Host('a')", 'single-quoted strings are not allowed, use backticks or double quotes at 5'],
  ['v3', 'Host(`a`) & Path(`/`)', 'unexpected character "&", expected "&&" at 10'],
  ['v3', 'Host(`a`) | Path(`/`)', 'unexpected character "|", expected "||" at 10'],
  ['v3', 'Host(`a`) and Path(`/`)', 'unexpected token "and" at 10'],
  ['v3', 'Host(`a`) Path(`/`)', 'unexpected token "Path" at 10'],
  ['v3', 'Host', 'expected "(" after Host at 4'],
  ['v3', 'Host `a`', 'expected "(" after Host at 5'],
  ['v3', 'Host(a)', 'unexpected token "a" at 5'],
  ['v3', 'Host(`a` `b`)', 'unexpected string `b` at 9'],
  ['v3', 'Host(`a`,,)', 'unexpected token "," at 9'],
  ['v3', 'Host(,)', 'unexpected token "," at 5'],
  ['v3', '(Host(`a`)', 'unclosed "(" at 0'],
  ['v3', '!(Host(`a`)', 'unclosed "(" at 1'],
  ['v3', 'Host(`a`', 'unclosed "(" at 4'],
  ['v3', ')', 'unexpected token ")" at 0'],
  ['v3', '&& Host(`a`)', 'unexpected token "&&" at 0'],
  ['v3', '!', 'unexpected end of rule at 1'],
  ['v3', '()', 'unexpected token ")" at 1'],
  ['v3', 'Host(`a`) @', 'unexpected character "@" at 10'],
  ['v3', 'Host(`a`) && Hots(`b`)', 'unknown matcher "Hots" at 13'],
  ['v3', `${'('.repeat(300)}Host(\`a\`)${')'.repeat(300)}`, 'rule nested too deeply at 200'],
  ['v3', 'Path(`foo`)', 'Path value must start with "/", got `foo` at 5'],
  ['v3', 'PathPrefix(`api`)', 'PathPrefix value must start with "/", got `api` at 11'],
  ['v3', 'PathRegexp(`^/(a`)', 'invalid regular expression `^/(a` for PathRegexp: missing closing ): `^/(a` at 11'],
  ['v3', 'HostRegexp(`[a-z`)', 'invalid regular expression `[a-z` for HostRegexp: missing closing ]: `[a-z` at 11'],
  ['v3', 'HeaderRegexp(`X`, `a**`)', 'invalid regular expression `a**` for HeaderRegexp: invalid nested repetition operator: `**` at 18'],
  ['v3', 'PathRegexp(`(?=x)`)', 'invalid regular expression `(?=x)` for PathRegexp: invalid or unsupported Perl syntax: `(?=` at 11'],
  ['v3', 'PathRegexp(`\\1`)', 'invalid regular expression `\\1` for PathRegexp: invalid escape sequence: `\\1` at 11'],
  ['v3', 'QueryRegexp(`a`, `[`)', 'invalid regular expression `[` for QueryRegexp: missing closing ]: `[` at 17'],
  ['v3', 'PathRegexp(`a{1001}`)', 'invalid regular expression `a{1001}` for PathRegexp: invalid repeat count: `{1001}` at 11'],
  ['v3', 'ClientIP(`198.18.0.0/33`)', 'invalid IP or CIDR `198.18.0.0/33` for ClientIP at 9'],
  ['v3', 'ClientIP(`300.1.1.1`)', 'invalid IP or CIDR `300.1.1.1` for ClientIP at 9'],
  ['v3', 'ClientIP(`2001:db8::/129`)', 'invalid IP or CIDR `2001:db8::/129` for ClientIP at 9'],
  ['v3', 'ClientIP(`010.0.0.1`)', 'invalid IP or CIDR `010.0.0.1` for ClientIP at 9'],
  ['v3', 'ClientIP(`198.18.0.0/`)', 'invalid IP or CIDR `198.18.0.0/` for ClientIP at 9'],
  ['v3', 'ClientIP(`fe80::1%eth0`)', 'invalid IP or CIDR `fe80::1%eth0` for ClientIP at 9'],
  ['v3', 'Method(`GET POST`)', 'invalid method `GET POST` at 7'],
  ['v3', 'Header(`X A`, `1`)', 'invalid header name `X A` for Header at 7'],
  ['v3', 'Host(``)', 'empty argument for Host at 5'],
  ['v3', 'Method(``)', 'empty argument for Method at 7'],
  ['v3', 'Host(`exämple.com`)', 'non-ASCII characters are not allowed in Host at 5'],
  ['v3', 'Headers(`k`, `v`)', 'unknown matcher "Headers" in v3 syntax, use "Header" at 0'],
  ['v3', 'HostHeader(`a`)', 'unknown matcher "HostHeader" in v3 syntax, use "Host" at 0'],
  ['v2', 'Header(`k`, `v`)', 'unknown matcher "Header" in v2 syntax, use "Headers" at 0'],
  ['v2', 'PathRegexp(`^/a`)', 'unknown matcher "PathRegexp" in v2 syntax, it needs ruleSyntax v3 at 0'],
  ['v2', 'Host()', 'Host takes at least 1 argument, got 0 at 0'],
  ['v2', 'Headers(`a`, `b`, `c`)', 'Headers takes key/value pairs, got 3 arguments at 0'],
  ['v2', 'Headers(`a`)', 'Headers takes key/value pairs, got 1 argument at 0'],
  ['v2', 'Query(`foo`)', 'Query value must be key=value, got `foo` at 6'],
  ['v2', 'Query(`=1`)', 'Query value must be key=value, got `=1` at 6'],
  ['v2', 'HostRegexp(`{sub:[a-z]+.example.com`)', 'invalid template `{sub:[a-z]+.example.com` for HostRegexp: unbalanced braces at 11'],
  ['v2', 'Path(`/a/{}`)', 'invalid template `/a/{}` for Path: missing name or pattern in {} at 5'],
  ['v2', 'Path(`/a/{id:}`)', 'invalid template `/a/{id:}` for Path: missing name or pattern in {id:} at 5'],
  ['v2', 'Path(`/a/{id:(}`)', 'invalid template `/a/{id:(}` for Path: missing closing ): `(` in {id:(} at 5'],
  ['v2', 'Host(`a.com`, `b.com`) && Host(`c.com`, ``)', 'empty argument for Host at 40'],
];

describe('valid Traefik rules', () => {
  for (const [syntax, rule, hosts] of VALID) {
    test(`${syntax} ${JSON.stringify(rule)}`, () => {
      const r = compileTraefikRule(rule, { syntax });
      if (!r.ok) throw new Error(r.error.message);
      expect(r.rule.hosts).toEqual(hosts);
      expect(r.rule.syntax).toBe(syntax);
      expect(r.rule.defaultPriority).toBe(Buffer.byteLength(rule));
    });
  }
});

describe('invalid Traefik rules: exact message and position', () => {
  for (const [syntax, rule, message] of INVALID) {
    test(`${syntax} ${JSON.stringify(rule.length > 60 ? `${rule.slice(0, 57)}...` : rule)}`, () => {
      const r = compileTraefikRule(rule, { syntax });
      expect(r.ok).toBe(false);
      if (r.ok) return;
      expect(r.error.message).toBe(message);
      expect(r.error.message).toBe(`${r.error.reason} at ${r.error.position}`);
    });
  }
  test('has at least 60 cases across both syntaxes', () => {
    expect(VALID.length + INVALID.length).toBeGreaterThanOrEqual(60);
  });
});

describe('parser tree shape', () => {
  function show(n: RuleNode): string {
    switch (n.type) {
      case 'matcher':
        return `${n.name}(${n.args.map((a) => a.value).join(',')})`;
      case 'not':
        return `!${show(n.operand)}`;
      default:
        return `(${show(n.left)} ${n.type === 'and' ? '&&' : '||'} ${show(n.right)})`;
    }
  }
  const cases: [string, string][] = [
    ['A(`1`) || B(`2`) && C(`3`)', '(A(1) || (B(2) && C(3)))'],
    ['A(`1`) && B(`2`) || C(`3`)', '((A(1) && B(2)) || C(3))'],
    ['!A(`1`) && B(`2`)', '(!A(1) && B(2))'],
    ['!(A(`1`) && B(`2`))', '!(A(1) && B(2))'],
    ['A(`1`) && B(`2`) && C(`3`)', '((A(1) && B(2)) && C(3))'],
    ['A(`1`) || (B(`2`) || C(`3`))', '(A(1) || (B(2) || C(3)))'],
    ['A("a\\"b", `c\\d`)', 'A(a"b,c\\d)'],
  ];
  for (const [rule, shape] of cases) {
    test(rule, () => {
      const r = parseTraefikRule(rule);
      if (!r.ok) throw new Error(r.error.message);
      expect(show(r.ast)).toBe(shape);
    });
  }
  test('positions of operators and arguments', () => {
    const r = parseTraefikRule('Host(`a`) && Path(`/`)');
    expect(r.ok && r.ast).toMatchObject({
      type: 'and',
      position: 10,
      left: { type: 'matcher', name: 'Host', position: 0, args: [{ value: 'a', position: 5 }] },
      right: { type: 'matcher', name: 'Path', position: 13, args: [{ value: '/', position: 18 }] },
    });
  });
  test('default priority counts bytes like Go len()', () => {
    const r = compileTraefikRule('Path(`/é`)');
    expect(r.ok && r.rule.defaultPriority).toBe(11);
  });
});
