// Idle connections parked in the kernel (listeners/idle-park.ts over
// native/src/idle_park.cc), on the product's plain-HTTP path: TcpListener ->
// HttpEntrypoint -> H1Connection. These tests break if a connection that
// has sent nothing kept a socket, if a parked connection's bytes did not
// reach the entrypoint, if a kept-alive connection's next request were lost
// across its park, if a parked connection outlived its timeout, or if
// stopping the listener left parked connections open.

import { existsSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { pino } from 'pino';
import { afterEach, describe, expect, test } from 'vitest';
import { NATIVE_ADDON_PATH } from '../../../src/native/addon.ts';
import { EndpointSetBackend } from '../../../src/proxy/http/backend.ts';
import { CertificateStore } from '../../../src/proxy/http/certificates.ts';
import { createSelfSignedCertificate } from '../../../src/proxy/http/self-signed.ts';
import { HttpEntrypoint } from '../../../src/proxy/http/entrypoint.ts';
import type { ClientTimeouts } from '../../../src/proxy/http/types.ts';
import { DEFAULT_BIND_BACKOFF } from '../../../src/proxy/listeners/bind-backoff.ts';
import { IdlePark } from '../../../src/proxy/listeners/idle-park.ts';
import { TcpListener } from '../../../src/proxy/listeners/tcp-listener.ts';
import { ingressRouter } from '../../support/table-router.ts';
import { waitFor } from '../helpers/cluster.ts';
import { LOOPBACK, deadPort, endpoint } from './http-harness.ts';

const log = pino({ level: 'silent' });
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const REQUEST = 'GET / HTTP/1.1\r\nHost: a.example\r\n\r\n';

/** Answers every request with the X-Forwarded-For it received, then "ok". */
async function okBackend(): Promise<number> {
  const server = net.createServer((s) => {
    s.on('error', () => {});
    s.on('data', (d: Buffer) => {
      const body = `xff=${/^x-forwarded-for: *([^\r]*)/im.exec(d.toString('latin1'))?.[1] ?? ''};ok`;
      s.write(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    });
  });
  await new Promise<void>((r) => server.listen(0, LOOPBACK, r));
  cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
  return (server.address() as net.AddressInfo).port;
}

/** The product's plain-HTTP path with a park of its own; `atAccept` as ListenerManager decides it (no source ranges). */
async function parkingProxy(timeouts: Partial<ClientTimeouts>, atAccept = () => true, secure = false) {
  const backendPort = await okBackend();
  const park = IdlePark.open(log)!;
  cleanups.push(() => park.close());
  const entrypoint = new HttpEntrypoint({
    timerResolutionMs: 20,
    timeouts,
    router: ingressRouter([{ backend: new EndpointSetBackend({ name: 'ns/a:80', endpoints: [endpoint(backendPort)] }) }]),
    ...(secure ? { certificates: new CertificateStore(createSelfSignedCertificate({ names: ['a.example'] })) } : {}),
  });
  cleanups.push(() => entrypoint.close());
  const port = await deadPort();
  const listener: TcpListener = new TcpListener(
    { ip: LOOPBACK, port, key: `${LOOPBACK}:${port}`, allowHalfOpen: true, backoff: DEFAULT_BIND_BACKOFF, log, park: { park, firstByteMs: entrypoint.firstByteTimeoutMs, atAccept } },
    (s) => entrypoint.handle(s, { tls: secure, localPort: port, noDelay: true, park: listener.parkPlace! }),
  );
  listener.start();
  cleanups.push(() => {
    listener.destroySockets();
    return listener.stopAccepting();
  });
  await waitFor(() => listener.state === 'listening', 'the listener bound');
  return { park, entrypoint, listener, port };
}

interface Client {
  readonly socket: net.Socket;
  /** Resolves with what came back once a whole 200 answer has (`n`th on this connection). */
  answer(n: number): Promise<string>;
  readonly closed: Promise<void>;
}

async function connect(port: number): Promise<Client> {
  const socket = net.connect({ host: LOOPBACK, port });
  socket.on('error', () => {});
  let got = '';
  const closed = new Promise<void>((r) => socket.once('close', () => r()));
  socket.on('data', (d: Buffer) => (got += d.toString('latin1')));
  await new Promise<void>((r) => socket.once('connect', () => r()));
  return {
    socket,
    closed,
    answer: async (n) => {
      await waitFor(() => got.split('HTTP/1.1 200 OK').length - 1 >= n && got.endsWith(';ok'), `answer ${n}`);
      return got;
    },
  };
}

describe.skipIf(!existsSync(NATIVE_ADDON_PATH))('idle connections parked in the kernel (needs the native addon: npm run build:native)', () => {
  test('a connection that sends nothing waits parked without a socket, and is served when it sends', async () => {
    const { park, entrypoint, listener, port } = await parkingProxy({});
    const c = await connect(port);
    await waitFor(() => park.size === 1, 'the connection parked');
    expect(entrypoint.stats().openConnections).toBe(0);
    expect(listener.openSockets).toBe(1);
    c.socket.write(REQUEST);
    // The woken socket knows its peer: the backend is told who the client is.
    expect(await c.answer(1)).toContain(`xff=${LOOPBACK};ok`);
    expect(park.size).toBe(0);
    c.socket.destroy();
  });

  test('a TLS client that has not said hello yet waits parked too, and its handshake and request go through once it does', async () => {
    const { park, port } = await parkingProxy({}, () => true, true);
    const raw = net.connect({ host: LOOPBACK, port });
    raw.on('error', () => {});
    await new Promise<void>((r) => raw.once('connect', () => r()));
    await waitFor(() => park.size === 1, 'the connection parked before its ClientHello');
    const secure = tls.connect({ socket: raw, servername: 'a.example', rejectUnauthorized: false });
    secure.on('error', () => {});
    await new Promise<void>((r) => secure.once('secureConnect', () => r()));
    secure.write(REQUEST);
    let got = '';
    secure.on('data', (d: Buffer) => (got += d.toString('latin1')));
    await waitFor(() => got.endsWith(';ok'), 'the answer over TLS');
    expect(got).toContain('HTTP/1.1 200 OK');
    secure.destroy();
  });

  test('a kept-alive connection idle for parkAfterMs is parked, and its next requests are answered on the same connection', async () => {
    const { park, entrypoint, port } = await parkingProxy({ parkAfterMs: 100 });
    const c = await connect(port);
    c.socket.write(REQUEST);
    await c.answer(1);
    await waitFor(() => park.size === 1 && entrypoint.stats().openConnections === 0, 'the idle connection parked');
    c.socket.write(REQUEST);
    await c.answer(2);
    await waitFor(() => park.size === 1, 'parked again');
    c.socket.write(REQUEST);
    await c.answer(3);
    expect(c.socket.destroyed).toBe(false);
    c.socket.destroy();
  });

  test('a parked connection is closed once its timeout has passed: the header timeout before the first byte, the keep-alive timeout after a request', async () => {
    const { park, port } = await parkingProxy({ headerMs: 300, idleMs: 400, parkAfterMs: 100 });
    const fresh = await connect(port);
    const kept = await connect(port);
    kept.socket.write(REQUEST);
    await kept.answer(1);
    await waitFor(() => park.size === 2, 'both parked');
    const started = performance.now();
    await Promise.all([fresh.closed, kept.closed]);
    // The park checks deadlines once a second.
    expect(performance.now() - started).toBeLessThan(2_500);
    expect(park.size).toBe(0);
  });

  test('a client that leaves while parked is forgotten; cutting the listener closes the parked connections', async () => {
    const { park, listener, port } = await parkingProxy({});
    const leaving = await connect(port);
    await waitFor(() => park.size === 1, 'parked');
    leaving.socket.end();
    await waitFor(() => park.size === 0, 'the parked connection the client ended is gone');
    const staying = await connect(port);
    await waitFor(() => park.size === 1, 'parked');
    listener.destroySockets();
    await staying.closed;
    expect(park.size).toBe(0);
    expect(listener.openSockets).toBe(0);
  });

  test('a connection with bytes already waiting is not parked: its socket stays as it was', async () => {
    const park = IdlePark.open(log)!;
    cleanups.push(() => park.close());
    const woken: net.Socket[] = [];
    const place = park.place((s) => woken.push(s));
    cleanups.push(() => void place.release());
    const accepted: net.Socket[] = [];
    const server = net.createServer({ pauseOnConnect: true }, (s) => accepted.push(s));
    await new Promise<void>((r) => server.listen(0, LOOPBACK, r));
    cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
    const c = net.connect({ host: LOOPBACK, port: (server.address() as net.AddressInfo).port });
    c.on('error', () => {});
    cleanups.push(() => void c.destroy());
    await waitFor(() => accepted.length === 1, 'accepted');
    const [s] = accepted as [net.Socket];
    c.write('GET / HTTP/1.1\r\n');
    // Read nothing; wait until the kernel holds the bytes for this socket.
    await new Promise((r) => setTimeout(r, 100));
    expect(place.parkSocket(s, 10_000)).toBe(false);
    expect(s.destroyed).toBe(false);
    expect(place.count).toBe(0);
    s.resume();
    const got = await new Promise<string>((r) => s.once('data', (d: Buffer) => r(d.toString('latin1'))));
    expect(got).toBe('GET / HTTP/1.1\r\n');
    expect(woken).toHaveLength(0);
    s.destroy();
  });

  test('where the listener must see the client first (source ranges), nothing is parked at accept', async () => {
    const { park, entrypoint, port } = await parkingProxy({}, () => false);
    const c = await connect(port);
    await waitFor(() => entrypoint.stats().openConnections === 1, 'the connection reached the entrypoint');
    expect(park.size).toBe(0);
    c.socket.write(REQUEST);
    await c.answer(1);
    c.socket.destroy();
  });
});
