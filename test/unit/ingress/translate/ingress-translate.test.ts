import { describe, expect, test } from 'vitest';
import { compilerWith, ingress, ingressClass, lookupService, reasons, request, service, tlsSecret } from './fixtures.ts';
import type { IngressPathType } from '../../../../src/ingress/match/ingress-path.ts';
import { tableOf } from '../../../support/compiled-tables.ts';

/**
 * The Kubernetes Ingress documentation's path-matching examples, this time
 * through the translator (Ingress objects -> compiled tables). The same
 * table drives test/unit/ingress/ingress-path.test.ts at the match level.
 */
const K8S_TABLE: readonly { paths: readonly [string, IngressPathType][]; requests: readonly string[]; matches: string | null }[] = [
  { paths: [['/', 'Prefix']], requests: ['/', '/foo', '/foo/bar', '/aaa/bbb/ccc'], matches: '/' },
  { paths: [['/foo', 'Exact']], requests: ['/foo'], matches: '/foo' },
  { paths: [['/foo', 'Exact']], requests: ['/bar'], matches: null },
  { paths: [['/foo', 'Exact']], requests: ['/foo/'], matches: null },
  { paths: [['/foo/', 'Exact']], requests: ['/foo'], matches: null },
  { paths: [['/foo', 'Prefix']], requests: ['/foo', '/foo/'], matches: '/foo' },
  { paths: [['/foo/', 'Prefix']], requests: ['/foo', '/foo/'], matches: '/foo/' },
  { paths: [['/aaa/bb', 'Prefix']], requests: ['/aaa/bbb'], matches: null },
  { paths: [['/aaa/bbb', 'Prefix']], requests: ['/aaa/bbb'], matches: '/aaa/bbb' },
  { paths: [['/aaa/bbb/', 'Prefix']], requests: ['/aaa/bbb'], matches: '/aaa/bbb/' },
  { paths: [['/aaa/bbb', 'Prefix']], requests: ['/aaa/bbb/'], matches: '/aaa/bbb' },
  { paths: [['/aaa/bbb', 'Prefix']], requests: ['/aaa/bbb/ccc'], matches: '/aaa/bbb' },
  { paths: [['/aaa/bbb', 'Prefix']], requests: ['/aaa/bbbxyz'], matches: null },
  { paths: [['/', 'Prefix'], ['/aaa', 'Prefix']], requests: ['/aaa/ccc'], matches: '/aaa' },
  { paths: [['/', 'Prefix'], ['/aaa', 'Prefix'], ['/aaa/bbb', 'Prefix']], requests: ['/aaa/bbb'], matches: '/aaa/bbb' },
  { paths: [['/', 'Prefix'], ['/aaa', 'Prefix'], ['/aaa/bbb', 'Prefix']], requests: ['/ccc'], matches: '/' },
  { paths: [['/aaa', 'Prefix']], requests: ['/ccc'], matches: null },
  { paths: [['/foo', 'Prefix'], ['/foo', 'Exact']], requests: ['/foo'], matches: '/foo Exact' },
];

function svcName(path: string, type: IngressPathType): string {
  return `s${path.replace(/[^a-z]/g, '') || 'root'}${path.endsWith('/') && path !== '/' ? 'slash' : ''}-${type.toLowerCase()}`;
}

describe('Kubernetes path table through the Ingress translator', () => {
  for (const row of K8S_TABLE) {
    for (const r of row.requests) {
      test(`${row.paths.map(([p, t]) => `${p} (${t})`).join(', ')}: ${r} -> ${row.matches ?? 'default backend'}`, () => {
        const services = row.paths.map(([p, t]) => service('ns', svcName(p, t)));
        const c = compilerWith([...services, service('ns', 'fallback')]);
        c.setIngress(
          ingress('ns', 'table', [{ host: 'foo.bar.com', paths: row.paths.map(([p, t]) => ({ path: p, pathType: t, service: svcName(p, t) })) }], {
            defaultBackend: { service: 'fallback' },
          }),
        );
        const out = c.compile();
        expect(reasons(out)).toEqual([]);
        const want = row.matches === null ? 'fallback' : row.matches.endsWith(' Exact') ? svcName(row.matches.slice(0, -6), 'Exact') : svcName(row.matches, row.paths.find(([p]) => p === row.matches)![1]);
        expect(lookupService(out, request('foo.bar.com', r))).toBe(want);
      });
    }
  }
});

describe('hosts', () => {
  const c = compilerWith([service('ns', 'exact'), service('ns', 'wild'), service('ns', 'any')]);
  c.setIngress(
    ingress('ns', 'hosts', [
      { host: 'foo.bar.com', paths: [{ service: 'exact' }] },
      { host: '*.bar.com', paths: [{ service: 'wild' }] },
      { paths: [{ path: '/any', service: 'any' }] },
    ]),
  );
  const out = c.compile();
  test.each([
    ['foo.bar.com', '/', 'exact'],
    ['FOO.bar.com:8080', '/', 'exact'],
    ['baz.bar.com', '/', 'wild'],
    ['a.baz.bar.com', '/', '404'],
    ['bar.com', '/', '404'],
    ['other.org', '/any/x', 'any'],
    ['baz.bar.com', '/any', 'wild'],
  ])('%s%s -> %s', (host, path, want) => {
    expect(lookupService(out, request(host, path))).toBe(want);
  });
});

describe('ingress class', () => {
  test('only Ingresses of our class are served; another class is never read', () => {
    const c = compilerWith([service('ns', 'a')]);
    c.setIngressClass(ingressClass('nginx', 'k8s.io/ingress-nginx'));
    c.setIngress(ingress('ns', 'ours', [{ host: 'a.example.com', paths: [{ service: 'a' }] }]));
    c.setIngress(ingress('ns', 'theirs', [{ host: 'b.example.com', paths: [{ service: 'missing' }] }], { className: 'nginx' }));
    c.setIngress(ingress('ns', 'none', [{ host: 'c.example.com', paths: [{ service: 'a' }] }], { className: null }));
    c.setIngress(ingress('ns', 'legacy', [{ host: 'd.example.com', paths: [{ service: 'a' }] }], { className: null, annotations: { 'kubernetes.io/ingress.class': 'metalgate' } }));
    c.setIngress(ingress('ns', 'legacy-other', [{ host: 'e.example.com', paths: [{ service: 'a' }] }], { className: null, annotations: { 'kubernetes.io/ingress.class': 'nginx' } }));
    const out = c.compile();
    expect(out.ownIngresses.map((r) => r.name).sort()).toEqual(['legacy', 'ours']);
    expect(reasons(out, 'theirs')).toEqual([]);
    expect(lookupService(out, request('a.example.com', '/'))).toBe('a');
    expect(lookupService(out, request('b.example.com', '/'))).toBe('404');
    expect(lookupService(out, request('c.example.com', '/'))).toBe('404');
    expect(lookupService(out, request('d.example.com', '/'))).toBe('a');
    expect(lookupService(out, request('e.example.com', '/'))).toBe('404');
  });

  test('class-less Ingresses are ours when our class is the default', () => {
    const c = compilerWith([service('ns', 'a')]);
    c.setIngressClass(ingressClass('metalgate', 'metalgate.io/ingress-controller', true));
    c.setIngress(ingress('ns', 'none', [{ host: 'c.example.com', paths: [{ service: 'a' }] }], { className: null }));
    const out = c.compile();
    expect(out.ownIngresses.map((r) => r.name)).toEqual(['none']);
    expect(lookupService(out, request('c.example.com', '/'))).toBe('a');
  });
});

describe('backends and errors', () => {
  test('a port by name resolves through the Service to the EndpointSlice port name', () => {
    const c = compilerWith([service('ns', 'multi', [{ name: 'http', port: 80 }, { name: 'admin', port: 9000 }])]);
    c.setIngress(ingress('ns', 'p', [{ host: 'a.example.com', paths: [{ path: '/admin', service: 'multi', port: 'admin' }, { service: 'multi', port: 80 }] }]));
    const out = c.compile();
    const admin = tableOf(out, 'websecure').lookup(request('a.example.com', '/admin'))!;
    const root = tableOf(out, 'websecure').lookup(request('a.example.com', '/'))!;
    expect(admin.service).toMatchObject({ kind: 'leaf', ref: { service: 'multi', portName: 'admin', port: 9000 } });
    expect(root.service).toMatchObject({ kind: 'leaf', ref: { service: 'multi', portName: 'http', port: 80 } });
    expect(admin.service?.kind === 'leaf' && admin.service.labels.traefikService).toBe('ns-multi-admin@kubernetes');
  });

  test('a missing Service or port is reported (warning) and its path alone answers 503; the rest of the Ingress is served, as ingress-nginx does', () => {
    const c = compilerWith([service('ns', 'a')]);
    c.setIngress(ingress('ns', 'mixed', [{ host: 'm.example.com', paths: [{ path: '/ok', service: 'a' }, { path: '/gone', service: 'nope' }, { path: '/port', service: 'a', port: 81 }] }]));
    const out = c.compile();
    expect(reasons(out, 'mixed')).toEqual(['MissingService', 'MissingServicePort']);
    expect(out.diagnostics.find((d) => d.reason === 'MissingService')).toMatchObject({ severity: 'warning', message: 'rules[0].http.paths[1]: Service ns/nope not found; requests to this path answer 503 until it exists' });
    expect(out.diagnostics.find((d) => d.reason === 'MissingServicePort')!.message).toContain('has no TCP port 81 (ports: http/80)');
    expect(lookupService(out, request('m.example.com', '/ok'))).toBe('a');
    expect(out.ownIngresses.map((r) => r.name)).toEqual(['mixed']);
    // The missing backends are routed to a port no EndpointSlice carries: no endpoint, so the proxy answers 503.
    for (const path of ['/gone', '/port']) {
      const t = tableOf(out, 'websecure').lookup(request('m.example.com', path))!;
      expect(t.service).toMatchObject({ kind: 'leaf', ref: { portName: '(missing)' } });
    }
    // The Service appearing serves the path.
    c.setService(service('ns', 'nope'));
    const later = c.compile();
    expect(tableOf(later, 'websecure').lookup(request('m.example.com', '/gone'))!.service).toMatchObject({ kind: 'leaf', ref: { service: 'nope', portName: 'http' } });
  });

  test('fail closed: an Ingress asking for auth metalgate does not implement is not served, nor shown as served; its last good version stays', () => {
    const c = compilerWith([service('ns', 'a')]);
    c.setIngress(ingress('ns', 'new', [{ host: 'new.example.com', paths: [{ service: 'a' }] }], { annotations: { 'nginx.ingress.kubernetes.io/enable-modsecurity': 'true' } }));
    c.setIngress(ingress('ns', 'old', [{ host: 'old.example.com', paths: [{ service: 'a' }] }]));
    let out = c.compile();
    expect(reasons(out, 'new')).toEqual(['UnsupportedSecurityAnnotation', 'NotServed']);
    expect(lookupService(out, request('new.example.com', '/'))).toBe('404');
    expect(out.ownIngresses.map((r) => r.name)).toEqual(['old']);
    // The owner adds auth to a served Ingress: the version without auth keeps serving (as the bad-update rule says), with a warning.
    c.setIngress(ingress('ns', 'old', [{ host: 'old.example.com', paths: [{ service: 'a' }] }], { annotations: { 'nginx.ingress.kubernetes.io/enable-modsecurity': 'true' } }));
    out = c.compile();
    expect(reasons(out, 'old')).toEqual(['UnsupportedSecurityAnnotation', 'KeptLastGood']);
  });

  test('a bad update keeps the last good version', () => {
    const c = compilerWith([service('ns', 'a')]);
    c.setIngress(ingress('ns', 'x', [{ host: 'x.example.com', paths: [{ service: 'a' }] }]));
    expect(lookupService(c.compile(), request('x.example.com', '/'))).toBe('a');
    c.setIngress(ingress('ns', 'x', [{ host: 'x.example.com', paths: [{ service: 'a' }] }, { host: 'bad_host!', paths: [{ service: 'a' }] }]));
    const out = c.compile();
    expect(reasons(out, 'x')).toEqual(['BadHost', 'KeptLastGood']);
    expect(lookupService(out, request('x.example.com', '/'))).toBe('a');
    c.setIngress(ingress('ns', 'x', [{ host: 'x.example.com', paths: [{ service: 'b' }] }]));
    c.setService(service('ns', 'b'));
    expect(lookupService(c.compile(), request('x.example.com', '/'))).toBe('b');
  });

  test('duplicate host+path: the older Ingress wins', () => {
    const c = compilerWith([service('ns', 'old'), service('ns', 'new')]);
    c.setIngress(ingress('ns', 'newer', [{ host: 'd.example.com', paths: [{ service: 'new' }] }], { created: '2026-02-01T00:00:00Z' }));
    c.setIngress(ingress('ns', 'older', [{ host: 'd.example.com', paths: [{ service: 'old' }] }], { created: '2026-01-01T00:00:00Z' }));
    const out = c.compile();
    expect(lookupService(out, request('d.example.com', '/'))).toBe('old');
    expect(reasons(out, 'newer')).toEqual(['DuplicatePath']);
  });
});

describe('TLS and ssl-redirect', () => {
  test('TLS hosts produce certificate requirements; web redirects with 308 unless ssl-redirect is false', () => {
    const c = compilerWith([service('ns', 'a'), service('ns', 'b'), service('ns', 'c')]);
    c.setSecret(tlsSecret('ns', 'a-tls'));
    c.setIngress(ingress('ns', 'tls', [{ host: 'a.example.com', paths: [{ service: 'a' }] }], { tls: [{ hosts: ['a.example.com'], secretName: 'a-tls' }] }));
    c.setIngress(
      ingress('ns', 'no-redirect', [{ host: 'a.example.com', paths: [{ path: '/plain', service: 'b' }] }], { annotations: { 'nginx.ingress.kubernetes.io/ssl-redirect': 'false' } }),
    );
    c.setIngress(ingress('ns', 'forced', [{ host: 'c.example.com', paths: [{ service: 'c' }] }], { annotations: { 'nginx.ingress.kubernetes.io/force-ssl-redirect': 'true' } }));
    c.setIngress(ingress('ns', 'missing', [{ host: 'm.example.com', paths: [{ service: 'c' }] }], { tls: [{ secretName: 'nope' }] }));
    const out = c.compile();
    expect(out.certificates.map((x) => [x.secretKey, x.hosts])).toEqual([
      ['ns/a-tls', ['a.example.com']],
      ['ns/nope', ['m.example.com']],
    ]);
    expect(reasons(out, 'missing')).toEqual(['MissingSecret']);
    expect(lookupService(out, request('a.example.com', '/'), 'web')).toBe('response:redirectScheme');
    expect(lookupService(out, request('a.example.com', '/'), 'websecure')).toBe('a');
    expect(lookupService(out, request('a.example.com', '/plain'), 'web')).toBe('b');
    expect(lookupService(out, request('c.example.com', '/'), 'web')).toBe('response:redirectScheme');
    expect(lookupService(out, request('m.example.com', '/'), 'web')).toBe('response:redirectScheme');
  });

  test("cert-manager's HTTP-01 solver path is answered over HTTP, not redirected (ingress-nginx's no-tls-redirect-locations)", () => {
    const c = compilerWith([service('ns', 'a'), service('ns', 'cm-acme-http-solver-x')]);
    c.setSecret(tlsSecret('ns', 'a-tls'));
    c.setIngress(ingress('ns', 'app', [{ host: 'a.example.com', paths: [{ service: 'a' }] }], { tls: [{ hosts: ['a.example.com'], secretName: 'a-tls' }], annotations: { 'nginx.ingress.kubernetes.io/force-ssl-redirect': 'true' } }));
    c.setIngress(
      ingress('ns', 'cm-acme-http-solver-x', [{ host: 'a.example.com', paths: [{ path: '/.well-known/acme-challenge/tok3n', pathType: 'Exact', service: 'cm-acme-http-solver-x' }] }], {
        annotations: { 'nginx.ingress.kubernetes.io/force-ssl-redirect': 'true' },
      }),
    );
    const out = c.compile();
    expect(lookupService(out, request('a.example.com', '/.well-known/acme-challenge/tok3n'), 'web')).toBe('cm-acme-http-solver-x');
    expect(lookupService(out, request('a.example.com', '/'), 'web')).toBe('response:redirectScheme');
  });
});
