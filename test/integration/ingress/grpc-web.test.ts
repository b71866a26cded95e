// Traefik's grpcWeb middleware through the real entrypoint: gRPC-Web calls,
// as a browser library sends them (length-prefixed messages in a POST,
// application/grpc-web+proto or the base64 -text variant), reach a real
// gRPC backend (@grpc/grpc-js over h2c) as gRPC; the answer comes back as
// gRPC-Web, the status in a trailers frame at the end of the body. CORS for
// the allowed origins as Traefik's wrapper does it.
import http2 from 'node:http2';
import net from 'node:net';
import http from 'node:http';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { jsonMethod } from '../../support/grpc-json.ts';
import type { CertificatePair } from '../../../src/proxy/http/types.ts';
import { Harness, ingressRoute, middleware } from './harness.ts';

const SERVICE = {
  Echo: jsonMethod('test.Echo', 'Echo', false, false),
  List: jsonMethod('test.Echo', 'List', false, true),
  Fail: jsonMethod('test.Echo', 'Fail', false, false),
  Flood: jsonMethod('test.Echo', 'Flood', false, true),
} satisfies grpc.ServiceDefinition;
/** Messages the Flood call has written so far (it waits for 'drain' as a gRPC server should). */
let flooded = 0;
const HOST = 'web.example.com';
const ORIGIN = 'https://app.example.com';

const h = new Harness();
let edge: CertificatePair;
const server = new grpc.Server();

/** One gRPC-Web message frame (flag 0) holding JSON. */
const frame = (v: unknown): Buffer => {
  const body = Buffer.from(JSON.stringify(v));
  const head = Buffer.alloc(5);
  head.writeUInt32BE(body.length, 1);
  return Buffer.concat([head, body]);
};

/** The frames of a gRPC-Web body: messages, and the trailers (a map) of the 0x80 frame. */
function frames(body: Buffer): { messages: unknown[]; trailers: Record<string, string> | undefined } {
  const messages: unknown[] = [];
  let trailers: Record<string, string> | undefined;
  for (let i = 0; i < body.length; ) {
    const flag = body[i]!;
    const len = body.readUInt32BE(i + 1);
    const payload = body.subarray(i + 5, i + 5 + len);
    i += 5 + len;
    if (flag & 0x80) {
      trailers = {};
      for (const line of payload.toString('latin1').split('\r\n')) {
        const c = line.indexOf(':');
        if (c > 0) trailers[line.slice(0, c)] = line.slice(c + 1).trim();
      }
    } else messages.push(JSON.parse(payload.toString('utf8')));
  }
  return { messages, trailers };
}

interface WebAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** A gRPC-Web call over HTTP/2 with TLS, as a browser on HTTPS makes it. */
function callH2(path: string, body: Buffer, contentType: string, extra: Record<string, string> = {}): Promise<WebAnswer> {
  return new Promise((resolve, reject) => {
    const s = http2.connect(`https://127.0.0.1:${h.securePort}`, { ca: edge.cert, servername: HOST });
    s.on('error', reject);
    const req = s.request({ ':method': 'POST', ':path': path, ':authority': HOST, 'content-type': contentType, 'x-grpc-web': '1', origin: ORIGIN, ...extra });
    const chunks: Buffer[] = [];
    let head: http2.IncomingHttpHeaders = {};
    req.on('response', (hd) => (head = hd));
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      s.close();
      resolve({ status: Number(head[':status']), headers: head, body: Buffer.concat(chunks) });
    });
    req.on('error', reject);
    req.end(body);
  });
}

beforeAll(async () => {
  server.addService(SERVICE, {
    Echo: (call: grpc.ServerUnaryCall<{ text: string }, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      cb(null, { text: call.request.text, by: 'grpc' });
    },
    List: (call: grpc.ServerWritableStream<{ n: number }, unknown>) => {
      for (let i = 0; i < call.request.n; i++) call.write({ i });
      call.end();
    },
    Fail: (_call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => cb({ code: grpc.status.NOT_FOUND, details: 'thing 42 not found' }),
    Flood: (call: grpc.ServerWritableStream<{ n: number }, unknown>) => {
      const pad = 'x'.repeat(16 * 1024);
      flooded = 0;
      const more = (): void => {
        while (flooded < call.request.n && !call.cancelled) {
          flooded++;
          if (!call.write({ i: flooded, pad })) return void call.once('drain', more);
        }
        if (flooded >= call.request.n) call.end();
      };
      more();
    },
  });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
  await h.start();
  edge = h.tlsSecret('ns', 'edge', [HOST]);
  h.serviceAt('ns', 'grpc-app', port, { name: 'grpc', port: 50051 });
  h.traefik('Middleware', middleware('ns', 'grpc-web', { grpcWeb: { allowOrigins: [ORIGIN] } }));
  h.traefik(
    'IngressRoute',
    ingressRoute('ns', 'web', [{ match: `Host(\`${HOST}\`)`, services: [{ name: 'grpc-app', port: 50051, scheme: 'h2c' }], middlewares: [{ name: 'grpc-web' }] }], { entryPoints: ['web', 'websecure'], tls: { secretName: 'edge' } }),
  );
  h.traefik(
    'IngressRoute',
    ingressRoute('ns', 'plain', [{ match: 'Host(`plain.example.com`)', services: [{ name: 'grpc-app', port: 50051, scheme: 'h2c' }], middlewares: [{ name: 'grpc-web' }] }], { entryPoints: ['web'] }),
  );
  h.traefik('Middleware', middleware('ns', 'small', { buffering: { maxResponseBodyBytes: 300 } }));
  h.traefik(
    'IngressRoute',
    ingressRoute('ns', 'limited', [{ match: 'Host(`limited.example.com`)', services: [{ name: 'grpc-app', port: 50051, scheme: 'h2c' }], middlewares: [{ name: 'grpc-web' }, { name: 'small' }] }], { entryPoints: ['web'] }),
  );
  const out = h.apply();
  expect(out.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
});

afterAll(async () => {
  await h.stop();
  server.forceShutdown();
});

describe('gRPC-Web over HTTP/2', () => {
  test('unary, binary: the backend gets gRPC; the client gets gRPC-Web with the status in the trailers frame and CORS for its origin', async () => {
    const a = await callH2('/test.Echo/Echo', frame({ text: 'hi' }), 'application/grpc-web+proto');
    expect(a.status).toBe(200);
    expect(a.headers['content-type']).toBe('application/grpc-web+proto');
    expect(a.headers['access-control-allow-origin']).toBe(ORIGIN);
    expect(String(a.headers['access-control-expose-headers'])).toContain('grpc-status');
    expect(frames(a.body)).toEqual({ messages: [{ text: 'hi', by: 'grpc' }], trailers: expect.objectContaining({ 'grpc-status': '0' }) });
  });

  test('server streaming, -text: base64 both ways, every message then the trailers', async () => {
    const a = await callH2('/test.Echo/List', Buffer.from(frame({ n: 3 }).toString('base64')), 'application/grpc-web-text');
    expect(a.headers['content-type']).toMatch(/^application\/grpc-web-text(\+proto)?$/);
    const decoded = Buffer.from(a.body.toString('latin1'), 'base64');
    expect(frames(decoded)).toEqual({ messages: [{ i: 0 }, { i: 1 }, { i: 2 }], trailers: expect.objectContaining({ 'grpc-status': '0' }) });
  });

  test('an error status: carried (as headers of a trailers-only answer, or in the trailers frame)', async () => {
    const a = await callH2('/test.Echo/Fail', frame({}), 'application/grpc-web+proto');
    expect(a.status).toBe(200);
    const status = a.headers['grpc-status'] ?? frames(a.body).trailers?.['grpc-status'];
    const message = a.headers['grpc-message'] ?? frames(a.body).trailers?.['grpc-message'];
    expect(status).toBe('5');
    expect(decodeURIComponent(String(message))).toBe('thing 42 not found');
  });

  test('a -text body that is not base64: 400, the backend not called', async () => {
    const a = await callH2('/test.Echo/Echo', Buffer.from('%%%%'), 'application/grpc-web-text');
    expect(a.status).toBe(400);
  });
});

describe('CORS preflight (Traefik grpcWeb allowOrigins)', () => {
  const preflight = (origin: string) =>
    h.request({ tls: true, host: HOST, path: '/test.Echo/Echo', method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,x-grpc-web,x-user-agent' } });

  test('an allowed origin: 204 with POST, the requested headers, credentials, 10 minutes', async () => {
    const p = await preflight(ORIGIN);
    expect(p.status).toBe(204);
    expect(p.headers).toMatchObject({
      'access-control-allow-origin': ORIGIN,
      'access-control-allow-methods': 'POST',
      'access-control-allow-headers': 'content-type,x-grpc-web,x-user-agent',
      'access-control-allow-credentials': 'true',
      'access-control-max-age': '600',
    });
  });

  test('another origin: no CORS answer from the middleware', async () => {
    const p = await preflight('https://evil.example');
    expect(p.headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe('gRPC-Web over HTTP/1.1 (a browser on a plain or HTTP/1.1 connection)', () => {
  const call1 = (o: { tls: boolean; host: string; path: string; body: Buffer; contentType: string }) =>
    h.request({ tls: o.tls, host: o.host, path: o.path, method: 'POST', body: o.body, headers: { 'content-type': o.contentType, 'x-grpc-web': '1', origin: ORIGIN } });

  test('unary, binary, plain HTTP: chunked answer, messages then the trailers frame; the connection is kept', async () => {
    for (let i = 0; i < 3; i++) {
      const a = await call1({ tls: false, host: 'plain.example.com', path: '/test.Echo/Echo', body: frame({ text: `n${i}` }), contentType: 'application/grpc-web+proto' });
      expect(a.status).toBe(200);
      expect(a.headers['content-type']).toBe('application/grpc-web+proto');
      expect(a.headers['transfer-encoding']).toBe('chunked');
      expect(a.headers['access-control-allow-origin']).toBe(ORIGIN);
      expect(frames(Buffer.from(a.body, 'latin1'))).toEqual({ messages: [{ text: `n${i}`, by: 'grpc' }], trailers: expect.objectContaining({ 'grpc-status': '0' }) });
    }
  });

  test('server streaming, -text, over TLS with HTTP/1.1', async () => {
    const a = await call1({ tls: true, host: HOST, path: '/test.Echo/List', body: Buffer.from(frame({ n: 4 }).toString('base64')), contentType: 'application/grpc-web-text' });
    expect(a.status).toBe(200);
    expect(frames(Buffer.from(a.body, 'base64'))).toEqual({ messages: [{ i: 0 }, { i: 1 }, { i: 2 }, { i: 3 }], trailers: expect.objectContaining({ 'grpc-status': '0' }) });
  });

  test('an error: the status reaches the client', async () => {
    const a = await call1({ tls: false, host: 'plain.example.com', path: '/test.Echo/Fail', body: frame({}), contentType: 'application/grpc-web+proto' });
    expect(a.status).toBe(200);
    expect(a.headers['grpc-status'] ?? frames(Buffer.from(a.body, 'latin1')).trailers?.['grpc-status']).toBe('5');
  });

  test('buffering.maxResponseBodyBytes: a stream within it arrives whole, one past it is cut without its last chunk', async () => {
    const list = (n: number) => call1({ tls: false, host: 'limited.example.com', path: '/test.Echo/List', body: frame({ n }), contentType: 'application/grpc-web+proto' });
    const ok = await list(4);
    expect(frames(Buffer.from(ok.body, 'latin1')).trailers).toMatchObject({ 'grpc-status': '0' });
    // The long one: how its response ends, read by hand (the harness's client has no ending but 'end').
    const ending = await new Promise<string>((resolve) => {
      const body = frame({ n: 200 });
      const r = http.request(
        { host: '127.0.0.1', port: h.webPort, path: '/test.Echo/List', method: 'POST', agent: false, headers: { host: 'limited.example.com', 'content-type': 'application/grpc-web+proto', 'content-length': body.length } },
        (res) => {
          res.on('data', () => {});
          res.on('end', () => resolve('end'));
          res.on('error', () => resolve('cut'));
        },
      );
      r.on('error', () => resolve('cut'));
      r.end(body);
    });
    expect(ending).toBe('cut');
  });

  test('plain gRPC (not gRPC-Web) over HTTP/1.1 still gets 502: gRPC needs HTTP/2 end to end', async () => {
    const a = await call1({ tls: false, host: 'plain.example.com', path: '/test.Echo/Echo', body: frame({}), contentType: 'application/grpc' });
    expect(a.status).toBe(502);
  });
});

describe('gRPC-Web over HTTP/1.1: a slow client holds the backend back', () => {
  test('while the client reads nothing, the backend can write only a few MB of a 32 MB stream; then the whole stream arrives', async () => {
    const body = frame({ n: 2000 });
    const s = net.connect({ host: '127.0.0.1', port: h.webPort });
    await new Promise<void>((r) => s.once('connect', () => r()));
    s.pause();
    s.write(`POST /test.Echo/Flood HTTP/1.1\r\nHost: plain.example.com\r\nContent-Type: application/grpc-web+proto\r\nContent-Length: ${body.length}\r\n\r\n`);
    s.write(body);
    await new Promise((r) => setTimeout(r, 1500));
    const whilePaused = flooded;
    // Kernel socket buffers and HTTP/2 windows let some through, never the whole stream.
    expect(whilePaused).toBeGreaterThan(0);
    expect(whilePaused).toBeLessThan(1000);
    let bytes = 0;
    await new Promise<void>((resolve, reject) => {
      s.on('data', (c: Buffer) => {
        bytes += c.length;
        // The last chunk of the chunked answer.
        if (c.subarray(-5).toString('latin1') === '0\r\n\r\n') resolve();
      });
      s.on('error', reject);
      s.resume();
    });
    s.destroy();
    expect(flooded).toBe(2000);
    expect(bytes).toBeGreaterThan(2000 * 16 * 1024);
  }, 30_000);
});
