import type { V1Ingress, V1Secret, V1Service } from '@kubernetes/client-node';
import { describe, expect, test } from 'vitest';
import { silentLogger } from '../../../../src/common/log.ts';
import type { CertificateInfo, CertificatePair, CertificateStoreApi } from '../../../../src/proxy/http/types.ts';
import { CertificateSync } from '../../../../src/proxy/k8s/certificate-sync.ts';
import { isOurIngress, readIngresses } from '../../../../src/proxy/k8s/ingress-routes.ts';
import { tlsPairFromSecret } from '../../../../src/proxy/k8s/tls-secret.ts';

function ingress(name: string, spec: V1Ingress['spec'], extra: { ns?: string; annotations?: Record<string, string> } = {}): V1Ingress {
  return { metadata: { name, namespace: extra.ns ?? 'app', uid: `uid-${name}`, annotations: extra.annotations ?? {} }, spec };
}

const services = new Map<string, V1Service>([
  ['app/web', { metadata: { name: 'web', namespace: 'app' }, spec: { ports: [{ name: 'http', port: 80 }, { name: 'admin', port: 81 }] } }],
  ['app/single', { metadata: { name: 'single', namespace: 'app' }, spec: { ports: [{ port: 8080 }] } }],
]);
const lookup = (key: string) => services.get(key);
const filter = { className: 'metalgate', withoutClass: false };

describe('readIngresses', () => {
  test('class: ingressClassName, the legacy annotation, or none when allowed', () => {
    expect(isOurIngress(ingress('a', { ingressClassName: 'metalgate' }), filter)).toBe(true);
    expect(isOurIngress(ingress('a', { ingressClassName: 'nginx' }), filter)).toBe(false);
    expect(isOurIngress(ingress('a', {}, { annotations: { 'kubernetes.io/ingress.class': 'metalgate' } }), filter)).toBe(true);
    expect(isOurIngress(ingress('a', {}), filter)).toBe(false);
    expect(isOurIngress(ingress('a', {}), { ...filter, withoutClass: true })).toBe(true);
  });

  test('host + path rules to Service ports by name or number; default backend; TLS references', () => {
    const r = readIngresses(
      [
        ingress('b', {
          ingressClassName: 'metalgate',
          defaultBackend: { service: { name: 'single', port: { number: 8080 } } },
          rules: [
            {
              host: 'foo.example.com',
              http: {
                paths: [
                  { path: '/api', pathType: 'Prefix', backend: { service: { name: 'web', port: { name: 'admin' } } } },
                  { path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { number: 80 } } } },
                ],
              },
            },
            { http: { paths: [{ path: '/x', pathType: 'Exact', backend: { service: { name: 'single', port: { number: 8080 } } } }] } },
          ],
          tls: [{ hosts: ['foo.example.com'], secretName: 'foo-tls' }, { hosts: ['x'] }],
        }),
        ingress('other', { ingressClassName: 'nginx', rules: [{ http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { number: 80 } } } }] } }] }),
      ],
      lookup,
      filter,
    );
    expect(r.routes.map((x) => [x.id, x.host, x.path, x.pathType, `${x.target.namespace}/${x.target.service}:${x.target.portName}`])).toEqual([
      ['app/b#0/0', 'foo.example.com', '/api', 'Prefix', 'app/web:admin'],
      ['app/b#0/1', 'foo.example.com', '/', 'Prefix', 'app/web:http'],
      ['app/b#1/0', undefined, '/x', 'Exact', 'app/single:'],
    ]);
    expect(r.defaultBackend).toEqual({ namespace: 'app', service: 'single', portName: '' });
    expect(r.tls).toEqual([{ ingress: { namespace: 'app', name: 'b', uid: 'uid-b' }, secret: 'app/foo-tls', hosts: ['foo.example.com'] }]);
    expect(r.problems).toEqual([]);
  });

  test('problems: unknown Service (still routed, to no endpoints), unknown port, resource backend', () => {
    const r = readIngresses(
      [
        ingress('c', {
          ingressClassName: 'metalgate',
          rules: [
            {
              http: {
                paths: [
                  { path: '/a', pathType: 'Prefix', backend: { service: { name: 'missing', port: { number: 80 } } } },
                  { path: '/b', pathType: 'Prefix', backend: { service: { name: 'web', port: { number: 99 } } } },
                  { path: '/c', pathType: 'Prefix', backend: { resource: { kind: 'Bucket', name: 'x' } } },
                ],
              },
            },
          ],
        }),
      ],
      lookup,
      filter,
    );
    expect(r.routes.map((x) => x.id)).toEqual(['app/c#0/0', 'app/c#0/1']);
    expect(r.problems.map((p) => [p.reason, p.message])).toEqual([
      ['BackendServiceNotFound', 'rules[0].http.paths[0]: Service app/missing not found (answered 503)'],
      ['BackendPortNotFound', 'rules[0].http.paths[1]: Service app/web has no port 99'],
      ['UnsupportedBackend', 'rules[0].http.paths[2]: only Service backends are supported'],
    ]);
  });
});

const b64 = (s: string) => Buffer.from(s).toString('base64');
const CERT = '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n';
const KEY = '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n';

function secret(name: string, data: Record<string, string>, rv = '1', type = 'kubernetes.io/tls'): V1Secret {
  return { metadata: { name, namespace: 'app', resourceVersion: rv }, type, data };
}

describe('tlsPairFromSecret', () => {
  test('a tls Secret gives its PEM pair', () => {
    const r = tlsPairFromSecret('app/s', secret('s', { 'tls.crt': b64(CERT), 'tls.key': b64(KEY) }));
    expect('pair' in r && r.pair.cert.toString()).toBe(CERT);
  });
  test.each([
    [undefined, 'TLSSecretNotFound', /TLS Secret app\/s not found/],
    [secret('s', { 'tls.crt': b64(CERT), 'tls.key': b64(KEY) }, '1', 'Opaque'), 'TLSSecretInvalid', /is of type Opaque/],
    [secret('s', { 'tls.crt': b64(CERT) }), 'TLSSecretInvalid', /has no tls.key/],
    [secret('s', {}), 'TLSSecretInvalid', /has no tls.crt and no tls.key/],
    [secret('s', { 'tls.crt': b64('hello'), 'tls.key': b64(KEY) }), 'TLSSecretInvalid', /tls.crt holds no PEM certificate/],
    [secret('s', { 'tls.crt': b64(CERT), 'tls.key': b64('x') }), 'TLSSecretInvalid', /tls.key holds no PEM private key/],
  ])('%#: refused with a reason', (s, reason, message) => {
    const r = tlsPairFromSecret('app/s', s);
    expect(r).toMatchObject({ reason });
    expect((r as { message: string }).message).toMatch(message);
  });
});

class FakeStore implements CertificateStoreApi {
  readonly pairs = new Map<string, CertificatePair>();
  set(key: string, pair: CertificatePair): CertificateInfo {
    if (pair.cert.toString().includes('BROKEN')) throw new Error('no certificate could be read');
    this.pairs.set(key, pair);
    return { hosts: ['foo.example.com'], notAfter: new Date(0) };
  }
  delete(key: string): boolean {
    return this.pairs.delete(key);
  }
  setDefault(): CertificateInfo {
    return { hosts: [], notAfter: new Date(0) };
  }
  lookup(): string | undefined {
    return undefined;
  }
}

describe('CertificateSync', () => {
  const ref = (s: string, ing = 'b') => ({ ingress: { namespace: 'app', name: ing, uid: `uid-${ing}` }, secret: `app/${s}`, hosts: ['foo.example.com'] });
  const good = (rv: string) => secret('good', { 'tls.crt': b64(CERT), 'tls.key': b64(KEY) }, rv);

  test('loads referenced Secrets, reports missing and unusable ones once, keeps the last good one, unloads unreferenced ones', () => {
    const store = new FakeStore();
    const sync = new CertificateSync(store, undefined, silentLogger());
    const secrets = new Map<string, V1Secret>([['app/good', good('1')]]);
    const get = (k: string) => secrets.get(k);

    let problems = sync.sync([ref('good'), ref('missing')], get);
    expect(sync.loaded()).toEqual(['app/good']);
    expect(problems.map((p) => [p.reason, p.message])).toEqual([
      ['TLSSecretNotFound', 'TLS Secret app/missing not found (or not of type kubernetes.io/tls): serving foo.example.com with the default certificate'],
    ]);

    // Replaced by something unusable: the last good certificate stays.
    secrets.set('app/good', secret('good', { 'tls.crt': b64(`${CERT}BROKEN`), 'tls.key': b64(KEY) }, '2'));
    problems = sync.sync([ref('good')], get);
    expect(store.pairs.has('app/good')).toBe(true);
    expect(problems.map((p) => p.message)).toEqual(['TLS Secret app/good is unusable: no certificate could be read: keeping its last good certificate']);

    // Fixed: loaded, no problem.
    secrets.set('app/good', good('3'));
    expect(sync.sync([ref('good')], get)).toEqual([]);
    // Deleted: unloaded (default certificate), reported.
    secrets.delete('app/good');
    problems = sync.sync([ref('good')], get);
    expect(store.pairs.has('app/good')).toBe(false);
    expect(problems[0]!.reason).toBe('TLSSecretNotFound');
    // Back, then no longer referenced.
    secrets.set('app/good', good('4'));
    sync.sync([ref('good')], get);
    expect(store.pairs.has('app/good')).toBe(true);
    sync.sync([], get);
    expect(store.pairs.size).toBe(0);
    expect(sync.loaded()).toEqual([]);
  });
});
