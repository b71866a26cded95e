import { describe, expect, test } from 'vitest';
import { compilerWith, ingress, lookupService, reasons, request, service, NGINX, parseNginx } from './fixtures.ts';
import { GoRegexp } from '../../../../src/ingress/match/go-regexp.ts';
import type { CanaryNode } from '../../../../src/ingress/model/service-node.ts';
import { tableOf } from '../../../support/compiled-tables.ts';

const N = NGINX;

const parse = parseNginx;

describe('ingress-nginx annotation values', () => {
  test('defaults', () => {
    const { config, diags } = parse({});
    expect(config).toMatchObject({ sslRedirect: true, forceSslRedirect: false, regexPaths: false, protocol: 'http' });
    expect(diags).toEqual([]);
  });
  test('each supported annotation', () => {
    const { config, diags } = parse({
      'ssl-redirect': 'false',
      'force-ssl-redirect': 'True',
      'rewrite-target': '/$2',
      'whitelist-source-range': '198.18.0.0/16, 2001:db8::/32',
      'proxy-body-size': '8m',
      'backend-protocol': 'HTTPS',
      affinity: 'cookie',
      'session-cookie-name': 'route',
      'session-cookie-max-age': '172800',
      'session-cookie-samesite': 'Strict',
      'proxy-connect-timeout': '10',
      'proxy-read-timeout': '120',
      'proxy-send-timeout': '30',
      'limit-rps': '5',
    });
    expect(diags).toEqual([]);
    expect(config).toMatchObject({
      sslRedirect: false,
      forceSslRedirect: true,
      rewriteTarget: '/$2',
      regexPaths: true,
      maxBodyBytes: 8 * 1024 * 1024,
      protocol: 'https',
      affinity: { name: 'route', maxAgeSeconds: 172800, sameSite: 'Strict', httpOnly: true },
      connectTimeoutMs: 10_000,
      readTimeoutMs: 120_000,
      sendTimeoutMs: 30_000,
      limitRps: { rps: 5, burst: 25 },
    });
    expect(config.allowRanges).toHaveLength(2);
  });
  test.each([
    ['GRPC', 'h2c'],
    ['grpcs', 'h2'],
    ['HTTP', 'http'],
  ])('backend-protocol %s talks %s to the pods', (value, protocol) => {
    const { config, diags } = parse({ 'backend-protocol': value });
    expect(diags).toEqual([]);
    expect(config.protocol).toBe(protocol);
  });
  test.each([
    ['ssl-redirect', 'yes', 'is not a boolean'],
    ['proxy-body-size', '8 MB', 'is not an nginx size'],
    ['backend-protocol', 'FCGI', 'not supported by metalgate'],
    ['whitelist-source-range', '198.18.0.0/33', 'is not an IP address or CIDR'],
    ['proxy-read-timeout', '60s', 'is not an integer'],
    ['limit-rps', '0', 'out of range'],
    ['affinity', 'ip', 'only "cookie"'],
  ])('bad %s=%s is an error', (name, value, msg) => {
    const { diags } = parse({ [name]: value });
    expect(diags.some((d) => d.startsWith('error:BadAnnotation:') && d.includes(msg))).toBe(true);
  });
  test('unsupported annotations are reported, never silently ignored', () => {
    const { diags } = parse({ 'enable-opentelemetry': 'true', 'proxy-http-version': '1.0' });
    expect(diags).toEqual([
      `warning:UnsupportedAnnotation:${N}enable-opentelemetry is not supported by metalgate and is ignored`,
      `warning:UnsupportedAnnotation:${N}proxy-http-version is not supported by metalgate and is ignored`,
    ]);
  });
  // Fail closed: what limits who reaches the backend is an error (the Ingress is withheld), never a warning.
  test.each([
    'modsecurity-transaction-id',
    'enable-owasp-core-rules',
    'enable-modsecurity',
  ])('%s is refused: not implemented and it limits access', (name) => {
    expect(parse({ [name]: 'x' }).diags).toEqual([
      `error:UnsupportedSecurityAnnotation:${N}${name} limits who reaches the backend and is not implemented by metalgate: the Ingress is not served rather than served with less protection than it asks for`,
    ]);
  });

  test('proxy-ssl-*: verify needs the Secret; values nginx would not take are errors', () => {
    expect(parse({ 'proxy-ssl-verify': 'on' }).diags).toEqual([`error:BadAnnotation:${N}proxy-ssl-verify: on needs ${N}proxy-ssl-secret (its ca.crt verifies the backend)`]);
    expect(parse({ 'proxy-ssl-secret': 's', 'proxy-ssl-verify': 'yes' }).diags).toEqual([`error:BadAnnotation:${N}proxy-ssl-verify: "yes" is not on or off`]);
    expect(parse({ 'proxy-ssl-secret': 's', 'proxy-ssl-protocols': 'SSLv3 TLSv1.2' }).diags[0]).toMatch(/proxy-ssl-protocols: "SSLv3": not a protocol/);
    expect(parse({ 'proxy-ssl-secret': 's', 'proxy-ssl-name': 'a b' }).diags[0]).toMatch(/proxy-ssl-name: "a b" is not a host name/);
    expect(parse({ 'proxy-ssl-secret': 's', 'proxy-ssl-ciphers': 'HIGH;rm' }).diags[0]).toMatch(/proxy-ssl-ciphers/);
    const ok = parse({ 'proxy-ssl-secret': 'ns/s', 'proxy-ssl-verify': 'on', 'proxy-ssl-verify-depth': '2', 'proxy-ssl-name': 'api.internal', 'proxy-ssl-server-name': 'on', 'proxy-ssl-protocols': 'TLSv1.3 TLSv1.2', 'proxy-ssl-ciphers': 'HIGH:!aNULL' });
    expect(ok.diags).toEqual([]);
    expect(ok.config.proxySsl).toEqual({ secretName: 'ns/s', verify: true, depth: 2, name: 'api.internal', serverName: true, minVersion: 'TLSv1.2', maxVersion: 'TLSv1.3', ciphers: 'HIGH:!aNULL' });
  });

  test('auth-tls-*: a check without the CA, or a value nginx would not take, is an error (the Ingress is not served)', () => {
    expect(parse({ 'auth-tls-verify-client': 'on' }).diags).toEqual([`error:BadAnnotation:${N}auth-tls-verify-client: needs ${N}auth-tls-secret (the CA to verify client certificates with)`]);
    expect(parse({ 'auth-tls-secret': 'ca', 'auth-tls-verify-client': 'maybe' }).diags).toEqual([`error:BadAnnotation:${N}auth-tls-verify-client: "maybe" is not on, off, optional or optional_no_ca`]);
    expect(parse({ 'auth-tls-secret': 'ca', 'auth-tls-error-page': 'javascript:alert(1)' }).diags).toEqual([`error:BadAnnotation:${N}auth-tls-error-page: "javascript:alert(1)" is not an http or https URL`]);
    expect(parse({ 'auth-tls-secret': 'ca', 'auth-tls-verify-depth': '-1' }).diags[0]).toMatch(/^error:BadAnnotation:.*auth-tls-verify-depth/);
    const ok = parse({ 'auth-tls-secret': 'ns/ca', 'auth-tls-verify-client': 'optional', 'auth-tls-verify-depth': '2', 'auth-tls-pass-certificate-to-upstream': 'true', 'auth-tls-match-cn': 'CN=(alice|bob)' });
    expect(ok.diags).toEqual([]);
    expect(ok.config.clientAuth).toMatchObject({ secretName: 'ns/ca', check: { verify: 'optional', depth: 2, passCertificate: true } });
  });
  test.each(['configuration-snippet', 'server-snippet', 'stream-snippet', 'auth-snippet', 'modsecurity-snippet'])('%s is refused: snippets never run', (name) => {
    expect(parse({ [name]: 'deny all;' }).diags).toEqual([
      `error:UnsupportedSecurityAnnotation:${N}${name} is raw nginx configuration, which metalgate never runs; it may hold access rules, so the Ingress is not served rather than served without them`,
    ]);
  });
  test('refused on a canary Ingress too (the canary would bypass it)', () => {
    expect(parse({ canary: 'true', 'canary-weight': '10', 'auth-url': 'http://auth' }).diags.filter((d) => d.startsWith('error:'))).toHaveLength(1);
  });
  test('allowlist-source-range is the newer name of whitelist-source-range; both with different lists is an error', () => {
    expect(parse({ 'allowlist-source-range': '198.18.0.0/16' }).config.allowRanges).toHaveLength(1);
    expect(parse({ 'allowlist-source-range': '198.18.0.0/16', 'whitelist-source-range': '198.18.0.0/16' }).diags).toEqual([]);
    expect(parse({ 'allowlist-source-range': '198.18.0.0/16', 'whitelist-source-range': '198.19.0.0/16' }).diags).toEqual([
      `error:BadAnnotation:${N}allowlist-source-range: and ${N}whitelist-source-range (its older name) are both set, to different lists`,
    ]);
  });
  test('canary settings; non-canary annotations on a canary Ingress are reported as ignored', () => {
    const { config, diags } = parse({ canary: 'true', 'canary-weight': '30', 'canary-by-header': 'X-Canary', 'canary-by-header-pattern': '^v2', 'proxy-body-size': '1m' });
    expect(config.canary).toMatchObject({ header: 'x-canary', weight: 30, weightTotal: 100 });
    expect(config.canary!.headerPattern).toBeInstanceOf(GoRegexp);
    expect(diags).toEqual([`warning:IgnoredAnnotation:${N}proxy-body-size is ignored on a canary Ingress: the main Ingress's setting applies`]);
    expect(parse({ canary: 'true', 'canary-weight': '101' }).diags[0]).toContain('exceeds canary-weight-total 100');
    expect(parse({ canary: 'true', 'canary-weight': '150', 'canary-weight-total': '1000' }).config.canary).toMatchObject({ weight: 150, weightTotal: 1000 });
    expect(parse({ 'canary-weight': '10' }).diags[0]).toContain('has no effect without');
  });
});

describe('canary attachment', () => {
  const main = () => ingress('ns', 'main', [{ host: 'app.example.com', paths: [{ path: '/', pathType: 'Prefix', service: 'v1' }] }], { created: '2026-01-01T00:00:00Z' });
  const canary = (name: string, annotations: Record<string, string>, path = '/', pathType: 'Prefix' | 'Exact' = 'Prefix', host = 'app.example.com') =>
    ingress('ns', name, [{ host, paths: [{ path, pathType, service: 'v2' }] }], {
      annotations: { [`${N}canary`]: 'true', ...Object.fromEntries(Object.entries(annotations).map(([k, v]) => [N + k, v])) },
      created: '2026-01-02T00:00:00Z',
    });

  test('attaches to the main Ingress with the same host, path and pathType', () => {
    const c = compilerWith([service('ns', 'v1'), service('ns', 'v2')]);
    c.setIngress(main());
    c.setIngress(canary('c', { 'canary-weight': '20', 'canary-by-header': 'x-canary' }));
    const out = c.compile();
    expect(reasons(out)).toEqual([]);
    expect(lookupService(out, request('app.example.com', '/x'))).toBe('canary(v1,v2)');
    const node = tableOf(out, 'websecure').lookup(request('app.example.com', '/'))!.service as CanaryNode;
    expect(node.policy).toMatchObject({ header: 'x-canary', weight: 20, weightTotal: 100 });
    expect(node.canaryIngress).toBe('ns/c');
  });
  test('no main with the same host, path and pathType: reported, serves nothing', () => {
    const c = compilerWith([service('ns', 'v1'), service('ns', 'v2')]);
    c.setIngress(main());
    c.setIngress(canary('wrong-type', { 'canary-weight': '20' }, '/', 'Exact'));
    c.setIngress(canary('wrong-host', { 'canary-weight': '20' }, '/', 'Prefix', 'other.example.com'));
    const out = c.compile();
    expect(reasons(out, 'wrong-type')).toEqual(['CanaryWithoutMain']);
    expect(reasons(out, 'wrong-host')).toEqual(['CanaryWithoutMain']);
    expect(lookupService(out, request('app.example.com', '/'))).toBe('v1');
    expect(lookupService(out, request('other.example.com', '/'))).toBe('404');
  });
  test('one canary per path: the older wins, the other is reported', () => {
    const c = compilerWith([service('ns', 'v1'), service('ns', 'v2')]);
    c.setIngress(main());
    c.setIngress(canary('c1', { 'canary-weight': '20' }));
    c.setIngress({ ...canary('c2', { 'canary-weight': '50' }), metadata: { ...canary('c2', {}).metadata, creationTimestamp: new Date('2026-03-01T00:00:00Z'), annotations: { [`${N}canary`]: 'true' } } });
    const out = c.compile();
    expect(reasons(out, 'c2')).toEqual(['DuplicateCanary']);
  });
  test('Flagger-style weight change recompiles only that route', () => {
    const c = compilerWith([service('ns', 'v1'), service('ns', 'v2')]);
    c.setIngress(main());
    c.setIngress(canary('c', { 'canary-weight': '10' }));
    c.compile();
    c.setIngress(canary('c', { 'canary-weight': '40' }));
    const out = c.compile();
    expect(out.changed).toBe(2); // the main path's route, in both tables
    expect((tableOf(out, 'websecure').lookup(request('app.example.com', '/'))!.service as CanaryNode).policy.weight).toBe(40);
  });
});

describe('regex paths (use-regex / rewrite-target)', () => {
  test('case-insensitive, anchored at the start, with the rewrite middleware', () => {
    const c = compilerWith([service('ns', 'a'), service('ns', 'b')]);
    c.setIngress(
      ingress('ns', 'rx', [{ host: 'r.example.com', paths: [{ path: '/something(/|$)(.*)', pathType: 'ImplementationSpecific', service: 'a' }] }], {
        annotations: { [`${N}rewrite-target`]: '/$2' },
      }),
    );
    c.setIngress(ingress('ns', 'plain', [{ host: 'r.example.com', paths: [{ path: '/', pathType: 'Prefix', service: 'b' }] }]));
    const out = c.compile();
    expect(reasons(out)).toEqual([]);
    expect(lookupService(out, request('r.example.com', '/SOMETHING/x'))).toBe('a');
    expect(lookupService(out, request('r.example.com', '/somethingelse'))).toBe('b');
    expect(lookupService(out, request('r.example.com', '/x/something'))).toBe('b');
    const t = tableOf(out, 'websecure').lookup(request('r.example.com', '/something/x'))!;
    expect(t.middlewares.map((m) => m.spec.type)).toEqual(['rewriteTarget']);
  });
  test('an invalid regex path is an error on the Ingress', () => {
    const c = compilerWith([service('ns', 'a')]);
    c.setIngress(ingress('ns', 'rx', [{ host: 'r.example.com', paths: [{ path: '/(a', pathType: 'ImplementationSpecific', service: 'a' }] }], { annotations: { [`${N}use-regex`]: 'true' } }));
    expect(reasons(c.compile(), 'rx')).toEqual(['BadPath', 'NotServed']);
  });
});

describe('limits and lists', () => {
  test('denylist, limit-rpm, limit-connections, limit-whitelist', () => {
    const { config, diags } = parse({
      'denylist-source-range': '198.18.0.0/24',
      'limit-rpm': '120',
      'limit-connections': '4',
      'limit-burst-multiplier': '2',
      'limit-whitelist': '198.19.0.0/16, 2001:db8::/32',
    });
    expect(diags).toEqual([]);
    expect(config.denyRanges).toHaveLength(1);
    expect(config.limitRpm).toEqual({ rpm: 120, burst: 240 });
    expect(config.limitConnections).toBe(4);
    expect(config.limitExempt).toHaveLength(2);
  });
  test('blacklist-source-range is the older name of denylist-source-range; both with different lists is an error', () => {
    expect(parse({ 'blacklist-source-range': '198.18.0.0/16' }).config.denyRanges).toHaveLength(1);
    expect(parse({ 'denylist-source-range': '198.18.0.0/16', 'blacklist-source-range': '198.19.0.0/16' }).diags[0]).toMatch(/^error:BadAnnotation:/);
  });
});
