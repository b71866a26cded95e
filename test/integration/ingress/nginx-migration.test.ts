// Moving from ingress-nginx: Ingresses written as ingress-nginx's
// documentation writes them (docs/examples: basic auth, external auth with
// oauth2-proxy, rewrite, CORS, redirects, canary by header, allow-list, rate
// limit, a gRPC backend, client certificates), with the `nginx` class, applied unchanged to a real API server and
// served by the proxy (with --ingress-class nginx, as after ingress-nginx and
// its IngressClass are removed): each gets the entrypoint's address in its status, no error
// Event, and answers as ingress-nginx would. How each behaviour compares
// with nginx itself is tested field by field in external-auth, basic-auth
// and cors-redirects.test.ts.
import * as grpc from '@grpc/grpc-js';
import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import type tls from 'node:tls';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { attachIngressEngine } from '../../../src/ingress/k8s/attach-to-proxy.ts';
import type { IngressController } from '../../../src/ingress/k8s/ingress-controller.ts';
import { EventRecorder } from '../../../src/kube/events.ts';
import { createHttpEngine } from '../../../src/proxy/k8s/http-engine.ts';
import type { ManualOwnership } from '../../../src/proxy/listeners/manual-ownership.ts';
import type { Proxy } from '../../../src/proxy/proxy.ts';
import { ensureNamespace, eventsFor, useCluster, waitFor } from '../helpers/cluster.ts';
import { testLogger } from '../speaker/helpers.ts';
import { createSelfSignedCertificate } from '../../../src/proxy/http/self-signed.ts';
import { jsonMethod } from '../../support/grpc-json.ts';
import { hasProgram } from '../../support/netns-exec.ts';
import { CA_EXT, CLIENT_EXT, OpensslPki, serverExt } from '../../support/openssl-pki.ts';
import { createLbService, dialAddress, httpBackend, portBase, startProxy, vipRequest, waitListening, writeSlice, type HttpBackend } from '../proxy/k8s-helpers.ts';
import { productClient } from '../../support/kube-config.ts';

const cluster = useCluster();
const NS = 'docs';
const VIP = '127.77.6.1';
const BASE = portBase();
const repo = join(import.meta.dirname, '../../..');

/** One request on the VIP: status, Location, the body and the fields. */
const get = (host: string, path = '/', headers: Record<string, string> = {}, method = 'GET') => vipRequest(VIP, host, path, headers, method);

// `htpasswd -c auth foo` (MD5-crypt, apr1), as the documentation's example creates it; the password is "bar"
// (this line from `openssl passwd -apr1 -salt S8vH4Xjo bar`).
const HTPASSWD = 'foo:$apr1$S8vH4Xjo$NRcQgrYGN.l41hNe/F2dH/\n';

// The greeter of the gRPC example, with JSON messages.
const GREETER = { SayHello: jsonMethod('helloworld.Greeter', 'SayHello', false, false) };
const EDGE = createSelfSignedCertificate({ names: ['*.dev.mydomain.com'] });
// The client-certs example: a CA, a client it signed, the host's certificate (openssl).
const OPENSSL = hasProgram('openssl');
const pki = OPENSSL ? new OpensslPki() : undefined;
if (pki) {
  pki.issue('ca', '/CN=Example CA', undefined, CA_EXT);
  pki.issue('client', '/CN=client.example.com', 'ca', CLIENT_EXT);
  pki.issue('host', '/CN=mydomain.com', 'ca', serverExt('mydomain.com'));
}

describe('ingress-nginx documentation examples, applied unchanged', () => {
  let proxy: Proxy;
  let ownership: ManualOwnership;
  let engine: IngressController;
  let networking: k8s.NetworkingV1Api;
  const backends: HttpBackend[] = [];
  let oauth: http.Server;
  let greeter: grpc.Server;

  const ingress = (name: string, host: string, annotations: Record<string, string>, service = 'http-svc', path = '/', pathType = 'Prefix'): k8s.V1Ingress => ({
    metadata: { name, namespace: NS, annotations },
    spec: { ingressClassName: 'nginx', rules: [{ host, http: { paths: [{ path, pathType, backend: { service: { name: service, port: { number: 80 } } } }] } }] },
  });

  beforeAll(async () => {
    const { kc, core, cp } = cluster();
    networking = kc.makeApiClient(k8s.NetworkingV1Api);
    const discovery = kc.makeApiClient(k8s.DiscoveryV1Api);
    await cp.kubectl(['apply', '-f', join(repo, 'manifests/crds/traefik/traefik.io.yaml')]);
    ({ proxy, ownership } = await startProxy(kc, {}, (registry) => createHttpEngine({ log: testLogger().child({ component: 'http' }), registry, accessLogSampleRate: 0 })));
    await ensureNamespace(core, NS);
    await createLbService(core, 'metalgate-system', 'metalgate-ingress', [{ name: 'web', port: 80 }, { name: 'websecure', port: 443 }], VIP);
    // ingress-nginx is gone (its IngressClass with it): metalgate serves the class name `nginx` (--ingress-class nginx).
    for (const [svc, ip] of [['http-svc', '198.18.9.1'], ['http-svc-canary', '198.18.9.2']] as const) {
      backends.push(await httpBackend(ip, BASE + 1, svc));
      await core.createNamespacedService({ namespace: NS, body: { metadata: { name: svc, namespace: NS }, spec: { ports: [{ name: 'http', port: 80 }] } } });
      await writeSlice(discovery, NS, svc, `${svc}-1`, [{ name: 'http', port: BASE + 1 }], [{ ip }]);
    }
    // The oauth2-proxy stand-in, reached through the auth-url below.
    oauth = http.createServer((req, res) => {
      req.resume();
      res.writeHead((req.headers.cookie ?? '').includes('_oauth2_proxy=') ? 202 : 401, { 'x-auth-request-user': 'jane' });
      res.end();
    });
    await new Promise<void>((r) => oauth.listen(0, '127.0.0.1', r));
    const oauthPort = (oauth.address() as net.AddressInfo).port;
    // The gRPC example's backend (go-grpc-greeter-server) and the TLS Secret its Ingress names.
    greeter = new grpc.Server();
    greeter.addService(GREETER, {
      SayHello: (call: grpc.ServerUnaryCall<{ name: string }, unknown>, cb: grpc.sendUnaryData<unknown>) => cb(null, { message: `Hello ${call.request.name}` }),
    });
    await new Promise<number>((resolve, reject) => greeter.bindAsync(`${dialAddress('198.18.9.3')}:${BASE + 2}`, grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
    await core.createNamespacedService({ namespace: NS, body: { metadata: { name: 'go-grpc-greeter-server', namespace: NS }, spec: { ports: [{ name: 'grpc', port: 80 }] } } });
    await writeSlice(discovery, NS, 'go-grpc-greeter-server', 'go-grpc-greeter-server-1', [{ name: 'grpc', port: BASE + 2 }], [{ ip: '198.18.9.3' }]);
    await core.createNamespacedSecret({
      namespace: NS,
      body: { metadata: { name: 'wildcard.dev.mydomain.com' }, type: 'kubernetes.io/tls', data: { 'tls.crt': Buffer.from(EDGE.cert).toString('base64'), 'tls.key': Buffer.from(EDGE.key).toString('base64') } },
    });
    if (pki) {
      const b64 = (t: string) => Buffer.from(t).toString('base64');
      await core.createNamespacedSecret({ namespace: NS, body: { metadata: { name: 'ca-secret' }, data: { 'ca.crt': b64(pki.ids.ca!.cert) } } });
      await core.createNamespacedSecret({ namespace: NS, body: { metadata: { name: 'mydomain-tls' }, type: 'kubernetes.io/tls', data: { 'tls.crt': b64(pki.ids.host!.cert), 'tls.key': b64(pki.ids.host!.key) } } });
    }
    ownership.own(VIP);
    await waitListening(proxy, `TCP ${VIP}:80`);
    await waitListening(proxy, `TCP ${VIP}:443`);
    engine = attachIngressEngine(productClient(kc), testLogger().child({ component: 'ingress' }), proxy, {
      events: new EventRecorder(productClient(kc), testLogger(), 'metalgate-ingress'),
      entrypointService: 'metalgate-system/metalgate-ingress',
      classes: { className: 'nginx' },
      crdRetryMs: 300,
    });

    await core.createNamespacedSecret({ namespace: NS, body: { metadata: { name: 'basic-auth' }, data: { auth: Buffer.from(HTPASSWD).toString('base64') } } });
    const N = 'nginx.ingress.kubernetes.io/';
    const examples: k8s.V1Ingress[] = [
      ingress('ingress-with-auth', 'foo.bar.com', { [`${N}auth-type`]: 'basic', [`${N}auth-secret`]: 'basic-auth', [`${N}auth-realm`]: 'Authentication Required - foo' }),
      ingress('external-auth-oauth2', 'oauth.example.com', {
        [`${N}auth-url`]: `http://127.0.0.1:${oauthPort}/oauth2/auth`,
        [`${N}auth-signin`]: 'https://$host/oauth2/start?rd=$escaped_request_uri',
        [`${N}auth-response-headers`]: 'X-Auth-Request-User',
      }),
      ingress('rewrite', 'rewrite.bar.com', { [`${N}use-regex`]: 'true', [`${N}rewrite-target`]: '/$2' }, 'http-svc', '/something(/|$)(.*)', 'ImplementationSpecific'),
      ingress('cors', 'cors.example.com', { [`${N}enable-cors`]: 'true', [`${N}cors-allow-origin`]: 'https://origin-site.com, https://*.example.com' }),
      ingress('permanent', 'old.example.com', { [`${N}permanent-redirect`]: 'https://www.google.com' }),
      ingress('approot', 'approot.bar.com', { [`${N}app-root`]: '/app1' }),
      ingress('whitelist', 'whitelist.example.com', { [`${N}whitelist-source-range`]: '198.18.0.0/15' }),
      ingress('ratelimit', 'rate.example.com', { [`${N}limit-rps`]: '1', [`${N}limit-burst-multiplier`]: '1' }),
      ingress('production', 'canary.example.com', {}),
      ingress('canary', 'canary.example.com', { [`${N}canary`]: 'true', [`${N}canary-by-header`]: 'canary' }, 'http-svc-canary'),
      {
        ...ingress('fortune-ingress', 'grpctest.dev.mydomain.com', { [`${N}backend-protocol`]: 'GRPC' }, 'go-grpc-greeter-server'),
        spec: {
          ...ingress('fortune-ingress', 'grpctest.dev.mydomain.com', {}, 'go-grpc-greeter-server').spec,
          tls: [{ secretName: 'wildcard.dev.mydomain.com', hosts: ['grpctest.dev.mydomain.com'] }],
        },
      },
    ];
    if (pki) {
      // docs/examples/auth/client-certs, with the namespace of this test.
      const certs = ingress('nginx-test', 'mydomain.com', {
        [`${N}auth-tls-verify-client`]: 'on',
        [`${N}auth-tls-secret`]: `${NS}/ca-secret`,
        [`${N}auth-tls-verify-depth`]: '1',
        [`${N}auth-tls-error-page`]: 'http://www.mysite.com/error-cert.html',
        [`${N}auth-tls-pass-certificate-to-upstream`]: 'true',
      });
      examples.push({ ...certs, spec: { ...certs.spec, tls: [{ hosts: ['mydomain.com'], secretName: 'mydomain-tls' }] } });
    }
    for (const body of examples) await networking.createNamespacedIngress({ namespace: NS, body });
  }, 120_000);

  afterAll(async () => {
    await engine?.stop();
    await proxy?.stop(1000);
    oauth?.close();
    greeter?.forceShutdown();
    pki?.remove();
    await Promise.all(backends.map((b) => b.close()));
  });

  test('every example is served: the address in its status, no Warning Event', async () => {
    const names = ['ingress-with-auth', 'external-auth-oauth2', 'rewrite', 'cors', 'permanent', 'approot', 'whitelist', 'ratelimit', 'production', 'canary', 'fortune-ingress', ...(pki ? ['nginx-test'] : [])];
    for (const name of names) {
      await waitFor(async () => (await networking.readNamespacedIngress({ name, namespace: NS })).status?.loadBalancer?.ingress?.[0]?.ip === VIP, `${name} gets the VIP`, 15_000);
    }
    for (const name of names) {
      const warnings = (await eventsFor(cluster().core, NS, 'Ingress', name)).filter((e) => e.type === 'Warning');
      expect(warnings.map((e) => `${name}: ${e.reason}: ${e.message}`)).toEqual([]);
    }
  });

  test('basic auth: foo/bar gets through, nobody else', async () => {
    expect((await get('foo.bar.com')).status).toBe(401);
    expect((await get('foo.bar.com', '/', { authorization: `Basic ${Buffer.from('foo:bar').toString('base64')}` })).status).toBe(200);
  });

  test('external auth: the sign-in redirect without a session, the backend with one', async () => {
    const a = await get('oauth.example.com', '/inbox');
    expect(a.status).toBe(302);
    expect(a.location).toBe('https://oauth.example.com/oauth2/start?rd=%2Finbox');
    expect((await get('oauth.example.com', '/inbox', { cookie: '_oauth2_proxy=session' })).status).toBe(200);
  });

  test('rewrite, CORS, redirects, allow-list, rate limit, canary by header', async () => {
    expect((await get('rewrite.bar.com', '/something/new')).status).toBe(200);
    expect((await get('cors.example.com', '/', { origin: 'https://shop.example.com' })).headers['access-control-allow-origin']).toBe('https://shop.example.com');
    expect((await get('cors.example.com', '/', { origin: 'https://elsewhere.org' })).headers['access-control-allow-origin']).toBeUndefined();
    const moved = await get('old.example.com', '/x');
    expect([moved.status, moved.location]).toEqual([301, 'https://www.google.com']);
    const root = await get('approot.bar.com', '/');
    expect([root.status, root.location]).toEqual([302, 'http://approot.bar.com/app1']);
    // The test client is 127.0.0.1, outside the allowed range.
    expect((await get('whitelist.example.com')).status).toBe(403);
    expect((await get('rate.example.com')).status).toBe(200);
    expect((await get('rate.example.com')).status).toBe(503);
    expect((await get('canary.example.com')).body).toBe('http-svc');
    expect((await get('canary.example.com', '/', { canary: 'always' })).body).toBe('http-svc-canary');
  });

  test('gRPC (backend-protocol GRPC): a gRPC client over TLS reaches the greeter', async () => {
    const Greeter = grpc.makeGenericClientConstructor(GREETER, 'Greeter');
    const client = new Greeter(`${VIP}:443`, grpc.credentials.createSsl(Buffer.from(EDGE.cert)), {
      'grpc.ssl_target_name_override': 'grpctest.dev.mydomain.com',
      'grpc.default_authority': 'grpctest.dev.mydomain.com',
    }) as InstanceType<typeof Greeter> & { SayHello: (r: unknown, o: grpc.CallOptions, cb: grpc.requestCallback<unknown>) => void };
    try {
      const reply = await new Promise<unknown>((resolve, reject) => client.SayHello({ name: 'metalgate' }, { deadline: Date.now() + 5000 }, (e, v) => (e ? reject(e) : resolve(v))));
      expect(reply).toEqual({ message: 'Hello metalgate' });
    } finally {
      client.close();
    }
  });

  test.skipIf(!OPENSSL)('client certificates (auth-tls): without one, the error page; with one the CA signed, the backend', async () => {
    const call = (client?: { cert: string; key: string }) =>
      new Promise<{ status: number; location: string | undefined; names: string }>((resolve, reject) => {
        const r = https.get({ host: VIP, port: 443, servername: 'mydomain.com', headers: { host: 'mydomain.com' }, rejectUnauthorized: false, agent: false, timeout: 5000, ...(client ?? {}) }, (res) => {
          const names = (res.socket as tls.TLSSocket).getPeerX509Certificate()?.subjectAltName ?? '';
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode ?? 0, location: res.headers.location, names }));
        });
        r.on('error', reject);
      });
    const none = await call();
    expect([none.status, none.location, none.names]).toEqual([302, 'http://www.mysite.com/error-cert.html', 'DNS:mydomain.com']);
    expect((await call(pki!.ids.client)).status).toBe(200);
  });
});
