// The rule engine plugged into the real proxy (src/proxy/proxy.ts) on a real
// API server: EndpointSlices -> the proxy's per-port Backends, our compiled
// Router on its HTTP entrypoints (attachIngressEngine), Ingress status from
// the entrypoint Service's IP; a canary Ingress and a Traefik IngressRoute
// served on the VIP.
import http from 'node:http';
import https from 'node:https';
import type tls from 'node:tls';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { attachIngressEngine } from '../../../src/ingress/k8s/attach-to-proxy.ts';
import type { IngressController } from '../../../src/ingress/k8s/ingress-controller.ts';
import { EventRecorder } from '../../../src/kube/events.ts';
import { createHttpEngine } from '../../../src/proxy/k8s/http-engine.ts';
import { createSelfSignedCertificate } from '../../../src/proxy/http/self-signed.ts';
import type { ProxyHttpEngine } from '../../../src/proxy/proxy.ts';
import type { ManualOwnership } from '../../../src/proxy/listeners/manual-ownership.ts';
import type { Proxy } from '../../../src/proxy/proxy.ts';
import { ensureNamespace, useCluster, waitFor, waitForEvent } from '../helpers/cluster.ts';
import { testLogger } from '../speaker/helpers.ts';
import { createLbService, dialAddress, httpBackend, portBase, startProxy, tlsSecret, vipRequest, waitListening, writeSlice, type HttpBackend } from '../proxy/k8s-helpers.ts';
import { productClient } from '../../support/kube-config.ts';

const cluster = useCluster();
const NS = 'rules';
const VIP = '127.77.5.1';
const BASE = portBase();
const repo = join(import.meta.dirname, '../../..');

async function get(host: string, path = '/', headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  const { status, body } = await vipRequest(VIP, host, path, headers);
  return { status, body };
}

function httpsGet(servername: string, path = '/'): Promise<{ status: number; body: string; names: string }> {
  return new Promise((resolve, reject) => {
    const req = https.get({ host: VIP, port: 443, path, servername, headers: { host: servername }, rejectUnauthorized: false, agent: false, timeout: 5000 }, (res) => {
      const names = (res.socket as tls.TLSSocket).getPeerX509Certificate()?.subjectAltName ?? '';
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, names }));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
  });
}

describe('rule engine inside the proxy', () => {
  let proxy: Proxy;
  let ownership: ManualOwnership;
  let engine: IngressController;
  let networking: k8s.NetworkingV1Api;
  const backends: HttpBackend[] = [];

  beforeAll(async () => {
    const { kc, core, cp } = cluster();
    networking = kc.makeApiClient(k8s.NetworkingV1Api);
    const discovery = kc.makeApiClient(k8s.DiscoveryV1Api);
    await cp.kubectl(['apply', '-f', join(repo, 'manifests/crds/traefik/traefik.io.yaml')]);
    let engineParts: ProxyHttpEngine | undefined;
    ({ proxy, ownership } = await startProxy(kc, {}, (registry) => (engineParts = createHttpEngine({ log: testLogger().child({ component: 'http' }), registry, accessLogSampleRate: 0 }))));
    await ensureNamespace(core, NS);
    await createLbService(core, 'metalgate-system', 'metalgate-ingress', [{ name: 'web', port: 80 }, { name: 'websecure', port: 443 }], VIP);
    await networking.createIngressClass({ body: { metadata: { name: 'metalgate' }, spec: { controller: 'metalgate.io/ingress-controller' } } });
    for (const [svc, ip] of [['stable', '198.18.8.1'], ['canary', '198.18.8.2']] as const) {
      backends.push(await httpBackend(ip, BASE + 1, svc));
      await core.createNamespacedService({ namespace: NS, body: { metadata: { name: svc, namespace: NS }, spec: { ports: [{ name: 'http', port: 8080 }] } } });
      await writeSlice(discovery, NS, svc, `${svc}-1`, [{ name: 'http', port: BASE + 1 }], [{ ip }]);
    }
    ownership.own(VIP);
    await waitListening(proxy, `TCP ${VIP}:80`);
    await waitListening(proxy, `TCP ${VIP}:443`);
    engine = attachIngressEngine(productClient(kc), testLogger().child({ component: 'ingress' }), proxy, {
      events: new EventRecorder(productClient(kc), testLogger(), 'metalgate-ingress'),
      entrypointService: 'metalgate-system/metalgate-ingress',
      crdRetryMs: 300,
    });
  });

  afterAll(async () => {
    await engine?.stop();
    await proxy?.stop(1000);
    await Promise.all(backends.map((b) => b.close()));
  });

  test('a canary Ingress splits traffic on the VIP; the Ingress gets the VIP in its status', async () => {
    const ing = (name: string, svc: string, annotations: Record<string, string> = {}): k8s.V1Ingress => ({
      metadata: { name, namespace: NS, annotations },
      spec: { ingressClassName: 'metalgate', rules: [{ host: 'app.example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: svc, port: { number: 8080 } } } }] } }] },
    });
    await networking.createNamespacedIngress({ namespace: NS, body: ing('app', 'stable') });
    await networking.createNamespacedIngress({
      namespace: NS,
      body: ing('app-canary', 'canary', { 'nginx.ingress.kubernetes.io/canary': 'true', 'nginx.ingress.kubernetes.io/canary-by-header': 'x-canary' }),
    });
    await waitFor(async () => (await get('app.example.com')).body === 'stable', 'the main Ingress on the VIP', 10_000);
    await waitFor(async () => (await get('app.example.com', '/', { 'x-canary': 'always' })).body === 'canary', 'the canary by header', 10_000);
    await waitFor(async () => (await networking.readNamespacedIngress({ name: 'app', namespace: NS })).status?.loadBalancer?.ingress?.[0]?.ip === VIP, 'Ingress status', 10_000);
  });

  test('an Ingress with auth-url and auth-signin (the oauth2-proxy pattern): a sign-in redirect without a session, the backend with one', async () => {
    // The oauth2-proxy stand-in: 202 with the session cookie, else 401.
    const authServer = http.createServer((req, res) => {
      req.resume();
      res.writeHead((req.headers.cookie ?? '').includes('_oauth2_proxy=ok') ? 202 : 401);
      res.end();
    });
    await new Promise<void>((r) => authServer.listen(0, '127.0.0.1', r));
    const authPort = (authServer.address() as import('node:net').AddressInfo).port;
    try {
      await networking.createNamespacedIngress({
        namespace: NS,
        body: {
          metadata: {
            name: 'guarded-app',
            namespace: NS,
            annotations: {
              'nginx.ingress.kubernetes.io/auth-url': `http://127.0.0.1:${authPort}/oauth2/auth`,
              'nginx.ingress.kubernetes.io/auth-signin': 'https://$host/oauth2/start?rd=$escaped_request_uri',
            },
          },
          spec: { ingressClassName: 'metalgate', rules: [{ host: 'guarded-app.example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'stable', port: { number: 8080 } } } }] } }] },
        },
      });
      const first = await waitFor(async () => {
        const a = await get('guarded-app.example.com', '/inbox');
        return a.status === 302 && a;
      }, 'the sign-in redirect', 10_000);
      expect(first.status).toBe(302);
      const withSession = await get('guarded-app.example.com', '/inbox', { cookie: '_oauth2_proxy=ok' });
      expect(withSession).toEqual({ status: 200, body: 'stable' });
    } finally {
      authServer.close();
    }
  });

  test('ssl-passthrough: the host\'s TLS reaches its TLS backend undecrypted (the client sees the backend\'s certificate)', async () => {
    const { core, kc } = cluster();
    const discovery = kc.makeApiClient(k8s.DiscoveryV1Api);
    const pair = createSelfSignedCertificate({ names: ['backend.internal'] });
    const tlsServer = https.createServer({ cert: pair.cert, key: pair.key }, (_req, res) => res.end('secure'));
    await new Promise<void>((r) => tlsServer.listen(BASE + 2, dialAddress('198.18.8.3'), r));
    try {
      await core.createNamespacedService({ namespace: NS, body: { metadata: { name: 'secure', namespace: NS }, spec: { ports: [{ name: 'https', port: 8443 }] } } });
      await writeSlice(discovery, NS, 'secure', 'secure-1', [{ name: 'https', port: BASE + 2 }], [{ ip: '198.18.8.3' }]);
      await networking.createNamespacedIngress({
        namespace: NS,
        body: {
          metadata: { name: 'passthrough', namespace: NS, annotations: { 'nginx.ingress.kubernetes.io/ssl-passthrough': 'true' } },
          spec: { ingressClassName: 'metalgate', rules: [{ host: 'pass.example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'secure', port: { number: 8443 } } } }] } }] },
        },
      });
      const a = await waitFor(async () => {
        const r = await httpsGet('pass.example.com').catch(() => undefined);
        return r?.names.includes('backend.internal') ? r : undefined;
      }, 'the passthrough host served by its backend', 10_000);
      expect(a).toMatchObject({ status: 200, body: 'secure' });
    } finally {
      tlsServer.close();
    }
  });

  test('a Traefik IngressRoute is served on the VIP; a bad one is an Event', async () => {
    const custom = cluster().kc.makeApiClient(k8s.CustomObjectsApi);
    await waitFor(() => engine.traefikGroups.includes('traefik.io'), 'traefik.io on', 10_000);
    const body = (name: string, match: string) => ({
      apiVersion: 'traefik.io/v1alpha1',
      kind: 'IngressRoute',
      metadata: { name, namespace: NS },
      spec: { routes: [{ match, kind: 'Rule', services: [{ name: 'canary', port: 8080 }] }] },
    });
    await custom.createNamespacedCustomObject({ group: 'traefik.io', version: 'v1alpha1', namespace: NS, plural: 'ingressroutes', body: body('tr', 'Host(`tr.example.com`) && PathPrefix(`/v2`)') });
    await custom.createNamespacedCustomObject({ group: 'traefik.io', version: 'v1alpha1', namespace: NS, plural: 'ingressroutes', body: body('bad', 'Host(`tr.example.com`) && Pathprefix(`/x`') });
    await waitFor(async () => (await get('tr.example.com', '/v2/x')).body === 'canary', 'the IngressRoute on the VIP', 10_000);
    expect((await get('tr.example.com', '/v1')).status).toBe(404);
    const ev = await waitForEvent(cluster().core, NS, 'IngressRoute', 'bad', 'BadRule');
    expect(ev.message).toMatch(/ at [0-9]+$/);
  });

  test('an IngressRoute with tls.secretName is served by SNI with that Secret', async () => {
    const { core, kc } = cluster();
    const pair = createSelfSignedCertificate({ names: ['tls-tr.example.com'] });
    await core.createNamespacedSecret({
      namespace: NS,
      body: tlsSecret(NS, 'tr-tls', pair),
    });
    await kc.makeApiClient(k8s.CustomObjectsApi).createNamespacedCustomObject({
      group: 'traefik.io',
      version: 'v1alpha1',
      namespace: NS,
      plural: 'ingressroutes',
      body: {
        apiVersion: 'traefik.io/v1alpha1',
        kind: 'IngressRoute',
        metadata: { name: 'secure', namespace: NS },
        spec: { entryPoints: ['websecure'], tls: { secretName: 'tr-tls' }, routes: [{ match: 'Host(`tls-tr.example.com`)', kind: 'Rule', services: [{ name: 'stable', port: 8080 }] }] },
      },
    });
    const r = await waitFor(async () => {
      const x = await httpsGet('tls-tr.example.com');
      return x.status === 200 && x.names === 'DNS:tls-tr.example.com' ? x : undefined;
    }, 'the IngressRoute over TLS with its certificate', 10_000);
    expect(r.body).toBe('stable');
    expect((await get('tls-tr.example.com')).status).toBe(404);
  });

  test('an Ingress of any IngressClass of ours (here `public`) is served over HTTPS with its own Secret, not the default certificate', async () => {
    const { core } = cluster();
    await networking.createIngressClass({ body: { metadata: { name: 'public' }, spec: { controller: 'metalgate.io/ingress-controller' } } });
    const pair = createSelfSignedCertificate({ names: ['public.example.com'] });
    await core.createNamespacedSecret({
      namespace: NS,
      body: tlsSecret(NS, 'public-tls', pair),
    });
    await networking.createNamespacedIngress({
      namespace: NS,
      body: {
        metadata: { name: 'public', namespace: NS },
        spec: {
          ingressClassName: 'public',
          tls: [{ hosts: ['public.example.com'], secretName: 'public-tls' }],
          rules: [{ host: 'public.example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'stable', port: { number: 8080 } } } }] } }],
        },
      },
    });
    const r = await waitFor(async () => {
      const x = await httpsGet('public.example.com');
      return x.status === 200 && x.names === 'DNS:public.example.com' ? x : undefined;
    }, 'the Ingress of class public over TLS with its certificate', 10_000);
    expect(r.body).toBe('stable');
  });

  test('status: a withheld Ingress shows no address; one moved to another class loses ours; a deleted and re-created one gets it again', async () => {
    const statusIp = async (name: string) => (await networking.readNamespacedIngress({ name, namespace: NS })).status?.loadBalancer?.ingress?.[0]?.ip;
    const body = (name: string, cls: string, annotations: Record<string, string> = {}): k8s.V1Ingress => ({
      metadata: { name, namespace: NS, annotations },
      spec: { ingressClassName: cls, rules: [{ host: `${name}.example.com`, http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'stable', port: { number: 8080 } } } }] } }] },
    });
    await networking.createIngressClass({ body: { metadata: { name: 'elsewhere' }, spec: { controller: 'example.com/another-controller' } } });

    // Fail closed: ModSecurity is not implemented, so the Ingress is not served, says why, and shows no address.
    await networking.createNamespacedIngress({ namespace: NS, body: body('guarded', 'metalgate', { 'nginx.ingress.kubernetes.io/enable-modsecurity': 'true' }) });
    const ev = await waitForEvent(cluster().core, NS, 'Ingress', 'guarded', 'UnsupportedSecurityAnnotation');
    expect(ev.message).toContain('nginx.ingress.kubernetes.io/enable-modsecurity limits who reaches the backend');
    expect((await get('guarded.example.com')).status).toBe(404);

    await networking.createNamespacedIngress({ namespace: NS, body: body('moving', 'metalgate') });
    await waitFor(async () => (await statusIp('moving')) === VIP, 'status of a served Ingress', 10_000);
    expect(await statusIp('guarded')).toBeUndefined();

    // Re-created under the same name: the address comes back.
    await networking.deleteNamespacedIngress({ name: 'moving', namespace: NS });
    await waitFor(async () => (await get('moving.example.com')).status === 404, 'the deleted Ingress is no longer routed', 10_000);
    await networking.createNamespacedIngress({ namespace: NS, body: body('moving', 'metalgate') });
    await waitFor(async () => (await statusIp('moving')) === VIP, 'status of the re-created Ingress', 10_000);

    // Moved to another controller's class: our address goes.
    await networking.patchNamespacedIngress({ name: 'moving', namespace: NS, body: { spec: { ingressClassName: 'elsewhere' } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
    await waitFor(async () => (await statusIp('moving')) === undefined, 'our address removed from an Ingress of another class', 10_000);
    expect((await get('moving.example.com')).status).toBe(404);
  });

  test('one missing backend does not take the Ingress down: its path answers 503 with an Event, the others are served', async () => {
    const path = (p: string, svc: string) => ({ path: p, pathType: 'Prefix', backend: { service: { name: svc, port: { number: 8080 } } } });
    await networking.createNamespacedIngress({
      namespace: NS,
      body: { metadata: { name: 'partial', namespace: NS }, spec: { ingressClassName: 'metalgate', rules: [{ host: 'partial.example.com', http: { paths: [path('/ok', 'stable'), path('/gone', 'nope')] } }] } },
    });
    await waitFor(async () => (await get('partial.example.com', '/ok')).body === 'stable', 'the valid path of the Ingress', 10_000);
    expect((await get('partial.example.com', '/gone')).status).toBe(503);
    const ev = await waitForEvent(cluster().core, NS, 'Ingress', 'partial', 'MissingService');
    expect(ev.message).toBe(`rules[0].http.paths[1]: Service ${NS}/nope not found; requests to this path answer 503 until it exists`);
  });
});
