// Each limit and timeout of the HTTP entrypoint answers as stated (431, 413,
// 408, 502, 503, 504 with a text body saying what happened), and the request
// smuggling vectors of src/proxy/http1 give the same verdicts end to end
// through the proxy, with nothing rejected ever reaching the upstream.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import { EndpointSetBackend } from '../../../src/proxy/http/backend.ts';
import { REQUEST_VECTORS } from '../../unit/proxy/http1/request-vectors.ts';
import { LOOPBACK, endpoint, get, nodeBackend, proxyTo, rawBackend, rawExchange, readResponses, type Backend, type Echo, type Proxy } from './http-harness.ts';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function backendOf(kind: 'node' | 'raw' = 'node'): Promise<Backend> {
  const b = kind === 'node' ? await nodeBackend() : await rawBackend();
  cleanups.push(() => b.close());
  return b;
}

async function proxy(ports: number[], opts: Parameters<typeof proxyTo>[1] = {}): Promise<Proxy & { backend: EndpointSetBackend }> {
  const p = await proxyTo(ports, opts);
  cleanups.push(() => p.close());
  return p;
}

function only(bytes: Buffer, method = 'GET'): { status: number; body: string; connection: string | undefined } {
  const res = readResponses(bytes, [method]);
  expect(res.length).toBe(1);
  return { status: res[0]!.status, body: res[0]!.body.toString(), connection: res[0]!.header('connection') };
}

describe('client limits', () => {
  test('request head over the limit: 431 and close', async () => {
    const a = await backendOf();
    const p = await proxy([a.port], { limits: { maxHeadBytes: 1024, maxHeaders: 10 } });
    const big = await rawExchange(p.port, `GET / HTTP/1.1\r\nHost: a\r\nX-Big: ${'x'.repeat(2000)}\r\n\r\n`);
    const r = only(big.bytes);
    expect(r.status).toBe(431);
    expect(r.body).toContain('request header fields too large');
    expect(big.closed).toBe(true);
    const many = await rawExchange(p.port, `GET / HTTP/1.1\r\nHost: a\r\n${Array.from({ length: 12 }, (_, i) => `X-${i}: v\r\n`).join('')}\r\n`);
    expect(only(many.bytes).status).toBe(431);
    expect(a.connections).toBe(0);
  });

  test('Content-Length over the body limit: 413 before any upstream connection', async () => {
    const a = await backendOf();
    const p = await proxy([a.port], { limits: { maxBodyBytes: 10 } });
    const res = await rawExchange(p.port, 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\n');
    const r = only(res.bytes, 'POST');
    expect(r.status).toBe(413);
    expect(r.body).toContain('larger than 10 bytes');
    expect(r.connection).toBe('close');
    expect(a.connections).toBe(0);
    // Exactly at the limit passes.
    expect((await get(p.port, '/', { method: 'POST', body: '0123456789' })).status).toBe(200);
  });

  test('chunked body over the limit: 413 when exceeded', async () => {
    const a = await backendOf('raw');
    const p = await proxy([a.port], { limits: { maxBodyBytes: 10 } });
    const res = await rawExchange(p.port, ['POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nabcdef\r\n', '6\r\nghijkl\r\n'], { gapMs: 30 });
    const r = only(res.bytes, 'POST');
    expect(r.status).toBe(413);
    expect(res.closed).toBe(true);
    expect(a.requests.length).toBe(0);
  });

  test('a backend limit overrides the entrypoint default', async () => {
    const a = await backendOf();
    const p = await proxy([a.port], { limits: { maxBodyBytes: 10 } });
    const big = new EndpointSetBackend({ name: 'ns/big:80', endpoints: [endpoint(a.port)], limits: { maxBodyBytes: 100 } });
    const { ingressRouter } = await import('../../support/table-router.ts');
    p.entrypoint.setRouter(ingressRouter([{ backend: big }]));
    expect((await get(p.port, '/', { method: 'POST', body: 'x'.repeat(50) })).status).toBe(200);
    expect((await get(p.port, '/', { method: 'POST', body: 'x'.repeat(101) })).status).toBe(413);
  });
});

describe('client timeouts', () => {
  test('request head not complete in time: 408 and close; a silent new connection is just closed', async () => {
    const a = await backendOf();
    const p = await proxy([a.port], { timeouts: { headerMs: 150 } });
    const t0 = Date.now();
    const res = await rawExchange(p.port, 'GET / HTTP/1.1\r\nHost: a\r\n');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
    const r = only(res.bytes);
    expect(r.status).toBe(408);
    expect(r.body).toContain('request head did not arrive within 150 ms');
    expect(res.closed).toBe(true);
    const silent = await rawExchange(p.port, []);
    expect(silent.closed).toBe(true);
    expect(silent.bytes.length).toBe(0);
  });

  test('idle keep-alive connection is closed after the idle timeout', async () => {
    const a = await backendOf();
    const p = await proxy([a.port], { timeouts: { idleMs: 150 } });
    const t0 = Date.now();
    const res = await rawExchange(p.port, 'GET / HTTP/1.1\r\nHost: a\r\n\r\n');
    expect(res.closed).toBe(true);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
    expect(only(res.bytes).status).toBe(200);
  });

  test('request body stalled: 408', async () => {
    const a = await backendOf('raw');
    const p = await proxy([a.port], { timeouts: { bodyMs: 150 } });
    const res = await rawExchange(p.port, 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc');
    const r = only(res.bytes, 'POST');
    expect(r.status).toBe(408);
    expect(r.body).toContain('request body stalled');
    expect(res.closed).toBe(true);
  });
});

describe('upstream timeouts', () => {
  test('no response in time: 504 saying so', async () => {
    const a = await backendOf();
    const p = await proxy([a.port], { upstreamTimeouts: { readMs: 150 } });
    const r = await get(p.port, '/slow?ms=1000');
    expect(r.status).toBe(504);
    expect(r.body).toContain('did not answer within 150 ms');
    // A per-backend timeout wins over the entrypoint's.
    const patient = new EndpointSetBackend({ name: 'ns/patient:80', endpoints: [endpoint(a.port)], timeouts: { readMs: 2000 } });
    const { ingressRouter } = await import('../../support/table-router.ts');
    p.entrypoint.setRouter(ingressRouter([{ backend: patient }]));
    expect((await get(p.port, '/slow?ms=300')).status).toBe(200);
  });

  const python = spawnSync('sh', ['-c', 'command -v python3']).status === 0;
  test.skipIf(!python)('connect not accepted in time: 504 (a listener whose accept queue is full drops SYNs)', async () => {
    // python3 listens with backlog 0 and never accepts; two connections fill the queue.
    const child: ChildProcess = spawn('python3', ['-c', "import socket,time\ns=socket.socket();s.bind(('127.0.0.1',0));s.listen(0)\nprint(s.getsockname()[1],flush=True)\ntime.sleep(30)"]);
    cleanups.push(() => void child.kill('SIGKILL'));
    const port = await new Promise<number>((r) => child.stdout!.once('data', (d: Buffer) => r(Number(d.toString().trim()))));
    for (let i = 0; i < 3; i++) {
      const s = net.connect({ host: LOOPBACK, port });
      s.on('error', () => {});
      cleanups.push(() => void s.destroy());
      await new Promise((r) => setTimeout(r, 30));
    }
    const p = await proxy([port], { upstreamTimeouts: { connectMs: 200 } });
    const t0 = Date.now();
    const r = await get(p.port, '/');
    expect(r.status).toBe(504);
    expect(r.body).toContain('did not accept the connection within 200 ms');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(190);
  });
});

describe('request smuggling vectors through the proxy', () => {
  // Each vector from src/proxy/http1's table, sent whole and then half-closed.
  // Verdicts must match the parser's: errors answered with their status (and
  // never reaching the upstream), accepted requests forwarded with their
  // method, target and body. Differences by design: CONNECT is not proxied
  // (405); a message cut short by the end of input gets no answer.
  test('every vector gives the parser table verdict end to end', async () => {
    const a = await backendOf('raw');
    const p = await proxy([a.port]);
    let checked = 0;
    for (const v of REQUEST_VECTORS) {
      if (v.expect.some((o) => o.method === 'CONNECT')) continue;
      a.requests = [];
      const { bytes } = await rawExchange(p.port, v.raw, { end: true });
      const methods = v.expect.map((o) => o.method ?? 'GET');
      const res = readResponses(bytes, methods);
      const expected = v.expect.filter((o) => o.code !== 'INCOMPLETE');
      expect(
        res.map((r) => r.status),
        v.name,
      ).toEqual(expected.map((o) => o.status));
      const forwarded = expected.filter((o) => o.status === 200);
      expect(a.requests.length, v.name).toBe(forwarded.length);
      forwarded.forEach((o, i) => {
        const e: Echo = a.requests[i]!;
        expect(e.method, v.name).toBe(o.method);
        if (o.target?.startsWith('/')) expect(e.url, v.name).toBe(o.target);
        expect(e.bodyBytes, v.name).toBe(o.body ?? 0);
      });
      checked++;
    }
    expect(checked).toBeGreaterThan(100);
  });
});
