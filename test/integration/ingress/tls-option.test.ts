// Traefik TLSOption (versions, cipher suites, curves, sniStrict, clientAuth,
// the `default` option), TLSStore and passTLSClientCert through the real
// entrypoint,
// with an openssl PKI: what each client's handshake gets, and what the
// backend sees of the client's certificate.
import https from 'node:https';
import type tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { certInfo } from '../../../src/ingress/runtime/middlewares/pass-tls-client-cert.ts';
import { X509Certificate } from 'node:crypto';
import { hasProgram } from '../../support/netns-exec.ts';
import { CA_EXT, CLIENT_EXT, OpensslPki, serverExt } from '../../support/openssl-pki.ts';
import { Harness, ingressRoute, middleware } from './harness.ts';

const OPENSSL = hasProgram('openssl');
const h = new Harness();
let pki: OpensslPki;
const HOSTS = ['mtls', 'optional', 'anycert', 'tls13', 'tls12', 'strict', 'nocert', 'plain', 'regexp'];

interface Reply {
  readonly status: number;
  readonly seen?: Record<string, string>;
  readonly protocol: string;
  readonly cipher: string;
  readonly curve: string;
}

function get(host: string, opts: { who?: string; maxVersion?: tls.SecureVersion; minVersion?: tls.SecureVersion; headers?: Record<string, string> } = {}): Promise<Reply> {
  const id = opts.who !== undefined ? pki.ids[opts.who]! : undefined;
  return new Promise((resolve, reject) => {
    const req = https.get(
      {
        host: '127.0.0.1',
        port: h.securePort,
        servername: host,
        headers: { host, ...(opts.headers ?? {}) },
        rejectUnauthorized: false,
        agent: false,
        ...(id ? { cert: id.cert, key: id.key } : {}),
        ...(opts.maxVersion ? { maxVersion: opts.maxVersion } : {}),
        ...(opts.minVersion ? { minVersion: opts.minVersion } : {}),
      },
      (res) => {
        const sock = res.socket as tls.TLSSocket;
        const protocol = sock.getProtocol() ?? '';
        const cipher = sock.getCipher()?.name ?? '';
        const curve = (sock.getEphemeralKeyInfo() as { name?: string } | null)?.name ?? '';
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => {
          const seen = res.headers['content-type']?.includes('json') ? (JSON.parse(body) as { headers: Record<string, string> }).headers : undefined;
          resolve({ status: res.statusCode ?? 0, ...(seen ? { seen } : {}), protocol, cipher, curve });
        });
      },
    );
    req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

const route = (name: string, options?: string, mws: string[] = [], match = `Host(\`${name}.example.com\`)`) =>
  ingressRoute('ns', name, [{ match, services: [{ name: 'app', port: 80 }], middlewares: mws.map((m) => ({ name: m })) }], {
    entryPoints: ['websecure'],
    tls: { secretName: name === 'nocert' ? undefined : 'edge', ...(options ? { options: { name: options } } : {}) },
  });
const option = (ns: string, name: string, spec: Record<string, unknown>) => h.traefik('TLSOption', { apiVersion: 'traefik.io/v1alpha1', kind: 'TLSOption', metadata: { namespace: ns, name }, spec });

beforeAll(async () => {
  if (!OPENSSL) return;
  pki = new OpensslPki();
  pki.issue('root', '/O=Example/CN=Client Root', undefined, CA_EXT);
  pki.issue('other', '/CN=Other CA', undefined, CA_EXT);
  pki.issue('alice', '/C=FR/O=Example/CN=alice', 'root', `${CLIENT_EXT}subjectAltName=DNS:alice.example.org,email:alice@example.org,IP:198.18.0.7\n`);
  pki.issue('mallory', '/CN=mallory', 'other', CLIENT_EXT);
  pki.issue('eve', '/CN=eve', undefined, CLIENT_EXT);
  pki.issue('edge', '/CN=edge', 'root', serverExt(...HOSTS.filter((n) => n !== 'nocert').map((n) => `${n}.example.com`)));
  await h.start();
  await h.service('ns', 'app', 1);
  const b64 = (t: string) => Buffer.from(t).toString('base64');
  h.tlsSecret('ns', 'edge', [], pki.ids.edge!);
  h.secret({ metadata: { namespace: 'ns', name: 'client-ca' }, data: { 'tls.ca': b64(pki.ids.root!.cert) } });
  option('ns', 'mtls', { clientAuth: { secretNames: ['client-ca'], clientAuthType: 'RequireAndVerifyClientCert' } });
  option('ns', 'optional', { clientAuth: { secretNames: ['client-ca'], clientAuthType: 'VerifyClientCertIfGiven' } });
  option('ns', 'anycert', { clientAuth: { clientAuthType: 'RequireAnyClientCert' } });
  option('ns', 'tls13', { minVersion: 'VersionTLS13' });
  option('ns', 'tls12', { maxVersion: 'VersionTLS12', cipherSuites: ['TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384', 'TLS_AES_128_GCM_SHA256'] });
  option('ns', 'strict', { sniStrict: true });
  option('other', 'default', { curvePreferences: ['CurveP384'] });
  option('ns', 'badcipher', { cipherSuites: ['TLS_RSA_WITH_RC4_128_SHA'] });
  h.traefik('Middleware', middleware('ns', 'pass-cert', { passTLSClientCert: { pem: true, info: { notAfter: true, notBefore: true, sans: true, serialNumber: true, subject: { country: true, organization: true, commonName: true }, issuer: { commonName: true, organization: true } } } }));
  h.traefik('IngressRoute', route('mtls', 'mtls', ['pass-cert']));
  h.traefik('IngressRoute', route('optional', 'optional'));
  h.traefik('IngressRoute', route('anycert', 'anycert'));
  h.traefik('IngressRoute', route('tls13', 'tls13'));
  h.traefik('IngressRoute', route('tls12', 'tls12'));
  h.traefik('IngressRoute', route('strict', 'strict'));
  h.traefik('IngressRoute', route('nocert', 'strict'));
  h.traefik('IngressRoute', route('plain', undefined, ['pass-cert']));
  h.traefik('IngressRoute', route('regexp', 'mtls', [], 'HostRegexp(`^regexp\\.example\\.com$`)'));
  h.traefik('IngressRoute', route('missing', 'absent'));
  h.traefik('IngressRoute', route('badcipher', 'badcipher'));
  // TLSStore: only the one named default counts; its default certificate and an extra one served by name.
  h.tlsSecret('other', 'store-default', [], pki.issue('fallback', '/CN=fallback.example.com', 'root', serverExt('fallback.example.com')));
  h.tlsSecret('other', 'store-extra', [], pki.issue('extra', '/CN=extra.example.com', 'root', serverExt('extra.example.com')));
  h.traefik('TLSStore', { apiVersion: 'traefik.io/v1alpha1', kind: 'TLSStore', metadata: { namespace: 'other', name: 'default' }, spec: { defaultCertificate: { secretName: 'store-default' }, certificates: [{ secretName: 'store-extra' }] } });
  h.traefik('TLSStore', { apiVersion: 'traefik.io/v1alpha1', kind: 'TLSStore', metadata: { namespace: 'ns', name: 'mystore' }, spec: { defaultCertificate: { secretName: 'edge' } } });
  const out = h.apply();
  expect(out.defaultCertificate?.secretKey).toBe('other/store-default');
  expect(out.diagnostics.filter((d) => d.ref.kind === 'TLSStore').map((d) => `${d.ref.name}:${d.reason}`)).toEqual(['mystore:IgnoredTlsStore']);
  const errors = out.diagnostics.filter((d) => d.severity === 'error' && d.reason !== 'NotServed').map((d) => `${d.ref.name}:${d.reason}`);
  expect(errors.sort()).toEqual(['badcipher:BadTlsOption', 'missing:MissingTlsOption', 'regexp:TlsOptionNeedsHost']);
});

afterAll(async () => {
  if (!OPENSSL) return;
  await h.stop();
  pki.remove();
});

describe.skipIf(!OPENSSL)(`Traefik TLSOption${OPENSSL ? '' : ' (skipped: needs openssl)'}`, () => {
  test('clientAuth RequireAndVerifyClientCert: no certificate or one of another CA fails the handshake, as in Traefik; a verified client gets through', async () => {
    await expect(get('mtls.example.com')).rejects.toThrow();
    await expect(get('mtls.example.com', { who: 'mallory' })).rejects.toThrow();
    expect((await get('mtls.example.com', { who: 'alice' })).status).toBe(200);
  });

  test('VerifyClientCertIfGiven and RequireAnyClientCert', async () => {
    expect((await get('optional.example.com')).status).toBe(200);
    expect((await get('optional.example.com', { who: 'mallory' })).status).toBe(400);
    expect((await get('optional.example.com', { who: 'alice' })).status).toBe(200);
    expect((await get('anycert.example.com')).status).toBe(400);
    expect((await get('anycert.example.com', { who: 'eve' })).status).toBe(200);
  });

  test('minVersion VersionTLS13: a TLS 1.2 client cannot connect', async () => {
    await expect(get('tls13.example.com', { maxVersion: 'TLSv1.2' })).rejects.toThrow();
    expect((await get('tls13.example.com')).protocol).toBe('TLSv1.3');
  });

  test('maxVersion VersionTLS12 and cipherSuites: TLS 1.2 with the one suite listed', async () => {
    const a = await get('tls12.example.com');
    expect([a.status, a.protocol, a.cipher]).toEqual([200, 'TLSv1.2', 'ECDHE-ECDSA-AES256-GCM-SHA384']);
    // Other hosts on the same port keep the entrypoint's own offer.
    expect((await get('optional.example.com')).protocol).toBe('TLSv1.3');
  });

  test('sniStrict: a name with its own certificate is served, one without is refused', async () => {
    expect((await get('strict.example.com')).status).toBe(200);
    await expect(get('nocert.example.com')).rejects.toThrow();
  });

  test('the TLSOption named default applies to routes that name none', async () => {
    expect((await get('plain.example.com')).curve).toBe('secp384r1');
    expect((await get('mtls.example.com', { who: 'alice' })).curve).not.toBe('secp384r1');
  });

  test('a missing TLSOption, a cipher metalgate does not offer, clientAuth without Host(): the route is not served', async () => {
    expect((await get('regexp.example.com', { who: 'alice' })).status).toBe(404);
  });
});

describe.skipIf(!OPENSSL)(`Traefik TLSStore${OPENSSL ? '' : ' (skipped: needs openssl)'}`, () => {
  const names = (servername: string) =>
    new Promise<string>((resolve, reject) => {
      const req = https.get({ host: '127.0.0.1', port: h.securePort, servername, headers: { host: servername }, rejectUnauthorized: false, agent: false }, (res) => {
        resolve((res.socket as tls.TLSSocket).getPeerX509Certificate()?.subjectAltName ?? '');
        res.resume();
      });
      req.on('error', reject);
    });

  test('the default store: its default certificate for unknown names, its extra certificate by name', async () => {
    expect(await names('unknown.example.com')).toBe('DNS:fallback.example.com');
    expect(await names('extra.example.com')).toBe('DNS:extra.example.com');
    expect(await names('optional.example.com')).toContain('DNS:optional.example.com');
  });
});

describe.skipIf(!OPENSSL)(`passTLSClientCert${OPENSSL ? '' : ' (skipped: needs openssl)'}`, () => {
  test("the client's certificate as Traefik v3 sends it: the PEM body on one line, and the info fields query-escaped", async () => {
    const a = await get('mtls.example.com', { who: 'alice' });
    const pem = pki.ids.alice!.cert.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\n/g, '');
    expect(a.seen!['x-forwarded-tls-client-cert']).toBe(pem);
    const x = new X509Certificate(pki.ids.alice!.cert);
    const info = decodeURIComponent(a.seen!['x-forwarded-tls-client-cert-info']!.replace(/\+/g, ' '));
    const nb = Math.floor(x.validFromDate.getTime() / 1000);
    const na = Math.floor(x.validToDate.getTime() / 1000);
    expect(info).toBe(`Subject="C=FR,O=Example,CN=alice";Issuer="O=Example,CN=Client Root";SerialNumber="${BigInt(`0x${x.serialNumber}`)}";NB="${nb}";NA="${na}";SAN="alice.example.org,alice@example.org,198.18.0.7"`);
    expect(certInfo(x, { notAfter: false, notBefore: false, sans: false, serialNumber: false, subject: ['CN'] })).toBe('Subject="CN=alice"');
  });

  test('a client cannot send the fields itself, with or without a certificate', async () => {
    const forged = { 'x-forwarded-tls-client-cert': 'forged', 'x-forwarded-tls-client-cert-info': 'forged' };
    const none = await get('plain.example.com', { headers: forged });
    expect(none.seen!['x-forwarded-tls-client-cert']).toBeUndefined();
    expect(none.seen!['x-forwarded-tls-client-cert-info']).toBeUndefined();
    const withCert = await get('mtls.example.com', { who: 'alice', headers: forged });
    expect(withCert.seen!['x-forwarded-tls-client-cert']).not.toBe('forged');
  });
});
