// ingress-nginx's client-certificate annotations on a real API server, through
// the proxy and the rule engine as the speaker runs them: the CA read from a
// Secret of the API server (`ca.crt`), `auth-tls-verify-client: on` (no
// certificate: ingress-nginx's 400), `auth-tls-pass-certificate-to-upstream`
// (the pod gets `ssl-client-cert`), the TLS Ingress's ssl-redirect on port 80
// with an ACME solver's Ingress path exempt, and an Ingress naming a CA Secret that
// does not exist: not served, with a Warning Event.
import http from 'node:http';
import https from 'node:https';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { hasProgram } from '../../support/netns-exec.ts';
import { CA_EXT, CLIENT_EXT, OpensslPki, serverExt } from '../../support/openssl-pki.ts';
import { useCluster, waitFor, waitForEvent } from '../helpers/cluster.ts';
import { portBase, tlsSecret, vipRequest, writeSlice } from '../proxy/k8s-helpers.ts';
import { startApiIngress, type ApiIngress } from './api-ingress.ts';

const OPENSSL = hasProgram('openssl');
const cluster = useCluster();
const NS = 'nginx-tls';
const VIP = '127.77.11.1';
const BASE = portBase();
const N = 'nginx.ingress.kubernetes.io/';

interface Answer {
  readonly status: number;
  readonly body: string;
}

function secureGet(host: string, client?: { cert: string; key: string }): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const r = https.get({ host: VIP, port: 443, servername: host, headers: { host }, rejectUnauthorized: false, agent: false, timeout: 5000, ...(client ?? {}) }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    r.on('timeout', () => r.destroy(new Error('timed out')));
    r.on('error', reject);
  });
}

describe.skipIf(!OPENSSL)(`ingress-nginx client certificates on a real API server${OPENSSL ? '' : ' (skipped: needs openssl)'}`, () => {
  let ing: ApiIngress;
  let pki: OpensslPki;
  const seen: http.IncomingHttpHeaders[] = [];

  beforeAll(async () => {
    const { kc, core } = cluster();
    pki = new OpensslPki();
    pki.issue('root', '/CN=Client Root', undefined, CA_EXT);
    pki.issue('alice', '/CN=alice', 'root', CLIENT_EXT);
    pki.issue('edge', '/CN=on.example.com', 'root', serverExt('on.example.com', 'gone.example.com'));
    ing = await startApiIngress(kc, core, { namespace: NS, vip: VIP, classes: { className: 'nginx' }, entrypointPorts: [{ name: 'websecure', port: 443 }] });
    await ing.pod('198.18.13.1', BASE + 1, (req, res) => {
      seen.push(req.headers);
      req.resume();
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('app');
    });
    await core.createNamespacedService({ namespace: NS, body: { metadata: { name: 'app', namespace: NS }, spec: { ports: [{ name: 'http', port: 80 }] } } });
    await writeSlice(kc.makeApiClient(k8s.DiscoveryV1Api), NS, 'app', 'app-1', [{ name: 'http', port: BASE + 1 }], [{ ip: '198.18.13.1' }]);
    await core.createNamespacedSecret({ namespace: NS, body: tlsSecret(NS, 'edge', pki.ids.edge!) });
    await core.createNamespacedSecret({ namespace: NS, body: { metadata: { name: 'client-ca' }, data: { 'ca.crt': Buffer.from(pki.ids.root!.cert).toString('base64') } } });
    const networking = kc.makeApiClient(k8s.NetworkingV1Api);
    const ingress = (name: string, host: string, annotations: Record<string, string>): k8s.V1Ingress => ({
      metadata: { name, namespace: NS, annotations: Object.fromEntries(Object.entries(annotations).map(([k, v]) => [N + k, v])) },
      spec: {
        ingressClassName: 'nginx',
        tls: [{ hosts: [host], secretName: 'edge' }],
        rules: [{ host, http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'app', port: { number: 80 } } } }] } }],
      },
    });
    await networking.createNamespacedIngress({
      namespace: NS,
      body: ingress('mtls', 'on.example.com', { 'auth-tls-secret': `${NS}/client-ca`, 'auth-tls-verify-client': 'on', 'auth-tls-pass-certificate-to-upstream': 'true' }),
    });
    await networking.createNamespacedIngress({ namespace: NS, body: ingress('gone', 'gone.example.com', { 'auth-tls-secret': `${NS}/no-such-ca`, 'auth-tls-verify-client': 'on' }) });
    // cert-manager's HTTP-01 solver: an Ingress of its own for the token's path, without TLS.
    await networking.createNamespacedIngress({
      namespace: NS,
      body: {
        metadata: { name: 'solver', namespace: NS },
        spec: { ingressClassName: 'nginx', rules: [{ host: 'on.example.com', http: { paths: [{ path: '/.well-known/acme-challenge/token', pathType: 'ImplementationSpecific', backend: { service: { name: 'app', port: { number: 80 } } } }] } }] },
      },
    });
    await waitFor(async () => (await secureGet('on.example.com', pki.ids.alice).catch(() => ({ status: 0 }))).status === 200, 'the client-certificate Ingress served', 20_000);
  }, 120_000);

  afterAll(async () => {
    await ing?.stop();
    pki?.remove();
  });

  test('auth-tls-verify-client on: no certificate gets 400; a verified one reaches the pod, which gets it in ssl-client-cert', async () => {
    expect(await secureGet('on.example.com')).toEqual({ status: 400, body: '400 Bad Request\nNo required SSL certificate was sent\n' });
    const before = seen.length;
    expect(await secureGet('on.example.com', pki.ids.alice)).toEqual({ status: 200, body: 'app' });
    expect(seen.length).toBe(before + 1);
    expect(decodeURIComponent(String(seen[seen.length - 1]!['ssl-client-cert']))).toBe(pki.ids.alice!.cert);
  });

  test("plain HTTP to a TLS host is redirected, except an Ingress path under /.well-known/acme-challenge (ingress-nginx's no-tls-redirect-locations)", async () => {
    const r = await vipRequest(VIP, 'on.example.com', '/p?q=1');
    expect([r.status, r.location]).toEqual([308, 'https://on.example.com/p?q=1']);
    await waitFor(async () => (await vipRequest(VIP, 'on.example.com', '/.well-known/acme-challenge/token')).status === 200, 'the solver path served over HTTP', 10_000);
    expect((await vipRequest(VIP, 'on.example.com', '/.well-known/acme-challenge/token')).body).toBe('app');
    // The exemption is the Ingress path's, as ingress-nginx matches it: other challenge URLs fall to "/" and are redirected.
    expect((await vipRequest(VIP, 'on.example.com', '/.well-known/acme-challenge/other')).status).toBe(308);
  });

  test('an Ingress naming a CA Secret that does not exist is not served, with a Warning Event', async () => {
    const e = await waitForEvent(cluster().core, NS, 'Ingress', 'gone', 'MissingSecret');
    expect(e.type).toBe('Warning');
    expect(e.message).toContain('no-such-ca');
    const r = await secureGet('gone.example.com', pki.ids.alice);
    expect(r.status).toBe(404);
  });
});
