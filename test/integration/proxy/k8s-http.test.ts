// The ingress entrypoint Service on a real API server (see k8s-helpers.ts):
// its ports 80 and 443 go to the L7 engine, Ingress host + path rules route
// to Service ports, TLS Secrets referenced by Ingresses are loaded by SNI, and
// a missing or malformed Secret leaves its hosts on the default certificate
// with a Warning Event on the Ingress while the rest keeps serving.

import http from 'node:http';
import https from 'node:https';
import type tls from 'node:tls';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSelfSignedCertificate } from '../../../src/proxy/http/self-signed.ts';
import { attachIngressEngine } from '../../../src/ingress/k8s/attach-to-proxy.ts';
import type { IngressController } from '../../../src/ingress/k8s/ingress-controller.ts';
import { EventRecorder } from '../../../src/kube/events.ts';
import { createHttpEngine } from '../../../src/proxy/k8s/http-engine.ts';
import type { ManualOwnership } from '../../../src/proxy/listeners/manual-ownership.ts';
import type { Proxy } from '../../../src/proxy/proxy.ts';
import { ensureNamespace, useCluster, waitFor, waitForEvent } from '../helpers/cluster.ts';
import { testLogger } from '../speaker/helpers.ts';
import { createLbService, httpBackend, portBase, startProxy, tlsSecret, vipRequest, waitListening, writeSlice, type HttpBackend } from './k8s-helpers.ts';
import { productClient } from '../../support/kube-config.ts';

const cluster = useCluster();
const NS = 'web';
const VIP = '127.77.2.1';
const BASE = portBase();

interface TlsAnswer {
  status: number;
  body: string;
  names: string;
}

/** One HTTPS GET on a new connection with SNI `servername`: status, body and the certificate's names. */
function httpsGet(servername: string, path = '/'): Promise<TlsAnswer> {
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

/** One plain HTTP GET on port 80 on a new connection, with a Host header. */
async function hostGet(host: string, path = '/'): Promise<{ status: number; body: string }> {
  const { status, body } = await vipRequest(VIP, host, path);
  return { status, body };
}

describe('proxy ingress entrypoint on a real API server', () => {
  let proxy: Proxy;
  let engine: IngressController | undefined;
  let ownership: ManualOwnership;
  let networking: k8s.NetworkingV1Api;
  let discovery: k8s.DiscoveryV1Api;
  const backends: HttpBackend[] = [];

  beforeAll(async () => {
    const { kc, core } = cluster();
    networking = kc.makeApiClient(k8s.NetworkingV1Api);
    discovery = kc.makeApiClient(k8s.DiscoveryV1Api);
    ({ proxy, ownership } = await startProxy(kc, {}, (registry) => createHttpEngine({ log: testLogger().child({ component: 'http' }), registry, accessLogSampleRate: 0 })));
    // The one Ingress pipeline: the rule engine compiles, the proxy serves what it publishes.
    engine = attachIngressEngine(productClient(kc), testLogger().child({ component: 'ingress' }), proxy, { events: new EventRecorder(productClient(kc), testLogger(), 'metalgate-ingress'), debounceMs: 5 });
    await ensureNamespace(core, NS);
    // The entrypoint Service and the application behind the Ingresses.
    await createLbService(core, 'metalgate-system', 'metalgate-ingress', [{ name: 'web', port: 80 }, { name: 'websecure', port: 443 }], VIP);
    const target = BASE + 1;
    for (const i of [1, 2]) backends.push(await httpBackend(`198.18.7.${i}`, target, `app${i}`));
    await core.createNamespacedService({ namespace: NS, body: { metadata: { name: 'app', namespace: NS }, spec: { ports: [{ name: 'http', port: 8080 }] } } });
    await writeSlice(discovery, NS, 'app', 'app-1', [{ name: 'http', port: target }], [{ ip: '198.18.7.1' }]);
    ownership.own(VIP);
    await waitListening(proxy, `TCP ${VIP}:80`);
    await waitListening(proxy, `TCP ${VIP}:443`);
  });

  afterAll(async () => {
    await engine?.stop();
    await proxy?.stop(1000);
    await Promise.all(backends.map((b) => b.close()));
  });

  it('HTTP on port 80: Ingress host + Prefix path to a Service port; endpoint changes apply to the next request; no rule -> 404', async () => {
    await networking.createNamespacedIngress({
      namespace: NS,
      body: {
        metadata: { name: 'plain', namespace: NS },
        spec: {
          ingressClassName: 'metalgate',
          rules: [{ host: 'plain.example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'app', port: { number: 8080 } } } }] } }],
        },
      },
    });
    const r = await waitFor(async () => {
      const x = await hostGet('plain.example.com', '/anything');
      return x.status === 200 ? x : undefined;
    }, 'the route', 10_000);
    expect(r.body).toBe('app1');
    expect((await hostGet('nobody.example.com')).status).toBe(404);
    await writeSlice(discovery, NS, 'app', 'app-1', [{ name: 'http', port: BASE + 1 }], [{ ip: '198.18.7.2' }]);
    await waitFor(async () => (await hostGet('plain.example.com')).body === 'app2', 'the new endpoint', 10_000);
    // Back to app1 for the next tests.
    await writeSlice(discovery, NS, 'app', 'app-1', [{ name: 'http', port: BASE + 1 }], [{ ip: '198.18.7.1' }]);
    await waitFor(async () => (await hostGet('plain.example.com')).body === 'app1', 'app1 again', 10_000);
  });

  it('a missing TLS Secret: the default certificate and a Warning Event on the Ingress; the request is still served; the Secret appearing is picked up', async () => {
    await networking.createNamespacedIngress({
      namespace: NS,
      body: {
        metadata: { name: 'secure', namespace: NS },
        spec: {
          ingressClassName: 'metalgate',
          tls: [{ hosts: ['secure.example.com'], secretName: 'secure-tls' }],
          rules: [{ host: 'secure.example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'app', port: { name: 'http' } } } }] } }],
        },
      },
    });
    const ev = await waitForEvent(cluster().core, NS, 'Ingress', 'secure', 'MissingSecret');
    expect(ev.type).toBe('Warning');
    expect(ev.message).toBe(`tls[0]: Secret ${NS}/secure-tls not found; the default certificate is served for secure.example.com`);
    const r = await waitFor(async () => {
      const x = await httpsGet('secure.example.com');
      return x.status === 200 ? x : undefined;
    }, 'an HTTPS answer', 10_000);
    expect(r).toEqual({ status: 200, body: 'app1', names: 'DNS:metalgate-default.invalid' });

    await cluster().core.createNamespacedSecret({ namespace: NS, body: tlsSecret(NS, 'secure-tls', createSelfSignedCertificate({ names: ['secure.example.com'] })) });
    const loaded = await waitFor(async () => {
      const x = await httpsGet('secure.example.com');
      return x.names === 'DNS:secure.example.com' ? x : undefined;
    }, 'the Secret certificate by SNI', 10_000);
    expect(loaded).toMatchObject({ status: 200, body: 'app1' });
    // Another name still gets the default.
    expect((await httpsGet('other.example.com')).names).toBe('DNS:metalgate-default.invalid');
  });

  it('a malformed TLS Secret: Warning Event, default certificate for its hosts; other Ingresses keep their certificates', async () => {
    const bad = createSelfSignedCertificate({ names: ['broken.example.com'] });
    const other = createSelfSignedCertificate({ names: ['x.invalid'] });
    // The key does not match the certificate.
    await cluster().core.createNamespacedSecret({ namespace: NS, body: tlsSecret(NS, 'broken-tls', { cert: bad.cert, key: other.key }) });
    await networking.createNamespacedIngress({
      namespace: NS,
      body: {
        metadata: { name: 'broken', namespace: NS },
        spec: {
          ingressClassName: 'metalgate',
          tls: [{ hosts: ['broken.example.com'], secretName: 'broken-tls' }],
          rules: [{ host: 'broken.example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'app', port: { name: 'http' } } } }] } }],
        },
      },
    });
    const ev = await waitForEvent(cluster().core, NS, 'Ingress', 'broken', 'BadCertificate');
    expect(ev.message).toMatch(/^Secret web\/broken-tls: .*; the default certificate is served$/);
    expect((await httpsGet('broken.example.com')).names).toBe('DNS:metalgate-default.invalid');
    expect((await httpsGet('secure.example.com')).names).toBe('DNS:secure.example.com');
  });

  it('HTTP and L4 metrics share the registry', async () => {
    await hostGet('plain.example.com');
    const text = await proxy.registry.metrics();
    expect(text).toMatch(/metalgate_http_requests_total\{entrypoint="web",backend="web\/app:http",code="200"\} \d+/);
    expect(text).toMatch(/metalgate_proxy_listeners\{mode="https",state="listening"\} 1/);
  });

  it("the entrypoint Service's loadBalancerSourceRanges: a client outside them is reset before any HTTP", async () => {
    const { core } = cluster();
    const from = (localAddress: string): Promise<number> =>
      new Promise((resolve, reject) => {
        const r = http.get({ host: VIP, port: 80, path: '/', localAddress, headers: { host: 'plain.example.com' }, agent: false, timeout: 5000 }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        r.on('timeout', () => r.destroy(new Error('timed out')));
        r.on('error', reject);
      });
    const setRanges = async (ranges: string[] | undefined): Promise<void> => {
      const svc = await core.readNamespacedService({ name: 'metalgate-ingress', namespace: 'metalgate-system' });
      svc.spec!.loadBalancerSourceRanges = ranges;
      await core.replaceNamespacedService({ name: 'metalgate-ingress', namespace: 'metalgate-system', body: svc });
    };
    await setRanges(['127.0.0.0/30']);
    await waitFor(() => from('127.0.0.21').then(() => undefined, (err: Error) => /ECONNRESET|socket hang up/.test(err.message)), 'the range in force', 10_000);
    expect(await from('127.0.0.1')).toBe(200);
    await setRanges(undefined);
    expect(await waitFor(() => from('127.0.0.21').catch(() => undefined), 'everyone again', 10_000)).toBe(200);
  });
});
