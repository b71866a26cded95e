// ingress-nginx's proxy-ssl-* and Traefik's ServersTransport (TLS to HTTPS
// backends) through the real entrypoint, against TLS backends with certificates from an openssl PKI,
// and side by side with Debian's nginx configured as ingress-nginx's
// template writes proxy_ssl_* for the same Secret: the same backends
// answer or are refused (502) the same way, with the same SNI and client
// certificate seen by the backend.
import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import type tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { hasProgram } from '../../support/netns-exec.ts';
import { NGINX, startNginxPeer, type NginxPeer } from '../../support/nginx-peer.ts';
import { CA_EXT, CLIENT_EXT, OpensslPki, serverExt } from '../../support/openssl-pki.ts';
import { Harness, ing, ingressRoute } from './harness.ts';

const N = 'nginx.ingress.kubernetes.io/';
const OPENSSL = hasProgram('openssl');
const h = new Harness();
let pki: OpensslPki;

interface TlsBackend {
  readonly port: number;
  close(): void;
}

/** An HTTPS backend answering what it saw: the SNI and the client certificate's CN. */
async function tlsBackend(name: string, server: string, opts: { requireClient?: boolean; maxVersion?: tls.SecureVersion } = {}): Promise<TlsBackend> {
  const id = pki.ids[server]!;
  const s = https.createServer(
    { cert: id.cert, key: id.key, ca: pki.ids.root!.cert, requestCert: opts.requireClient === true, rejectUnauthorized: opts.requireClient === true, ...(opts.maxVersion ? { maxVersion: opts.maxVersion } : {}) },
    (req, res) => {
      const sock = req.socket as tls.TLSSocket;
      const peer = sock.getPeerCertificate();
      const body = JSON.stringify({ name, sni: sock.servername || '', client: peer?.subject?.CN ?? '' });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    },
  );
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return {
    port: (s.address() as net.AddressInfo).port,
    close: () => {
      s.closeAllConnections();
      s.close();
    },
  };
}

const backends: TlsBackend[] = [];
const ports: Record<string, number> = {};

/** Each case: annotations on an Ingress for host `<name>.example.com` to backend `backend`. */
const CASES: Record<string, { backend: string; annotations: Record<string, string> }> = {
  verified: { backend: 'mtls', annotations: { 'proxy-ssl-secret': 'ns/proxy-tls', 'proxy-ssl-verify': 'on', 'proxy-ssl-name': 'backend.internal' } },
  sni: { backend: 'mtls', annotations: { 'proxy-ssl-secret': 'ns/proxy-tls', 'proxy-ssl-verify': 'on', 'proxy-ssl-name': 'backend.internal', 'proxy-ssl-server-name': 'on' } },
  wrongname: { backend: 'mtls', annotations: { 'proxy-ssl-secret': 'ns/proxy-tls', 'proxy-ssl-verify': 'on', 'proxy-ssl-name': 'other.internal' } },
  noname: { backend: 'mtls', annotations: { 'proxy-ssl-secret': 'ns/proxy-tls', 'proxy-ssl-verify': 'on' } },
  untrusted: { backend: 'rogue', annotations: { 'proxy-ssl-secret': 'ns/proxy-tls', 'proxy-ssl-verify': 'on', 'proxy-ssl-name': 'backend.internal' } },
  unverified: { backend: 'rogue', annotations: {} },
  noclient: { backend: 'mtls', annotations: { 'proxy-ssl-secret': 'ns/ca-only', 'proxy-ssl-verify': 'on', 'proxy-ssl-name': 'backend.internal' } },
  tls13: { backend: 'tls12', annotations: { 'proxy-ssl-secret': 'ns/proxy-tls', 'proxy-ssl-protocols': 'TLSv1.3' } },
  tls12: { backend: 'tls12', annotations: { 'proxy-ssl-secret': 'ns/proxy-tls', 'proxy-ssl-protocols': 'TLSv1.2 TLSv1.3' } },
};

beforeAll(async () => {
  if (!OPENSSL) return;
  pki = new OpensslPki();
  pki.issue('root', '/CN=Backend Root', undefined, CA_EXT);
  pki.issue('other', '/CN=Rogue CA', undefined, CA_EXT);
  pki.issue('backend', '/CN=backend.internal', 'root', serverExt('backend.internal'));
  pki.issue('rogue', '/CN=backend.internal', 'other', serverExt('backend.internal'));
  pki.issue('client', '/CN=proxy-client', 'root', CLIENT_EXT);
  await h.start();
  for (const [name, server, opts] of [
    ['mtls', 'backend', { requireClient: true }],
    ['rogue', 'rogue', {}],
    ['tls12', 'backend', { maxVersion: 'TLSv1.2' as const }],
  ] as const) {
    const b = await tlsBackend(name, server, opts);
    backends.push(b);
    ports[name] = b.port;
    h.serviceAt('ns', name, b.port, { name: 'https', port: 443 });
  }
  const data = (o: Record<string, string>) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, Buffer.from(v).toString('base64')]));
  h.secret({ metadata: { namespace: 'ns', name: 'proxy-tls' }, data: data({ 'tls.crt': pki.ids.client!.cert, 'tls.key': pki.ids.client!.key, 'ca.crt': pki.ids.root!.cert }) });
  h.secret({ metadata: { namespace: 'ns', name: 'ca-only' }, data: data({ 'ca.crt': pki.ids.root!.cert }) });
  for (const [name, c] of Object.entries(CASES)) {
    const annotations = Object.fromEntries(Object.entries({ 'backend-protocol': 'HTTPS', ...c.annotations }).map(([k, v]) => [N + k, v]));
    h.ingress(ing('ns', name, [{ host: `${name}.example.com`, paths: [{ service: c.backend, port: 443 }] }], { annotations }));
  }
  // Traefik: IngressRoutes to the same backends through ServersTransports.
  h.secret({ metadata: { namespace: 'ns', name: 'backend-ca' }, data: data({ 'tls.ca': pki.ids.root!.cert }) });
  h.secret({ metadata: { namespace: 'ns', name: 'client-cert' }, data: data({ 'tls.crt': pki.ids.client!.cert, 'tls.key': pki.ids.client!.key }) });
  const transports: Record<string, Record<string, unknown>> = {
    'st-verified': { serverName: 'backend.internal', rootCAs: [{ secret: 'backend-ca' }], certificatesSecrets: ['client-cert'] },
    'st-older': { serverName: 'backend.internal', rootCAsSecrets: ['backend-ca'], certificatesSecrets: ['client-cert'] },
    'st-wrongname': { serverName: 'other.internal', rootCAs: [{ secret: 'backend-ca' }], certificatesSecrets: ['client-cert'] },
    'st-rogue': { serverName: 'backend.internal', rootCAs: [{ secret: 'backend-ca' }] },
    'st-skip': { insecureSkipVerify: true },
    'st-default': {},
    'st-spiffe': { insecureSkipVerify: true, peerCertURI: 'spiffe://example.org/backend' },
    'st-configmap': { rootCAs: [{ configMap: 'cas' }] },
  };
  for (const [name, spec] of Object.entries(transports)) h.traefik('ServersTransport', { apiVersion: 'traefik.io/v1alpha1', kind: 'ServersTransport', metadata: { namespace: 'ns', name }, spec });
  const st = (name: string, backend: string, transport: string) =>
    h.traefik('IngressRoute', ingressRoute('ns', name, [{ match: `Host(\`${name}.example.com\`)`, services: [{ name: backend, port: 443, scheme: 'https', serversTransport: transport }] }]));
  st('st-verified', 'mtls', 'st-verified');
  st('st-older', 'mtls', 'st-older');
  st('st-wrongname', 'mtls', 'st-wrongname');
  st('st-rogue', 'rogue', 'st-rogue');
  st('st-skip', 'rogue', 'st-skip');
  st('st-default', 'rogue', 'st-default');
  st('st-spiffe', 'rogue', 'st-spiffe');
  st('st-configmap', 'rogue', 'st-configmap');
  st('st-missing', 'rogue', 'absent');
  // Refused, each with its reason.
  h.ingress(ing('ns', 'nosecret', [{ host: 'nosecret.example.com', paths: [{ service: 'mtls', port: 443 }] }], { annotations: { [`${N}backend-protocol`]: 'HTTPS', [`${N}proxy-ssl-verify`]: 'on' } }));
  h.ingress(ing('ns', 'missing', [{ host: 'missing.example.com', paths: [{ service: 'mtls', port: 443 }] }], { annotations: { [`${N}backend-protocol`]: 'HTTPS', [`${N}proxy-ssl-secret`]: 'ns/absent' } }));
  h.ingress(ing('ns', 'sslv3', [{ host: 'sslv3.example.com', paths: [{ service: 'mtls', port: 443 }] }], { annotations: { [`${N}backend-protocol`]: 'HTTPS', [`${N}proxy-ssl-secret`]: 'ns/proxy-tls', [`${N}proxy-ssl-protocols`]: 'SSLv3 TLSv1.2' } }));
  const out = h.apply();
  const problems = out.diagnostics.filter((d) => d.ref.kind === 'Ingress' && d.reason !== 'NotServed' && d.severity !== 'info').map((d) => `${d.ref.name}:${d.severity}:${d.reason}`);
  expect(problems.sort()).toEqual(['missing:error:MissingSecret', 'noname:warning:ProxySslName', 'nosecret:error:BadAnnotation', 'sslv3:error:BadAnnotation']);
  const routeErrors = out.diagnostics.filter((d) => d.ref.kind === 'IngressRoute' && d.severity === 'error').map((d) => `${d.ref.name}: ${d.message}`);
  expect(routeErrors.join('\n')).toContain('st-spiffe: ');
  expect(routeErrors.join('\n')).toMatch(/ServersTransport ns\/st-spiffe: peerCertURI limits which backends are trusted/);
  expect(routeErrors.join('\n')).toMatch(/ServersTransport ns\/st-configmap: rootCAs: ConfigMap ns\/cas not found/);
  expect(routeErrors.join('\n')).toMatch(/st-missing: .*ServersTransport ns\/absent not found/);
});

afterAll(async () => {
  if (!OPENSSL) return;
  await h.stop();
  for (const b of backends) b.close();
  pki.remove();
});

describe.skipIf(!OPENSSL)(`proxy-ssl-* through the proxy${OPENSSL ? '' : ' (skipped: needs openssl)'}`, () => {
  const call = async (name: string) => {
    const a = await h.request({ host: `${name}.example.com` });
    return { status: a.status, seen: a.status === 200 ? (JSON.parse(a.body) as { name: string; sni: string; client: string }) : undefined };
  };

  test("verified against the Secret's ca.crt and proxy-ssl-name, with the Secret's client certificate; no SNI unless proxy-ssl-server-name", async () => {
    expect(await call('verified')).toEqual({ status: 200, seen: { name: 'mtls', sni: '', client: 'proxy-client' } });
    expect(await call('sni')).toEqual({ status: 200, seen: { name: 'mtls', sni: 'backend.internal', client: 'proxy-client' } });
  });

  test('a name or a CA that does not match: 502, never the backend', async () => {
    expect((await call('wrongname')).status).toBe(502);
    expect((await call('noname')).status).toBe(502); // "upstream_balancer", as ingress-nginx checks
    expect((await call('untrusted')).status).toBe(502);
  });

  test('verify off (the default): any certificate, as nginx', async () => {
    expect((await call('unverified')).seen?.name).toBe('rogue');
  });

  test('without tls.crt/tls.key no client certificate is shown, so a backend that requires one refuses', async () => {
    expect((await call('noclient')).status).toBe(502);
  });

  test('proxy-ssl-protocols bound the versions offered', async () => {
    expect((await call('tls13')).status).toBe(502);
    expect((await call('tls12')).status).toBe(200);
  });

  test('a connection made under one route\'s settings is never reused for a route with others', async () => {
    for (let i = 0; i < 3; i++) {
      expect((await call('unverified')).status).toBe(200);
      expect((await call('untrusted')).status).toBe(502);
    }
  });
});

describe.skipIf(!OPENSSL)(`Traefik ServersTransport${OPENSSL ? '' : ' (skipped: needs openssl)'}`, () => {
  const call = async (name: string) => {
    const a = await h.request({ host: `${name}.example.com` });
    return { status: a.status, seen: a.status === 200 ? (JSON.parse(a.body) as { name: string; sni: string; client: string }) : undefined };
  };

  test('serverName, rootCAs (and the older rootCAsSecrets), certificatesSecrets: verified, named by SNI, with the client certificate', async () => {
    expect(await call('st-verified')).toEqual({ status: 200, seen: { name: 'mtls', sni: 'backend.internal', client: 'proxy-client' } });
    expect(await call('st-older')).toEqual({ status: 200, seen: { name: 'mtls', sni: 'backend.internal', client: 'proxy-client' } });
  });

  test("a name or a CA that does not match: 502; insecureSkipVerify takes any; without it the system roots decide, as in Traefik", async () => {
    expect((await call('st-wrongname')).status).toBe(502);
    expect((await call('st-rogue')).status).toBe(502);
    expect((await call('st-skip')).seen?.name).toBe('rogue');
    expect((await call('st-default')).status).toBe(502);
  });

  test('peerCertURI, a ConfigMap CA, a missing transport: the route is not served', async () => {
    for (const name of ['st-spiffe', 'st-configmap', 'st-missing']) expect((await call(name)).status).toBe(404);
  });
});

describe.skipIf(!OPENSSL || NGINX === undefined)(`the same in nginx${NGINX === undefined ? ' (skipped: needs nginx)' : ''}`, () => {
  let nginx: NginxPeer;
  const compared = ['verified', 'sni', 'wrongname', 'noname', 'untrusted', 'unverified', 'noclient', 'tls13', 'tls12'];
  beforeAll(async () => {
    // What ingress-nginx's template writes for these annotations; proxy_pass names "upstream_balancer" as its does.
    const server = (name: string, port: number, d: string): string => {
      const a = CASES[name]!.annotations;
      const secret = a['proxy-ssl-secret'] === 'ns/ca-only' ? 'ca-only' : 'proxy-tls';
      const lines = [
        `proxy_ssl_trusted_certificate ${d}/${secret}-ca.crt;`,
        ...(secret === 'proxy-tls' ? [`proxy_ssl_certificate ${d}/proxy-tls.crt;`, `proxy_ssl_certificate_key ${d}/proxy-tls.key;`] : []),
        `proxy_ssl_verify ${a['proxy-ssl-verify'] ?? 'off'};`,
        ...(a['proxy-ssl-name'] ? [`proxy_ssl_name ${a['proxy-ssl-name']};`] : []),
        `proxy_ssl_server_name ${a['proxy-ssl-server-name'] ?? 'off'};`,
        ...(a['proxy-ssl-protocols'] ? [`proxy_ssl_protocols ${a['proxy-ssl-protocols']};`] : []),
      ];
      return `
  upstream upstream_balancer_${name} { server 127.0.0.1:${ports[CASES[name]!.backend]}; }
  server {
    listen 127.0.0.1:${port};
    server_name ${name}.example.com;
    location / {
      proxy_pass https://upstream_balancer_${name};
      ${a['proxy-ssl-name'] === undefined ? 'proxy_ssl_name upstream_balancer;' : ''}
      ${lines.join('\n      ')}
    }
  }`;
    };
    nginx = await startNginxPeer((port, d) => compared.map((n) => server(n, port, d)).join('\n'), {
      'proxy-tls-ca.crt': pki.ids.root!.cert,
      'ca-only-ca.crt': pki.ids.root!.cert,
      'proxy-tls.crt': pki.ids.client!.cert,
      'proxy-tls.key': pki.ids.client!.key,
    });
  });
  afterAll(() => nginx?.stop());

  test.each(compared)('%s: the same status and the same view at the backend', async (name) => {
    const theirs = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port: nginx.port, path: '/', headers: { host: `${name}.example.com` }, agent: false }, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (body += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        })
        .on('error', reject);
    });
    const ours = await h.request({ host: `${name}.example.com` });
    expect(ours.status).toBe(theirs.status);
    if (theirs.status === 200) expect(JSON.parse(ours.body)).toEqual(JSON.parse(theirs.body));
  });
});
