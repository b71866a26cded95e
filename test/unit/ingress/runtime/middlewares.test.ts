import { describe, expect, test } from 'vitest';
import { createHash } from 'node:crypto';
import { parseIpNetwork } from '../../../../src/ingress/match/ip-match.ts';
import { compileGoRegexp, type GoRegexp } from '../../../../src/ingress/match/go-regexp.ts';
import { createMiddleware } from '../../../../src/ingress/runtime/middleware-factory.ts';
import { md5Crypt, verifyPassword } from '../../../../src/ingress/runtime/middlewares/htpasswd-verify.ts';
import { rateLimit } from '../../../../src/ingress/runtime/middlewares/rate-limit.ts';
import { chooseCanary } from '../../../../src/ingress/runtime/canary-choice.ts';
import { cookieValue, setCookie } from '../../../../src/ingress/runtime/cookies.ts';
import { SmoothWeighted } from '../../../../src/common/smooth-weighted.ts';
import { chooseEncoding } from '../../../../src/ingress/runtime/middlewares/compress.ts';
import type { MiddlewareSpec } from '../../../../src/ingress/model/middleware-spec.ts';
import type { Middleware } from '../../../../src/proxy/http/types.ts';
import { FakeRequest, FakeResponse } from './fake-context.ts';

function mw(spec: MiddlewareSpec): Middleware {
  return createMiddleware({ name: 't', spec })!;
}

function re(src: string): GoRegexp {
  const r = compileGoRegexp(src);
  if (!r.ok) throw new Error(r.error);
  return r.regexp;
}

describe('htpasswd', () => {
  test('MD5-crypt matches openssl passwd (-apr1 and -1)', () => {
    // openssl passwd -apr1 -salt abcdefgh secret ; openssl passwd -1 -salt saltsalt secret
    expect(md5Crypt('secret', 'abcdefgh', '$apr1$')).toBe('$apr1$abcdefgh$h9FWgUz3n9YxylKLlR5SQ/');
    expect(md5Crypt('secret', 'saltsalt', '$1$')).toBe('$1$saltsalt$9xy1btjgzLYfb7hivXtC//');
  });
  test.each([
    ['$apr1$abcdefgh$h9FWgUz3n9YxylKLlR5SQ/', 'secret', true],
    ['$apr1$abcdefgh$h9FWgUz3n9YxylKLlR5SQ/', 'Secret', false],
    [`{SHA}${createHash('sha1').update('pw').digest('base64')}`, 'pw', true],
    [`{SHA}${createHash('sha1').update('pw').digest('base64')}`, 'px', false],
    ['plain', 'plain', true],
    ['plain', 'plainx', false],
    ['$2y$05$abcdefghijklmnopqrstuuA1B2C3D4E5F6G7H8I9J0K1L2M3N4O5P', 'x', false],
  ])('%s / %s -> %s', async (hash, pw, ok) => {
    expect(await verifyPassword(pw, hash)).toBe(ok);
  });
});

describe('canary choice (ingress-nginx precedence)', () => {
  const never = () => 0.999; // weight draw never lands on the canary below 100%
  const always = () => 0;
  test('header always/never beat cookie and weight', () => {
    const p = { header: 'x-canary', cookie: 'c', weight: 100, weightTotal: 100 };
    expect(chooseCanary(p, { 'x-canary': 'never', cookie: 'c=always' }, always)).toBe(false);
    expect(chooseCanary({ ...p, weight: 0 }, { 'x-canary': 'always', cookie: 'c=never' }, never)).toBe(true);
    expect(chooseCanary({ ...p, weight: 0 }, { 'x-canary': 'other', cookie: 'c=always' }, never)).toBe(true);
  });
  test('header value, then pattern; other values fall through', () => {
    const v = { header: 'x-canary', headerValue: 'v2', weight: 0, weightTotal: 100 };
    expect(chooseCanary(v, { 'x-canary': 'v2' }, never)).toBe(true);
    expect(chooseCanary(v, { 'x-canary': 'always' }, never)).toBe(false);
    expect(chooseCanary({ ...v, cookie: 'c' }, { 'x-canary': 'never', cookie: 'c=always' }, never)).toBe(true);
    const p = { header: 'x-canary', headerPattern: re('^v[2-3]$'), weight: 0, weightTotal: 100 };
    expect(chooseCanary(p, { 'x-canary': 'v3' }, never)).toBe(true);
    expect(chooseCanary(p, { 'x-canary': 'v4' }, never)).toBe(false);
  });
  test('cookie always/never, then the weight over weightTotal', () => {
    const p = { cookie: 'canary', weight: 1, weightTotal: 1000 };
    expect(chooseCanary(p, { cookie: 'a=1; canary=always' }, never)).toBe(true);
    expect(chooseCanary({ ...p, weight: 1000 }, { cookie: 'canary=never' }, always)).toBe(false);
    expect(chooseCanary(p, {}, () => 0)).toBe(true); // draw 1 <= 1
    expect(chooseCanary(p, {}, () => 0.001)).toBe(false); // draw 2 > 1
  });
});

describe('cookies and weights', () => {
  test('cookieValue finds whole names only', () => {
    expect(cookieValue('xcanary=1; canary=always', 'canary')).toBe('always');
    expect(cookieValue('canaryx=1', 'canary')).toBeUndefined();
    expect(cookieValue(['a=1', 'b="q"'], 'b')).toBe('q');
  });
  test('setCookie attributes', () => {
    expect(setCookie({ name: 'S', path: '/app', maxAgeSeconds: 60, secure: false, httpOnly: true, sameSite: 'Lax' }, 'k', false)).toBe('S=k; Path=/app; Max-Age=60; HttpOnly; SameSite=Lax');
  });
  test('smooth weighted round robin spreads exactly', () => {
    const w = new SmoothWeighted(['a', 'b', 'c'], [5, 1, 1]);
    const seq = Array.from({ length: 7 }, () => w.items[w.nextIndex()]).join('');
    expect(seq).toBe('aabacaa');
    expect(new SmoothWeighted(['a'], [0]).nextIndex()).toBe(-1);
  });
});

describe('path middlewares', () => {
  test('stripPrefix keeps a leading slash and the query, sets X-Forwarded-Prefix', () => {
    const ctx = new FakeRequest({ upstreamTarget: '/api/users?x=1' });
    mw({ type: 'stripPrefix', prefixes: ['/nope', '/api'], forceSlash: true }).onRequest!(ctx);
    expect(ctx.upstreamTarget).toBe('/users?x=1');
    expect(ctx.header('x-forwarded-prefix')).toBe('/api');
    const root = new FakeRequest({ upstreamTarget: '/api' });
    mw({ type: 'stripPrefix', prefixes: ['/api'], forceSlash: true }).onRequest!(root);
    expect(root.upstreamTarget).toBe('/');
  });
  test('addPrefix and replacePath', () => {
    const a = new FakeRequest({ upstreamTarget: '/x?q' });
    mw({ type: 'addPrefix', prefix: '/v1' }).onRequest!(a);
    expect(a.upstreamTarget).toBe('/v1/x?q');
    const r = new FakeRequest({ upstreamTarget: '/old/path?q=1' });
    mw({ type: 'replacePath', path: '/new' }).onRequest!(r);
    expect(r.upstreamTarget).toBe('/new?q=1');
    expect(r.header('x-replaced-path')).toBe('/old/path');
  });
  test.each([
    ['/something(/|$)(.*)', '/$2', '/something/new/x?a=1', '/new/x?a=1'],
    ['/something(/|$)(.*)', '/$2', '/something', '/'],
    ['/foo', '/', '/foo/bar', '/'],
    ['/app/(.*)', '/static/$1?v=2', '/APP/x.js?y=1', '/static/x.js?v=2&y=1'],
  ])('rewrite-target %s -> %s: %s => %s', (path, target, from, to) => {
    const ctx = new FakeRequest({ upstreamTarget: from });
    mw({ type: 'rewriteTarget', regex: re(`(?i)${path}`), target }).onRequest!(ctx);
    expect(ctx.upstreamTarget).toBe(to);
  });
});

describe('redirects', () => {
  test('nginx ssl-redirect: 308 to https, same host and target', () => {
    const m = mw({ type: 'redirectScheme', scheme: 'https', permanent: true, style: 'nginx' });
    const r = m.onRequest!(new FakeRequest({ host: 'a.example.com:80', upstreamTarget: '/p?q=1', method: 'POST' }));
    expect(r).toMatchObject({ status: 308, headers: [['location', 'https://a.example.com/p?q=1']] });
    expect(m.onRequest!(new FakeRequest({ tls: true, localPort: 443 }))).toBeUndefined();
  });
  test('Traefik redirectScheme: 301/302, 308/307 for other methods, port', () => {
    const p = mw({ type: 'redirectScheme', scheme: 'https', port: '8443', permanent: true, style: 'traefik' });
    expect(p.onRequest!(new FakeRequest({ host: 'h', upstreamTarget: '/x' }))).toMatchObject({ status: 301, headers: [['location', 'https://h:8443/x']] });
    const t = mw({ type: 'redirectScheme', scheme: 'https', permanent: false, style: 'traefik' });
    expect(t.onRequest!(new FakeRequest({ method: 'POST' }))).toMatchObject({ status: 307 });
  });
  test('redirectRegex with Go replacement groups', () => {
    const m = mw({ type: 'redirectRegex', regex: re('^http://localhost/(.*)'), replacement: 'http://mydomain/${1}', permanent: false });
    expect(m.onRequest!(new FakeRequest({ host: 'localhost', upstreamTarget: '/a/b' }))).toMatchObject({ status: 302, headers: [['location', 'http://mydomain/a/b']] });
    expect(m.onRequest!(new FakeRequest({ host: 'other', upstreamTarget: '/a' }))).toBeUndefined();
  });
});

describe('access middlewares', () => {
  test('ipAllowList: peer address, and X-Forwarded-For depth', () => {
    const allow = mw({ type: 'ipAllowList', ranges: [parseIpNetwork('198.18.0.0/24')!], source: { depth: 0, excluded: [] }, rejectStatus: 403 });
    expect(allow.onRequest!(new FakeRequest({ clientIp: '198.18.0.7' }))).toBeUndefined();
    expect(allow.onRequest!(new FakeRequest({ clientIp: '::ffff:198.18.0.7' }))).toBeUndefined();
    expect(allow.onRequest!(new FakeRequest({ clientIp: '198.18.1.7' }))).toMatchObject({ status: 403 });
    const depth = mw({ type: 'ipAllowList', ranges: [parseIpNetwork('198.18.0.0/24')!], source: { depth: 2, excluded: [] }, rejectStatus: 404 });
    expect(depth.onRequest!(new FakeRequest({ clientIp: '198.19.9.9', headers: { 'x-forwarded-for': '198.18.0.1, 198.19.0.1' } }))).toBeUndefined();
    expect(depth.onRequest!(new FakeRequest({ clientIp: '198.18.0.1', headers: { 'x-forwarded-for': '198.19.0.1' } }))).toMatchObject({ status: 404 });
  });
  test('rateLimit: burst then refill at the rate, per client', () => {
    let now = 0;
    const m = rateLimit('r', { type: 'rateLimit', ratePerSecond: 2, burst: 3, source: { depth: 0, excluded: [] }, rejectStatus: 429 }, { now: () => now });
    const a = () => m.onRequest!(new FakeRequest({ clientIp: '198.18.0.1' }));
    expect([a(), a(), a()].every((r) => r === undefined)).toBe(true);
    expect(a()).toMatchObject({ status: 429 });
    expect(m.onRequest!(new FakeRequest({ clientIp: '198.18.0.2' }))).toBeUndefined();
    now = 500; // one token back
    expect(a()).toBeUndefined();
    expect(a()).toMatchObject({ status: 429 });
  });
  test('inFlightReq releases in onDone only for admitted requests', () => {
    const m = mw({ type: 'inFlightReq', amount: 1, source: { depth: 0, excluded: [] } });
    const r1 = new FakeRequest();
    const r2 = new FakeRequest();
    expect(m.onRequest!(r1)).toBeUndefined();
    expect(m.onRequest!(r2)).toMatchObject({ status: 429 });
    m.onDone!(r2, { status: 429, durationMs: 0, error: undefined });
    expect(m.onRequest!(new FakeRequest())).toMatchObject({ status: 429 });
    m.onDone!(r1, { status: 200, durationMs: 0, error: undefined });
    expect(m.onRequest!(new FakeRequest())).toBeUndefined();
  });
  test('basicAuth: 401 with realm, user header, header removal', () => {
    const m = mw({ type: 'basicAuth', users: [{ name: 'test', hash: '$apr1$abcdefgh$h9FWgUz3n9YxylKLlR5SQ/' }], realm: 'r1', removeHeader: true, headerField: 'X-User' });
    expect(m.onRequest!(new FakeRequest())).toMatchObject({ status: 401, headers: [['www-authenticate', 'Basic realm="r1"']] });
    const bad = new FakeRequest({ headers: { authorization: `Basic ${Buffer.from('test:nope').toString('base64')}` } });
    expect(m.onRequest!(bad)).toMatchObject({ status: 401 });
    const good = new FakeRequest({ headers: { authorization: `Basic ${Buffer.from('test:secret').toString('base64')}` } });
    expect(m.onRequest!(good)).toBeUndefined();
    expect(good.header('authorization')).toBeUndefined();
    expect(good.header('x-user')).toBe('test');
  });
});

describe('headers and compress', () => {
  test('custom headers, removal, security headers over TLS, CORS preflight', () => {
    const m = mw({
      type: 'headers',
      request: [['X-Script-Name', 'test'], ['X-Remove', '']],
      response: [['X-Custom-Response', 'v'], ['Server', '']],
      securityResponse: [['Strict-Transport-Security', 'max-age=60'], ['X-Frame-Options', 'DENY']],
      cors: { allowOrigins: ['https://a.example'], allowMethods: ['GET', 'PUT'], allowHeaders: [], exposeHeaders: [], allowCredentials: false, maxAge: 100, addVaryHeader: true },
      allowedHosts: [],
    });
    const req = new FakeRequest({ headers: { 'x-remove': '1', origin: 'https://a.example' } });
    expect(m.onRequest!(req)).toBeUndefined();
    expect(req.header('x-script-name')).toBe('test');
    expect(req.header('x-remove')).toBeUndefined();
    const res = new FakeResponse({ server: 'x' });
    m.onResponse!(req, res);
    expect(res.header('x-custom-response')).toBe('v');
    expect(res.header('server')).toBeUndefined();
    expect(res.header('strict-transport-security')).toBeUndefined(); // plain HTTP
    expect(res.header('x-frame-options')).toBe('DENY');
    expect(res.header('access-control-allow-origin')).toBe('https://a.example');
    const pre = m.onRequest!(new FakeRequest({ method: 'OPTIONS', headers: { origin: 'https://a.example', 'access-control-request-method': 'PUT' } }));
    expect(pre).toMatchObject({ status: 200 });
  });
  test('encoding choice honours q values and server order', () => {
    expect(chooseEncoding('gzip, br', ['gzip', 'br'])).toBe('gzip');
    expect(chooseEncoding('gzip;q=0.5, br', ['gzip', 'br'])).toBe('br');
    expect(chooseEncoding('identity', ['gzip'])).toBeUndefined();
    expect(chooseEncoding('*', ['br'])).toBe('br');
  });
  test('compress skips small, encoded and excluded responses', () => {
    const m = mw({ type: 'compress', excludedContentTypes: ['image/png'], includedContentTypes: [], minResponseBodyBytes: 1024, encodings: ['gzip'] });
    const req = new FakeRequest({ headers: { 'accept-encoding': 'gzip' } });
    const small = new FakeResponse({ 'content-length': '10', 'content-type': 'text/plain' });
    m.onResponse!(req, small);
    expect(small.transform).toBeUndefined();
    const png = new FakeResponse({ 'content-type': 'image/png' });
    m.onResponse!(req, png);
    expect(png.transform).toBeUndefined();
    const big = new FakeResponse({ 'content-length': '5000', 'content-type': 'text/html; charset=utf-8' });
    m.onResponse!(req, big);
    expect(big.header('content-encoding')).toBe('gzip');
    expect(big.transform).toBeDefined();
  });
});
