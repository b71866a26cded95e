// ingress-nginx's client certificates (auth-tls-*) through the real
// entrypoint, with a PKI made by openssl: a root CA, a client it signed, a
// client under an intermediate, a client of another CA and a self-signed
// one. Side by side with Debian's nginx configured as ingress-nginx's
// template configures it (ssl_client_certificate, ssl_verify_client,
// ssl_verify_depth), the same certificates get the same verdict and the
// same $ssl_client_verify / $ssl_client_s_dn / $ssl_client_i_dn.
import { execFile } from 'node:child_process';
import http2 from 'node:http2';
import https from 'node:https';
import type net from 'node:net';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { hasProgram } from '../../support/netns-exec.ts';
import { CA_EXT, CLIENT_EXT, OpensslPki, serverExt, type Identity } from '../../support/openssl-pki.ts';
import { NGINX, startNginxPeer, type NginxPeer } from '../../support/nginx-peer.ts';
import { Harness, ing } from './harness.ts';

const N = 'nginx.ingress.kubernetes.io/';
const OPENSSL = hasProgram('openssl');
const h = new Harness();

let pki: OpensslPki;
const ids: Record<string, Identity> = {};
let caPem = '';

function makePki(): void {
  pki = new OpensslPki();
  const issue = (name: string, subject: string, issuer: string | undefined, ext: string) => (ids[name] = pki.issue(name, subject, issuer, ext));
  issue('root', '/O=Example/CN=Example Root CA', undefined, CA_EXT);
  issue('other', '/CN=Other CA', undefined, CA_EXT);
  issue('inter', '/O=Example/CN=Example Issuing CA', 'root', CA_EXT);
  // A comma in a value: RFC 2253 escapes it, and the DN order is reversed.
  issue('alice', '/C=DE/O=Example\\, Inc./CN=alice', 'root', CLIENT_EXT);
  issue('bob', '/O=Example/CN=bob', 'inter', CLIENT_EXT);
  issue('edge', '/CN=edge.example.com', 'root', serverExt('on.example.com', 'noca.example.com', 'chain.example.com', 'chain0.example.com', 'zero.example.com'));
  issue('carol', '/O=Example/CN=carol', 'root', CLIENT_EXT);
  issue('mallory', '/CN=mallory', 'other', CLIENT_EXT);
  issue('eve', '/CN=eve', undefined, CLIENT_EXT);
  caPem = ids.root!.cert;
}

/** What a client presents: its certificate (and for bob the intermediate after it). */
function presented(who: string | undefined): { cert?: string; key?: string } {
  if (who === undefined) return {};
  const id = ids[who]!;
  return { cert: who === 'bob' ? id.cert + ids.inter!.cert : id.cert, key: id.key };
}

interface Reply {
  readonly status: number;
  readonly body: string;
  readonly location: string | undefined;
  /** The echo backend's view of the request, when it got it. */
  readonly seen: Record<string, string> | undefined;
}

function get(port: number, host: string, who: string | undefined, extra: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = https.get({ host: '127.0.0.1', port, servername: host, headers: { host, ...extra }, rejectUnauthorized: false, agent: false, ...presented(who) }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => {
        let seen: Record<string, string> | undefined;
        if (res.headers['content-type']?.includes('json')) seen = (JSON.parse(body) as { headers: Record<string, string> }).headers;
        resolve({ status: res.statusCode ?? 0, body, location: res.headers.location, seen });
      });
    });
    req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

/** Whether this Node's TLS server still shows a client's intermediates after the handshake (nodejs/node#65579). */
function runtimeShowsClientChain(): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const server = tls.createServer({ cert: ids.edge!.cert, key: ids.edge!.key, ca: caPem, requestCert: true, rejectUnauthorized: false }, (s) => {
      resolve((s.getPeerCertificate(true) as tls.DetailedPeerCertificate).issuerCertificate !== undefined);
      s.destroy();
      server.close();
    });
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...presented('bob') }).on('error', () => {}).resume();
    });
    server.on('error', reject);
  });
}

const mtls = (name: string, annotations: Record<string, string>, secret = 'client-ca') =>
  ing('ns', name, [{ host: `${name}.example.com`, paths: [{ service: 'app' }] }], {
    tls: [{ hosts: [`${name}.example.com`], secretName: 'edge-tls' }],
    annotations: Object.fromEntries(Object.entries({ 'auth-tls-secret': secret, ...annotations }).map(([k, v]) => [N + k, v])),
  });

const HOSTS = ['on', 'otherca', 'zero', 'chain', 'chain0', 'deepnoca', 'opt', 'noca', 'deep', 'errpage', 'cn', 'off', 'open', 'wild.star'].map((n) => `${n}.example.com`);

beforeAll(async () => {
  if (!OPENSSL) return;
  makePki();
  await h.start();
  await h.service('ns', 'app', 1);
  h.tlsSecret('ns', 'edge-tls', HOSTS);
  h.secret({ metadata: { namespace: 'ns', name: 'client-ca' }, data: { 'ca.crt': Buffer.from(caPem).toString('base64') } });
  h.ingress(mtls('on', { 'auth-tls-pass-certificate-to-upstream': 'true' }));
  h.ingress(mtls('opt', { 'auth-tls-verify-client': 'optional' }));
  h.ingress(mtls('noca', { 'auth-tls-verify-client': 'optional_no_ca' }));
  h.ingress(mtls('zero', { 'auth-tls-verify-depth': '0' }));
  h.secret({ metadata: { namespace: 'ns', name: 'client-chain' }, data: { 'ca.crt': Buffer.from(caPem + ids.inter!.cert).toString('base64') } });
  h.ingress(mtls('chain', {}, 'client-chain'));
  h.ingress(mtls('chain0', { 'auth-tls-verify-depth': '0' }, 'client-chain'));
  h.ingress(mtls('deepnoca', { 'auth-tls-verify-depth': '2', 'auth-tls-verify-client': 'optional_no_ca' }));
  h.ingress(mtls('deep', { 'auth-tls-verify-depth': '2', 'ssl-redirect': 'false' }));
  h.ingress(mtls('errpage', { 'auth-tls-error-page': 'https://errors.example.com/certificate.html' }));
  h.ingress(mtls('cn', { 'auth-tls-match-cn': 'CN=alice' }));
  h.ingress(mtls('off', { 'auth-tls-verify-client': 'off' }));
  h.secret({ metadata: { namespace: 'ns', name: 'other-ca' }, data: { 'ca.crt': Buffer.from(ids.other!.cert).toString('base64') } });
  h.ingress(mtls('otherca', {}, 'other-ca'));
  h.ingress(ing('ns', 'open', [{ host: 'open.example.com', paths: [{ service: 'app' }] }], { tls: [{ hosts: ['open.example.com'], secretName: 'edge-tls' }] }));
  h.ingress(ing('ns', 'wild', [{ host: '*.example.net', paths: [{ service: 'app' }] }], { annotations: { [`${N}auth-tls-secret`]: 'client-ca' } }));
  // Refused, each with a reason: a CA Secret missing, one without ca.crt, a canary with auth-tls.
  h.ingress(mtls('nosecret', {}, 'absent'));
  h.secret({ metadata: { namespace: 'ns', name: 'not-a-ca' }, data: { 'tls.crt': Buffer.from(caPem).toString('base64') } });
  h.ingress(mtls('noca-key', {}, 'not-a-ca'));
  h.ingress(ing('ns', 'on-canary', [{ host: 'on.example.com', paths: [{ service: 'app' }] }], { annotations: { [`${N}canary`]: 'true', [`${N}canary-weight`]: '50', [`${N}auth-tls-secret`]: 'client-ca' } }));
  const out = h.apply();
  expect(out.hostTls.map((c) => c.host).sort()).toEqual(['*.example.net', 'chain.example.com', 'chain0.example.com', 'cn.example.com', 'deep.example.com', 'deepnoca.example.com', 'errpage.example.com', 'noca.example.com', 'on.example.com', 'opt.example.com', 'otherca.example.com', 'zero.example.com']);
  const errors = out.diagnostics.filter((d) => d.severity === 'error' && d.reason !== 'NotServed').map((d) => `${d.ref.name}:${d.reason}`);
  expect(errors.sort()).toEqual(['noca-key:BadSecret', 'nosecret:MissingSecret', 'on-canary:UnsupportedSecurityAnnotation']);
});

afterAll(async () => {
  if (!OPENSSL) return;
  await h.stop();
  pki.remove();
});

describe.skipIf(!OPENSSL)(`client certificates (auth-tls-*)${OPENSSL ? '' : ' (skipped: needs openssl)'}`, () => {
  test('verify on: a client of the CA gets through with the fields ingress-nginx sends; the PEM when asked', async () => {
    const a = await get(h.securePort, 'on.example.com', 'alice');
    expect(a.status).toBe(200);
    expect(a.seen).toMatchObject({
      'ssl-client-verify': 'SUCCESS',
      'ssl-client-subject-dn': 'CN=alice,O=Example\\, Inc.,C=DE',
      'ssl-client-issuer-dn': 'CN=Example Root CA,O=Example',
    });
    expect(decodeURIComponent(a.seen!['ssl-client-cert']!)).toBe(ids.alice!.cert);
  });

  test('verify on: no certificate, another CA, self-signed: 400, backend untouched', async () => {
    const hits = h.echoes[0]!.hits;
    const none = await get(h.securePort, 'on.example.com', undefined);
    expect([none.status, none.body]).toEqual([400, '400 Bad Request\nNo required SSL certificate was sent\n']);
    for (const who of ['mallory', 'eve']) {
      const a = await get(h.securePort, 'on.example.com', who);
      expect([who, a.status, a.body]).toEqual([who, 400, '400 Bad Request\nThe SSL certificate error\n']);
    }
    expect(h.echoes[0]!.hits).toBe(hits);
  });

  test('over HTTP/2 too: every request of the session carries the fields', async () => {
    const session = http2.connect(`https://127.0.0.1:${h.securePort}`, { servername: 'on.example.com', rejectUnauthorized: false, ...presented('alice') });
    try {
      for (let i = 0; i < 2; i++) {
        const body = await new Promise<string>((resolve, reject) => {
          const req = session.request({ ':path': '/', ':authority': 'on.example.com' });
          let text = '';
          req.setEncoding('utf8');
          req.on('data', (c: string) => (text += c));
          req.on('end', () => resolve(text));
          req.on('error', reject);
        });
        const seen = (JSON.parse(body) as { headers: Record<string, string> }).headers;
        expect([seen['ssl-client-verify'], seen['ssl-client-subject-dn']]).toEqual(['SUCCESS', 'CN=alice,O=Example\\, Inc.,C=DE']);
      }
      expect(session.alpnProtocol).toBe('h2');
    } finally {
      session.close();
    }
  });

  test('a client cannot send the fields itself', async () => {
    const a = await get(h.securePort, 'opt.example.com', undefined, { 'ssl-client-verify': 'SUCCESS', 'ssl-client-subject-dn': 'CN=admin' });
    expect(a.status).toBe(200);
    expect(a.seen!['ssl-client-verify']).toBe('NONE');
    expect(a.seen!['ssl-client-subject-dn']).toBeUndefined();
  });

  test('optional: none is fine, a bad one is refused; optional_no_ca lets a bad one through and says why', async () => {
    expect((await get(h.securePort, 'opt.example.com', 'alice')).seen!['ssl-client-verify']).toBe('SUCCESS');
    expect((await get(h.securePort, 'opt.example.com', 'mallory')).status).toBe(400);
    const bad = await get(h.securePort, 'noca.example.com', 'mallory');
    expect(bad.status).toBe(200);
    expect(bad.seen).toMatchObject({ 'ssl-client-verify': 'FAILED:unable to verify the first certificate', 'ssl-client-subject-dn': 'CN=mallory' });
    expect((await get(h.securePort, 'noca.example.com', undefined)).seen!['ssl-client-verify']).toBe('NONE');
  });

  test('verify-depth counts intermediates as OpenSSL does (1, the default, takes one), through the CA bundle', async () => {
    const a = await get(h.securePort, 'chain.example.com', 'bob');
    expect(a.status).toBe(200);
    expect(a.seen).toMatchObject({ 'ssl-client-verify': 'SUCCESS', 'ssl-client-subject-dn': 'CN=bob,O=Example', 'ssl-client-issuer-dn': 'CN=Example Issuing CA,O=Example' });
    const zero = await get(h.securePort, 'chain0.example.com', 'bob');
    expect([zero.status, zero.body]).toEqual([400, '400 Bad Request\nThe SSL certificate error\n']);
    expect((await get(h.securePort, 'zero.example.com', 'alice')).status).toBe(200);
    expect((await get(h.securePort, 'chain0.example.com', 'alice')).status).toBe(200);
  });

  test('intermediates only the client sent: counted when the runtime shows them, else refused (fail closed)', async () => {
    const visible = await runtimeShowsClientChain();
    for (const host of ['on', 'deep']) {
      const a = await get(h.securePort, `${host}.example.com`, 'bob');
      expect([host, a.status]).toEqual([host, visible ? 200 : 400]);
    }
    const why = await get(h.securePort, 'deepnoca.example.com', 'bob');
    expect(why.seen!['ssl-client-verify']).toBe(visible ? 'SUCCESS' : 'FAILED:intermediate certificates not in the CA bundle (auth-tls-verify-depth cannot be checked)');
  });

  test('error-page: a refusal redirects there', async () => {
    const a = await get(h.securePort, 'errpage.example.com', undefined);
    expect([a.status, a.location]).toEqual([302, 'https://errors.example.com/certificate.html']);
    expect((await get(h.securePort, 'errpage.example.com', 'alice')).status).toBe(200);
  });

  test('match-cn: a verified client whose subject does not match gets 403', async () => {
    expect((await get(h.securePort, 'cn.example.com', 'alice')).status).toBe(200);
    const carol = await get(h.securePort, 'cn.example.com', 'carol');
    expect([carol.status, carol.body]).toEqual([403, 'client certificate unauthorized']);
  });

  test('a wildcard host asks on every name under it', async () => {
    expect((await get(h.securePort, 'a.example.net', undefined)).status).toBe(400);
    expect((await get(h.securePort, 'a.example.net', 'alice')).seen!['ssl-client-verify']).toBe('SUCCESS');
  });

  test('off, and hosts without auth-tls: not asked for a certificate (no browser prompt); the TLS layer sends no CA list', async () => {
    // Asynchronous: the entrypoint answers from this same process.
    const asked = (host: string): Promise<string> =>
      new Promise((resolve, reject) => {
        const c = execFile('openssl', ['s_client', '-connect', `127.0.0.1:${h.securePort}`, '-servername', host], { encoding: 'utf8', timeout: 10_000 }, (err, out) => (err ? reject(err) : resolve(out)));
        c.stdin?.end();
      });
    expect(await asked('on.example.com')).toContain('Acceptable client certificate CA names\nO = Example, CN = Example Root CA');
    expect(await asked('open.example.com')).toContain('No client certificate CA names sent');
    expect(await asked('off.example.com')).toContain('No client certificate CA names sent');
    const off = await get(h.securePort, 'off.example.com', undefined);
    expect([off.status, off.seen!['ssl-client-verify']]).toEqual([200, 'NONE']);
  });

  test("a certificate verified for one host's CA does not count for a host with another CA on the same connection", async () => {
    const viaOn = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      https
        .get({ host: '127.0.0.1', port: h.securePort, servername: 'on.example.com', headers: { host: 'otherca.example.com' }, rejectUnauthorized: false, agent: false, ...presented('alice') }, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (body += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        })
        .on('error', reject);
    });
    expect(viaOn).toEqual({ status: 400, body: '400 Bad Request\nThe SSL certificate error\n' });
    expect((await get(h.securePort, 'otherca.example.com', 'mallory')).status).toBe(200);
    expect((await get(h.securePort, 'otherca.example.com', 'alice')).status).toBe(400);
  });

  test('a request naming an auth-tls host over a connection for another host is refused (no bypass by Host)', async () => {
    const a = await new Promise<number>((resolve, reject) => {
      https
        .get({ host: '127.0.0.1', port: h.securePort, servername: 'open.example.com', headers: { host: 'on.example.com' }, rejectUnauthorized: false, agent: false, ...presented('alice') }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        })
        .on('error', reject);
    });
    expect(a).toBe(400);
  });

  test('plain HTTP to an auth-tls host is refused', async () => {
    expect((await h.request({ host: 'deep.example.com' })).status).toBe(400);
    expect((await h.request({ host: 'on.example.com' })).status).toBe(308); // ssl-redirect first, as ingress-nginx
  });
});

describe.skipIf(!OPENSSL || NGINX === undefined)(`the same certificates in nginx${NGINX === undefined ? ' (skipped: needs nginx)' : ''}`, () => {
  let nginx: NginxPeer;
  beforeAll(async () => {
    const server = (verify: string, depth: number, port: number, d: string, name: string, ca = 'ca.crt') => `
  server {
    listen 127.0.0.1:${port} ssl;
    server_name ${name};
    ssl_certificate ${d}/edge.crt;
    ssl_certificate_key ${d}/edge.key;
    ssl_client_certificate ${d}/${ca};
    ssl_verify_client ${verify};
    ssl_verify_depth ${depth};
    location / { return 200 "$ssl_client_verify|$ssl_client_s_dn|$ssl_client_i_dn"; }
  }`;
    nginx = await startNginxPeer(
      (port, d) => [server('on', 1, port, d, 'on.example.com'), server('optional_no_ca', 1, port, d, 'noca.example.com'), server('on', 1, port, d, 'chain.example.com', 'chain.crt'), server('on', 0, port, d, 'chain0.example.com', 'chain.crt'), server('on', 0, port, d, 'zero.example.com')].join('\n'),
      { 'edge.crt': ids.edge!.cert, 'edge.key': ids.edge!.key, 'ca.crt': caPem, 'chain.crt': caPem + ids.inter!.cert },
    );
  });
  afterAll(() => nginx?.stop());

  const cases: [string, string | undefined][] = [
    ['on', 'alice'],
    ['on', undefined],
    ['on', 'mallory'],
    ['on', 'eve'],
    ['noca', 'mallory'],
    ['noca', 'eve'],
    ['noca', 'alice'],
    ['chain', 'bob'],
    ['chain', 'alice'],
    ['chain0', 'bob'],
    ['chain0', 'alice'],
    ['zero', 'alice'],
  ];
  test.each(cases)('%s.example.com with %s: same status and fields', async (host, who) => {
    const theirs = await get(nginx.port, `${host}.example.com`, who);
    const ours = await get(h.securePort, `${host}.example.com`, who);
    expect(ours.status).toBe(theirs.status);
    if (theirs.status !== 200) return;
    const [verify, subject, issuer] = theirs.body.split('|');
    expect(ours.seen!['ssl-client-verify']).toBe(verify);
    expect(ours.seen!['ssl-client-subject-dn'] ?? '').toBe(subject);
    expect(ours.seen!['ssl-client-issuer-dn'] ?? '').toBe(issuer);
  });
});
