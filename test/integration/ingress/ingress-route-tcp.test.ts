// Traefik IngressRouteTCP through the real entrypoint: HostSNI routes on
// the same 443 as the HTTP routes, terminated here (the backend gets the
// plaintext) or passed through (the client sees the backend's own
// certificate); what metalgate cannot serve on websecure (HostSNI(`*`), no
// TLS, some TCP middlewares, a UDP route without its entry point) is refused
// with a reason. Routes on entry points of their own: entry-point-routes.test.ts.
import net from 'node:net';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createSelfSignedCertificate } from '../../../src/proxy/http/self-signed.ts';
import { hostSniNames } from '../../../src/ingress/translate/ingress-route-tcp.ts';
import { Harness, ing } from './harness.ts';

const h = new Harness();
const servers: net.Server[] = [];

async function listen(server: net.Server): Promise<number> {
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as net.AddressInfo).port;
}

/** Over TLS to the entrypoint with `servername`: what comes back for `line`, and the names on the certificate. */
function exchange(servername: string, line: string): Promise<{ reply: string; names: string }> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port: h.securePort, servername, rejectUnauthorized: false }, () => s.write(line));
    let reply = '';
    s.setEncoding('utf8');
    s.on('data', (c: string) => {
      reply += c;
      if (reply.endsWith('\n')) {
        const names = s.getPeerX509Certificate()?.subjectAltName ?? '';
        s.end();
        resolve({ reply, names });
      }
    });
    s.setTimeout(5000, () => s.destroy(new Error('timeout')));
    s.on('error', reject);
    // Closed without an answer (a refused connection): settled as a failure.
    s.on('close', () => reject(new Error(`closed before an answer (got ${JSON.stringify(reply)})`)));
  });
}

const tcpRoute = (name: string, spec: Record<string, unknown>) => ({ apiVersion: 'traefik.io/v1alpha1', kind: 'IngressRouteTCP', metadata: { namespace: 'ns', name }, spec });

beforeAll(async () => {
  await h.start();
  const plain = await listen(net.createServer((c) => c.on('data', (d) => c.write(`tcp:${d.toString()}`))));
  const backendPair = createSelfSignedCertificate({ names: ['backend.internal'] });
  const secure = await listen(tls.createServer({ cert: backendPair.cert, key: backendPair.key }, (c) => c.on('data', (d) => c.write(`tls:${d.toString()}`))));
  h.serviceAt('ns', 'db', plain, { name: 'pg', port: 5432 });
  const replica = await listen(net.createServer((c) => c.on('data', (d) => c.write(`replica:${d.toString()}`))));
  h.serviceAt('ns', 'db-replica', replica, { name: 'pg', port: 5432 });
  h.serviceAt('ns', 'mq', secure, { name: 'amqps', port: 5671 });
  await h.service('ns', 'app', 1);
  h.tlsSecret('ns', 'db-tls', ['db.example.com']);
  h.tlsSecret('ns', 'web-tls', ['web.example.com']);
  h.tlsSecret('ns', 'split-tls', ['split.example.com']);
  h.traefik('IngressRouteTCP', tcpRoute('split', { routes: [{ match: 'HostSNI(`split.example.com`)', services: [{ name: 'db', port: 5432, weight: 2 }, { name: 'db-replica', port: 'pg' }] }], tls: { secretName: 'split-tls' } }));
  h.ingress(ing('ns', 'web', [{ host: 'web.example.com', paths: [{ service: 'app' }] }], { tls: [{ hosts: ['web.example.com'], secretName: 'web-tls' }] }));
  h.traefik('IngressRouteTCP', tcpRoute('db', { entryPoints: ['websecure'], routes: [{ match: 'HostSNI(`db.example.com`) || HostSNI(`pg.example.com`)', services: [{ name: 'db', port: 5432 }] }], tls: { secretName: 'db-tls' } }));
  h.traefik('IngressRouteTCP', tcpRoute('mq', { routes: [{ match: 'HostSNI(`mq.example.com`)', services: [{ name: 'mq', port: 'amqps' }] }], tls: { passthrough: true } }));
  h.traefik('IngressRouteTCP', tcpRoute('catchall', { routes: [{ match: 'HostSNI(`*`)', services: [{ name: 'db', port: 5432 }] }] }));
  h.traefik('IngressRouteTCP', tcpRoute('guarded', { routes: [{ match: 'HostSNI(`guarded.example.com`)', services: [{ name: 'db', port: 5432 }], middlewares: [{ name: 'allow' }] }], tls: {} }));
  // TCP middlewares: an allow-list the test client (127.0.0.1) is outside of, and one it is inside of with one connection at a time.
  const mwTcp = (name: string, spec: Record<string, unknown>) => h.traefik('MiddlewareTCP', { apiVersion: 'traefik.io/v1alpha1', kind: 'MiddlewareTCP', metadata: { namespace: 'ns', name }, spec });
  mwTcp('lan-only', { ipAllowList: { sourceRange: ['198.18.0.0/15'] } });
  mwTcp('local-only', { ipWhiteList: { sourceRange: ['127.0.0.1'] } });
  mwTcp('one-at-a-time', { inFlightConn: { amount: 1 } });
  h.tlsSecret('ns', 'guard-tls', ['lan.example.com', 'local.example.com']);
  h.traefik('IngressRouteTCP', tcpRoute('lan', { routes: [{ match: 'HostSNI(`lan.example.com`)', services: [{ name: 'db', port: 5432 }], middlewares: [{ name: 'lan-only' }] }], tls: { secretName: 'guard-tls' } }));
  h.traefik('IngressRouteTCP', tcpRoute('local', { routes: [{ match: 'HostSNI(`local.example.com`)', services: [{ name: 'db', port: 5432 }], middlewares: [{ name: 'local-only' }, { name: 'one-at-a-time' }] }], tls: { secretName: 'guard-tls' } }));
  h.traefik('IngressRouteUDP', { apiVersion: 'traefik.io/v1alpha1', kind: 'IngressRouteUDP', metadata: { namespace: 'ns', name: 'dns' }, spec: { routes: [{ services: [{ name: 'db', port: 53 }] }] } });
  const out = h.apply();
  expect(out.tcpHosts.map((t) => t.host).sort()).toEqual(['db.example.com', 'lan.example.com', 'local.example.com', 'pg.example.com', 'split.example.com']);
  expect(out.passthrough.map((t) => t.host)).toEqual(['mq.example.com']);
  const errors = out.diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.ref.kind}/${d.ref.name}:${d.reason}`);
  expect(errors.sort()).toEqual([
    'IngressRouteTCP/catchall:BadRule',
    'IngressRouteTCP/catchall:NeedsTls',
    'IngressRouteTCP/catchall:NotServed',
    'IngressRouteTCP/guarded:BadMiddleware',
    'IngressRouteTCP/guarded:NotServed',
    'IngressRouteUDP/dns:NoEntryPoint',
    'IngressRouteUDP/dns:NotServed',
  ]);
});

afterAll(async () => {
  await h.stop();
  for (const s of servers) s.close();
});

describe('IngressRouteTCP', () => {
  test("terminated here: the backend gets the plaintext, the client the route's certificate", async () => {
    expect(await exchange('db.example.com', 'SELECT 1\n')).toEqual({ reply: 'tcp:SELECT 1\n', names: 'DNS:db.example.com' });
    expect((await exchange('pg.example.com', 'again\n')).reply).toBe('tcp:again\n');
  });

  test('weighted services: each connection to one of them, 2 to 1 by weight', async () => {
    const who: string[] = [];
    for (let i = 0; i < 9; i++) who.push((await exchange('split.example.com', 'q\n')).reply.split(':')[0]!);
    expect(who.filter((w) => w === 'tcp').length).toBe(6);
    expect(who.filter((w) => w === 'replica').length).toBe(3);
  });

  test("passed through: the client talks TLS with the backend itself", async () => {
    expect(await exchange('mq.example.com', 'ping\n')).toEqual({ reply: 'tls:ping\n', names: 'DNS:backend.internal' });
  });

  test('TCP middlewares: outside the allow-list the connection is closed before the backend; inFlightConn holds one at a time', async () => {
    await expect(exchange('lan.example.com', 'hello\n')).rejects.toThrow();
    expect((await exchange('local.example.com', 'one\n')).reply).toBe('tcp:one\n');
    // Hold one connection open; a second is closed until the first ends.
    const held = await new Promise<tls.TLSSocket>((resolve, reject) => {
      const s = tls.connect({ host: '127.0.0.1', port: h.securePort, servername: 'local.example.com', rejectUnauthorized: false }, () => s.write('held\n'));
      s.once('data', () => resolve(s));
      s.on('error', reject);
    });
    await expect(exchange('local.example.com', 'two\n')).rejects.toThrow();
    held.end();
    await new Promise((r) => held.once('close', r));
    expect((await exchange('local.example.com', 'three\n')).reply).toBe('tcp:three\n');
  });

  test('HTTP routes on the same port are served as before', async () => {
    expect((await h.request({ host: 'web.example.com', tls: true })).json!.name).toBe('app');
  });

  test('HostSNI rules: names joined by ||, v2 lists, and nothing else', () => {
    expect(hostSniNames('HostSNI(`A.example.com`) || HostSNI(`b.example.com`, `c.example.com`)')).toEqual(['a.example.com', 'b.example.com', 'c.example.com']);
    expect(hostSniNames('HostSNIRegexp(`^a`)')).toBeUndefined();
    expect(hostSniNames('HostSNI(`a`) && ClientIP(`198.18.0.0/15`)')).toBeUndefined();
  });
});
