// Traefik's TLS objects on a real API server, through the proxy and the rule
// engine as the speaker runs them: TLSStore (its default certificate,
// published by the ingress controller), TLSOption clientAuth on an
// IngressRoute (an openssl PKI), passTLSClientCert, and ServersTransport
// objects read from the API server (a route naming a missing one is not
// served; how they verify is tested against TLS backends in proxy-ssl.test.ts).
import https from 'node:https';
import type tls from 'node:tls';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { attachIngressEngine } from '../../../src/ingress/k8s/attach-to-proxy.ts';
import type { IngressController } from '../../../src/ingress/k8s/ingress-controller.ts';
import { createHttpEngine } from '../../../src/proxy/k8s/http-engine.ts';
import type { ManualOwnership } from '../../../src/proxy/listeners/manual-ownership.ts';
import type { Proxy } from '../../../src/proxy/proxy.ts';
import { hasProgram } from '../../support/netns-exec.ts';
import { CA_EXT, CLIENT_EXT, OpensslPki, serverExt } from '../../support/openssl-pki.ts';
import { ensureNamespace, useCluster, waitFor } from '../helpers/cluster.ts';
import { testLogger } from '../speaker/helpers.ts';
import { createLbService, httpBackend, portBase, startProxy, tlsSecret, waitListening, writeSlice, type HttpBackend } from '../proxy/k8s-helpers.ts';
import { productClient } from '../../support/kube-config.ts';

const OPENSSL = hasProgram('openssl');
const cluster = useCluster();
const NS = 'traefik-tls';
const VIP = '127.77.7.1';
const BASE = portBase();
const repo = join(import.meta.dirname, '../../..');

interface Answer {
  readonly status: number;
  readonly names: string;
}

function get(servername: string, client?: { cert: string; key: string }): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const r = https.get({ host: VIP, port: 443, servername, headers: { host: servername }, rejectUnauthorized: false, agent: false, timeout: 5000, ...(client ?? {}) }, (res) => {
      const names = (res.socket as tls.TLSSocket).getPeerX509Certificate()?.subjectAltName ?? '';
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, names }));
    });
    r.on('timeout', () => r.destroy(new Error('timed out')));
    r.on('error', reject);
  });
}

describe.skipIf(!OPENSSL)(`Traefik TLS objects on a real API server${OPENSSL ? '' : ' (skipped: needs openssl)'}`, () => {
  let proxy: Proxy;
  let ownership: ManualOwnership;
  let engine: IngressController;
  let backend: HttpBackend;
  let pki: OpensslPki;

  beforeAll(async () => {
    const { kc, core, cp } = cluster();
    pki = new OpensslPki();
    pki.issue('root', '/CN=Client Root', undefined, CA_EXT);
    pki.issue('alice', '/CN=alice', 'root', CLIENT_EXT);
    pki.issue('edge', '/CN=secure.example.com', 'root', serverExt('secure.example.com', 'verify.example.com', 'missing.example.com'));
    pki.issue('fallback', '/CN=fallback.example.com', 'root', serverExt('fallback.example.com'));
    await cp.kubectl(['apply', '-f', join(repo, 'manifests/crds/traefik/traefik.io.yaml')]);
    ({ proxy, ownership } = await startProxy(kc, {}, (registry) => createHttpEngine({ log: testLogger().child({ component: 'http' }), registry, accessLogSampleRate: 0 })));
    await ensureNamespace(core, NS);
    await createLbService(core, 'metalgate-system', 'metalgate-ingress', [{ name: 'web', port: 80 }, { name: 'websecure', port: 443 }], VIP);
    backend = await httpBackend('198.18.9.7', BASE + 1, 'app');
    const discovery = kc.makeApiClient(k8s.DiscoveryV1Api);
    await core.createNamespacedService({ namespace: NS, body: { metadata: { name: 'app', namespace: NS }, spec: { ports: [{ name: 'http', port: 80 }] } } });
    await writeSlice(discovery, NS, 'app', 'app-1', [{ name: 'http', port: BASE + 1 }], [{ ip: '198.18.9.7' }]);
    await core.createNamespacedSecret({ namespace: NS, body: tlsSecret(NS, 'edge', pki.ids.edge!) });
    await core.createNamespacedSecret({ namespace: NS, body: tlsSecret(NS, 'store-default', pki.ids.fallback!) });
    await core.createNamespacedSecret({ namespace: NS, body: { metadata: { name: 'client-ca' }, data: { 'tls.ca': Buffer.from(pki.ids.root!.cert).toString('base64') } } });
    ownership.own(VIP);
    await waitListening(proxy, `TCP ${VIP}:443`);
    engine = attachIngressEngine(productClient(kc), testLogger().child({ component: 'ingress' }), proxy, { entrypointService: 'metalgate-system/metalgate-ingress', crdRetryMs: 300 });

    const custom = kc.makeApiClient(k8s.CustomObjectsApi);
    const create = (plural: string, name: string, spec: Record<string, unknown>, kind: string) =>
      custom.createNamespacedCustomObject({ group: 'traefik.io', version: 'v1alpha1', namespace: NS, plural, body: { apiVersion: 'traefik.io/v1alpha1', kind, metadata: { name, namespace: NS }, spec } });
    await create('tlsstores', 'default', { defaultCertificate: { secretName: 'store-default' } }, 'TLSStore');
    await create('tlsoptions', 'mtls', { clientAuth: { secretNames: ['client-ca'], clientAuthType: 'RequireAndVerifyClientCert' } }, 'TLSOption');
    await create('middlewares', 'pass-cert', { passTLSClientCert: { pem: true } }, 'Middleware');
    await create('serverstransports', 'timeouts', { forwardingTimeouts: { dialTimeout: '3s' } }, 'ServersTransport');
    await create(
      'ingressroutes',
      'secure',
      { entryPoints: ['websecure'], routes: [{ match: 'Host(`secure.example.com`)', services: [{ name: 'app', port: 80 }], middlewares: [{ name: 'pass-cert' }] }], tls: { secretName: 'edge', options: { name: 'mtls' } } },
      'IngressRoute',
    );
    const viaTransport = (name: string, transport: string) =>
      create('ingressroutes', name, { entryPoints: ['websecure'], routes: [{ match: `Host(\`${name}.example.com\`)`, services: [{ name: 'app', port: 80, serversTransport: transport }] }], tls: { secretName: 'edge' } }, 'IngressRoute');
    await viaTransport('verify', 'timeouts');
    await viaTransport('missing', 'absent');
  }, 120_000);

  afterAll(async () => {
    await engine?.stop();
    await proxy?.stop(1000);
    await backend?.close();
    pki?.remove();
  });

  test("the default TLSStore's certificate answers names no route has", async () => {
    await waitFor(async () => (await get('unknown.example.com').catch(() => ({ names: '' }))).names === 'DNS:fallback.example.com', 'the TLSStore default certificate', 15_000);
  });

  test('a TLSOption requiring client certificates: none fails the handshake, a verified one gets through', async () => {
    await waitFor(async () => (await get('secure.example.com', pki.ids.alice).catch(() => ({ status: 0 }))).status === 200, 'the IngressRoute with its TLSOption', 15_000);
    await expect(get('secure.example.com')).rejects.toThrow();
    expect((await get('secure.example.com', pki.ids.alice)).names).toBe('DNS:secure.example.com, DNS:verify.example.com, DNS:missing.example.com');
  });

  test('ServersTransport objects are read: a route naming one is served, one naming a missing one is not', async () => {
    await waitFor(async () => (await get('verify.example.com').catch(() => ({ status: 0 }))).status === 200, 'the IngressRoute with its ServersTransport', 15_000);
    expect((await get('missing.example.com')).status).toBe(404);
  });
});
