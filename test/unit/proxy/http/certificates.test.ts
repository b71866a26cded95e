import { X509Certificate, createPrivateKey } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { CertificateStore, certificateHosts } from '../../../../src/proxy/http/certificates.ts';
import { createSelfSignedCertificate } from '../../../../src/proxy/http/self-signed.ts';
import { checkTlsPolicy, DEFAULT_TLS_POLICY, parseTlsProtocols } from '../../../../src/proxy/http/tls-policy.ts';
import { parseFlags } from '../../../../src/common/flags.ts';
import { proxyFlagOptions, proxyFlags } from '../../../../src/proxy/proxy-flags.ts';

const cert = (...names: string[]) => createSelfSignedCertificate({ names });

describe('self-signed certificate', () => {
  test('valid X.509 v3 with the names, signed by its own key', () => {
    const p = createSelfSignedCertificate({ names: ['a.example', '*.b.example'], days: 10 });
    const x = new X509Certificate(p.cert);
    expect(x.subject).toBe('CN=a.example');
    expect(x.subjectAltName).toBe('DNS:a.example, DNS:*.b.example');
    expect(x.verify(x.publicKey)).toBe(true);
    expect(x.checkPrivateKey(createPrivateKey(p.key))).toBe(true);
    expect(x.ca).toBe(false);
    const days = (new Date(x.validTo).getTime() - new Date(x.validFrom).getTime()) / 86_400_000;
    expect(Math.round(days)).toBe(10);
    expect(certificateHosts(x)).toEqual(['a.example', '*.b.example']);
  });
});

describe('CertificateStore', () => {
  test('exact before wildcard, wildcard covers one label, default otherwise', () => {
    const s = new CertificateStore();
    s.set('ns/exact', cert('a.example'));
    s.set('ns/wild', cert('*.example'));
    expect(s.lookup('a.example')).toBe('ns/exact');
    expect(s.lookup('A.Example.')).toBe('ns/exact');
    expect(s.lookup('b.example')).toBe('ns/wild');
    expect(s.lookup('c.b.example')).toBeUndefined();
    expect(s.lookup('example')).toBeUndefined();
    expect(s.contextFor('')).toBeUndefined();
    expect(s.generatedDefault).toBe(true);
  });

  test('several secrets for one name: the lowest key wins, deterministically; delete and replace', () => {
    const s = new CertificateStore();
    s.set('ns/z', cert('a.example'));
    s.set('ns/b', cert('a.example'));
    expect(s.lookup('a.example')).toBe('ns/b');
    expect(s.delete('ns/b')).toBe(true);
    expect(s.lookup('a.example')).toBe('ns/z');
    s.set('ns/z', cert('other.example'));
    expect(s.lookup('a.example')).toBeUndefined();
    expect(s.lookup('other.example')).toBe('ns/z');
    expect(s.delete('ns/none')).toBe(false);
    expect(s.size).toBe(1);
  });

  test('unusable pairs are refused with a reason and leave the store unchanged', () => {
    const s = new CertificateStore();
    s.set('ns/a', cert('a.example'));
    const a = cert('a.example');
    const b = cert('b.example');
    expect(() => s.set('ns/a', { cert: a.cert, key: b.key })).toThrow(/does not match/);
    expect(() => s.set('ns/a', { cert: 'garbage', key: a.key })).toThrow(/not a valid PEM X.509/);
    expect(() => s.set('ns/a', { cert: a.cert, key: 'garbage' })).toThrow(/not a valid PEM key/);
    expect(s.lookup('a.example')).toBe('ns/a');
  });

  test('set returns the served names and expiry; setDefault notifies listeners', () => {
    const s = new CertificateStore();
    const info = s.set('ns/a', cert('a.example', 'www.a.example'));
    expect(info.hosts).toEqual(['a.example', 'www.a.example']);
    expect(info.notAfter.getTime()).toBeGreaterThan(Date.now());
    const seen: string[] = [];
    s.onDefaultChange((p) => seen.push(new X509Certificate(p.cert).subject));
    s.setDefault(cert('default.example'));
    expect(seen).toEqual(['CN=default.example']);
    expect(s.generatedDefault).toBe(false);
  });
});

describe('TLS policy', () => {
  test('ssl-protocols form: the lowest and highest version named', () => {
    expect(parseTlsProtocols('TLSv1.2 TLSv1.3')).toEqual({ min: 'TLSv1.2', max: 'TLSv1.3' });
    expect(parseTlsProtocols('TLSv1.3')).toEqual({ min: 'TLSv1.3', max: 'TLSv1.3' });
    expect(parseTlsProtocols('TLSv1.3,TLSv1.2')).toEqual({ min: 'TLSv1.2', max: 'TLSv1.3' });
    expect(parseTlsProtocols('SSLv3 TLSv1.2')).toEqual({ error: 'unknown TLS version "SSLv3" (known: TLSv1, TLSv1.1, TLSv1.2, TLSv1.3)' });
    expect(parseTlsProtocols(' ')).toEqual({ error: 'no TLS version named' });
  });

  test('a cipher list OpenSSL knows nothing of is refused; the default is accepted', () => {
    expect(checkTlsPolicy(DEFAULT_TLS_POLICY)).toBeUndefined();
    expect(checkTlsPolicy({ ...DEFAULT_TLS_POLICY, ciphers: 'NOT-A-CIPHER' })).toMatch(/OpenSSL accepts no cipher in "NOT-A-CIPHER"/);
  });

  test('the speaker flags build the policy, and refuse bad values', () => {
    const f = (extra: Record<string, string>) => proxyFlagOptions(parseFlags(proxyFlags, [], { ...extra }));
    expect(f({}).options.tlsPolicy).toEqual(DEFAULT_TLS_POLICY);
    expect(f({ METALGATE_TLS_PROTOCOLS: 'TLSv1.3', METALGATE_TLS_SESSION_TIMEOUT: '60' }).options.tlsPolicy).toMatchObject({ minVersion: 'TLSv1.3', sessionTimeoutS: 60 });
    expect(() => f({ METALGATE_TLS_CIPHERS: 'RC4-NOPE' })).toThrow(/--tls-ciphers: OpenSSL accepts no cipher/);
    expect(() => f({ METALGATE_TLS_PROTOCOLS: 'TLSv9' })).toThrow(/--tls-protocols: unknown TLS version "TLSv9"/);
  });
});
