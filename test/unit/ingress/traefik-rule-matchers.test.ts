import { describe, expect, test } from 'vitest';
import { compileTraefikRule } from '../../../src/ingress/match/traefik-rule-compiler.ts';
import type { RuleSyntax } from '../../../src/ingress/match/traefik-rule-matchers.ts';
import { EMPTY_REQUEST, parseQuery, type HttpRequestInfo } from '../../../src/ingress/match/request-view.ts';

type Req = Partial<HttpRequestInfo>;

function req(r: Req): HttpRequestInfo {
  return { ...EMPTY_REQUEST, host: 'example.com', ...r };
}

/** [rule, request, expected] per matcher; v3 unless the group says v2. */
const CASES: Record<string, { syntax?: RuleSyntax; cases: [string, Req, boolean][] }> = {
  Host: {
    cases: [
      ['Host(`example.com`)', { host: 'example.com' }, true],
      ['Host(`example.com`)', { host: 'EXAMPLE.com' }, true],
      ['Host(`Example.COM`)', { host: 'example.com' }, true],
      ['Host(`example.com`)', { host: 'example.com:8080' }, true],
      ['Host(`example.com`)', { host: 'example.com.' }, true],
      ['Host(`example.com.`)', { host: 'example.com' }, true],
      ['Host(`example.com`)', { host: 'www.example.com' }, false],
      ['Host(`example.com`)', { host: '' }, false],
      ['Host(`::1`)', { host: '[::1]:443' }, true],
      ['Host(`a.com:8080`)', { host: 'a.com:8080' }, false],
    ],
  },
  HostRegexp: {
    cases: [
      ['HostRegexp(`^[a-z]+\\.example\\.com$`)', { host: 'api.example.com' }, true],
      ['HostRegexp(`^[a-z]+\\.example\\.com$`)', { host: 'API.example.com:80' }, true],
      ['HostRegexp(`^[a-z]+\\.example\\.com$`)', { host: 'a.b.example.com' }, false],
      ['HostRegexp(`example`)', { host: 'www.example.org' }, true],
      ['HostRegexp(`^(?P<sub>[a-z]+)\\.example\\.com$`)', { host: 'x.example.com' }, true],
    ],
  },
  Path: {
    cases: [
      ['Path(`/foo`)', { path: '/foo' }, true],
      ['Path(`/foo`)', { path: '/foo/' }, false],
      ['Path(`/foo`)', { path: '/Foo' }, false],
      ['Path(`/`)', { path: '' }, true],
    ],
  },
  PathPrefix: {
    cases: [
      ['PathPrefix(`/foo`)', { path: '/foo' }, true],
      ['PathPrefix(`/foo`)', { path: '/foobar' }, true], // Traefik: plain string prefix
      ['PathPrefix(`/foo/`)', { path: '/foo' }, false],
      ['PathPrefix(`/`)', { path: '/anything' }, true],
    ],
  },
  PathRegexp: {
    cases: [
      ['PathRegexp(`^/api/v[0-9]+/`)', { path: '/api/v2/users' }, true],
      ['PathRegexp(`^/api/v[0-9]+/`)', { path: '/api/vx/users' }, false],
      ['PathRegexp(`\\.(css|js)$`)', { path: '/static/app.js' }, true],
      ['PathRegexp(`(?i)^/ADMIN`)', { path: '/admin/x' }, true],
      ['PathRegexp(`^/a\\z`)', { path: '/a' }, true],
      ['PathRegexp(`^/a\\z`)', { path: '/ab' }, false],
    ],
  },
  Method: {
    cases: [
      ['Method(`GET`)', { method: 'GET' }, true],
      ['Method(`get`)', { method: 'GET' }, true],
      ['Method(`GET`)', { method: 'POST' }, false],
    ],
  },
  Header: {
    cases: [
      ['Header(`X-Canary`, `always`)', { headers: { 'x-canary': 'always' } }, true],
      ['Header(`x-canary`, `always`)', { headers: { 'x-canary': 'always' } }, true],
      ['Header(`X-Canary`, `always`)', { headers: { 'x-canary': 'Always' } }, false],
      ['Header(`X-Canary`, `always`)', { headers: { 'x-canary': ['never', 'always'] } }, true],
      ['Header(`X-Canary`, `always`)', { headers: { 'x-canary': 'never, always' } }, false],
      ['Header(`X-Canary`, `always`)', { headers: {} }, false],
    ],
  },
  HeaderRegexp: {
    cases: [
      ['HeaderRegexp(`User-Agent`, `(?i)mobile`)', { headers: { 'user-agent': 'Foo Mobile/1.0' } }, true],
      ['HeaderRegexp(`User-Agent`, `^curl/`)', { headers: { 'user-agent': 'Wget/1' } }, false],
      ['HeaderRegexp(`X-Id`, `^[0-9]+$`)', { headers: { 'x-id': ['abc', '42'] } }, true],
      ['HeaderRegexp(`X-Id`, `.*`)', { headers: {} }, false],
    ],
  },
  Query: {
    cases: [
      ['Query(`lang`, `fr`)', { query: 'lang=fr' }, true],
      ['Query(`lang`, `fr`)', { query: 'lang=de&lang=fr' }, true],
      ['Query(`lang`, `fr`)', { query: 'lang=de' }, false],
      ['Query(`lang`, `fr fr`)', { query: 'lang=fr+fr' }, true],
      ['Query(`lang`, `fr/fr`)', { query: 'lang=fr%2Ffr' }, true],
      ['Query(`mobile`)', { query: 'mobile' }, true],
      ['Query(`mobile`)', { query: 'mobile=' }, true],
      ['Query(`mobile`)', { query: 'mobile=1' }, false],
      ['Query(`mobile`)', { query: '' }, false],
      ['Query(`a`, `1`)', { query: 'a=1;b=2' }, false], // Go skips pairs with ";"
    ],
  },
  QueryRegexp: {
    cases: [
      ['QueryRegexp(`lang`, `^(fr|de)$`)', { query: 'x=1&lang=de' }, true],
      ['QueryRegexp(`lang`, `^(fr|de)$`)', { query: 'lang=en' }, false],
      ['QueryRegexp(`debug`)', { query: 'debug' }, true],
      ['QueryRegexp(`debug`)', { query: 'debug=1' }, false],
    ],
  },
  ClientIP: {
    cases: [
      ['ClientIP(`198.18.0.0/15`)', { clientIp: '198.19.255.255' }, true],
      ['ClientIP(`198.18.0.0/15`)', { clientIp: '198.20.0.1' }, false],
      ['ClientIP(`198.18.0.0/15`)', { clientIp: '::ffff:198.18.1.2' }, true],
      ['ClientIP(`198.18.0.7`)', { clientIp: '198.18.0.7' }, true],
      ['ClientIP(`198.18.0.7`)', { clientIp: '198.18.0.8' }, false],
      ['ClientIP(`2001:db8::/32`)', { clientIp: '2001:db8:ffff::1' }, true],
      ['ClientIP(`2001:db8::/32`)', { clientIp: '2001:db9::1' }, false],
      ['ClientIP(`2001:db8::/32`)', { clientIp: '198.18.0.1' }, false],
      ['ClientIP(`2001:db8::1`)', { clientIp: '2001:db8:0:0:0:0:0:1' }, true],
      ['ClientIP(`2001:db8::1`)', { clientIp: 'fe80::1%eth0' }, false],
      ['ClientIP(`0.0.0.0/0`)', { clientIp: 'garbage' }, false],
      ['ClientIP(`::ffff:198.18.0.0/112`)', { clientIp: '198.18.3.4' }, true],
    ],
  },
  Operators: {
    cases: [
      ['Host(`example.com`) && Path(`/a`)', { path: '/a' }, true],
      ['Host(`example.com`) && Path(`/a`)', { path: '/b' }, false],
      ['Host(`other.com`) || Path(`/a`)', { path: '/a' }, true],
      ['!Path(`/a`)', { path: '/a' }, false],
      ['!Path(`/a`)', { path: '/b' }, true],
      ['Path(`/a`) || Path(`/b`) && Method(`POST`)', { path: '/a', method: 'GET' }, true],
      ['(Path(`/a`) || Path(`/b`)) && Method(`POST`)', { path: '/a', method: 'GET' }, false],
      ['!(Path(`/a`) || Path(`/b`))', { path: '/c' }, true],
    ],
  },
  'v2 Host and HostHeader': {
    syntax: 'v2',
    cases: [
      ['Host(`a.com`, `example.com`)', {}, true],
      ['Host(`a.com`, `b.com`)', {}, false],
      ['HostHeader(`EXAMPLE.com`)', { host: 'example.com:80' }, true],
    ],
  },
  'v2 HostRegexp templates': {
    syntax: 'v2',
    cases: [
      ['HostRegexp(`{sub:[a-z]+}.example.com`)', { host: 'api.example.com' }, true],
      ['HostRegexp(`{sub:[a-z]+}.example.com`)', { host: 'API.Example.com' }, true],
      ['HostRegexp(`{sub:[a-z]+}.example.com`)', { host: 'api1.example.com' }, false],
      ['HostRegexp(`{sub:[a-z]+}.example.com`)', { host: 'a.b.example.com' }, false],
      ['HostRegexp(`{sub:[a-z]+}.example.com`)', { host: 'apixexample.com' }, false],
      ['HostRegexp(`{sub}.example.com`)', { host: 'x-1.example.com' }, true],
      ['HostRegexp(`{sub}.example.com`)', { host: 'example.com' }, false],
      ['HostRegexp(`example.org`, `{a:[0-9]{2}}.example.com`)', { host: '42.example.com' }, true],
      ['HostRegexp(`{any:.+}`)', { host: 'whatever.test' }, true],
    ],
  },
  'v2 Path and PathPrefix templates': {
    syntax: 'v2',
    cases: [
      ['Path(`/articles/{cat:[a-z]+}/{id:[0-9]+}`)', { path: '/articles/news/42' }, true],
      ['Path(`/articles/{cat:[a-z]+}/{id:[0-9]+}`)', { path: '/articles/news/42/x' }, false],
      ['Path(`/articles/{cat}`)', { path: '/articles/a.b' }, true],
      ['Path(`/articles/{cat}`)', { path: '/articles/a/b' }, false],
      ['Path(`/a`, `/b`)', { path: '/b' }, true],
      ['Path(`/a.b`)', { path: '/axb' }, false],
      ['PathPrefix(`/api/{v:v[0-9]+}/`)', { path: '/api/v1/users' }, true],
      ['PathPrefix(`/api/{v:v[0-9]+}/`)', { path: '/api/beta/users' }, false],
      ['PathPrefix(`/x`, `/y`)', { path: '/yz' }, true],
    ],
  },
  'v2 Method': {
    syntax: 'v2',
    cases: [
      ['Method(`GET`, `post`)', { method: 'POST' }, true],
      ['Method(`GET`, `POST`)', { method: 'PUT' }, false],
    ],
  },
  'v2 Headers and HeadersRegexp': {
    syntax: 'v2',
    cases: [
      ['Headers(`X-A`, `1`)', { headers: { 'x-a': '1' } }, true],
      ['Headers(`X-A`, `1`, `X-B`, `2`)', { headers: { 'x-a': '1', 'x-b': '2' } }, true],
      ['Headers(`X-A`, `1`, `X-B`, `2`)', { headers: { 'x-a': '1' } }, false],
      ['HeadersRegexp(`X-A`, `^[0-9]+$`)', { headers: { 'x-a': '123' } }, true],
      ['HeadersRegexp(`X-A`, `^[0-9]+$`, `X-B`, `b`)', { headers: { 'x-a': '123', 'x-b': 'abc' } }, true],
      ['HeadersRegexp(`X-A`, `^[0-9]+$`)', { headers: { 'x-a': '12a' } }, false],
    ],
  },
  'v2 Query': {
    syntax: 'v2',
    cases: [
      ['Query(`a=1`)', { query: 'a=1' }, true],
      ['Query(`a=1`)', { query: 'a=12' }, false],
      ['Query(`a=1`, `b=2`)', { query: 'b=2&a=1' }, true],
      ['Query(`a=1`, `b=2`)', { query: 'a=1' }, false],
      ['Query(`a=`)', { query: 'a=anything' }, true],
      ['Query(`a=`)', { query: 'b=1' }, false],
      ['Query(`id={id:[0-9]+}`)', { query: 'id=42' }, true],
      ['Query(`id={id:[0-9]+}`)', { query: 'id=x' }, false],
      ['Query(`a=1`)', { query: 'a=2&a=1' }, false], // gorilla: first value only
    ],
  },
  'v2 ClientIP': {
    syntax: 'v2',
    cases: [
      ['ClientIP(`198.18.0.0/24`, `2001:db8::1`)', { clientIp: '2001:db8::1' }, true],
      ['ClientIP(`198.18.0.0/24`, `2001:db8::1`)', { clientIp: '198.18.0.200' }, true],
      ['ClientIP(`198.18.0.0/24`, `2001:db8::1`)', { clientIp: '198.18.1.1' }, false],
    ],
  },
};

for (const [group, { syntax, cases }] of Object.entries(CASES)) {
  describe(group, () => {
    for (const [rule, r, want] of cases) {
      test(`${rule} on ${JSON.stringify(r)} -> ${want}`, () => {
        const c = compileTraefikRule(rule, { syntax: syntax ?? 'v3' });
        if (!c.ok) throw new Error(c.error.message);
        expect(c.rule.matches(req(r))).toBe(want);
      });
    }
  });
}

describe('parseQuery (Go url.ParseQuery)', () => {
  test('splits, decodes and skips what Go skips', () => {
    const q = parseQuery('a=1&b=x+y&a=2&&c&d=%41%zz&e;f=1&g=%E2%82%AC&=v');
    expect(Object.fromEntries(q)).toEqual({ a: ['1', '2'], b: ['x y'], c: [''], g: ['€'], '': ['v'] });
  });
  test('invalid UTF-8 after decoding is kept with replacement characters', () => {
    expect(parseQuery('a=%FF').get('a')).toEqual(['\uFFFD']);
  });
});
