// HTTP entrypoint end to end on loopback: routing, forwarding fields, keep-alive
// on both sides (upstream pool reuse), bodies (Content-Length, chunked both
// ways, close-delimited), HEAD/204/304, Expect: 100-continue, pipelining,
// hop-by-hop removal, stale pooled sockets, connect failures and retries.

import http from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import { EndpointSetBackend } from '../../../src/proxy/http/backend.ts';
import { ingressRouter } from '../../support/table-router.ts';
import { waitFor } from '../helpers/cluster.ts';
import {
  LOOPBACK,
  deadPort,
  endpoint,
  get,
  nodeBackend,
  proxyTo,
  rawBackend,
  rawExchange,
  readResponses,
  startProxy,
  type Backend,
  type Echo,
  type Proxy,
} from './http-harness.ts';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function backendOf(kind: 'node' | 'raw' = 'node', name?: string): Promise<Backend> {
  const b = kind === 'node' ? await nodeBackend(name) : await rawBackend(name);
  cleanups.push(() => b.close());
  return b;
}

async function proxy(ports: number[], opts: Parameters<typeof proxyTo>[1] = {}): Promise<Proxy> {
  const p = await proxyTo(ports, opts);
  cleanups.push(() => p.close());
  return p;
}

describe('routing and forwarding', () => {
  test('routes by host and path; Host, path, query and Content-Length kept; forwarding fields set', async () => {
    const a = await backendOf('raw', 'a');
    const b = await backendOf('raw', 'b');
    const ba = new EndpointSetBackend({ name: 'ns/a:80', endpoints: [endpoint(a.port)] });
    const bb = new EndpointSetBackend({ name: 'ns/b:80', endpoints: [endpoint(b.port)] });
    const p = await startProxy({ router: ingressRouter([{ host: 'a.example', backend: ba }, { host: 'b.example', path: '/api', backend: bb }]) });
    cleanups.push(() => p.close());

    const r1 = await get(p.port, '/x/y?q=1&r=%20', { host: 'a.example' });
    expect(r1.status).toBe(200);
    const e1 = JSON.parse(r1.body) as Echo;
    expect(e1.name).toBe('a');
    expect(e1.url).toBe('/x/y?q=1&r=%20');
    expect(e1.headers.host).toBe('a.example');
    expect(e1.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(e1.headers['x-real-ip']).toBe('127.0.0.1');
    expect(e1.headers['x-forwarded-proto']).toBe('http');
    expect(e1.headers['x-forwarded-host']).toBe('a.example');
    expect(e1.headers['x-forwarded-port']).toBe(String(p.port));

    const r2 = await get(p.port, '/api/v1', { host: 'b.example:8080', method: 'POST', body: 'hello' });
    const e2 = JSON.parse(r2.body) as Echo;
    expect(e2.name).toBe('b');
    expect(e2.method).toBe('POST');
    expect(e2.body).toBe('hello');
    expect(e2.headers['content-length']).toBe('5');
    expect(e2.headers.host).toBe('b.example:8080');

    const r3 = await get(p.port, '/other', { host: 'b.example' });
    expect(r3.status).toBe(404);
    expect(r3.body).toContain('no route');
    const r4 = await get(p.port, '/', { host: 'c.example' });
    expect(r4.status).toBe(404);
  });

  test('routing sees the normalized path; the upstream gets the target as sent', async () => {
    const a = await backendOf('raw', 'a');
    const ba = new EndpointSetBackend({ name: 'ns/a:80', endpoints: [endpoint(a.port)] });
    const p = await startProxy({ router: ingressRouter([{ path: '/api', backend: ba }], undefined) });
    cleanups.push(() => p.close());
    const { bytes } = await rawExchange(p.port, 'GET /x/../api//v1/%2e%2e/v2 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
    const [res] = readResponses(bytes);
    expect(res!.status).toBe(200);
    expect((JSON.parse(res!.body.toString()) as Echo).url).toBe('/x/../api//v1/%2e%2e/v2');
    const { bytes: b2 } = await rawExchange(p.port, 'GET /a%00b HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
    expect(readResponses(b2)[0]!.status).toBe(400);
  });

  test('a client X-Forwarded-For is replaced by default and appended in append mode; hop-by-hop fields dropped', async () => {
    const a = await backendOf('raw');
    const req =
      'GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 203.0.113.9\r\nX-Real-IP: 1.2.3.4\r\nConnection: keep-alive, X-Secret\r\nX-Secret: s\r\n' +
      'Keep-Alive: timeout=5\r\nTE: trailers\r\nProxy-Connection: keep-alive\r\nX-Keep: k\r\n\r\n';
    for (const mode of ['replace', 'append'] as const) {
      const p = await proxy([a.port], { forwardedFor: mode });
      const { bytes } = await rawExchange(p.port, req, { responses: 1 });
      const echo = JSON.parse(readResponses(bytes)[0]!.body.toString()) as Echo;
      expect(echo.headers['x-forwarded-for']).toBe(mode === 'replace' ? '127.0.0.1' : '203.0.113.9, 127.0.0.1');
      expect(echo.headers['x-real-ip']).toBe('127.0.0.1');
      for (const h of ['x-secret', 'keep-alive', 'te', 'proxy-connection', 'connection']) expect(echo.headers[h]).toBeUndefined();
      expect(echo.headers['x-keep']).toBe('k');
    }
  });

  test('no ready endpoint: 503 with a body saying so; unready endpoints get nothing', async () => {
    const a = await backendOf();
    const p = await proxy([]);
    const r = await get(p.port, '/');
    expect(r.status).toBe(503);
    expect(r.body).toContain('no ready endpoint');
    (p as Proxy & { backend: EndpointSetBackend }).backend.setEndpoints([endpoint(a.port, LOOPBACK, { ready: false, terminating: true })]);
    expect((await get(p.port, '/')).status).toBe(503);
    expect(a.requests.length).toBe(0);
  });
});

describe('keep-alive', () => {
  test('client keep-alive and one pooled upstream connection for sequential requests', async () => {
    const a = await backendOf();
    const p = await proxy([a.port]);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    cleanups.push(() => agent.destroy());
    const reused: boolean[] = [];
    for (let i = 0; i < 10; i++) {
      const r = await get(p.port, `/n${i}`, { agent });
      expect(r.status).toBe(200);
      reused.push(r.reused);
    }
    expect(reused.slice(1).every(Boolean)).toBe(true);
    expect(a.connections).toBe(1);
    expect(new Set(a.requests.map((e) => e.remotePort)).size).toBe(1);
    expect(p.entrypoint.stats().pooledUpstreamSockets).toBe(1);
  });

  test('concurrent clients share the pool without mixing responses', async () => {
    const a = await backendOf();
    const p = await proxy([a.port]);
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => get(p.port, `/slow?ms=${i % 5}&i=${i}`)));
    results.forEach((r, i) => expect((JSON.parse(r.body) as Echo).url).toBe(`/slow?ms=${i % 5}&i=${i}`));
    expect(a.connections).toBeLessThanOrEqual(40);
  });

  test('a pooled socket closed by the upstream is dropped from the pool; a reset on reuse is retried for idempotent requests', async () => {
    // Answers the first request of each connection; on a later one it drops the
    // connection without answering (an idle close crossing our request).
    let conns = 0;
    let upstreamClosed = 0;
    const server = net.createServer((s) => {
      conns++;
      let n = 0;
      s.on('error', () => {});
      s.on('close', () => upstreamClosed++);
      s.on('data', (d: Buffer) => {
        if (n++ > 0 || d.toString().includes('close-soon')) {
          if (n > 1) {
            s.destroy();
            return;
          }
        }
        s.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
        if (d.toString().includes('close-soon')) setTimeout(() => s.end(), 10);
      });
    });
    await new Promise<void>((r) => server.listen(0, LOOPBACK, r));
    cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
    const p = await proxy([(server.address() as net.AddressInfo).port]);
    // Closed while idle: removed from the pool, the next request opens a new connection.
    expect((await get(p.port, '/close-soon')).status).toBe(200);
    // Once the upstream's side of that connection is gone (not after a fixed sleep), the pool must not hold it.
    await waitFor(() => upstreamClosed >= 1 && p.entrypoint.stats().pooledUpstreamSockets === 0, 'the closed upstream socket to leave the pool', 5000, 5);
    expect((await get(p.port, '/1')).status).toBe(200);
    expect(conns).toBe(2);
    // Reused and reset before any answer: GET goes again on a fresh connection.
    expect((await get(p.port, '/2')).status).toBe(200);
    expect(conns).toBe(3);
    // Not for a POST: its body may have been acted on.
    const r = await get(p.port, '/3', { method: 'POST', body: 'x' });
    expect(r.status).toBe(502);
    expect(conns).toBe(3);
  });

  test('pipelined requests are answered in order', async () => {
    const a = await backendOf('raw');
    const p = await proxy([a.port]);
    const reqs = ['/1', '/2', '/3'].map((t) => `GET ${t} HTTP/1.1\r\nHost: a\r\n\r\n`).join('') + 'GET /4 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n';
    const { bytes, closed } = await rawExchange(p.port, reqs);
    expect(closed).toBe(true);
    const res = readResponses(bytes);
    expect(res.map((r) => (JSON.parse(r.body.toString()) as Echo).url)).toEqual(['/1', '/2', '/3', '/4']);
    expect(res[3]!.header('connection')).toBe('close');
  });

  test('HTTP/1.0 client: keep-alive only when asked; chunked upstream body sent close-delimited', async () => {
    const a = await backendOf();
    const p = await proxy([a.port]);
    const ka = await rawExchange(p.port, 'GET /x HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /y HTTP/1.0\r\n\r\n');
    expect(ka.closed).toBe(true);
    const res = readResponses(ka.bytes);
    expect(res.length).toBe(2);
    expect(res[0]!.header('connection')).toBe('keep-alive');
    expect(res[1]!.header('connection')).toBe('close');
    const ch = await rawExchange(p.port, 'GET /chunked HTTP/1.0\r\n\r\n');
    const [r] = readResponses(ch.bytes);
    expect(r!.header('transfer-encoding')).toBeUndefined();
    expect(r!.body.toString()).toBe('part1-part2-part3');
  });
});

describe('bodies and framing', () => {
  test('chunked request body reaches the upstream chunked and intact; chunked response to the client', async () => {
    const a = await backendOf('raw');
    const p = await proxy([a.port]);
    const { bytes } = await rawExchange(p.port, [
      'POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n',
      '1;ext=1\r\n,\r\n6\r\n world\r\n',
      '0\r\nX-Trailer: t\r\n\r\n',
      'GET /after HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n',
    ], { gapMs: 20 });
    const res = readResponses(bytes);
    const echo = JSON.parse(res[0]!.body.toString()) as Echo;
    expect(echo.body).toBe('hello, world');
    expect(echo.headers['transfer-encoding']).toBe('chunked');
    expect((JSON.parse(res[1]!.body.toString()) as Echo).url).toBe('/after');

    const n = await backendOf('node');
    const p2 = await proxy([n.port]);
    const { bytes: b2 } = await rawExchange(p2.port, 'GET /chunked HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
    const [r2] = readResponses(b2);
    expect(r2!.header('transfer-encoding')).toBe('chunked');
    expect(r2!.body.toString()).toBe('part1-part2-part3');
  });

  test('large response and request bodies stream with backpressure', async () => {
    const a = await backendOf();
    const p = await proxy([a.port], { limits: { maxBodyBytes: 0 } });
    const big = await get(p.port, '/big?bytes=5000000');
    expect(big.body.length).toBe(5_000_000);
    const body = Buffer.alloc(3_000_000, 0x62);
    const up = await get(p.port, '/upload', { method: 'PUT', body });
    expect((JSON.parse(up.body) as Echo).bodyBytes).toBe(3_000_000);
  });

  test('close-delimited upstream body is re-framed chunked for an HTTP/1.1 client', async () => {
    const server = net.createServer((s) => {
      s.once('data', () => s.end('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end'));
      s.on('error', () => {});
    });
    await new Promise<void>((r) => server.listen(0, LOOPBACK, r));
    cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
    const p = await proxy([(server.address() as net.AddressInfo).port]);
    const { bytes } = await rawExchange(p.port, 'GET / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
    const res = readResponses(bytes);
    expect(res.length).toBe(2);
    for (const r of res) {
      expect(r.header('transfer-encoding')).toBe('chunked');
      expect(r.body.toString()).toBe('until the end');
    }
  });

  test('HEAD, 204 and 304 carry no body and keep the connection usable', async () => {
    const a = await backendOf();
    const p = await proxy([a.port]);
    const { bytes } = await rawExchange(
      p.port,
      'HEAD /big?bytes=100 HTTP/1.1\r\nHost: a\r\n\r\nGET /nobody HTTP/1.1\r\nHost: a\r\n\r\nGET /notmodified HTTP/1.1\r\nHost: a\r\n\r\nGET /last HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n',
    );
    const res = readResponses(bytes, ['HEAD', 'GET', 'GET', 'GET']);
    expect(res.map((r) => r.status)).toEqual([200, 204, 304, 200]);
    expect(res[0]!.header('content-length')).toBe('100');
    expect(res[0]!.body.length).toBe(0);
    expect(res[1]!.body.length).toBe(0);
    expect(res[2]!.body.length).toBe(0);
    expect((JSON.parse(res[3]!.body.toString()) as Echo).url).toBe('/last');
  });

  test('Expect: 100-continue: the proxy answers 100 before the body, not forwarding Expect', async () => {
    const a = await backendOf('raw');
    const p = await proxy([a.port]);
    const sock = net.connect({ host: LOOPBACK, port: p.port });
    cleanups.push(() => void sock.destroy());
    await new Promise((r) => sock.once('connect', r));
    sock.write('POST /e HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 4\r\nConnection: close\r\n\r\n');
    const first = await new Promise<Buffer>((r) => sock.once('data', r));
    expect(first.toString()).toBe('HTTP/1.1 100 Continue\r\n\r\n');
    const rest: Buffer[] = [];
    sock.on('data', (d: Buffer) => rest.push(d));
    sock.write('body');
    await new Promise((r) => sock.once('close', r));
    const [res] = readResponses(Buffer.concat(rest), ['POST']);
    const echo = JSON.parse(res!.body.toString()) as Echo;
    expect(echo.body).toBe('body');
    expect(echo.headers.expect).toBeUndefined();
  });
});

describe('upstream failures', () => {
  test('refused connection: 502 saying so; with another endpoint the request is retried there', async () => {
    const dead = await deadPort();
    const p = await proxy([dead]);
    const r = await get(p.port, '/');
    expect(r.status).toBe(502);
    expect(r.body).toContain('refused');
    const a = await backendOf();
    const p2 = await proxy([dead, a.port]);
    for (let i = 0; i < 4; i++) expect((await get(p2.port, `/${i}`)).status).toBe(200);
  });

  test('upstream closing without an answer: 502; invalid response: 502', async () => {
    const server = net.createServer((s) => {
      s.on('error', () => {});
      s.once('data', (d: Buffer) => {
        if (d.toString().startsWith('GET /bad')) s.end('HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab');
        else s.destroy();
      });
    });
    await new Promise<void>((r) => server.listen(0, LOOPBACK, r));
    cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
    const p = await proxy([(server.address() as net.AddressInfo).port]);
    const r1 = await get(p.port, '/drop');
    expect(r1.status).toBe(502);
    expect(r1.body).toContain('without answering');
    const r2 = await get(p.port, '/bad');
    expect(r2.status).toBe(502);
    expect(r2.body).toContain('invalid');
  });
});
