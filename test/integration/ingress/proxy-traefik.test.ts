// Traefik IngressRoutes, TraefikServices and each Middleware through the
// real L7 engine with echo backends.
import http from 'node:http';
import http2 from 'node:http2';
import net, { type AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { waitFor } from '../helpers/cluster.ts';
import { rawExchange } from '../proxy/http-harness.ts';
import { Harness, ingressRoute, middleware, traefikService, type Echo } from './harness.ts';

const h = new Harness({ allowCrossNamespace: true });
const servers: http.Server[] = [];
const rawServers: net.Server[] = [];
let mirrorEcho: Echo[];
/** What reached the recording mirror. */
const recorded: Array<{ url: string; method: string; length: string | undefined; body: string }> = [];
let flaky: Echo[];
let slow: Echo[];
const APR1 = 'test:$apr1$abcdefgh$h9FWgUz3n9YxylKLlR5SQ/'; // password "secret"

function r(name: string, match: string, middlewares: string[], service = 'app', extra: Record<string, unknown> = {}) {
  return ingressRoute('ns', name, [{ match, services: [{ name: service, port: 80 }], middlewares: middlewares.map((m) => ({ name: m })), ...extra }]);
}

beforeAll(async () => {
  await h.start();
  await h.service('ns', 'app', 2);
  await h.service('ns', 'v1');
  await h.service('ns', 'v2');
  await h.service('ns', 'big', 1, { body: 'hello '.repeat(1000), contentType: 'text/plain' });
  slow = await h.service('ns', 'slow', 1, { delayMs: 1000 });
  mirrorEcho = await h.service('ns', 'shadow');
  flaky = await h.service('ns', 'flaky', 1, { reset: true });
  await h.service('ns', 'failing', 1, { status: 500 });
  await h.service('other', 'remote');
  h.secret({ metadata: { namespace: 'ns', name: 'users' }, data: { users: Buffer.from(`${APR1}\n`).toString('base64') } });
  const mws: [string, Record<string, unknown>][] = [
    ['limit', { rateLimit: { average: 1, period: '1s', burst: 2 } }],
    ['auth', { basicAuth: { secret: 'users', removeHeader: true, headerField: 'X-Auth-User' } }],
    ['gzip', { compress: {} }],
    ['strip', { stripPrefix: { prefixes: ['/api'] } }],
    ['add', { addPrefix: { prefix: '/v2' } }],
    ['replace', { replacePath: { path: '/fixed' } }],
    ['strip-re', { stripPrefixRegex: { regex: ['/products/[0-9]+'] } }],
    ['breaker', { circuitBreaker: { expression: 'NetworkErrorRatio() > 0.5', checkPeriod: '50ms', fallbackDuration: '30s' } }],
    ['breaker-codes', { circuitBreaker: { expression: 'ResponseCodeRatio(500, 600, 0, 600) > 0.5', checkPeriod: '50ms', responseCode: 429 } }],
    ['replace-re', { replacePathRegex: { regex: '^/foo/(.*)', replacement: '/bar/$1' } }],
    ['hdrs', { headers: { customRequestHeaders: { 'X-Team': 'blue' }, customResponseHeaders: { 'X-Served': 'metalgate', 'X-Served-By': '' }, frameDeny: true } }],
    ['to-https', { redirectScheme: { scheme: 'https', permanent: true } }],
    ['moved', { redirectRegex: { regex: '^http://old\\.example\\.com/(.*)', replacement: 'http://new.example.com/${1}', permanent: true } }],
    ['only-lan', { ipAllowList: { sourceRange: ['198.18.0.0/15'] } }],
    ['only-local', { ipWhiteList: { sourceRange: ['127.0.0.1/32'] } }],
    ['again', { retry: { attempts: 3, initialInterval: '10ms' } }],
    ['one-at-a-time', { inFlightReq: { amount: 1 } }],
    ['small-bodies', { buffering: { maxRequestBodyBytes: 100, maxResponseBodyBytes: 2000 } }],
    ['sniff', { contentType: {} }],
  ];
  for (const [name, spec] of mws) h.traefik('Middleware', middleware('ns', name, spec));
  h.traefik('Middleware', middleware('other', 'tag', { headers: { customRequestHeaders: { 'X-Other': '1' } } }));
  h.traefik('IngressRoute', r('limit', 'Host(`limit.example.com`)', ['limit']));
  h.traefik('IngressRoute', r('auth', 'Host(`auth.example.com`)', ['auth']));
  h.traefik('IngressRoute', r('gzip', 'Host(`gzip.example.com`)', ['gzip'], 'big'));
  h.traefik('IngressRoute', r('paths', 'Host(`paths.example.com`) && PathPrefix(`/api`)', ['strip', 'add']));
  h.traefik('IngressRoute', r('replace', 'Host(`replace.example.com`)', ['replace']));
  h.traefik('IngressRoute', r('strip-re', 'Host(`stripre.example.com`)', ['strip-re']));
  h.traefik('IngressRoute', r('breaker', 'Host(`breaker.example.com`)', ['breaker'], 'flaky'));
  h.traefik('IngressRoute', r('breaker-codes', 'Host(`breakercodes.example.com`)', ['breaker-codes'], 'failing'));
  h.traefik('IngressRoute', r('replace-re', 'Host(`replacere.example.com`)', ['replace-re']));
  h.traefik('IngressRoute', r('hdrs', 'Host(`headers.example.com`)', ['hdrs']));
  h.traefik('IngressRoute', r('https', 'Host(`https.example.com`)', ['to-https']));
  h.traefik('IngressRoute', r('moved', 'Host(`old.example.com`)', ['moved']));
  h.traefik('IngressRoute', r('lan', 'Host(`lan.example.com`)', ['only-lan']));
  h.traefik('IngressRoute', r('local', 'Host(`local.example.com`)', ['only-local']));
  h.traefik('IngressRoute', r('retry', 'Host(`retry.example.com`)', ['again'], 'flaky'));
  h.traefik('IngressRoute', r('inflight', 'Host(`inflight.example.com`)', ['one-at-a-time'], 'slow'));
  h.traefik('IngressRoute', r('buffered', 'Host(`buffered.example.com`)', ['small-bodies']));
  // A backend that labels nothing: an HTML page, plain and chunked; under /late the head goes out
  // alone and the body 50 ms later (chunked, or with its length), or nothing (/late/empty).
  const unlabelled = http.createServer((req, res) => {
    if (req.url?.startsWith('/late')) {
      const page = '<!DOCTYPE html><p>late</p>';
      if (req.url === '/late/length') res.setHeader('content-length', page.length);
      res.flushHeaders();
      setTimeout(() => res.end(req.url === '/late/empty' ? '' : page), 50);
      return;
    }
    if (req.url === '/chunked') res.write('<!DOCTYPE html><p>');
    res.end(req.url === '/chunked' ? 'hi' : '<!DOCTYPE html><p>hi</p>');
  });
  servers.push(unlabelled);
  await new Promise<void>((resolve) => unlabelled.listen(0, '127.0.0.1', resolve));
  h.serviceAt('ns', 'unlabelled', (unlabelled.address() as AddressInfo).port);
  h.traefik('IngressRoute', r('sniffed', 'Host(`sniffed.example.com`)', ['sniff'], 'unlabelled'));
  h.traefik('IngressRoute', r('unsniffed', 'Host(`unsniffed.example.com`)', [], 'unlabelled'));
  h.traefik('IngressRoute', r('buffered-big', 'Host(`bufferedbig.example.com`)', ['small-bodies'], 'big'));
  // A backend that answers /chunked/N and /close/N with N bytes and no declared length, in 500-byte
  // chunks; with /slow, the first 1,000 bytes come 100 ms before the rest.
  const streamer = net.createServer((socket) => {
    let head = '';
    socket.on('data', (c: Buffer) => {
      head += c.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      const [, kind, n, slow] = /^GET \/(chunked|close)\/(\d+)(\/slow)? /.exec(head) ?? [];
      const total = Number(n ?? 0);
      const part = (bytes: number) => (kind === 'chunked' ? `${bytes.toString(16)}\r\n${'x'.repeat(bytes)}\r\n` : 'x'.repeat(bytes));
      const parts = (from: number, to: number) => {
        let out = '';
        for (let at = from; at < to; at += 500) out += part(Math.min(500, to - at));
        return out;
      };
      const rest = () => socket.end(parts(slow ? Math.min(1000, total) : 0, total) + (kind === 'chunked' ? '0\r\n\r\n' : ''));
      socket.write(`HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n${kind === 'chunked' ? 'Transfer-Encoding: chunked' : 'Connection: close'}\r\n\r\n`);
      if (slow) {
        socket.write(parts(0, Math.min(1000, total)));
        setTimeout(rest, 100);
      } else {
        rest();
      }
    });
    socket.on('error', () => {});
  });
  rawServers.push(streamer);
  await new Promise<void>((resolve) => streamer.listen(0, '127.0.0.1', resolve));
  h.serviceAt('ns', 'streamer', (streamer.address() as AddressInfo).port);
  h.traefik('IngressRoute', r('buffered-stream', 'Host(`bufferedstream.example.com`)', ['small-bodies'], 'streamer'));
  h.traefik('IngressRoute', ingressRoute('ns', 'cross', [{ match: 'Host(`cross.example.com`)', services: [{ name: 'remote', namespace: 'other', port: 80 }], middlewares: [{ name: 'other-tag@kubernetescrd' }] }]));
  h.traefik('TraefikService', traefikService('ns', 'split', { weighted: { services: [{ name: 'v1', port: 80, weight: 3 }, { name: 'v2', port: 80, weight: 1 }] } }));
  h.traefik('TraefikService', traefikService('ns', 'mirrored', { mirroring: { name: 'v1', port: 80, mirrors: [{ name: 'shadow', port: 80, percent: 100 }] } }));
  // A mirror that records what reaches it, for the body options.
  const recorder = http.createServer((req, res) => {
    const copy = { url: req.url ?? '', method: req.method ?? '', length: req.headers['content-length'], body: '' };
    req.on('data', (c: Buffer) => (copy.body += c.toString()));
    req.on('end', () => {
      recorded.push(copy);
      res.end();
    });
  });
  servers.push(recorder);
  await new Promise<void>((res) => recorder.listen(0, '127.0.0.1', res));
  h.serviceAt('ns', 'recorder', (recorder.address() as AddressInfo).port);
  for (const [name, extra] of [
    ['body', {}],
    ['nobody', { mirrorBody: false }],
    ['small', { maxBodySize: 4 }],
  ] as const) {
    h.traefik('TraefikService', traefikService('ns', `mirrored-${name}`, { mirroring: { name: 'v1', port: 80, mirrors: [{ name: 'recorder', port: 80, percent: 100 }], ...extra } }));
    h.traefik('IngressRoute', ingressRoute('ns', `mirror-${name}`, [{ match: `Host(\`mirror-${name}.example.com\`)`, services: [{ name: `mirrored-${name}`, kind: 'TraefikService' }] }]));
  }
  h.traefik('IngressRoute', ingressRoute('ns', 'split', [{ match: 'Host(`split.example.com`)', services: [{ name: 'split', kind: 'TraefikService' }] }]));
  h.traefik('TraefikService', traefikService('ns', 'sticky', { weighted: { services: [{ name: 'v1', port: 80 }, { name: 'v2', port: 80 }], sticky: { cookie: { name: 'lb', httpOnly: true } } } }));
  h.traefik('IngressRoute', ingressRoute('ns', 'sticky', [{ match: 'Host(`sticky.example.com`)', services: [{ name: 'sticky', kind: 'TraefikService' }] }]));
  h.traefik('IngressRoute', ingressRoute('ns', 'mirror', [{ match: 'Host(`mirror.example.com`)', services: [{ name: 'mirrored', kind: 'TraefikService' }] }]));
  h.traefik('IngressRoute', ingressRoute('ns', 'secure-only', [{ match: 'Host(`tls.example.com`)', services: [{ name: 'v1', port: 80 }] }], { tls: {} }));
  const out = h.apply();
  expect(out.diagnostics.filter((d) => d.severity !== 'info')).toEqual([]);
});

afterAll(async () => {
  await h.stop();
  for (const s of servers) {
    s.closeAllConnections();
    s.close();
  }
  for (const s of rawServers) s.close();
});

const basic = (user: string, pw: string) => `Basic ${Buffer.from(`${user}:${pw}`).toString('base64')}`;

describe('Traefik middlewares through the proxy', () => {
  test('rateLimit: 429 past the burst', async () => {
    const s: number[] = [];
    for (let i = 0; i < 5; i++) s.push((await h.request({ host: 'limit.example.com' })).status);
    expect(s.slice(0, 2)).toEqual([200, 200]);
    expect(s).toContain(429);
  });
  test('basicAuth: 401 with realm, user forwarded, Authorization removed', async () => {
    const none = await h.request({ host: 'auth.example.com' });
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toBe('Basic realm="traefik"');
    expect((await h.request({ host: 'auth.example.com', headers: { authorization: basic('test', 'wrong') } })).status).toBe(401);
    const ok = await h.request({ host: 'auth.example.com', headers: { authorization: basic('test', 'secret') } });
    expect(ok.status).toBe(200);
    expect(ok.json!.headers['x-auth-user']).toBe('test');
    expect(ok.json!.headers.authorization).toBeUndefined();
  });
  test('compress: gzip when asked, identity otherwise', async () => {
    const raw = await new Promise<{ enc: string | undefined; body: Buffer }>((resolve, reject) => {
      import('node:http').then(({ request }) => {
        const req = request({ host: '127.0.0.1', port: h.webPort, path: '/', headers: { host: 'gzip.example.com', 'accept-encoding': 'gzip' } }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ enc: res.headers['content-encoding'], body: Buffer.concat(chunks) }));
        });
        req.on('error', reject);
        req.end();
      }, reject);
    });
    expect(raw.enc).toBe('gzip');
    expect(gunzipSync(raw.body).toString()).toBe('hello '.repeat(1000));
    const plain = await h.request({ host: 'gzip.example.com' });
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.body).toBe('hello '.repeat(1000));
  });
  test('stripPrefix then addPrefix', async () => {
    const a = await h.request({ host: 'paths.example.com', path: '/api/users?x=1' });
    expect(a.json!.url).toBe('/v2/users?x=1');
    expect(a.json!.headers['x-forwarded-prefix']).toBe('/api');
  });
  test('circuitBreaker: network errors trip it, then the fallback answers without reaching the backend', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      statuses.push((await h.request({ host: 'breaker.example.com' })).status);
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(statuses[0]).toBe(502);
    expect(statuses.at(-1)).toBe(503);
    const hits = flaky[0]!.hits;
    expect((await h.request({ host: 'breaker.example.com' })).status).toBe(503);
    expect(flaky[0]!.hits).toBe(hits);
  });
  test('circuitBreaker: a ResponseCodeRatio expression with its own responseCode', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      statuses.push((await h.request({ host: 'breakercodes.example.com' })).status);
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(statuses[0]).toBe(500);
    expect(statuses.at(-1)).toBe(429);
  });
  test('stripPrefixRegex: the match at the start of the path goes, into X-Forwarded-Prefix', async () => {
    const a = await h.request({ host: 'stripre.example.com', path: '/products/42/photos?s=1' });
    expect(a.json!.url).toBe('/photos?s=1');
    expect(a.json!.headers['x-forwarded-prefix']).toBe('/products/42');
    expect((await h.request({ host: 'stripre.example.com', path: '/shop/products/42' })).json!.url).toBe('/shop/products/42');
  });
  test('replacePathRegex: matches replaced with $1, the old path in X-Replaced-Path', async () => {
    const a = await h.request({ host: 'replacere.example.com', path: '/foo/a/b?q=1' });
    expect(a.json!.url).toBe('/bar/a/b?q=1');
    expect(a.json!.headers['x-replaced-path']).toBe('/foo/a/b');
    expect((await h.request({ host: 'replacere.example.com', path: '/other' })).json!.url).toBe('/other');
  });
  test('replacePath', async () => {
    const a = await h.request({ host: 'replace.example.com', path: '/anything?k=v' });
    expect(a.json!.url).toBe('/fixed?k=v');
    expect(a.json!.headers['x-replaced-path']).toBe('/anything');
  });
  test('headers: request and response fields, removal, security headers', async () => {
    const a = await h.request({ host: 'headers.example.com' });
    expect(a.json!.headers['x-team']).toBe('blue');
    expect(a.headers['x-served']).toBe('metalgate');
    expect(a.headers['x-served-by']).toBeUndefined();
    expect(a.headers['x-frame-options']).toBe('DENY');
  });
  test('redirectScheme and redirectRegex', async () => {
    const a = await h.request({ host: 'https.example.com', path: '/p?q' });
    expect(a.status).toBe(301);
    expect(a.headers.location).toBe('https://https.example.com/p?q');
    expect((await h.request({ host: 'https.example.com', tls: true })).status).toBe(200);
    const m = await h.request({ host: 'old.example.com', path: '/a/b' });
    expect(m.status).toBe(301);
    expect(m.headers.location).toBe('http://new.example.com/a/b');
  });
  test('ipAllowList and ipWhiteList', async () => {
    expect((await h.request({ host: 'lan.example.com' })).status).toBe(403);
    expect((await h.request({ host: 'local.example.com' })).status).toBe(200);
  });
  test('retry: moves on after upstream resets, then answers 502', async () => {
    const before = flaky[0]!.hits;
    const a = await h.request({ host: 'retry.example.com' });
    expect(a.status).toBe(502);
    expect(flaky[0]!.hits - before).toBe(3);
  });
  test('inFlightReq: the second concurrent request from a client gets 429', async () => {
    // The second request goes once the first has reached the (1 s) backend, not after a fixed sleep.
    const before = slow[0]!.hits;
    const first = h.request({ host: 'inflight.example.com' });
    await waitFor(() => slow[0]!.hits > before, 'the first request to reach the backend', 5000, 5);
    const [x, y] = await Promise.all([first, h.request({ host: 'inflight.example.com' })]);
    expect([x.status, y.status].sort()).toEqual([200, 429]);
    expect((await h.request({ host: 'inflight.example.com' })).status).toBe(200);
  });
  test('contentType: a response without Content-Type gets the sniffed one (plain or chunked); without the middleware none', async () => {
    expect((await h.request({ host: 'sniffed.example.com' })).headers['content-type']).toBe('text/html; charset=utf-8');
    expect((await h.request({ host: 'sniffed.example.com', path: '/chunked' })).headers['content-type']).toBe('text/html; charset=utf-8');
    expect((await h.request({ host: 'unsniffed.example.com' })).headers['content-type']).toBeUndefined();
  });

  test('contentType: a body that comes after the head is sniffed from its first read, as Go sniffs the first write (HTTP/1.1 and HTTP/2); an empty one gets no type', async () => {
    for (const path of ['/late', '/late/length']) {
      const r = await h.request({ host: 'sniffed.example.com', path });
      expect([r.status, r.headers['content-type'], r.body.toString()]).toEqual([200, 'text/html; charset=utf-8', '<!DOCTYPE html><p>late</p>']);
    }
    const empty = await h.request({ host: 'sniffed.example.com', path: '/late/empty' });
    expect([empty.status, empty.headers['content-type'], empty.body.length]).toEqual([200, undefined, 0]);
    expect((await h.request({ host: 'unsniffed.example.com', path: '/late' })).headers['content-type']).toBeUndefined();
    const session = http2.connect(`https://127.0.0.1:${h.securePort}`, { servername: 'sniffed.example.com', rejectUnauthorized: false });
    try {
      const get = (path: string) =>
        new Promise<{ type: unknown; body: string }>((resolve, reject) => {
          const stream = session.request({ ':path': path, ':authority': 'sniffed.example.com' });
          let type: unknown;
          let body = '';
          stream.on('response', (hd) => (type = hd['content-type']));
          stream.setEncoding('utf8');
          stream.on('data', (c: string) => (body += c));
          stream.on('end', () => resolve({ type, body }));
          stream.on('error', reject);
        });
      expect(await get('/late')).toEqual({ type: 'text/html; charset=utf-8', body: '<!DOCTYPE html><p>late</p>' });
      expect(await get('/late/length')).toEqual({ type: 'text/html; charset=utf-8', body: '<!DOCTYPE html><p>late</p>' });
      expect(await get('/late/empty')).toEqual({ type: undefined, body: '' });
    } finally {
      session.close();
    }
  });

  test('buffering: a request body over maxRequestBodyBytes gets 413, a response over maxResponseBodyBytes 500', async () => {
    expect((await h.request({ host: 'buffered.example.com', method: 'POST', body: 'x'.repeat(50) })).status).toBe(200);
    expect((await h.request({ host: 'buffered.example.com', method: 'POST', body: 'x'.repeat(101) })).status).toBe(413);
    expect((await h.request({ host: 'bufferedbig.example.com' })).status).toBe(500); // 6000 bytes declared
  });

  test('buffering: a response without a declared length is cut once it passes maxResponseBodyBytes (HTTP/1.1 and HTTP/2)', async () => {
    // Everything the proxy sent until it closed the connection.
    const rawGet = async (path: string) => (await rawExchange(h.webPort, `GET ${path} HTTP/1.1\r\nHost: bufferedstream.example.com\r\n\r\n`, { waitMs: 5000 })).bytes.toString('latin1');
    for (const kind of ['chunked', 'close']) {
      const under = await h.request({ host: 'bufferedstream.example.com', path: `/${kind}/1500/slow` });
      expect([under.status, under.body.length]).toEqual([200, 1500]);
      const atOnce = await rawGet(`/${kind}/3000`);
      expect(atOnce.endsWith('0\r\n\r\n')).toBe(false);
      expect(bodyOf(atOnce).replaceAll(/[^x]/g, '').length).toBeLessThanOrEqual(2000);
      const over = await rawGet(`/${kind}/3000/slow`);
      expect(over.slice(0, 40)).toMatch(/^HTTP\/1.1 200/);
      const body = bodyOf(over);
      expect(body.replaceAll(/[^x]/g, '').length).toBeLessThanOrEqual(2000);
      expect(body.endsWith('0\r\n\r\n')).toBe(false); // no last chunk: the client knows the body is incomplete
    }
    const session = http2.connect(`https://127.0.0.1:${h.securePort}`, { servername: 'bufferedstream.example.com', rejectUnauthorized: false });
    try {
      const get = (path: string) =>
        new Promise<{ status: number; bytes: number; rstCode: number }>((resolve) => {
          const stream = session.request({ ':path': path, ':authority': 'bufferedstream.example.com' });
          let status = 0;
          let bytes = 0;
          stream.on('response', (hd) => (status = Number(hd[':status'])));
          stream.on('data', (c: Buffer) => (bytes += c.length));
          stream.on('error', () => {});
          stream.on('close', () => resolve({ status, bytes, rstCode: stream.rstCode ?? 0 }));
        });
      expect(await get('/chunked/1500/slow')).toEqual({ status: 200, bytes: 1500, rstCode: 0 });
      const cut = await get('/chunked/3000/slow');
      expect(cut.status).toBe(200);
      expect(cut.bytes).toBeLessThanOrEqual(2000);
      expect(cut.rstCode).toBe(http2.constants.NGHTTP2_INTERNAL_ERROR);
    } finally {
      session.close();
    }
  });

  test('cross-namespace Service and ns-name@kubernetescrd middleware', async () => {
    const a = await h.request({ host: 'cross.example.com' });
    expect(a.json!.name).toBe('remote');
    expect(a.json!.headers['x-other']).toBe('1');
  });
});

describe('TraefikServices and entry points through the proxy', () => {
  test('weighted 3:1 splits exactly (smooth round robin)', async () => {
    const counts = { v1: 0, v2: 0 };
    for (let i = 0; i < 400; i++) counts[(await h.request({ host: 'split.example.com' })).json!.name as 'v1' | 'v2']++;
    expect(counts).toEqual({ v1: 300, v2: 100 });
  });
  test('weighted sticky cookie keeps a client on the child it got', async () => {
    const first = await h.request({ host: 'sticky.example.com' });
    const cookie = (first.headers['set-cookie']?.[0] ?? '').split(';')[0]!;
    expect(cookie).toMatch(/^lb=[0-9a-f]{16}$/);
    for (let i = 0; i < 6; i++) {
      const a = await h.request({ host: 'sticky.example.com', headers: { cookie } });
      expect(a.json!.name).toBe(first.json!.name);
      expect(a.headers['set-cookie']).toBeUndefined();
    }
    const names = new Set<string>();
    for (let i = 0; i < 4; i++) names.add((await h.request({ host: 'sticky.example.com' })).json!.name);
    expect(names.size).toBe(2);
  });
  test('mirroring copies requests to the mirror and answers from the main service', async () => {
    const before = mirrorEcho[0]!.hits;
    for (let i = 0; i < 5; i++) expect((await h.request({ host: 'mirror.example.com', path: `/m${i}` })).json!.name).toBe('v1');
    // Copies go out in the background: wait for them (bounded), not for a fixed 200 ms.
    await waitFor(() => mirrorEcho[0]!.hits - before >= 5, 'five mirrored copies', 5000, 5);
    expect(mirrorEcho[0]!.hits - before).toBe(5);
  });
  test('mirroring with a body: mirrorBody (default) copies it, false copies the head alone, maxBodySize skips larger bodies', async () => {
    const copyOf = async (host: string, path: string, body?: string, waitMs = 5000) => {
      const before = recorded.length;
      const a = await h.request({ host, path, method: body === undefined ? 'GET' : 'POST', ...(body !== undefined ? { body } : {}) });
      expect(a.json!.name).toBe('v1');
      await waitFor(() => recorded.length > before, `a copy of ${path}`, waitMs, 5).catch(() => undefined);
      return recorded.slice(before);
    };
    expect(await copyOf('mirror-body.example.com', '/a', 'hello')).toEqual([{ url: '/a', method: 'POST', length: '5', body: 'hello' }]);
    expect(await copyOf('mirror-nobody.example.com', '/b', 'hello')).toEqual([{ url: '/b', method: 'POST', length: undefined, body: '' }]);
    expect(await copyOf('mirror-small.example.com', '/c', 'abc')).toEqual([{ url: '/c', method: 'POST', length: '3', body: 'abc' }]);
    // None comes: the copies above arrived within milliseconds.
    expect(await copyOf('mirror-small.example.com', '/d', 'hello', 500)).toEqual([]);
    expect(await copyOf('mirror-small.example.com', '/e')).toEqual([{ url: '/e', method: 'GET', length: undefined, body: '' }]);
  });
  test('a tls IngressRoute serves only TLS connections', async () => {
    expect((await h.request({ host: 'tls.example.com' })).status).toBe(404);
    expect((await h.request({ host: 'tls.example.com', tls: true })).status).toBe(200);
  });
  test('Flagger-compatible series are exported', async () => {
    const text = await h.registry.metrics();
    expect(text).toMatch(/traefik_service_requests_total\{service="ns-v1-80@kubernetescrd",code="200",method="GET",protocol="http"\} [0-9]+/);
    expect(text).toMatch(/traefik_service_request_duration_seconds_bucket\{le="\+Inf",service="ns-v1-80@kubernetescrd",code="200"/);
  });
});

/** What follows the head in a raw answer ('' without a head). */
function bodyOf(raw: string): string {
  const i = raw.indexOf('\r\n\r\n');
  return i < 0 ? '' : raw.slice(i + 4);
}
