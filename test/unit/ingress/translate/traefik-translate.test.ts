import { describe, expect, test } from 'vitest';
import type { V1Secret } from '@kubernetes/client-node';
import { compilerWith, lookupService, reasons, request, service, tlsSecret } from './fixtures.ts';
import type { IngressRouteObject, MiddlewareObject, TraefikServiceObject } from '../../../../src/ingress/model/traefik-crd.ts';
import { tableOf } from '../../../support/compiled-tables.ts';

let rv = 0;
function route(name: string, routes: Record<string, unknown>[], extra: { ns?: string; group?: string; entryPoints?: string[]; tls?: Record<string, unknown> } = {}): IngressRouteObject {
  return {
    apiVersion: `${extra.group ?? 'traefik.io'}/v1alpha1`,
    kind: 'IngressRoute',
    metadata: { namespace: extra.ns ?? 'ns', name, resourceVersion: String(++rv) },
    spec: { ...(extra.entryPoints ? { entryPoints: extra.entryPoints } : {}), routes: routes as never, ...(extra.tls ? { tls: extra.tls } : {}) },
  };
}
function middleware(name: string, spec: Record<string, unknown>, ns = 'ns', group = 'traefik.io'): MiddlewareObject {
  return { apiVersion: `${group}/v1alpha1`, kind: 'Middleware', metadata: { namespace: ns, name, resourceVersion: String(++rv) }, spec };
}
function traefikService(name: string, spec: Record<string, unknown>, ns = 'ns'): TraefikServiceObject {
  return { apiVersion: 'traefik.io/v1alpha1', kind: 'TraefikService', metadata: { namespace: ns, name, resourceVersion: String(++rv) }, spec };
}
const svc = (name: string, port: number | string = 80) => ({ name, port });

describe('IngressRoute match expressions', () => {
  // Valid rules, each with a request that must match and one that must not.
  const valid: [string, string, string, Partial<Parameters<typeof request>[2]>?][] = [
    ['Host(`a.example.com`)', 'a.example.com/', 'b.example.com/'],
    ['Host(`a.example.com`) && PathPrefix(`/api`)', 'a.example.com/api/x', 'a.example.com/web'],
    ['Host(`a.example.com`) && Path(`/exact`)', 'a.example.com/exact', 'a.example.com/exact/x'],
    ['Host(`a.example.com`) || Host(`b.example.com`)', 'b.example.com/', 'c.example.com/'],
    ['HostRegexp(`^[a-z]+\\.example\\.org$`)', 'abc.example.org/', 'a1.example.org/'],
    ['PathRegexp(`^/v[0-9]+/`) && Host(`r.example.com`)', 'r.example.com/v2/x', 'r.example.com/vx/'],
    ['Host(`a.example.com`) && !PathPrefix(`/private`)', 'a.example.com/public', 'a.example.com/private/x'],
    ['Host(`a.example.com`) && (Path(`/a`) || Path(`/b`))', 'a.example.com/b', 'a.example.com/c'],
    ['Host(`m.example.com`) && Method(`POST`)', 'm.example.com/', 'm.example.com/'],
    ['Host(`h.example.com`) && Header(`X-Env`, `canary`)', 'h.example.com/', 'h.example.com/'],
    ['Host(`h2.example.com`) && HeaderRegexp(`X-Env`, `^can`)', 'h2.example.com/', 'h2.example.com/'],
    ['Host(`q.example.com`) && Query(`debug`, `1`)', 'q.example.com/?debug=1', 'q.example.com/?debug=2'],
    ['Host(`ip.example.com`) && ClientIP(`198.18.0.0/16`)', 'ip.example.com/', 'ip.example.com/'],
    ['Host(`A.EXAMPLE.COM`)', 'a.example.com/', 'example.com/'],
  ];
  for (const [rule, hit, miss] of valid) {
    test(`valid: ${rule}`, () => {
      const c = compilerWith([service('ns', 'a')]);
      c.setTraefik('IngressRoute', route('r', [{ match: rule, services: [svc('a')] }]));
      const out = c.compile();
      expect(reasons(out)).toEqual([]);
      const req = (url: string, ok: boolean) => {
        const slash = url.indexOf('/');
        const [path, query] = url.slice(slash).split('?') as [string, string?];
        return request(url.slice(0, slash), path, {
          query: query ?? '',
          method: rule.includes('Method') && ok ? 'POST' : 'GET',
          headers: rule.includes('Header') && ok ? { 'x-env': 'canary' } : {},
          clientIp: rule.includes('ClientIP') ? (ok ? '198.18.3.4' : '198.20.0.1') : '198.18.0.1',
        });
      };
      expect(lookupService(out, req(hit, true))).toBe('a');
      expect(lookupService(out, req(miss, false))).toBe('404');
    });
  }

  const v2: [string, string][] = [
    ['Host(`a.example.com`, `b.example.com`)', 'b.example.com'],
    ['HostRegexp(`{sub:[a-z]+}.example.org`)', 'abc.example.org'],
    ['Host(`a.example.com`) && PathPrefix(`/x`, `/y`)', 'a.example.com'],
    ['Headers(`X-A`, `1`) && Host(`a.example.com`)', 'a.example.com'],
  ];
  for (const [rule, host] of v2) {
    test(`v2 syntax: ${rule}`, () => {
      const c = compilerWith([service('ns', 'a')]);
      c.setTraefik('IngressRoute', route('r', [{ match: rule, syntax: 'v2', services: [svc('a')] }]));
      const out = c.compile();
      expect(reasons(out)).toEqual([]);
      expect(lookupService(out, request(host, rule.includes('PathPrefix') ? '/y/1' : '/', { headers: { 'x-a': '1' } }))).toBe('a');
    });
  }

  // Invalid rules: the IngressRoute is reported (with the position) and left out.
  const invalid: [string, string][] = [
    ['Host(`a.example.com`', 'at'],
    ['Host(`a.example.com`) &&', 'at'],
    ['Host(`a.example.com`) & PathPrefix(`/`)', 'at'],
    ['Hots(`a.example.com`)', 'at'],
    ['Host()', 'at'],
    ['PathPrefix(`api`)', 'at'],
    ['Path(`/a`, `/b`)', 'at'],
    ['HostRegexp(`(`)', 'at'],
    ['ClientIP(`300.0.0.1`)', 'at'],
    ['Header(`X-A`)', 'at'],
    ['Query(`a`, `b`, `c`)', 'at'],
    ['Host(`a.example.com`) || || Host(`b`)', 'at'],
    ['(Host(`a.example.com`)', 'at'],
    ['Host(`a.example.com`))', 'at'],
    ['Method(`GET`) && ', 'at'],
    ['Host(`a`) && Headers(`X`, `1`)', 'at'], // v2 matcher under v3
  ];
  for (const [rule] of invalid) {
    test(`invalid: ${rule}`, () => {
      const c = compilerWith([service('ns', 'a')]);
      c.setTraefik('IngressRoute', route('bad', [{ match: rule, services: [svc('a')] }]));
      c.setTraefik('IngressRoute', route('good', [{ match: 'Host(`good.example.com`)', services: [svc('a')] }]));
      const out = c.compile();
      const d = out.diagnostics.find((x) => x.ref.name === 'bad' && x.reason === 'BadRule');
      expect(d?.message).toMatch(/ at [0-9]+$/);
      expect(reasons(out, 'bad')).toEqual(['BadRule', 'NotServed']);
      expect(lookupService(out, request('good.example.com', '/'))).toBe('a');
    });
  }

  test('a rule whose Host matchers exclude each other is reported (BadRoute) while the route is there, and the report goes with it', () => {
    const c = compilerWith([service('ns', 'a')]);
    c.setTraefik('IngressRoute', route('never', [{ match: 'Host(`a.example.com`) && Host(`b.example.com`)', services: [svc('a')] }]));
    const out = c.compile();
    const bad = out.diagnostics.filter((d) => d.ref.name === 'never' && d.reason === 'BadRoute');
    expect(bad.length).toBeGreaterThan(0);
    expect(bad[0]!.message).toContain('can never match');
    c.setTraefik('IngressRoute', route('never', [{ match: 'Host(`a.example.com`)', services: [svc('a')] }]));
    expect(reasons(c.compile(), 'never')).not.toContain('BadRoute');
  });

  test('an unknown syntax is reported', () => {
    const c = compilerWith([service('ns', 'a')]);
    c.setTraefik('IngressRoute', route('r', [{ match: 'Host(`a`)', syntax: 'v4', services: [svc('a')] }]));
    expect(reasons(c.compile(), 'r')).toEqual(['BadRule', 'NotServed']);
  });

  test('priority: explicit beats the default (rule length)', () => {
    const c = compilerWith([service('ns', 'a'), service('ns', 'b')]);
    c.setTraefik(
      'IngressRoute',
      route('r', [
        { match: 'Host(`p.example.com`) && PathPrefix(`/a`)', services: [svc('a')] },
        { match: 'Host(`p.example.com`)', priority: 1000, services: [svc('b')] },
      ]),
    );
    expect(lookupService(c.compile(), request('p.example.com', '/a'))).toBe('b');
  });
});

describe('entry points and TLS', () => {
  test('entryPoints select the tables; tls drops the web side and requires a certificate', () => {
    const c = compilerWith([service('ns', 'a'), service('ns', 'b'), service('ns', 'c')]);
    c.setSecret(tlsSecret('ns', 'cert'));
    c.setTraefik('IngressRoute', route('web', [{ match: 'Host(`w.example.com`)', services: [svc('a')] }], { entryPoints: ['web'] }));
    c.setTraefik('IngressRoute', route('both', [{ match: 'Host(`b.example.com`)', services: [svc('b')] }]));
    c.setTraefik('IngressRoute', route('secure', [{ match: 'Host(`s.example.com`)', services: [svc('c')] }], { tls: { secretName: 'cert' } }));
    const out = c.compile();
    expect(reasons(out)).toEqual([]);
    expect(lookupService(out, request('w.example.com', '/'), 'web')).toBe('a');
    expect(lookupService(out, request('w.example.com', '/'), 'websecure')).toBe('404');
    expect(lookupService(out, request('b.example.com', '/'), 'web')).toBe('b');
    expect(lookupService(out, request('b.example.com', '/'), 'websecure')).toBe('b');
    expect(lookupService(out, request('s.example.com', '/'), 'web')).toBe('404');
    expect(lookupService(out, request('s.example.com', '/'), 'websecure')).toBe('c');
    expect(out.certificates).toEqual([{ secretKey: 'ns/cert', hosts: ['s.example.com'], origin: expect.objectContaining({ name: 'secure' }), origins: [expect.objectContaining({ name: 'secure' })] }]);
  });
});

describe('services', () => {
  test('weighted route services, TraefikService weighted (nested) and mirroring', () => {
    const c = compilerWith([service('ns', 'v1'), service('ns', 'v2'), service('ns', 'v3')]);
    c.setTraefik('TraefikService', traefikService('inner', { weighted: { services: [{ name: 'v2', port: 80, weight: 1 }, { name: 'v3', port: 80, weight: 1 }] } }));
    c.setTraefik('TraefikService', traefikService('outer', { weighted: { services: [{ name: 'v1', port: 80, weight: 3 }, { name: 'inner', kind: 'TraefikService', weight: 1 }] } }));
    c.setTraefik('TraefikService', traefikService('mirror', { mirroring: { name: 'v1', port: 80, mirrors: [{ name: 'v2', port: 80, percent: 10 }] } }));
    c.setTraefik('IngressRoute', route('w', [{ match: 'Host(`w.example.com`)', services: [svc('v1'), { ...svc('v2'), weight: 3 }] }]));
    c.setTraefik('IngressRoute', route('o', [{ match: 'Host(`o.example.com`)', services: [{ name: 'outer', kind: 'TraefikService' }] }]));
    c.setTraefik('IngressRoute', route('m', [{ match: 'Host(`m.example.com`)', services: [{ name: 'mirror', kind: 'TraefikService' }] }]));
    const out = c.compile();
    expect(reasons(out)).toEqual([]);
    expect(lookupService(out, request('w.example.com', '/'))).toBe('weighted(v1:1,v2:3)');
    expect(lookupService(out, request('o.example.com', '/'))).toBe('weighted(v1:3,weighted(v2:1,v3:1):1)');
    expect(lookupService(out, request('m.example.com', '/'))).toBe('mirror(v1;v2@10)');
  });
  test('missing Service, missing TraefikService, cycles and cross-namespace refs are errors', () => {
    const c = compilerWith([service('ns', 'v1'), service('other', 'v9')]);
    c.setTraefik('TraefikService', traefikService('loop-a', { weighted: { services: [{ name: 'loop-b', kind: 'TraefikService' }] } }));
    c.setTraefik('TraefikService', traefikService('loop-b', { weighted: { services: [{ name: 'loop-a', kind: 'TraefikService' }] } }));
    c.setTraefik('IngressRoute', route('no-svc', [{ match: 'Host(`a`)', services: [svc('nope')] }]));
    c.setTraefik('IngressRoute', route('no-ts', [{ match: 'Host(`b`)', services: [{ name: 'nope', kind: 'TraefikService' }] }]));
    c.setTraefik('IngressRoute', route('loop', [{ match: 'Host(`c`)', services: [{ name: 'loop-a', kind: 'TraefikService' }] }]));
    c.setTraefik('IngressRoute', route('cross', [{ match: 'Host(`d`)', services: [{ name: 'v9', namespace: 'other', port: 80 }] }]));
    c.setTraefik('IngressRoute', route('badport', [{ match: 'Host(`e`)', services: [svc('v1', 'grpc')] }]));
    const out = c.compile();
    expect(reasons(out, 'no-svc')[0]).toBe('MissingService');
    expect(reasons(out, 'no-ts')[0]).toBe('MissingTraefikService');
    expect(reasons(out, 'loop')[0]).toBe('ServiceCycle');
    expect(reasons(out, 'loop-a')).toEqual(['ServiceCycle']);
    expect(reasons(out, 'cross')[0]).toBe('CrossNamespaceRef');
    expect(reasons(out, 'badport')[0]).toBe('MissingServicePort');
    const allowed = compilerWith([service('other', 'v9')], { allowCrossNamespace: true });
    allowed.setTraefik('IngressRoute', route('cross', [{ match: 'Host(`d.example.com`)', services: [{ name: 'v9', namespace: 'other', port: 80 }] }]));
    expect(lookupService(allowed.compile(), request('d.example.com', '/'))).toBe('v9');
  });
});

describe('middlewares', () => {
  const users: V1Secret = { metadata: { namespace: 'ns', name: 'users' }, data: { users: Buffer.from('test:$apr1$abcdefgh$h9FWgUz3n9YxylKLlR5SQ/\n').toString('base64') } };
  test('same-namespace, {namespace} and ns-name@kubernetescrd references, in order', () => {
    const c = compilerWith([service('ns', 'a')], { allowCrossNamespace: true });
    c.setSecret(users);
    c.setTraefik('Middleware', middleware('auth', { basicAuth: { secret: 'users' } }));
    c.setTraefik('Middleware', middleware('strip', { stripPrefix: { prefixes: ['/api'] } }, 'shared-mw'));
    c.setTraefik('Middleware', middleware('limit', { rateLimit: { average: 100, burst: 50 } }, 'shared-mw'));
    c.setTraefik(
      'IngressRoute',
      route('r', [
        {
          match: 'Host(`a.example.com`)',
          services: [svc('a')],
          middlewares: [{ name: 'auth' }, { name: 'strip', namespace: 'shared-mw' }, { name: 'shared-mw-limit@kubernetescrd' }],
        },
      ]),
    );
    const out = c.compile();
    expect(reasons(out)).toEqual([]);
    const t = tableOf(out, 'websecure').lookup(request('a.example.com', '/'))!;
    expect(t.middlewares.map((m) => `${m.name}:${m.spec.type}`)).toEqual([
      'ns-auth@kubernetescrd:basicAuth',
      'shared-mw-strip@kubernetescrd:stripPrefix',
      'shared-mw-limit@kubernetescrd:rateLimit',
    ]);
  });
  test('a missing or bad Middleware leaves the route out (never served without it)', () => {
    const c = compilerWith([service('ns', 'a')]);
    c.setTraefik('Middleware', middleware('bad', { redirectScheme: { scheme: 'gopher' } }));
    c.setTraefik('Middleware', middleware('unsupported', { plugin: { geoblock: {} } }));
    c.setTraefik('Middleware', middleware('nosecret', { basicAuth: { secret: 'missing' } }));
    c.setTraefik('IngressRoute', route('r1', [{ match: 'Host(`a.example.com`)', services: [svc('a')], middlewares: [{ name: 'gone' }] }]));
    c.setTraefik('IngressRoute', route('r2', [{ match: 'Host(`b.example.com`)', services: [svc('a')], middlewares: [{ name: 'bad' }] }]));
    c.setTraefik('IngressRoute', route('r3', [{ match: 'Host(`c.example.com`)', services: [svc('a')], middlewares: [{ name: 'unsupported' }] }]));
    c.setTraefik('IngressRoute', route('r4', [{ match: 'Host(`d.example.com`)', services: [svc('a')], middlewares: [{ name: 'nosecret' }] }]));
    const out = c.compile();
    expect(reasons(out, 'r1')[0]).toBe('MissingMiddleware');
    expect(reasons(out, 'r2')[0]).toBe('BadMiddleware');
    expect(reasons(out, 'r3')[0]).toBe('UnsupportedMiddleware');
    expect(reasons(out, 'r4')[0]).toBe('MissingSecret');
    expect(reasons(out, 'bad')).toEqual(['BadMiddleware']);
    expect(reasons(out, 'unsupported')).toEqual(['UnsupportedMiddleware']);
    expect(reasons(out, 'nosecret')).toEqual(['MissingSecret']);
    for (const h of ['a', 'b', 'c', 'd']) expect(lookupService(out, request(`${h}.example.com`, '/'))).toBe('404');
  });
  test('buffering: limits and the one retryExpression form; errors: ranges and a Service', () => {
    const c = compilerWith([service('ns', 'a'), service('ns', 'pages')]);
    c.setTraefik('Middleware', middleware('buf', { buffering: { maxRequestBodyBytes: 10, memRequestBodyBytes: 5, retryExpression: 'IsNetworkError() && Attempts() < 3' } }));
    c.setTraefik('Middleware', middleware('buf-expr', { buffering: { retryExpression: 'ResponseCode() == 503' } }));
    c.setTraefik('Middleware', middleware('errs', { errors: { status: ['500-599', '404'], service: { name: 'pages', port: 80 }, query: '/{status}' } }));
    c.setTraefik('Middleware', middleware('errs-bad', { errors: { status: ['599-500'], service: { name: 'pages', port: 80 } } }));
    c.setTraefik('IngressRoute', route('r', [{ match: 'Host(`a.example.com`)', services: [svc('a')], middlewares: [{ name: 'buf' }, { name: 'errs' }] }]));
    const out = c.compile();
    const t = tableOf(out, 'websecure').lookup(request('a.example.com', '/'))!;
    expect(t.middlewares.map((m) => m.spec)).toMatchObject([
      { type: 'buffering', requestBytes: 10, responseBytes: 0 },
      { type: 'retry', attempts: 3 },
      { type: 'errorPages', statuses: [[500, 599], [404, 404]], style: 'traefik', query: '/{status}', service: { ref: { service: 'pages' } } },
    ]);
    expect(reasons(out, 'buf')).toEqual(['IgnoredField']);
    expect(reasons(out, 'buf-expr')).toEqual(['BadMiddleware']);
    expect(reasons(out, 'errs-bad')).toEqual(['BadMiddleware']);
  });
  test('each middleware type parses', () => {
    const c = compilerWith([service('ns', 'a')]);
    c.setSecret(users);
    const specs: Record<string, Record<string, unknown>> = {
      rateLimit: { average: 10, period: '1m', burst: 5, sourceCriterion: { ipStrategy: { depth: 1 } } },
      basicAuth: { secret: 'users', realm: 'r', removeHeader: true },
      compress: { excludedContentTypes: ['text/event-stream'], minResponseBodyBytes: 100 },
      stripPrefix: { prefixes: ['/a'] },
      addPrefix: { prefix: '/p' },
      replacePath: { path: '/x' },
      headers: { customRequestHeaders: { 'X-A': '1' }, stsSeconds: 60, frameDeny: true },
      redirectScheme: { scheme: 'https', permanent: true },
      redirectRegex: { regex: '^http://a/(.*)', replacement: 'http://b/${1}' },
      ipAllowList: { sourceRange: ['198.18.0.0/15'] },
      ipWhiteList: { sourceRange: ['2001:db8::/32'] },
      retry: { attempts: 3, initialInterval: '100ms' },
      inFlightReq: { amount: 10 },
      forwardAuth: { address: 'http://auth.ns.svc:4180/oauth2/auth', authResponseHeaders: ['X-Auth-Request-User'], authResponseHeadersRegex: '^X-Auth-', trustForwardHeader: true },
    };
    for (const [type, spec] of Object.entries(specs)) c.setTraefik('Middleware', middleware(`m-${type.toLowerCase()}`, { [type]: spec }));
    c.setTraefik('Middleware', middleware('chain', { chain: { middlewares: [{ name: 'm-stripprefix' }, { name: 'm-addprefix' }] } }));
    c.setTraefik('IngressRoute', route('r', [{ match: 'Host(`a.example.com`)', services: [svc('a')], middlewares: [...Object.keys(specs).map((t) => ({ name: `m-${t.toLowerCase()}` })), { name: 'chain' }] }]));
    const out = c.compile();
    expect(reasons(out)).toEqual([]);
    const t = tableOf(out, 'websecure').lookup(request('a.example.com', '/'))!;
    expect(t.middlewares.map((m) => m.spec.type)).toEqual([
      'rateLimit',
      'basicAuth',
      'compress',
      'stripPrefix',
      'addPrefix',
      'replacePath',
      'headers',
      'redirectScheme',
      'redirectRegex',
      'ipAllowList',
      'ipAllowList',
      'retry',
      'inFlightReq',
      'forwardAuth',
      'stripPrefix',
      'addPrefix',
    ]);
    const rl = t.middlewares[0]!.spec;
    expect(rl.type === 'rateLimit' && rl.ratePerSecond).toBeCloseTo(10 / 60);
  });
  test.each([
    [{ forwardBody: true, maxBodySize: 4096 }, { forwardBodyMaxBytes: 4096, maxResponseBodyBytes: 1 << 20 }],
    // Traefik's -1 ("no limit"): metalgate's bounds (16 MiB held per request, 1 MiB answers).
    [{ forwardBody: true, maxBodySize: -1, maxResponseBodySize: -1 }, { forwardBodyMaxBytes: 16 << 20, maxResponseBodyBytes: 1 << 20 }],
    [{ forwardBody: false, maxBodySize: 10, maxResponseBodySize: 4096, authSigninURL: 'https://login.example.com/' }, { maxResponseBodyBytes: 4096, signinUrl: 'https://login.example.com/' }],
  ])('forwardAuth %j', (fields, expected) => {
    const c = compilerWith([service('ns', 'a')]);
    c.setTraefik('Middleware', middleware('fa', { forwardAuth: { address: 'http://auth/x', ...fields } }));
    c.setTraefik('IngressRoute', route('r', [{ match: 'Host(`a.example.com`)', services: [svc('a')], middlewares: [{ name: 'fa' }] }]));
    const out = c.compile();
    expect(reasons(out)).toEqual([]);
    const spec = tableOf(out, 'websecure').lookup(request('a.example.com', '/'))!.middlewares[0]!.spec;
    expect(spec).toMatchObject(expected);
    if (!('forwardBodyMaxBytes' in expected)) expect(spec).not.toHaveProperty('forwardBodyMaxBytes');
  });
  test.each([
    [{ address: 'ftp://auth/x' }, 'forwardAuth.address "ftp://auth/x" is not an http or https URL'],
    [{}, 'forwardAuth.address is required'],
    [{ address: 'https://auth/x', tls: { caSecret: 'absent' } }, 'forwardAuth.tls.caSecret: Secret ns/absent not found'],
    [{ address: 'https://auth/x', tls: { ca: '/etc/ca.pem' } }, 'forwardAuth.tls.ca is not a forwardAuth TLS field'],
    [{ address: 'http://auth/x', forwardBody: true, maxBodySize: -2 }, 'forwardAuth.maxBodySize'],
    [{ address: 'http://auth/x', forwardBody: 'yes' }, 'forwardAuth.forwardBody must be true or false'],
    [{ address: 'http://auth/x', maxResponseBodySize: 1.5 }, 'forwardAuth.maxResponseBodySize'],
    [{ address: 'http://auth/x', authSigninURL: 'https://login/\r\nx: y' }, 'forwardAuth.authSigninURL'],
    [{ address: 'http://auth/x', authResponseHeaders: ['bad header'] }, 'forwardAuth.authResponseHeaders: "bad header" is not a header name'],
    [{ address: 'http://auth/x', adress: 'typo' }, 'forwardAuth.adress is not a forwardAuth field'],
  ])('forwardAuth %j is refused', (spec, message) => {
    const c = compilerWith([service('ns', 'a')]);
    c.setTraefik('Middleware', middleware('fa', { forwardAuth: spec }));
    c.setTraefik('IngressRoute', route('r', [{ match: 'Host(`a.example.com`)', services: [svc('a')], middlewares: [{ name: 'fa' }] }]));
    const out = c.compile();
    expect(out.diagnostics.some((d) => d.ref.name === 'fa' && d.message.includes(message))).toBe(true);
    expect(lookupService(out, request('a.example.com', '/'))).toBe('404');
  });
});

describe('both API groups', () => {
  test('traefik.io wins a name clash with traefik.containo.us; the shadowed object is told', () => {
    const c = compilerWith([service('ns', 'new'), service('ns', 'old'), service('ns', 'only')]);
    c.setTraefik('IngressRoute', route('app', [{ match: 'Host(`app.example.com`)', services: [svc('old')] }], { group: 'traefik.containo.us' }));
    c.setTraefik('IngressRoute', route('app', [{ match: 'Host(`app.example.com`)', services: [svc('new')] }]));
    c.setTraefik('IngressRoute', route('legacy', [{ match: 'Host(`legacy.example.com`)', services: [svc('only')] }], { group: 'traefik.containo.us' }));
    const out = c.compile();
    expect(lookupService(out, request('app.example.com', '/'))).toBe('new');
    expect(lookupService(out, request('legacy.example.com', '/'))).toBe('only');
    expect(out.diagnostics.filter((d) => d.reason === 'Shadowed').map((d) => d.ref.apiVersion)).toEqual(['traefik.containo.us/v1alpha1']);
    c.deleteTraefik('IngressRoute', 'traefik.io', 'ns/app');
    expect(lookupService(c.compile(), request('app.example.com', '/'))).toBe('old');
  });
  test('a bad update of an IngressRoute keeps its last good version', () => {
    const c = compilerWith([service('ns', 'a')]);
    c.setTraefik('IngressRoute', route('r', [{ match: 'Host(`k.example.com`)', services: [svc('a')] }]));
    c.compile();
    c.setTraefik('IngressRoute', route('r', [{ match: 'Host(`k.example.com`', services: [svc('a')] }]));
    const out = c.compile();
    expect(reasons(out, 'r')).toEqual(['BadRule', 'KeptLastGood']);
    expect(lookupService(out, request('k.example.com', '/'))).toBe('a');
  });
});
