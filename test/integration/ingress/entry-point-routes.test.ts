// Traefik TCP and UDP routes on entry points of their own, on a real API
// server (Traefik's CRDs from manifests/crds/traefik installed), through the
// proxy's listeners as the speaker runs them: the entrypoint Service's
// named ports `postgres` (TCP) and `dns` (UDP) forward to the routes'
// Services, by weight; a changed route leaves the port open (no client
// refused, held connections keep their place); an ipAllowList closes the
// entry point to clients outside it; inFlightConn limits each client IP; with tls the TLS is
// terminated on the entry point with the route's certificate and the
// plaintext forwarded; HostSNI(`name`) routes of several objects share the
// port, each server name to its route (terminated, or passed through to a
// backend's own TLS), the rest to the catch-all; a route naming a port the
// entrypoint Service lacks is not served, with a Warning Event saying what
// to add.
import { X509Certificate } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { useCluster, waitFor, waitForEvent } from '../helpers/cluster.ts';
import { createSelfSignedCertificate } from '../../../src/proxy/http/self-signed.ts';
import { dialAddress, portBase, tcpEchoBackend, tcpExchange, tlsSecret, udpEchoBackend, udpExchange, writeSlice, type Closable } from '../proxy/k8s-helpers.ts';
import { startApiIngress, type ApiIngress } from './api-ingress.ts';

const cluster = useCluster();
const NS = 'entry-points';
const VIP = '127.77.14.1';
const BASE = portBase();
const PG = BASE + 10;
const DNS = BASE + 11;
const repo = join(import.meta.dirname, '../../..');

describe('Traefik TCP and UDP routes on entry points of their own, on a real API server', () => {
  let ing: ApiIngress;
  let custom: k8s.CustomObjectsApi;
  const backends: Closable[] = [];

  const apply = async (kind: string, plural: string, name: string, spec: Record<string, unknown>) => {
    const body = { apiVersion: 'traefik.io/v1alpha1', kind, metadata: { name, namespace: NS }, spec };
    try {
      const current = (await custom.getNamespacedCustomObject({ group: 'traefik.io', version: 'v1alpha1', namespace: NS, plural, name })) as { metadata: { resourceVersion: string } };
      await custom.replaceNamespacedCustomObject({ group: 'traefik.io', version: 'v1alpha1', namespace: NS, plural, name, body: { ...body, metadata: { ...body.metadata, resourceVersion: current.metadata.resourceVersion } } });
    } catch {
      await custom.createNamespacedCustomObject({ group: 'traefik.io', version: 'v1alpha1', namespace: NS, plural, body });
    }
  };
  /** Who answered `n` fresh connections to the postgres entry point, counted by name. */
  const tally = async (n: number) => {
    const out: Record<string, number> = {};
    for (let i = 0; i < n; i++) {
      const who = (await tcpExchange(VIP, PG, 'q')).split(':')[0]!;
      out[who] = (out[who] ?? 0) + 1;
    }
    return out;
  };

  /** One TLS exchange on the postgres entry point naming `servername`: the certificate the client was shown and the answer. */
  const tlsExchangeAs = (servername: string, text: string) =>
    new Promise<{ fingerprint: string; reply: string }>((resolve, reject) => {
      const s = tls.connect({ host: VIP, port: PG, servername, rejectUnauthorized: false }, () => s.write(text));
      const timer = setTimeout(() => (s.destroy(), reject(new Error('timed out'))), 2000);
      s.once('data', (d: Buffer) => {
        clearTimeout(timer);
        const fingerprint = s.getPeerX509Certificate()?.fingerprint256 ?? '';
        s.destroy();
        resolve({ fingerprint, reply: d.toString() });
      });
      s.on('error', (e) => (clearTimeout(timer), reject(e)));
      s.on('close', () => (clearTimeout(timer), reject(new Error('closed'))));
    });

  beforeAll(async () => {
    const { kc, core, cp } = cluster();
    await cp.kubectl(['apply', '-f', join(repo, 'manifests/crds/traefik/traefik.io.yaml')]);
    custom = kc.makeApiClient(k8s.CustomObjectsApi);
    ing = await startApiIngress(kc, core, {
      namespace: NS,
      vip: VIP,
      crdRetryMs: 300,
      entrypointPorts: [
        { name: 'postgres', port: PG },
        { name: 'dns', port: DNS, protocol: 'UDP' },
      ],
    });
    backends.push(await tcpEchoBackend('198.18.14.1', BASE + 1, 'primary'), await tcpEchoBackend('198.18.14.2', BASE + 1, 'replica'), await udpEchoBackend('198.18.14.3', BASE + 2, 'dns'));
    const discovery = kc.makeApiClient(k8s.DiscoveryV1Api);
    for (const [name, ip] of [['pg-primary', '198.18.14.1'], ['pg-replica', '198.18.14.2']] as const) {
      await core.createNamespacedService({ namespace: NS, body: { metadata: { name, namespace: NS }, spec: { ports: [{ name: 'pg', port: 5432 }] } } });
      await writeSlice(discovery, NS, name, `${name}-1`, [{ name: 'pg', port: BASE + 1 }], [{ ip }]);
    }
    await core.createNamespacedService({ namespace: NS, body: { metadata: { name: 'coredns', namespace: NS }, spec: { ports: [{ name: 'dns', port: 53, protocol: 'UDP' }] } } });
    await writeSlice(discovery, NS, 'coredns', 'coredns-1', [{ name: 'dns', port: BASE + 2, protocol: 'UDP' }], [{ ip: '198.18.14.3' }]);
  }, 120_000);

  afterAll(async () => {
    await ing?.stop();
    for (const b of backends) await b.close();
  });

  test('IngressRouteTCP with HostSNI(`*`) on postgres: every connection to its Services, 3 to 1 by weight', async () => {
    await apply('IngressRouteTCP', 'ingressroutetcps', 'pg', {
      entryPoints: ['postgres'],
      routes: [{ match: 'HostSNI(`*`)', services: [{ name: 'pg-primary', port: 5432, weight: 3 }, { name: 'pg-replica', port: 'pg', weight: 1 }] }],
    });
    await waitFor(async () => (await tcpExchange(VIP, PG, 'hello').catch(() => '')).endsWith(':hello'), 'the postgres entry point routed', 15_000);
    // Smooth weighted round robin: any 4 connections in a row hold 3 and 1.
    const t = await tally(40);
    expect(t).toEqual({ primary: 30, replica: 10 });
  });

  test('a route changed while clients connect: the port stays open, every connection is served, new ones follow the new route', async () => {
    let stop = false;
    const seen: string[] = [];
    const loop = (async () => {
      while (!stop) {
        seen.push(await tcpExchange(VIP, PG, 'x').then((r) => r.split(':')[0]!, (e: Error) => `failed: ${e.message}`));
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    await waitFor(() => seen.length >= 5 || undefined, 'connections before the change', 5_000, 10);
    const before = seen.length;
    await apply('IngressRouteTCP', 'ingressroutetcps', 'pg', { entryPoints: ['postgres'], routes: [{ match: 'HostSNI(`*`)', services: [{ name: 'pg-replica', port: 5432 }] }] });
    await waitFor(() => (seen.length >= before + 3 && seen.slice(-3).every((w) => w === 'replica')) || undefined, 'the new route in force', 15_000, 20);
    stop = true;
    await loop;
    expect(seen.filter((w) => w.startsWith('failed'))).toEqual([]);
  });

  test('IngressRouteUDP on dns: datagrams to its Service and the answers back', async () => {
    await apply('IngressRouteUDP', 'ingressrouteudps', 'dns', { entryPoints: ['dns'], routes: [{ services: [{ name: 'coredns', port: 53 }] }] });
    await waitFor(async () => (await udpExchange(VIP, DNS, 'query', 500).catch(() => '')) === 'dns:query', 'the dns entry point routed', 15_000);
  });

  test('an ipAllowList the client is outside of closes the entry point; changed back, it opens again', async () => {
    await apply('MiddlewareTCP', 'middlewaretcps', 'lan-only', { ipAllowList: { sourceRange: ['198.18.0.0/15'] } });
    await apply('IngressRouteTCP', 'ingressroutetcps', 'pg', {
      entryPoints: ['postgres'],
      routes: [{ match: 'HostSNI(`*`)', services: [{ name: 'pg-primary', port: 5432 }], middlewares: [{ name: 'lan-only' }] }],
    });
    // The test's client is 127.0.0.1: refused before any byte reaches a backend.
    await waitFor(async () => (await tcpExchange(VIP, PG, 'x').then(() => 'served', (e: Error) => e.message)) !== 'served', 'the entry point closed to this client', 15_000);
    await apply('MiddlewareTCP', 'middlewaretcps', 'lan-only', { ipAllowList: { sourceRange: ['198.18.0.0/15', '127.0.0.1'] } });
    await waitFor(async () => (await tcpExchange(VIP, PG, 'again').catch(() => '')) === 'primary:again', 'the entry point open again', 15_000);
  });

  test('inFlightConn: one connection per client IP; a second from the same IP is closed, another IP is served, and a closed one frees its place', async () => {
    await apply('MiddlewareTCP', 'middlewaretcps', 'one-each', { inFlightConn: { amount: 1 } });
    await apply('IngressRouteTCP', 'ingressroutetcps', 'pg', {
      entryPoints: ['postgres'],
      routes: [{ match: 'HostSNI(`*`)', services: [{ name: 'pg-primary', port: 5432 }], middlewares: [{ name: 'one-each' }] }],
    });
    const held = await waitFor(async () => {
      const s = net.connect({ host: VIP, port: PG });
      const reply = await new Promise<string>((resolve) => {
        const t = setTimeout(() => resolve(''), 1000);
        s.once('data', (d) => {
          clearTimeout(t);
          resolve(d.toString());
        });
        s.on('error', () => resolve(''));
        s.write('held');
      });
      // Until the route with the limit is in force, a second connection is still served: try again.
      const second = reply === 'primary:held' ? await tcpExchange(VIP, PG, 'second').catch(() => '') : 'primary:second';
      if (second === '') return s;
      s.destroy();
      return undefined;
    }, 'the limit in force while a connection is held', 15_000);
    expect(await tcpExchange(VIP, PG, 'other', '127.0.0.2')).toBe('primary:other');
    // The route changes its Service, not its limit: the listener stays, and the held connection keeps its place.
    await apply('IngressRouteTCP', 'ingressroutetcps', 'pg', {
      entryPoints: ['postgres'],
      routes: [{ match: 'HostSNI(`*`)', services: [{ name: 'pg-replica', port: 5432 }], middlewares: [{ name: 'one-each' }] }],
    });
    await waitFor(async () => (await tcpExchange(VIP, PG, 'other', '127.0.0.3').catch(() => '')) === 'replica:other', 'the new Service in force', 15_000);
    expect(await tcpExchange(VIP, PG, 'still one', '127.0.0.1').catch(() => '')).toBe('');
    held.destroy();
    await waitFor(async () => (await tcpExchange(VIP, PG, 'after').catch(() => '')) === 'replica:after', 'the place freed', 5_000);
  });

  test('tls on the entry point: terminated with tls.secretName\'s certificate (the default one without it), the plaintext to the Service; a client without TLS gets nothing', async () => {
    const pair = createSelfSignedCertificate({ names: ['db.example.com'] });
    await cluster().core.createNamespacedSecret({ namespace: NS, body: tlsSecret(NS, 'pg-tls', pair) });
    const route = (t: Record<string, unknown>) =>
      apply('IngressRouteTCP', 'ingressroutetcps', 'pg', { entryPoints: ['postgres'], routes: [{ match: 'HostSNI(`*`)', services: [{ name: 'pg-primary', port: 5432 }] }], tls: t });
    const tlsExchange = (text: string) => tlsExchangeAs('db.example.com', text);
    const ours = new X509Certificate(pair.cert).fingerprint256;
    await route({ secretName: 'pg-tls' });
    const r = await waitFor(async () => (await tlsExchange('over tls').catch(() => undefined))?.fingerprint === ours || undefined, 'the route\'s certificate served', 15_000).then(() => tlsExchange('over tls'));
    expect(r).toEqual({ fingerprint: ours, reply: 'primary:over tls' });
    // Plain bytes are not a ClientHello: the handshake fails, nothing reaches the Service.
    expect(await tcpExchange(VIP, PG, 'plain').then((x) => x, () => 'closed')).not.toContain('primary:plain');
    await route({});
    const d = await waitFor(async () => {
      const x = await tlsExchange('default').catch(() => undefined);
      return x !== undefined && x.fingerprint !== ours ? x : undefined;
    }, 'the default certificate served', 15_000);
    expect(d.reply).toBe('primary:default');
  });

  test('HostSNI(`name`) routes share the entry point: each server name to its route, terminated with its certificate or passed through to a backend that terminates itself; other names to the catch-all, closed without one', async () => {
    const { core, kc } = cluster();
    const ours = createSelfSignedCertificate({ names: ['replica.db.example'] });
    const backendPair = createSelfSignedCertificate({ names: ['ssl.db.example'] });
    await core.createNamespacedSecret({ namespace: NS, body: tlsSecret(NS, 'db-tls', ours) });
    // A backend that terminates TLS itself, with a certificate of its own.
    const sslBackend = tls.createServer({ key: backendPair.key, cert: backendPair.cert }, (s) => {
      s.on('data', (d: Buffer) => s.write(`ssl-backend:${d.toString()}`));
      s.on('error', () => {});
    });
    await new Promise<void>((resolve) => sslBackend.listen(BASE + 3, dialAddress('198.18.14.4'), resolve));
    backends.push({ close: () => new Promise<void>((r) => sslBackend.close(() => r())) });
    await core.createNamespacedService({ namespace: NS, body: { metadata: { name: 'pg-ssl', namespace: NS }, spec: { ports: [{ name: 'pg', port: 5432 }] } } });
    await writeSlice(kc.makeApiClient(k8s.DiscoveryV1Api), NS, 'pg-ssl', 'pg-ssl-1', [{ name: 'pg', port: BASE + 3 }], [{ ip: '198.18.14.4' }]);
    await apply('IngressRouteTCP', 'ingressroutetcps', 'by-name', {
      entryPoints: ['postgres'],
      tls: { secretName: 'db-tls' },
      routes: [{ match: 'HostSNI(`replica.db.example`)', services: [{ name: 'pg-replica', port: 5432 }] }],
    });
    await apply('IngressRouteTCP', 'ingressroutetcps', 'passed', {
      entryPoints: ['postgres'],
      tls: { passthrough: true },
      routes: [{ match: 'HostSNI(`ssl.db.example`)', services: [{ name: 'pg-ssl', port: 5432 }] }],
    });
    const exchange = tlsExchangeAs;
    const oursFp = new X509Certificate(ours.cert).fingerprint256;
    const backendFp = new X509Certificate(backendPair.cert).fingerprint256;
    await waitFor(async () => (await exchange('ssl.db.example', 'x').catch(() => undefined))?.reply === 'ssl-backend:x' || undefined, 'the named routes served', 15_000);
    // Passed through: the backend's own certificate, the bytes untouched.
    expect(await exchange('ssl.db.example', 'through')).toEqual({ fingerprint: backendFp, reply: 'ssl-backend:through' });
    // Terminated with the route's certificate, the plaintext to its Service.
    expect(await exchange('replica.db.example', 'named')).toEqual({ fingerprint: oursFp, reply: 'replica:named' });
    expect(await exchange('REPLICA.db.example', 'case')).toEqual({ fingerprint: oursFp, reply: 'replica:case' });
    // Any other name: the older object's HostSNI(`*`) route (TLS terminated with the default certificate).
    const other = await exchange('other.example', 'rest');
    expect(other.reply).toBe('primary:rest');
    expect([oursFp, backendFp]).not.toContain(other.fingerprint);
    // Without the catch-all, a name no route has is closed; the named routes keep serving.
    await custom.deleteNamespacedCustomObject({ group: 'traefik.io', version: 'v1alpha1', namespace: NS, plural: 'ingressroutetcps', name: 'pg' });
    await waitFor(async () => (await exchange('other.example', 'gone').then(() => false, () => true)) || undefined, 'the catch-all gone', 15_000);
    expect(await exchange('replica.db.example', 'still')).toEqual({ fingerprint: oursFp, reply: 'replica:still' });
    expect(await exchange('ssl.db.example', 'still')).toEqual({ fingerprint: backendFp, reply: 'ssl-backend:still' });
    // Plain bytes name nothing: closed too.
    expect(await tcpExchange(VIP, PG, 'plain').then((x) => x, () => 'closed')).not.toContain(':plain');
  });

  test('a route naming a port the entrypoint Service lacks: not served, and the Event says what to add', async () => {
    await apply('IngressRouteTCP', 'ingressroutetcps', 'mysql', { entryPoints: ['mysql'], routes: [{ match: 'HostSNI(`*`)', services: [{ name: 'pg-primary', port: 5432 }] }] });
    const e = await waitForEvent(cluster().core, NS, 'IngressRouteTCP', 'mysql', 'NoEntryPoint');
    expect(e.message).toBe('entryPoints: the entrypoint Service metalgate-system/metalgate-ingress has no port named mysql: add one (TCP) to open this entry point');
    // The other routes keep serving.
    expect(await udpExchange(VIP, DNS, 'still')).toBe('dns:still');
  });
});
