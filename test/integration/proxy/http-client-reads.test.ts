// A plain-HTTP client connection is adopted into a socket that reads through
// the process's arena (client-reads.ts): no 'data' events. These tests break
// if the listener tracked the socket it accepted instead of the adopted one
// (shutdown could not cut the connection), if a tunnel over such a socket
// lost the client's bytes, its backpressure or its half-close, or if bytes
// were used after the read that brought them (a request head split over
// reads, an upload written on while the upstream is slow).

import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import { pino } from 'pino';
import { afterEach, describe, expect, test } from 'vitest';
import { EndpointSetBackend } from '../../../src/proxy/http/backend.ts';
import { HttpEntrypoint } from '../../../src/proxy/http/entrypoint.ts';
import { ingressRouter } from '../../support/table-router.ts';
import { DEFAULT_BIND_BACKOFF } from '../../../src/proxy/listeners/bind-backoff.ts';
import { TcpListener } from '../../../src/proxy/listeners/tcp-listener.ts';
import { waitFor } from '../helpers/cluster.ts';
import { LOOPBACK, deadPort, endpoint, proxyTo } from './http-harness.ts';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function listen(server: net.Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, LOOPBACK, r));
  cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
  return (server.address() as net.AddressInfo).port;
}


/** Connects, sends `request`, resolves with the socket once `head` bytes of the answer came. */
function connectAndAsk(port: number, request: string, until: string): Promise<{ socket: net.Socket; got: () => string }> {
  return new Promise((resolve, reject) => {
    const c = net.connect({ host: LOOPBACK, port, allowHalfOpen: true });
    let got = '';
    let done = false;
    c.on('error', reject);
    c.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      if (!done && got.includes(until)) {
        done = true;
        resolve({ socket: c, got: () => got });
      }
    });
    c.write(request);
  });
}

describe('plain-HTTP client sockets read through the arena', () => {
  test('the listener tracks the adopted socket: it counts the connection and cutting cuts it', async () => {
    // A backend that takes the request and never answers: the connection stays busy.
    const held = new Set<net.Socket>();
    const silent = net.createServer((s) => {
      held.add(s);
      s.on('error', () => {});
    });
    const backendPort = await listen(silent);
    cleanups.push(() => {
      for (const s of held) s.destroy();
    });
    const entrypoint = new HttpEntrypoint({ timerResolutionMs: 20, router: ingressRouter([{ backend: new EndpointSetBackend({ name: 'ns/a:80', endpoints: [endpoint(backendPort)] }) }]) });
    cleanups.push(() => entrypoint.close());
    const port = await deadPort();
    const listener = new TcpListener(
      { ip: LOOPBACK, port, key: `${LOOPBACK}:${port}`, allowHalfOpen: true, backoff: DEFAULT_BIND_BACKOFF, log: pino({ level: 'silent' }) },
      (s) => entrypoint.handle(s, { tls: false, localPort: port }),
    );
    listener.start();
    cleanups.push(() => listener.stopAccepting());
    await waitFor(() => listener.state === 'listening', 'the listener bound');

    const c = net.connect({ host: LOOPBACK, port });
    const closed = new Promise<void>((r) => c.once('close', () => r()));
    c.on('error', () => {});
    c.write('GET /slow HTTP/1.1\r\nHost: a.example\r\n\r\n');
    await waitFor(() => entrypoint.stats().openConnections === 1, 'the connection reached the entrypoint');
    expect(listener.openSockets).toBe(1);
    listener.destroySockets();
    await closed;
    await waitFor(() => listener.openSockets === 0, 'the listener forgot the connection');
  });

  test('a tunnel carries the client’s bytes both ways, with backpressure, and passes on its half-close', async () => {
    // Upstream: 101, then echo everything; on the client's FIN, say goodbye and end.
    const upstream = net.createServer({ allowHalfOpen: true }, (s) => {
      let head = '';
      let tunnel = false;
      s.on('data', (d: Buffer) => {
        if (tunnel) {
          s.write(d);
          return;
        }
        head += d.toString('latin1');
        const at = head.indexOf('\r\n\r\n');
        if (at < 0) return;
        tunnel = true;
        s.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n');
        const rest = Buffer.from(head.slice(at + 4), 'latin1');
        if (rest.length > 0) s.write(rest);
      });
      s.on('end', () => s.end('bye'));
      s.on('error', () => {});
    });
    const p = await proxyTo([await listen(upstream)]);
    cleanups.push(() => p.close());
    const { socket: c, got } = await connectAndAsk(p.port, 'GET /t HTTP/1.1\r\nHost: a.example\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n', '\r\n\r\n');
    // 8 MiB through the tunnel while the client reads nothing for a while:
    // the proxy must stop reading the client instead of buffering it all.
    const payload = Buffer.alloc(8 * 1024 * 1024, 'x');
    const echoed = new Promise<void>((resolve) => {
      const t = setInterval(() => {
        if (got().length >= payload.length) {
          clearInterval(t);
          resolve();
        }
      }, 10);
    });
    c.pause();
    c.write(payload);
    await new Promise((r) => setTimeout(r, 300));
    c.resume();
    await echoed;
    const ended = new Promise<void>((r) => c.once('end', () => r()));
    c.end();
    await ended;
    const text = got();
    expect(text.startsWith('HTTP/1.1 101')).toBe(true);
    expect(text.length - text.indexOf('\r\n\r\n') - 4).toBe(payload.length + 'bye'.length);
    expect(text.endsWith('bye')).toBe(true);
    c.destroy();
  });

  test('a request head split over reads arrives intact (later parts longer than the first)', async () => {
    let seen = '';
    const upstream = net.createServer((s) => {
      s.on('data', (d: Buffer) => {
        seen += d.toString('latin1');
        if (seen.includes('\r\n\r\n')) s.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok');
      });
      s.on('error', () => {});
    });
    const p = await proxyTo([await listen(upstream)]);
    cleanups.push(() => p.close());
    const parts = ['GET /split HTTP/1.1\r\nHost: a.example\r\n', `X-One: ${'1'.repeat(400)}\r\n`, `X-Two: ${'2'.repeat(900)}\r\n\r\n`];
    const c = net.connect({ host: LOOPBACK, port: p.port });
    c.on('error', () => {});
    let answer = '';
    c.on('data', (d: Buffer) => (answer += d.toString('latin1')));
    for (const part of parts) {
      c.write(part);
      await new Promise((r) => setTimeout(r, 50));
    }
    await waitFor(() => answer.includes('\r\n\r\nok'), 'the answer');
    c.destroy();
    expect(answer.startsWith('HTTP/1.1 200')).toBe(true);
    expect(seen).toContain(`\r\nX-One: ${'1'.repeat(400)}\r\n`);
    expect(seen).toContain(`\r\nX-Two: ${'2'.repeat(900)}\r\n`);
  });

  test('an upload to a slow upstream arrives byte for byte', async () => {
    const body = randomBytes(8 * 1024 * 1024 + 17);
    let digest = '';
    const upstream = net.createServer((s) => {
      // Read nothing for a while, then everything: the proxy's writes to us back up meanwhile.
      s.pause();
      const hash = createHash('sha256');
      let head = '';
      let bodyBytes = -1;
      setTimeout(() => s.resume(), 300);
      s.on('data', (d: Buffer) => {
        if (bodyBytes < 0) {
          head += d.toString('latin1');
          const at = head.indexOf('\r\n\r\n');
          if (at < 0) return;
          const rest = Buffer.from(head.slice(at + 4), 'latin1');
          bodyBytes = rest.length;
          hash.update(rest);
        } else {
          bodyBytes += d.length;
          hash.update(d);
        }
        if (bodyBytes === body.length) {
          digest = hash.digest('hex');
          s.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok');
        }
      });
      s.on('error', () => {});
    });
    const p = await proxyTo([await listen(upstream)], { limits: { maxBodyBytes: 0 } });
    cleanups.push(() => p.close());
    const c = net.connect({ host: LOOPBACK, port: p.port });
    c.on('error', () => {});
    let answer = '';
    c.on('data', (d: Buffer) => (answer += d.toString('latin1')));
    c.write(`PUT /upload HTTP/1.1\r\nHost: a.example\r\nContent-Length: ${body.length}\r\n\r\n`);
    // In pieces of odd sizes, so that reads do not line up with anything.
    for (let off = 0; off < body.length; off += 70_001) c.write(body.subarray(off, off + 70_001));
    await waitFor(() => answer.includes('\r\n\r\nok'), 'the answer');
    c.destroy();
    expect(digest).toBe(createHash('sha256').update(body).digest('hex'));
  });

  test('a tunnel stops reading the client while its upstream does not read', async () => {
    let upstreamSocket: net.Socket | undefined;
    let received = 0;
    const upstream = net.createServer((s) => {
      upstreamSocket = s;
      let head = '';
      const onHead = (d: Buffer): void => {
        head += d.toString('latin1');
        const at = head.indexOf('\r\n\r\n');
        if (at < 0) return;
        s.off('data', onHead);
        s.pause(); // not reading what comes through the tunnel, for now
        s.on('data', (b: Buffer) => (received += b.length));
        s.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: sink\r\n\r\n');
      };
      s.on('data', onHead);
      s.on('error', () => {});
    });
    const p = await proxyTo([await listen(upstream)]);
    cleanups.push(() => p.close());
    const { socket: c } = await connectAndAsk(p.port, 'GET /t HTTP/1.1\r\nHost: a.example\r\nConnection: Upgrade\r\nUpgrade: sink\r\n\r\n', '\r\n\r\n');
    cleanups.push(() => void c.destroy());
    // More than the kernel buffers on the way can hold: with backpressure most
    // of it must still wait in the client; without, the proxy would take it all.
    const payload = Buffer.alloc(96 * 1024 * 1024, 'y');
    c.write(payload);
    await new Promise((r) => setTimeout(r, 500));
    expect(c.writableLength).toBeGreaterThan(32 * 1024 * 1024);
    upstreamSocket!.resume();
    await waitFor(() => received === payload.length, 'everything through once the upstream reads');
  });
});

