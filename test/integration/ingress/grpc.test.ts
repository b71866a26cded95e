// gRPC through the real entrypoint (ingress-nginx backend-protocol GRPC and
// GRPCS, Traefik scheme h2c), with @grpc/grpc-js as both the client (over
// TLS to the entrypoint, as gRPC clients reach an ingress) and the backend
// (h2c, or TLS for GRPCS). The service uses JSON messages so no .proto is
// needed; gRPC's framing, metadata, status trailers and deadlines are the
// real ones.
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { jsonMethod } from '../../support/grpc-json.ts';
import { createSelfSignedCertificate } from '../../../src/proxy/http/self-signed.ts';
import type { CertificatePair } from '../../../src/proxy/http/types.ts';
import { Harness, ing, ingressRoute, middleware } from './harness.ts';

const N = 'nginx.ingress.kubernetes.io/';
const method = (name: string, requestStream: boolean, responseStream: boolean) => jsonMethod('test.Echo', name, requestStream, responseStream);
const SERVICE = {
  Echo: method('Echo', false, false),
  List: method('List', false, true),
  Sum: method('Sum', true, false),
  Chat: method('Chat', true, true),
  Fail: method('Fail', false, false),
  Slow: method('Slow', false, false),
} satisfies grpc.ServiceDefinition;
const EchoClient = grpc.makeGenericClientConstructor(SERVICE, 'Echo');
type Client = InstanceType<typeof EchoClient> & Record<string, (...args: unknown[]) => unknown>;

interface Backend {
  readonly server: grpc.Server;
  port: number;
  /** Metadata of the last call, as the backend saw it. */
  seen: grpc.Metadata | undefined;
  cancelled: number;
}

async function startBackend(name: string, tlsPair?: CertificatePair): Promise<Backend> {
  const b: Backend = { server: new grpc.Server(), port: 0, seen: undefined, cancelled: 0 };
  b.server.addService(SERVICE, {
    Echo: (call: grpc.ServerUnaryCall<{ text: string; pad?: string }, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      b.seen = call.metadata;
      call.sendMetadata(new grpc.Metadata());
      cb(null, { text: call.request.text, by: name, size: call.request.pad?.length ?? 0 });
    },
    List: (call: grpc.ServerWritableStream<{ n: number }, unknown>) => {
      for (let i = 0; i < call.request.n; i++) call.write({ i });
      call.end();
    },
    Sum: (call: grpc.ServerReadableStream<{ v: number }, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      let sum = 0;
      call.on('data', (m: { v: number }) => (sum += m.v));
      call.on('end', () => cb(null, { sum }));
    },
    Chat: (call: grpc.ServerDuplexStream<{ say: string }, unknown>) => {
      call.on('data', (m: { say: string }) => call.write({ heard: m.say }));
      call.on('end', () => call.end());
    },
    Fail: (_call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      const trailer = new grpc.Metadata();
      trailer.set('x-reason', 'no-such-thing');
      cb({ code: grpc.status.NOT_FOUND, details: 'thing 42 not found', metadata: trailer });
    },
    Slow: (call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      const timer = setTimeout(() => cb(null, { late: true }), 3000);
      call.on('cancelled', () => {
        b.cancelled++;
        clearTimeout(timer);
      });
    },
  });
  const creds = tlsPair ? grpc.ServerCredentials.createSsl(null, [{ cert_chain: Buffer.from(tlsPair.cert), private_key: Buffer.from(tlsPair.key) }]) : grpc.ServerCredentials.createInsecure();
  b.port = await new Promise<number>((resolve, reject) => b.server.bindAsync('127.0.0.1:0', creds, (err, port) => (err ? reject(err) : resolve(port))));
  return b;
}

const h = new Harness();
let edge: CertificatePair;
let plain: Backend;
let secure: Backend;
const clients: Client[] = [];

function client(host: string, options: grpc.ChannelOptions = {}): Client {
  const c = new EchoClient(`127.0.0.1:${h.securePort}`, grpc.credentials.createSsl(Buffer.from(edge.cert)), {
    'grpc.ssl_target_name_override': host,
    'grpc.default_authority': host,
    ...options,
  }) as Client;
  clients.push(c);
  return c;
}

function unary<T>(c: Client, name: string, req: unknown, opts: { deadlineMs?: number; metadata?: grpc.Metadata } = {}): Promise<{ value?: T; error?: grpc.ServiceError; headers?: grpc.Metadata }> {
  return new Promise((resolve) => {
    let headers: grpc.Metadata | undefined;
    const call = (c[name] as (...a: unknown[]) => grpc.ClientUnaryCall)(
      req,
      opts.metadata ?? new grpc.Metadata(),
      { ...(opts.deadlineMs !== undefined ? { deadline: Date.now() + opts.deadlineMs } : {}) },
      (error: grpc.ServiceError | null, value: T) => resolve(error ? { error, ...(headers ? { headers } : {}) } : { value, ...(headers ? { headers } : {}) }),
    );
    call.on('metadata', (m: grpc.Metadata) => (headers = m));
  });
}

beforeAll(async () => {
  const hosts = ['grpc.example.com', 'grpcs.example.com', 'traefik.example.com', 'down.example.com', 'limited.example.com'];
  await h.start();
  edge = h.tlsSecret('ns', 'edge', hosts);
  plain = await startBackend('plain');
  secure = await startBackend('secure', createSelfSignedCertificate({ names: ['backend.internal'] }));
  h.serviceAt('ns', 'grpc-app', plain.port, { name: 'grpc', port: 50051 });
  h.serviceAt('ns', 'grpcs-app', secure.port, { name: 'grpc', port: 50051 });
  h.serviceAt('ns', 'gone', 1, { name: 'grpc', port: 50051 });
  const tls = (host: string) => ({ tls: [{ hosts: [host], secretName: 'edge' }] });
  h.ingress(ing('ns', 'grpc', [{ host: 'grpc.example.com', paths: [{ service: 'grpc-app', port: 50051 }] }], { annotations: { [`${N}backend-protocol`]: 'GRPC' }, ...tls('grpc.example.com') }));
  h.ingress(ing('ns', 'grpcs', [{ host: 'grpcs.example.com', paths: [{ service: 'grpcs-app', port: 50051 }] }], { annotations: { [`${N}backend-protocol`]: 'GRPCS' }, ...tls('grpcs.example.com') }));
  h.ingress(ing('ns', 'down', [{ host: 'down.example.com', paths: [{ service: 'gone', port: 50051 }] }], { annotations: { [`${N}backend-protocol`]: 'GRPC' }, ...tls('down.example.com') }));
  h.traefik('IngressRoute', ingressRoute('ns', 'traefik', [{ match: 'Host(`traefik.example.com`)', services: [{ name: 'grpc-app', port: 50051, scheme: 'h2c' }] }], { entryPoints: ['websecure'], tls: { secretName: 'edge' } }));
  h.traefik('Middleware', middleware('ns', 'small', { buffering: { maxResponseBodyBytes: 2000 } }));
  h.traefik('IngressRoute', ingressRoute('ns', 'limited', [{ match: 'Host(`limited.example.com`)', services: [{ name: 'grpc-app', port: 50051, scheme: 'h2c' }], middlewares: [{ name: 'small' }] }], { entryPoints: ['websecure'], tls: { secretName: 'edge' } }));
  const out = h.apply();
  expect(out.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
});

afterAll(async () => {
  for (const c of clients) c.close();
  await h.stop();
  plain?.server.forceShutdown();
  secure?.server.forceShutdown();
});

describe('gRPC backends', () => {
  test('unary: the answer, the backend metadata, and the client metadata plus forwarding fields at the backend', async () => {
    const md = new grpc.Metadata();
    md.set('x-client', 'c1');
    const r = await unary<{ text: string; by: string }>(client('grpc.example.com'), 'Echo', { text: 'hello' }, { metadata: md });
    expect(r.value).toEqual({ text: 'hello', by: 'plain', size: 0 });
    const seen = plain.seen!;
    expect(seen.get('x-client')).toEqual(['c1']);
    expect(seen.get('x-forwarded-proto')).toEqual(['https']);
    expect(seen.get('x-forwarded-host')).toEqual(['grpc.example.com']);
    expect(seen.get('x-real-ip')).toEqual(['127.0.0.1']);
  });

  test('server streaming, client streaming and bidirectional streaming', async () => {
    const c = client('grpc.example.com');
    const items = await new Promise<unknown[]>((resolve, reject) => {
      const got: unknown[] = [];
      const call = (c.List as (r: unknown) => grpc.ClientReadableStream<unknown>)({ n: 200 });
      call.on('data', (m: unknown) => got.push(m));
      call.on('end', () => resolve(got));
      call.on('error', reject);
    });
    expect(items.length).toBe(200);
    expect(items[199]).toEqual({ i: 199 });
    const sum = await new Promise<unknown>((resolve, reject) => {
      const call = (c.Sum as (cb: grpc.requestCallback<unknown>) => grpc.ClientWritableStream<unknown>)((err, v) => (err ? reject(err) : resolve(v)));
      for (let i = 1; i <= 100; i++) call.write({ v: i });
      call.end();
    });
    expect(sum).toEqual({ sum: 5050 });
    const heard = await new Promise<unknown[]>((resolve, reject) => {
      const got: unknown[] = [];
      const call = (c.Chat as () => grpc.ClientDuplexStream<unknown, unknown>)();
      call.on('data', (m: unknown) => {
        got.push(m);
        if (got.length < 5) call.write({ say: `m${got.length}` });
        else call.end();
      });
      call.on('end', () => resolve(got));
      call.on('error', reject);
      call.write({ say: 'm0' });
    });
    expect(heard).toEqual([0, 1, 2, 3, 4].map((i) => ({ heard: `m${i}` })));
  });

  test('a status from the backend reaches the client with its message and trailing metadata', async () => {
    const r = await unary(client('grpc.example.com'), 'Fail', {});
    expect(r.error?.code).toBe(grpc.status.NOT_FOUND);
    expect(r.error?.details).toBe('thing 42 not found');
    expect(r.error?.metadata.get('x-reason')).toEqual(['no-such-thing']);
  });

  test("a deadline: the client gets DEADLINE_EXCEEDED, and the backend, which got grpc-timeout, ends the call too", async () => {
    const before = plain.cancelled;
    const t0 = Date.now();
    const r = await unary(client('grpc.example.com'), 'Slow', {}, { deadlineMs: 300 });
    expect(r.error?.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    expect(Date.now() - t0).toBeLessThan(2500);
    const until = Date.now() + 2000;
    while (plain.cancelled === before && Date.now() < until) await new Promise((res) => setTimeout(res, 20));
    expect(plain.cancelled).toBe(before + 1);
  });

  test("a client's cancel reaches the backend (its stream is reset, not left running)", async () => {
    const before = plain.cancelled;
    const c = client('grpc.example.com');
    const done = new Promise<grpc.ServiceError | null>((resolve) => {
      const call = (c.Slow as (r: unknown, cb: (e: grpc.ServiceError | null) => void) => grpc.ClientUnaryCall)({}, (e) => resolve(e));
      setTimeout(() => call.cancel(), 200);
    });
    expect((await done)?.code).toBe(grpc.status.CANCELLED);
    const until = Date.now() + 2000;
    while (plain.cancelled === before && Date.now() < until) await new Promise((res) => setTimeout(res, 20));
    expect(plain.cancelled).toBe(before + 1);
  });

  test('a larger message, and many calls multiplexed at once', async () => {
    const c = client('grpc.example.com');
    const big = await unary<{ size: number }>(c, 'Echo', { text: 'x', pad: 'p'.repeat(256 * 1024) });
    expect(big.value?.size).toBe(256 * 1024);
    const all = await Promise.all(Array.from({ length: 50 }, (_, i) => unary<{ text: string }>(c, 'Echo', { text: `n${i}` })));
    expect(all.map((a) => a.value?.text)).toEqual(Array.from({ length: 50 }, (_, i) => `n${i}`));
  });

  test('buffering.maxResponseBodyBytes on a gRPC route: a stream within it arrives, one past it is cut (the client sees an error, never a clean end)', async () => {
    const c = client('limited.example.com');
    const list = (n: number) =>
      new Promise<{ got: number; error?: grpc.ServiceError }>((resolve) => {
        let got = 0;
        const call = (c.List as (r: unknown) => grpc.ClientReadableStream<unknown>)({ n });
        call.on('data', () => got++);
        call.on('end', () => resolve({ got }));
        call.on('error', (error: grpc.ServiceError) => resolve({ got, error }));
      });
    expect(await list(20)).toEqual({ got: 20 });
    const cut = await list(1000);
    expect(cut.error).toBeDefined();
    expect(cut.got).toBeLessThan(1000);
  });

  test('GRPCS: HTTP/2 over TLS to the backend', async () => {
    const r = await unary<{ by: string }>(client('grpcs.example.com'), 'Echo', { text: 'tls' });
    expect(r.value?.by).toBe('secure');
  });

  test('Traefik: an IngressRoute service with scheme h2c', async () => {
    const r = await unary<{ by: string }>(client('traefik.example.com'), 'Echo', { text: 't' });
    expect(r.value?.by).toBe('plain');
  });

  test('a backend that is down: UNAVAILABLE', async () => {
    const r = await unary(client('down.example.com'), 'Echo', { text: 'x' });
    expect(r.error?.code).toBe(grpc.status.UNAVAILABLE);
  });

  test('HTTP/1.1 to a gRPC route: 502 saying HTTP/2 is needed', async () => {
    const a = await h.request({ host: 'grpc.example.com', tls: true, path: '/test.Echo/Echo' });
    expect(a.status).toBe(502);
    expect(a.body).toContain('HTTP/2');
  });
});
