// ingress-nginx's ConfigMap-backed header annotations on a real API server:
// custom-headers (fields on every answer) and auth-proxy-set-headers (fields
// on the auth request). The ConfigMaps come through the speaker's watch, so
// a change to one reaches the answers without touching the Ingress; a bad
// or deleted ConfigMap is reported as a Warning Event and the last good
// fields keep serving; an Ingress naming a ConfigMap that does not exist is
// not served until it appears.
import http from 'node:http';
import type net from 'node:net';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { eventsFor, useCluster, waitFor, waitForEvent } from '../helpers/cluster.ts';
import { portBase, vipRequest, writeSlice } from '../proxy/k8s-helpers.ts';
import { startApiIngress, type ApiIngress } from './api-ingress.ts';

const cluster = useCluster();
const NS = 'header-maps';
const VIP = '127.77.9.1';
const BASE = portBase();
const N = 'nginx.ingress.kubernetes.io/';

describe('custom-headers and auth-proxy-set-headers on a real API server', () => {
  let ing: ApiIngress;
  let core: k8s.CoreV1Api;
  const servers: http.Server[] = [];
  /** What the auth service received. */
  const authSeen: http.IncomingHttpHeaders[] = [];
  let authPort = 0;

  const cm = (name: string, data: Record<string, string>): k8s.V1ConfigMap => ({ metadata: { name, namespace: NS }, data });
  const replaceCm = (name: string, data: Record<string, string>) => core.replaceNamespacedConfigMap({ name, namespace: NS, body: cm(name, data) });

  beforeAll(async () => {
    const { kc } = cluster();
    core = cluster().core;
    const networking = kc.makeApiClient(k8s.NetworkingV1Api);
    const discovery = kc.makeApiClient(k8s.DiscoveryV1Api);
    ing = await startApiIngress(kc, core, { namespace: NS, vip: VIP, classes: { className: 'nginx' } });
    // The app pod answers "app" with its own Cache-Control (custom-headers replaces it).
    await ing.pod('198.18.11.1', BASE + 1, (req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'max-age=60' });
      res.end('app');
    });
    // The auth service: records the request, lets it through.
    const auth = http.createServer((req, res) => {
      authSeen.push(req.headers);
      req.resume();
      res.writeHead(200);
      res.end();
    });
    servers.push(auth);
    await new Promise<void>((r) => auth.listen(0, '127.0.0.1', r));
    authPort = (auth.address() as net.AddressInfo).port;

    await core.createNamespacedService({ namespace: NS, body: { metadata: { name: 'app', namespace: NS }, spec: { ports: [{ name: 'http', port: 80 }] } } });
    await writeSlice(discovery, NS, 'app', 'app-1', [{ name: 'http', port: BASE + 1 }], [{ ip: '198.18.11.1' }]);
    await core.createNamespacedConfigMap({ namespace: NS, body: cm('security', { 'X-Frame-Options': 'DENY', 'Cache-Control': 'no-store', 'X-Served-Host': '$host' }) });
    await core.createNamespacedConfigMap({ namespace: NS, body: cm('auth-fields', { 'X-Tenant': 'blue', 'X-Client-Addr': '$remote_addr' }) });
    const ingress = (name: string, annotations: Record<string, string>): k8s.V1Ingress => ({
      metadata: { name, namespace: NS, annotations: Object.fromEntries(Object.entries(annotations).map(([k, v]) => [N + k, v])) },
      spec: { ingressClassName: 'nginx', rules: [{ host: `${name}.example.com`, http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'app', port: { number: 80 } } } }] } }] },
    });
    for (const body of [
      ingress('secured', { 'custom-headers': `${NS}/security`, 'enable-cors': 'true' }),
      ingress('authed', { 'auth-url': `http://127.0.0.1:${authPort}/verify`, 'auth-proxy-set-headers': 'auth-fields' }),
      ingress('waiting', { 'custom-headers': 'later' }),
    ]) {
      await networking.createNamespacedIngress({ namespace: NS, body });
    }
    await waitFor(async () => (await vipRequest(VIP, 'authed.example.com').catch(() => ({ status: 0 }))).status === 200, 'the Ingresses served', 15_000);
  }, 120_000);

  afterAll(async () => {
    await ing?.stop();
    for (const s of servers) {
      s.closeAllConnections();
      s.close();
    }
  });

  test('custom-headers: the fields on the upstream answer (replacing its own) and on the CORS preflight the proxy answers', async () => {
    const r = await vipRequest(VIP, 'secured.example.com', '/page');
    expect(r).toMatchObject({ status: 200, body: 'app' });
    expect(r.headers).toMatchObject({ 'x-frame-options': 'DENY', 'cache-control': 'no-store', 'x-served-host': 'secured.example.com' });
    const pre = await vipRequest(VIP, 'secured.example.com', '/page', { origin: 'https://ui.example', 'access-control-request-method': 'PUT' }, 'OPTIONS');
    expect(pre.status).toBe(204);
    expect(pre.headers['x-frame-options']).toBe('DENY');
  });

  test('auth-proxy-set-headers: the auth service gets the fields, variables filled', async () => {
    authSeen.splice(0);
    expect((await vipRequest(VIP, 'authed.example.com', '/x', { 'x-tenant': 'forged' })).status).toBe(200);
    expect(authSeen[0]).toMatchObject({ 'x-tenant': 'blue', 'x-client-addr': '127.0.0.1' });
  });

  test('a ConfigMap change reaches the answers; a bad one is a Warning Event and the last good fields stay; deleted, the same', async () => {
    await replaceCm('security', { 'X-Frame-Options': 'SAMEORIGIN' });
    await waitFor(async () => (await vipRequest(VIP, 'secured.example.com')).headers['x-frame-options'] === 'SAMEORIGIN', 'the changed field served', 10_000);
    expect((await vipRequest(VIP, 'secured.example.com')).headers['cache-control']).toBe('max-age=60');

    await replaceCm('security', { 'X-Frame-Options': 'DENY\u00e9' });
    const bad = await waitForEvent(core, NS, 'Ingress', 'secured', 'BadConfigMap');
    expect(bad.message).toContain(`ConfigMap ${NS}/security key "X-Frame-Options"`);
    expect((await vipRequest(VIP, 'secured.example.com')).headers['x-frame-options']).toBe('SAMEORIGIN');

    await core.deleteNamespacedConfigMap({ name: 'security', namespace: NS });
    const gone = await waitForEvent(core, NS, 'Ingress', 'secured', 'MissingConfigMap');
    expect(gone.message).toContain(`ConfigMap ${NS}/security not found`);
    const r = await vipRequest(VIP, 'secured.example.com');
    expect(r.status).toBe(200);
    expect(r.headers['x-frame-options']).toBe('SAMEORIGIN');
  });

  test('an Ingress naming a ConfigMap that does not exist is not served until it appears', async () => {
    const missing = await waitForEvent(core, NS, 'Ingress', 'waiting', 'MissingConfigMap');
    expect(missing.type).toBe('Warning');
    expect((await vipRequest(VIP, 'waiting.example.com')).status).toBe(404);
    await core.createNamespacedConfigMap({ namespace: NS, body: cm('later', { 'X-Arrived': 'yes' }) });
    await waitFor(async () => (await vipRequest(VIP, 'waiting.example.com')).headers['x-arrived'] === 'yes', 'served once the ConfigMap exists', 10_000);
    expect((await eventsFor(core, NS, 'Ingress', 'authed')).filter((e) => e.type === 'Warning')).toEqual([]);
  });
});
