// A plain-HTTP upstream connection reads into a buffer of its own and reuses
// it from read to read (upstream.ts, ownReads). These tests break if bytes
// still pointed at were overwritten by the next read: a response head split
// over reads (the parser keeps views of the earlier parts), a client slower
// than the upstream (a write still pending from the buffer), an HTTP/2
// client (its stream keeps what it was given until the frames are out); and
// a request asking for an upgrade after the pool holds a connection that
// reads into its own buffer (a tunnel needs a stream socket).

import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import { EndpointSetBackend } from '../../../src/proxy/http/backend.ts';
import { CertificateStore } from '../../../src/proxy/http/certificates.ts';
import { createSelfSignedCertificate } from '../../../src/proxy/http/self-signed.ts';
import { ingressRouter } from '../../support/table-router.ts';
import { UPSTREAM_READ_BYTES } from '../../../src/proxy/http/upstream.ts';
import { LOOPBACK, endpoint, get, proxyTo, readResponses, startProxy } from './http-harness.ts';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** A backend answering every request on a connection with `answer(socket)`; keeps the connection. */
async function scriptedBackend(answer: (s: net.Socket) => void): Promise<number> {
  const open = new Set<net.Socket>();
  const server = net.createServer((s) => {
    open.add(s);
    s.on('close', () => open.delete(s));
    let got = '';
    s.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      while (got.includes('\r\n\r\n')) {
        got = got.slice(got.indexOf('\r\n\r\n') + 4);
        answer(s);
      }
    });
    s.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, LOOPBACK, r));
  cleanups.push(
    () =>
      new Promise<void>((r) => {
        for (const s of open) s.destroy();
        server.close(() => r());
      }),
  );
  return (server.address() as net.AddressInfo).port;
}

/** A body of random bytes, so that a stretch overwritten by later bytes shows in the hash. */
function bodyBackend(body: Buffer): Promise<number> {
  return scriptedBackend((s) => {
    s.write(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n`);
    s.write(body);
  });
}

describe('upstream reads into the connection’s own buffer', () => {
  test('a response head split over reads arrives intact, then the same connection serves the next response', async () => {
    const early = `X-Early: ${'e'.repeat(300)}\r\n`;
    const late = `X-Late: ${'l'.repeat(600)}\r\nContent-Length: 2\r\n\r\nok`;
    const port = await scriptedBackend((s) => {
      // The second part is longer than the first: read into the same place, it would cover it.
      s.write(`HTTP/1.1 200 OK\r\n${early}`);
      setTimeout(() => s.write(late), 60);
    });
    const p = await proxyTo([port]);
    cleanups.push(() => p.close());
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    cleanups.push(() => agent.destroy());
    for (let i = 0; i < 3; i++) {
      const r = await get(p.port, '/split', { agent });
      expect(r.status).toBe(200);
      expect(r.headers['x-early']).toBe('e'.repeat(300));
      expect(r.headers['x-late']).toBe('l'.repeat(600));
      expect(r.body).toBe('ok');
    }
  });

  test('pooled connections handed out at once, each with a head split over reads, keep their own bytes', async () => {
    // Idle connections read into one shared buffer (upstream-read-buffers.ts);
    // the first read after reuse must leave it before the next connection's
    // read lands there. Each response's first part names a token that its
    // body repeats: a first part overwritten by another connection's shows.
    const port = await scriptedBackend((s) => {
      const token = randomBytes(16).toString('hex');
      s.write(`HTTP/1.1 200 OK\r\nX-Early: ${token.repeat(8)}\r\n`);
      setTimeout(() => s.write(`X-Late: ${'l'.repeat(600)}\r\nContent-Length: ${token.length}\r\n\r\n${token}`), 60);
    });
    const p = await proxyTo([port]);
    cleanups.push(() => p.close());
    const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
    cleanups.push(() => agent.destroy());
    for (let round = 0; round < 3; round++) {
      const rs = await Promise.all(Array.from({ length: 4 }, () => get(p.port, '/split', { agent })));
      for (const r of rs) {
        expect(r.status).toBe(200);
        expect(r.headers['x-early']).toBe(r.body.repeat(8));
      }
    }
  });

  test('a client slower than the upstream gets the body byte for byte', async () => {
    const body = randomBytes(6 * 1024 * 1024 + 123);
    const p = await proxyTo([await bodyBackend(body)], { limits: { maxBodyBytes: 0 } });
    cleanups.push(() => p.close());
    for (let round = 0; round < 2; round++) {
      // Read nothing for a while (the proxy's writes to us back up), then take it in small sips.
      const got = await new Promise<Buffer>((resolve, reject) => {
        const c = net.connect(p.port, LOOPBACK);
        const parts: Buffer[] = [];
        let total = 0;
        c.pause();
        c.setTimeout(20_000, () => c.destroy(new Error('timed out')));
        c.on('error', reject);
        c.write('GET /big HTTP/1.1\r\nHost: a.example\r\n\r\n');
        let headBytes = -1;
        const sip = (): void => {
          const d = c.read() as Buffer | null;
          if (d !== null) {
            parts.push(d);
            total += d.length;
          }
          if (headBytes < 0 && total > 0) {
            const at = Buffer.concat(parts).indexOf('\r\n\r\n');
            if (at >= 0) headBytes = at + 4;
          }
          if (headBytes >= 0 && total >= headBytes + body.length) {
            c.destroy();
            const rs = readResponses(Buffer.concat(parts));
            resolve(rs[0]!.body);
            return;
          }
          setTimeout(sip, 2);
        };
        setTimeout(sip, 300);
      });
      expect(got.length).toBe(body.length);
      expect(sha(got)).toBe(sha(body));
    }
  });

  test('responses to an HTTP/2 client arrive byte for byte', async () => {
    const body = randomBytes(3 * UPSTREAM_READ_BYTES * 20 + 7);
    const port = await bodyBackend(body);
    const certs = new CertificateStore();
    certs.set('ns/a', createSelfSignedCertificate({ names: ['a.example'] }));
    const backend = new EndpointSetBackend({ name: 'ns/a:80', endpoints: [endpoint(port)] });
    const p = await startProxy({ router: ingressRouter([{ backend }]), certificates: certs, limits: { maxBodyBytes: 0 } }, true);
    cleanups.push(() => p.close());
    const client = http2.connect(`https://127.0.0.1:${p.port}`, { servername: 'a.example', rejectUnauthorized: false });
    cleanups.push(() => void client.close());
    const fetchOne = (): Promise<Buffer> =>
      new Promise((resolve, reject) => {
        const req = client.request({ ':path': '/big', ':authority': 'a.example' });
        const parts: Buffer[] = [];
        req.on('data', (d: Buffer) => parts.push(d));
        req.on('end', () => resolve(Buffer.concat(parts)));
        req.on('error', reject);
        req.end();
      });
    const got = await Promise.all([fetchOne(), fetchOne(), fetchOne()]);
    for (const g of got) expect(sha(g)).toBe(sha(body));
  });

  test('an upgrade after plain requests gets a connection of its own and tunnels', async () => {
    // Plain requests get an answer; an upgrade gets 101 and then an echo of what follows.
    const server = net.createServer((s) => {
      let got = Buffer.alloc(0);
      let tunnel = false;
      s.on('data', (d: Buffer) => {
        if (tunnel) {
          s.write(d);
          return;
        }
        got = Buffer.concat([got, d]);
        let end: number;
        while (!tunnel && (end = got.indexOf('\r\n\r\n')) >= 0) {
          const head = got.subarray(0, end).toString('latin1');
          got = got.subarray(end + 4);
          if (/^upgrade: echo$/im.test(head)) {
            tunnel = true;
            s.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n');
            if (got.length > 0) s.write(got);
          } else {
            s.write('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nplain');
          }
        }
      });
      s.on('error', () => {});
    });
    await new Promise<void>((r) => server.listen(0, LOOPBACK, r));
    cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
    const p = await proxyTo([(server.address() as net.AddressInfo).port]);
    cleanups.push(() => p.close());
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    cleanups.push(() => agent.destroy());
    for (let i = 0; i < 3; i++) expect((await get(p.port, '/plain', { agent })).body).toBe('plain');
    const text = await new Promise<string>((resolve, reject) => {
      const c = net.connect(p.port, LOOPBACK);
      let got = '';
      let pinged = false;
      c.setTimeout(10_000, () => c.destroy(new Error(`timed out with ${JSON.stringify(got)}`)));
      c.on('error', reject);
      c.on('data', (d: Buffer) => {
        got += d.toString('latin1');
        if (!pinged && got.includes('\r\n\r\n')) {
          pinged = true;
          c.write('ping through the tunnel');
        }
        if (got.endsWith('ping through the tunnel')) {
          c.destroy();
          resolve(got);
        }
      });
      c.write('GET /t HTTP/1.1\r\nHost: a.example\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n');
    });
    expect(text.startsWith('HTTP/1.1 101')).toBe(true);
  });
});
