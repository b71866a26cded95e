// TLS on the HTTP entrypoint: certificates picked by SNI (exact, wildcard, the
// default one for unknown names and for clients without SNI), HTTP/2 by ALPN
// and HTTP/1.1 over TLS, both proxied to a plain HTTP/1.1 upstream; and an
// https upstream.

import http2 from 'node:http2';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { afterEach, describe, expect, test } from 'vitest';
import { EndpointSetBackend } from '../../../src/proxy/http/backend.ts';
import { CertificateStore } from '../../../src/proxy/http/certificates.ts';
import { createSelfSignedCertificate } from '../../../src/proxy/http/self-signed.ts';
import { ingressRouter } from '../../support/table-router.ts';
import { LOOPBACK, endpoint, nodeBackend, startProxy, type Echo } from './http-harness.ts';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** The leaf certificate the server presents for `servername` (undefined: no SNI). */
function presented(port: number, servername: string | undefined, alpn = ['http/1.1']): Promise<{ subject: string; san: string | undefined; alpn: string | false | null }> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: LOOPBACK, port, rejectUnauthorized: false, ALPNProtocols: alpn, ...(servername !== undefined ? { servername } : {}) });
    s.once('secureConnect', () => {
      const x = new X509Certificate(s.getPeerCertificate(true).raw);
      resolve({ subject: x.subject, san: x.subjectAltName, alpn: s.alpnProtocol });
      s.destroy();
    });
    s.once('error', reject);
  });
}

async function tlsProxy() {
  const a = await nodeBackend('a');
  cleanups.push(() => a.close());
  const certs = new CertificateStore();
  certs.set('ns/exact', createSelfSignedCertificate({ names: ['a.example'] }));
  certs.set('ns/wild', createSelfSignedCertificate({ names: ['*.b.example'] }));
  const backend = new EndpointSetBackend({ name: 'ns/a:80', endpoints: [endpoint(a.port)] });
  const p = await startProxy({ router: ingressRouter([{ backend }]), certificates: certs }, true);
  cleanups.push(() => p.close());
  return { p, certs, a };
}

describe('TLS by SNI', () => {
  test('exact name, then wildcard for one label, else the default certificate (also without SNI)', async () => {
    const { p, certs } = await tlsProxy();
    expect((await presented(p.port, 'a.example')).san).toBe('DNS:a.example');
    expect((await presented(p.port, 'x.b.example')).san).toBe('DNS:*.b.example');
    expect((await presented(p.port, 'y.x.b.example')).san).toBe('DNS:metalgate-default.invalid');
    expect((await presented(p.port, 'c.example')).san).toBe('DNS:metalgate-default.invalid');
    expect((await presented(p.port, undefined)).san).toBe('DNS:metalgate-default.invalid');
    expect(certs.generatedDefault).toBe(true);

    // An exact certificate beats a wildcard one; replacing and deleting take effect for new handshakes.
    certs.set('ns/x', createSelfSignedCertificate({ names: ['x.b.example'] }));
    expect((await presented(p.port, 'x.b.example')).san).toBe('DNS:x.b.example');
    certs.delete('ns/x');
    expect((await presented(p.port, 'x.b.example')).san).toBe('DNS:*.b.example');
    certs.setDefault(createSelfSignedCertificate({ names: ['default.example'] }));
    expect((await presented(p.port, 'nothing.example')).san).toBe('DNS:default.example');
  });

  test('HTTP/1.1 over TLS reaches the upstream with X-Forwarded-Proto https', async () => {
    const { p } = await tlsProxy();
    const body = await new Promise<string>((resolve, reject) => {
      const req = https.request({ host: LOOPBACK, port: p.port, path: '/tls', servername: 'a.example', headers: { host: 'a.example' }, rejectUnauthorized: false, agent: false }, (res) => {
        let b = '';
        res.on('data', (d: Buffer) => (b += d));
        res.on('end', () => resolve(b));
      });
      req.on('error', reject);
      req.end();
    });
    const echo = JSON.parse(body) as Echo;
    expect(echo.url).toBe('/tls');
    expect(echo.headers['x-forwarded-proto']).toBe('https');
  });

  test('HTTP/2 by ALPN: requests (with bodies) proxied to the HTTP/1.1 upstream', async () => {
    const { p } = await tlsProxy();
    expect((await presented(p.port, 'a.example', ['h2', 'http/1.1'])).alpn).toBe('h2');
    const client = http2.connect(`https://127.0.0.1:${p.port}`, { servername: 'a.example', rejectUnauthorized: false });
    cleanups.push(() => void client.close());
    const call = (path: string, method = 'GET', body?: string): Promise<{ status: number; body: string; headers: http2.IncomingHttpHeaders }> =>
      new Promise((resolve, reject) => {
        const req = client.request({ ':path': path, ':method': method, ':authority': 'a.example' });
        let status = 0;
        let headers: http2.IncomingHttpHeaders = {};
        let b = '';
        req.on('response', (h) => {
          headers = h;
          status = Number(h[':status']);
        });
        req.on('data', (d: Buffer) => (b += d));
        req.on('end', () => resolve({ status, body: b, headers }));
        req.on('error', reject);
        if (body !== undefined) req.end(body);
        else req.end();
      });
    const [r1, r2, r3] = await Promise.all([call('/h2?x=1'), call('/post', 'POST', 'payload'), call('/chunked')]);
    expect(r1.status).toBe(200);
    const e1 = JSON.parse(r1.body) as Echo;
    expect(e1.url).toBe('/h2?x=1');
    expect(e1.headers.host).toBe('a.example');
    expect(e1.headers['x-forwarded-proto']).toBe('https');
    expect((JSON.parse(r2.body) as Echo).body).toBe('payload');
    expect(r3.body).toBe('part1-part2-part3');
    expect(r3.headers['transfer-encoding']).toBeUndefined();
    expect(r3.headers.connection).toBeUndefined();
    expect(p.entrypoint.stats().openConnections).toBe(1);
  });

  test('HTTP/2 strictness: cookie crumbs joined, a host field unlike :authority refused', async () => {
    const { p } = await tlsProxy();
    const client = http2.connect(`https://127.0.0.1:${p.port}`, { servername: 'a.example', rejectUnauthorized: false });
    cleanups.push(() => void client.close());
    const call = (headers: http2.OutgoingHttpHeaders, body?: string): Promise<{ status: number; body: string; rst: number }> =>
      new Promise((resolve) => {
        const req = client.request({ ':path': '/', ':method': 'GET', ':authority': 'a.example', ...headers });
        let status = 0;
        let b = '';
        req.on('response', (h) => (status = Number(h[':status'])));
        req.on('data', (d: Buffer) => (b += d));
        req.on('close', () => resolve({ status, body: b, rst: req.rstCode ?? 0 }));
        req.on('error', () => {});
        if (body !== undefined) req.end(body);
        else req.end();
      });

    // RFC 9113 §8.2.3: crumbs sent as separate fields reach HTTP/1.1 as one "; "-joined cookie.
    const cookies = await call({ cookie: ['a=1', 'b=2'] });
    expect(cookies.status).toBe(200);
    expect((JSON.parse(cookies.body) as Echo).headers.cookie).toBe('a=1; b=2');

    // Host beside :authority with another value: 400, as nginx.
    expect((await call({ host: 'b.example' })).status).toBe(400);
    expect((await call({ host: 'A.example' })).status).toBe(200);

  });

  test('an https backend: TLS toward the upstream', async () => {
    const pair = createSelfSignedCertificate({ names: ['pod.internal'] });
    const server = https.createServer({ cert: pair.cert, key: pair.key }, (req, res) => res.end(`secure ${req.url}`));
    await new Promise<void>((r) => server.listen(0, LOOPBACK, r));
    cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
    const backend = new EndpointSetBackend({ name: 'ns/s:443', protocol: 'https', endpoints: [endpoint((server.address() as net.AddressInfo).port)] });
    const p = await startProxy({ router: ingressRouter([{ backend }]) });
    cleanups.push(() => p.close());
    const { get } = await import('./http-harness.ts');
    const r = await get(p.port, '/s');
    expect(r.status).toBe(200);
    expect(r.body).toBe('secure /s');
  });
});
