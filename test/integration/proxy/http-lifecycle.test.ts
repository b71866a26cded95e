// WebSocket (upgrade then a byte pipe), router swaps with requests in flight,
// drain on SIGTERM, middleware hooks (answer, edit request and response,
// body transform, retry, async), metrics and the sampled access log.

import http from 'node:http';
import net from 'node:net';
import zlib from 'node:zlib';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, test } from 'vitest';
import { EndpointSetBackend } from '../../../src/proxy/http/backend.ts';
import { ingressRouter } from '../../support/table-router.ts';
import type { Middleware } from '../../../src/proxy/http/types.ts';
import { waitFor } from '../helpers/cluster.ts';
import { LOOPBACK, endpoint, get, nodeBackend, rawExchange, readResponses, startProxy, type Backend, type Echo, type Proxy } from './http-harness.ts';

// `ws` (a dependency of @kubernetes/client-node) has no type declarations here: the little used is declared.
interface WsSocket {
  send(data: string): void;
  close(code: number): void;
  terminate(): void;
  on(event: 'message', fn: (m: Buffer) => void): void;
  once(event: 'open', fn: () => void): void;
  once(event: 'error', fn: (e: Error) => void): void;
  once(event: 'close', fn: (code: number) => void): void;
}
interface WsModule {
  WebSocket: new (url: string, opts: { headers: Record<string, string> }) => WsSocket;
  WebSocketServer: new (opts: { server: http.Server }) => {
    clients: Set<WsSocket>;
    close(): void;
    on(event: 'connection', fn: (ws: WsSocket, req: http.IncomingMessage) => void): void;
  };
}
const { WebSocket, WebSocketServer } = (await import('ws' as string)) as WsModule;

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function backendOf(name = 'node'): Promise<Backend> {
  const b = await nodeBackend(name);
  cleanups.push(() => b.close());
  return b;
}

function backendFor(b: Backend, name = `ns/${b.port}:80`): EndpointSetBackend {
  return new EndpointSetBackend({ name, endpoints: [endpoint(b.port)] });
}

async function proxyWith(opts: Parameters<typeof startProxy>[0]): Promise<Proxy> {
  const p = await startProxy(opts);
  cleanups.push(() => p.close());
  return p;
}

describe('WebSocket', () => {
  test('echo through the proxy, both directions, and close', async () => {
    const server = http.createServer();
    const wss = new WebSocketServer({ server });
    wss.on('connection', (ws, req) => {
      ws.send(`hello ${req.headers['x-forwarded-for']}`);
      ws.on('message', (m) => ws.send(`echo:${m.toString()}`));
    });
    await new Promise<void>((r) => server.listen(0, LOOPBACK, r));
    cleanups.push(() => new Promise<void>((r) => {
      for (const c of wss.clients) c.terminate();
      wss.close();
      server.close(() => r());
    }));
    const p = await proxyWith({ router: ingressRouter([{ backend: new EndpointSetBackend({ name: 'ns/ws:80', endpoints: [endpoint((server.address() as net.AddressInfo).port)] }) }]) });
    const ws = new WebSocket(`ws://127.0.0.1:${p.port}/socket`, { headers: { host: 'a.example' } });
    const got: string[] = [];
    ws.on('message', (m) => got.push(m.toString()));
    await new Promise<void>((r, j) => {
      ws.once('open', () => r());
      ws.once('error', (e) => j(e));
    });
    const big = 'x'.repeat(200_000);
    ws.send('one');
    ws.send(big);
    await new Promise<void>((r) => {
      const t = setInterval(() => {
        if (got.length >= 3) {
          clearInterval(t);
          r();
        }
      }, 5);
    });
    expect(got[0]).toBe('hello 127.0.0.1');
    expect(got[1]).toBe('echo:one');
    expect(got[2]).toBe(`echo:${big}`);
    const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
    ws.close(1000);
    expect(await closed).toBe(1000);
  });

  test('an upgrade the upstream refuses is an ordinary response', async () => {
    const a = await backendOf();
    const p = await proxyWith({ router: ingressRouter([{ backend: backendFor(a) }]) });
    const { bytes } = await rawExchange(p.port, 'GET /plain HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n', { responses: 1 });
    const [r] = readResponses(bytes);
    expect(r!.status).toBe(200);
  });
});

describe('router swap and drain', () => {
  test('requests in flight finish on the route they got; new ones take the new router; nothing dropped', async () => {
    const one = await backendOf('one');
    const two = await backendOf('two');
    const p = await proxyWith({ router: ingressRouter([{ backend: backendFor(one) }]) });
    // Swap only once every request has reached `one` (a fixed sleep raced a loaded CI machine).
    const inFlight = Array.from({ length: 20 }, (_, i) => get(p.port, `/slow?ms=1000&i=${i}`));
    await waitFor(() => one.requests.length === 20, 'all 20 requests to reach the first backend', 5000, 5);
    p.entrypoint.setRouter(ingressRouter([{ backend: backendFor(two) }]));
    const after = await get(p.port, '/after');
    const done = await Promise.all(inFlight);
    expect(done.every((r) => r.status === 200 && (JSON.parse(r.body) as Echo).name === 'one')).toBe(true);
    expect((JSON.parse(after.body) as Echo).name).toBe('two');
  });

  test('drain: idle connections close, a busy one finishes its response with Connection: close, then drain resolves', async () => {
    const a = await backendOf();
    const p = await proxyWith({ router: ingressRouter([{ backend: backendFor(a) }]) });
    const idle = net.connect({ host: LOOPBACK, port: p.port });
    await new Promise((r) => idle.once('connect', r));
    const idleClosed = new Promise((r) => idle.once('close', r));
    idle.on('error', () => {});
    const busy = rawExchange(p.port, 'GET /slow?ms=1000 HTTP/1.1\r\nHost: a\r\n\r\n');
    // Drain once the busy request is at the upstream (a fixed sleep raced a loaded CI machine).
    await waitFor(() => a.requests.length === 1, 'the busy request to reach the backend', 5000, 5);
    const t0 = Date.now();
    const drained = p.entrypoint.drain(10_000);
    await idleClosed;
    const res = await busy;
    await drained;
    // Resolved when the busy response was done (about 1 s), well before the 10 s grace.
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(res.closed).toBe(true);
    const [r] = readResponses(res.bytes);
    expect(r!.status).toBe(200);
    expect(r!.header('connection')).toBe('close');
    expect(p.entrypoint.stats().openConnections).toBe(0);
    // New sockets handed over after a drain are closed at once.
    const late = await rawExchange(p.port, 'GET / HTTP/1.1\r\nHost: a\r\n\r\n');
    expect(late.closed).toBe(true);
    expect(late.bytes.length).toBe(0);
  });

  test('drain cuts what outlives the grace period', async () => {
    const a = await backendOf();
    const p = await proxyWith({ router: ingressRouter([{ backend: backendFor(a) }]) });
    const busy = rawExchange(p.port, 'GET /slow?ms=5000 HTTP/1.1\r\nHost: a\r\n\r\n');
    await waitFor(() => a.requests.length === 1, 'the busy request to reach the backend', 5000, 5);
    const t0 = Date.now();
    await p.entrypoint.drain(200);
    // Cut after the 200 ms grace, long before the 5 s answer.
    expect(Date.now() - t0).toBeLessThan(3000);
    const res = await busy;
    expect(res.closed).toBe(true);
    expect(res.bytes.length).toBe(0);
  });
});

describe('middlewares', () => {
  test('a middleware answers (401); onDone runs once per started middleware; the upstream never sees the request', async () => {
    const a = await backendOf();
    const done: string[] = [];
    const auth: Middleware = {
      name: 'auth',
      onRequest: (ctx) => (ctx.header('authorization') === 'Bearer ok' ? undefined : { status: 401, headers: [['WWW-Authenticate', 'Bearer']], body: 'no' }),
      onDone: (_ctx, o) => done.push(`auth:${o.status}`),
    };
    const after: Middleware = { name: 'after', onRequest: () => undefined, onDone: () => done.push('after') };
    const p = await proxyWith({ router: ingressRouter([{ backend: backendFor(a), middlewares: [auth, after] }]) });
    const r1 = await get(p.port, '/');
    expect(r1.status).toBe(401);
    expect(r1.headers['www-authenticate']).toBe('Bearer');
    expect(r1.body).toBe('no');
    expect(a.requests.length).toBe(0);
    const r2 = await get(p.port, '/', { headers: { authorization: 'Bearer ok' } });
    expect(r2.status).toBe(200);
    expect(done).toEqual(['auth:401', 'after', 'auth:200']);
  });

  test('request edits (path, host, headers) reach the upstream; response edits reach the client', async () => {
    const a = await backendOf();
    const rewrite: Middleware = {
      name: 'rewrite',
      onRequest: (ctx) => {
        ctx.upstreamTarget = ctx.upstreamTarget.replace(/^\/api/, '') || '/';
        ctx.upstreamHost = 'internal.svc';
        ctx.setHeader('X-Added', 'yes');
        ctx.removeHeader('X-Drop');
        return undefined;
      },
      onResponse: (_ctx, res) => {
        res.setHeader('X-Frame-Options', 'DENY');
        res.removeHeader('x-echo-name');
      },
    };
    const p = await proxyWith({ router: ingressRouter([{ backend: backendFor(a), middlewares: [rewrite] }]) });
    const r = await get(p.port, '/api/users?id=1', { headers: { 'x-drop': 'secret', 'x-keep': 'k' } });
    const echo = JSON.parse(r.body) as Echo;
    expect(echo.url).toBe('/users?id=1');
    expect(echo.headers.host).toBe('internal.svc');
    expect(echo.headers['x-forwarded-host']).toBe('a.example');
    expect(echo.headers['x-added']).toBe('yes');
    expect(echo.headers['x-drop']).toBeUndefined();
    expect(echo.headers['x-keep']).toBe('k');
    expect(r.headers['x-frame-options']).toBe('DENY');
    expect(r.headers['x-echo-name']).toBeUndefined();
  });

  test('header injection through a middleware edit is refused (500, nothing forwarded)', async () => {
    const a = await backendOf();
    const evil: Middleware = { name: 'evil', onRequest: (ctx) => void ctx.setHeader('X-Evil', 'a\r\nInjected: 1') };
    const p = await proxyWith({ router: ingressRouter([{ backend: backendFor(a), middlewares: [evil] }]) });
    const r = await get(p.port, '/');
    expect(r.status).toBe(500);
    expect(a.requests.length).toBe(0);
  });

  test('faulty plug-ins cost the request, not the process: an invalid answer, a throwing pick()', async () => {
    const a = await backendOf();
    const badAnswer: Middleware = { name: 'bad-answer', onRequest: () => ({ status: 302, headers: [['Location', '/x\r\nSet-Cookie: a=b']] }) };
    const throwing = { name: 'ns/throws:80', protocol: 'http' as const, pick: () => { throw new Error('boom'); } };
    const p = await proxyWith({
      router: ingressRouter([
        { path: '/answer', backend: backendFor(a), middlewares: [badAnswer] },
        { path: '/pick', backend: throwing },
        { backend: backendFor(a) },
      ]),
    });
    const r1 = await get(p.port, '/answer');
    expect(r1.status).toBe(500);
    expect(r1.headers['set-cookie']).toBeUndefined();
    expect((await get(p.port, '/pick')).status).toBe(500);
    expect((await get(p.port, '/fine')).status).toBe(200);
  });

  test('a body transform (gzip) re-frames the response chunked', async () => {
    const a = await backendOf();
    const gzip: Middleware = {
      name: 'gzip',
      onResponse: (ctx, res) => {
        if (!res.hasBody || res.header('content-encoding') !== undefined) return;
        if (!(ctx.header('accept-encoding') ?? '').includes('gzip')) return;
        res.setHeader('Content-Encoding', 'gzip');
        res.setBodyTransform(zlib.createGzip());
      },
    };
    const p = await proxyWith({ router: ingressRouter([{ backend: backendFor(a), middlewares: [gzip] }]) });
    const { bytes } = await rawExchange(p.port, 'GET /text HTTP/1.1\r\nHost: a\r\nAccept-Encoding: gzip\r\n\r\nGET /text HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
    const [r1, r2] = readResponses(bytes);
    expect(r1!.header('transfer-encoding')).toBe('chunked');
    expect(r1!.header('content-length')).toBeUndefined();
    expect(zlib.gunzipSync(r1!.body).toString()).toBe('hello compressible text '.repeat(200));
    expect(r1!.body.length).toBeLessThan(200);
    expect(r2!.body.toString()).toBe('hello compressible text '.repeat(200));
  });

  test('retry: an upstream 502 or a refused connection is retried on the next endpoint before anything reached the client', async () => {
    let hits = 0;
    const flaky = http.createServer((_req, res) => {
      hits++;
      res.writeHead(502).end('flaky');
    });
    await new Promise<void>((r) => flaky.listen(0, LOOPBACK, r));
    cleanups.push(() => new Promise<void>((r) => flaky.close(() => r())));
    const good = await backendOf('good');
    const backend = new EndpointSetBackend({ name: 'ns/mixed:80', endpoints: [endpoint((flaky.address() as net.AddressInfo).port), endpoint(good.port)] });
    const retry: Middleware = { name: 'retry', retry: { attempts: 2 } };
    const p = await proxyWith({ router: ingressRouter([{ backend, middlewares: [retry] }]) });
    // Round-robin makes every request try the flaky endpoint first.
    for (let i = 0; i < 4; i++) expect((await get(p.port, `/${i}`)).status).toBe(200);
    expect(hits).toBe(4);
    // Without the middleware the 502 is passed on.
    p.entrypoint.setRouter(ingressRouter([{ backend }]));
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await get(p.port, `/${i}`)).status);
    expect(statuses.sort()).toEqual([200, 200, 502, 502]);
  });

  test('an async middleware (a Promise) holds the request until it settles', async () => {
    const a = await backendOf();
    const slowCheck: Middleware = {
      name: 'async',
      onRequest: async (ctx) => {
        await new Promise((r) => setTimeout(r, 30));
        return ctx.path === '/deny' ? { status: 403, body: 'denied' } : undefined;
      },
    };
    const p = await proxyWith({ router: ingressRouter([{ backend: backendFor(a), middlewares: [slowCheck] }]) });
    expect((await get(p.port, '/deny')).status).toBe(403);
    const ok = await get(p.port, '/ok', { method: 'POST', body: 'data' });
    expect((JSON.parse(ok.body) as Echo).body).toBe('data');
  });

  test('mirror: a copy (head and body) goes to the mirror, its answer is dropped; a dead mirror changes nothing', async () => {
    const main = await backendOf('main');
    const shadow = await backendOf('shadow');
    const dead = new EndpointSetBackend({ name: 'ns/dead:80', endpoints: [endpoint(1)] });
    const mirror: Middleware = { name: 'mirror', mirror: [{ backend: backendFor(shadow, 'ns/shadow:80'), percent: 100 }, { backend: dead, percent: 100 }] };
    const p = await proxyWith({ router: ingressRouter([{ backend: backendFor(main), middlewares: [mirror] }]) });
    const r1 = await get(p.port, '/m?x=1');
    expect((JSON.parse(r1.body) as Echo).name).toBe('main');
    const r2 = await get(p.port, '/post', { method: 'POST', body: 'mirrored body' });
    expect((JSON.parse(r2.body) as Echo).body).toBe('mirrored body');
    const { bytes } = await rawExchange(p.port, 'PUT /chunky HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n0\r\n\r\n');
    expect((JSON.parse(readResponses(bytes)[0]!.body.toString()) as Echo).body).toBe('abc');
    // Mirror copies are sent in the background: wait for them (bounded), not for a fixed 500 ms.
    await waitFor(() => shadow.requests.length >= 3, 'three mirrored requests', 5000, 5);
    expect(shadow.requests.map((e) => [e.method, e.url, e.body])).toEqual([
      ['GET', '/m?x=1', ''],
      ['POST', '/post', 'mirrored body'],
      ['PUT', '/chunky', 'abc'],
    ]);
    expect(shadow.requests[0]!.headers.host).toBe('a.example');
  });

  test('sticky affinity key steers pick()', async () => {
    const one = await backendOf('one');
    const two = await backendOf('two');
    const backend = new EndpointSetBackend({ name: 'ns/two:80', endpoints: [endpoint(one.port), endpoint(two.port)] });
    const key = backend.affinityKeyOf(backend.endpoints[1]!);
    const sticky: Middleware = {
      name: 'sticky',
      onRequest: (ctx) => {
        ctx.affinityKey = /sticky=([0-9a-f]+)/.exec(ctx.header('cookie') ?? '')?.[1];
        return undefined;
      },
    };
    const p = await proxyWith({ router: ingressRouter([{ backend, middlewares: [sticky] }]) });
    for (let i = 0; i < 4; i++) expect((JSON.parse((await get(p.port, '/', { headers: { cookie: `sticky=${key}` } })).body) as Echo).name).toBe('two');
  });
});

describe('observability', () => {
  test('metrics by backend and code, duration histogram, open connections, upstream errors', async () => {
    const a = await backendOf();
    const registry = new Registry();
    const backend = backendFor(a, 'ns/app:80');
    const dead = new EndpointSetBackend({ name: 'ns/dead:80', endpoints: [endpoint(1)] });
    const p = await proxyWith({ name: 'web', registry, router: ingressRouter([{ path: '/dead', backend: dead }, { backend }]) });
    await get(p.port, '/');
    await get(p.port, '/status/503');
    await get(p.port, '/dead');
    await get(p.port, '/', { host: '' });
    const text = await registry.metrics();
    expect(text).toContain('metalgate_http_requests_total{entrypoint="web",backend="ns/app:80",code="200"} 2');
    expect(text).toContain('metalgate_http_requests_total{entrypoint="web",backend="ns/app:80",code="503"} 1');
    expect(text).toContain('metalgate_http_requests_total{entrypoint="web",backend="ns/dead:80",code="502"} 1');
    expect(text).toMatch(/metalgate_http_request_duration_seconds_bucket\{entrypoint="web",backend="ns\/app:80",le="\+Inf"\} 3/);
    expect(text).toContain('metalgate_http_upstream_errors_total{entrypoint="web",backend="ns/dead:80",reason="connect-refused"}');
    expect(text).toContain('metalgate_http_open_connections{entrypoint="web",protocol="http1"}');
    expect(text).toContain('metalgate_http_upstream_connects_total{entrypoint="web",backend="ns/app:80"} 1');
    // A second entrypoint shares the registry.
    const p2 = await proxyWith({ name: 'websecure', registry, router: ingressRouter([{ backend }]) });
    await get(p2.port, '/');
    expect(await registry.metrics()).toContain('metalgate_http_requests_total{entrypoint="websecure",backend="ns/app:80",code="200"} 1');
  });

  test('access log: every request at rate 1, none at 0; proxy errors logged at warn whatever the rate', async () => {
    const a = await backendOf();
    const lines: Array<Record<string, unknown>> = [];
    const sink = { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) };
    const logger = pino({ level: 'info' }, sink);
    const p = await proxyWith({ logger, accessLogSampleRate: 1, router: ingressRouter([{ backend: backendFor(a, 'ns/app:80') }]) });
    await get(p.port, '/logged?x=1');
    const rec = lines.find((l) => l.msg === 'request')!;
    expect(rec).toMatchObject({ method: 'GET', target: '/logged?x=1', status: 200, backend: 'ns/app:80', clientIp: '127.0.0.1' });
    lines.length = 0;
    const p0 = await proxyWith({ logger, accessLogSampleRate: 0, router: ingressRouter([{ backend: new EndpointSetBackend({ name: 'ns/none:80' }) }]) });
    await get(p0.port, '/');
    expect(lines.filter((l) => l.msg === 'request').length).toBe(0);
    const warn = lines.find((l) => l.level === 40)!;
    expect(warn).toMatchObject({ status: 503, error: 'no-endpoint' });
  });
});
