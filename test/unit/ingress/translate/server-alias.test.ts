// ingress-nginx server-alias through the compiler: an alias gets its host's
// routes (same targets), unless an Ingress serves that name itself or an
// older Ingress has it as an alias; regex paths get the alias as their host.
import { describe, expect, test } from 'vitest';
import { compilerWith, ingress, lookupService, NGINX, reasons, request, service } from './fixtures.ts';
import { tableOf } from '../../../support/compiled-tables.ts';

const withAlias = (name: string, host: string, svc: string, alias: string, more: Record<string, string> = {}, paths = [{ path: '/', service: svc }], created?: string) =>
  ingress('ns', name, [{ host, paths }], { annotations: { [`${NGINX}server-alias`]: alias, ...Object.fromEntries(Object.entries(more).map(([k, v]) => [NGINX + k, v])) }, ...(created ? { created } : {}) });

describe('server-alias', () => {
  test('each alias serves what the host serves, on both entry points; other names do not', () => {
    const c = compilerWith([service('ns', 'app'), service('ns', 'api')]);
    c.setIngress(withAlias('site', 'example.com', 'app', 'www.example.com, Example.ORG', {}, [{ path: '/', service: 'app' }, { path: '/api', service: 'api' }]));
    const out = c.compile();
    expect(reasons(out)).toEqual([]);
    for (const host of ['example.com', 'www.example.com', 'example.org']) {
      expect(lookupService(out, request(host, '/'))).toBe('app');
      expect(lookupService(out, request(host, '/api/x'), 'web')).toBe('api');
    }
    expect(lookupService(out, request('other.example.com', '/'))).toBe('404');
  });

  test('a name an Ingress serves is not taken as an alias (a warning); the first Ingress to alias a name keeps it', () => {
    const c = compilerWith([service('ns', 'a'), service('ns', 'b'), service('ns', 'own')]);
    c.setIngress(ingress('ns', 'owner', [{ host: 'taken.example.com', paths: [{ service: 'own' }] }], { created: '2026-01-01T00:00:01Z' }));
    c.setIngress(withAlias('first', 'a.example.com', 'a', 'taken.example.com, shared.example.com', {}, [{ path: '/', service: 'a' }], '2026-01-01T00:00:02Z'));
    c.setIngress(withAlias('second', 'b.example.com', 'b', 'shared.example.com', {}, [{ path: '/', service: 'b' }], '2026-01-01T00:00:03Z'));
    const out = c.compile();
    expect(lookupService(out, request('taken.example.com', '/'))).toBe('own');
    expect(lookupService(out, request('shared.example.com', '/'))).toBe('a');
    expect(out.diagnostics.filter((d) => d.reason === 'ServerAliasSkipped').map((d) => `${d.ref.name}: ${d.message}`)).toEqual([
      'first: server-alias: taken.example.com is served by an Ingress, so it is not an alias here',
      'second: server-alias: shared.example.com is already an alias of Ingress ns/first, so it is not an alias here',
    ]);
  });

  test('regex paths (use-regex) match under the alias too; the middlewares come along (a redirect here)', () => {
    const c = compilerWith([service('ns', 'app')]);
    c.setIngress(withAlias('re', 'example.com', 'app', 'alias.example.com', { 'use-regex': 'true' }, [{ path: '/v[0-9]+/', service: 'app' }]));
    c.setIngress(withAlias('moved', 'old.example.com', 'app', 'older.example.com', { 'permanent-redirect': 'https://new.example.com/' }));
    const out = c.compile();
    expect(reasons(out)).toEqual([]);
    expect(lookupService(out, request('alias.example.com', '/v2/items'))).toBe('app');
    expect(lookupService(out, request('alias.example.com', '/other'))).toBe('404');
    const t = tableOf(out, 'websecure').lookup(request('older.example.com', '/'))!;
    expect(t.middlewares.map((m) => m.spec.type)).toContain('returnRedirect');
  });

  test('a bad name is an error: the Ingress is not served', () => {
    const c = compilerWith([service('ns', 'app')]);
    c.setIngress(withAlias('bad', 'example.com', 'app', 'not a host'));
    expect(reasons(c.compile())).toEqual(['BadAnnotation', 'NotServed']);
  });

  test('recompiling with nothing changed keeps the alias routes as they were (no change published)', () => {
    const c = compilerWith([service('ns', 'app')]);
    c.setIngress(withAlias('site', 'example.com', 'app', 'www.example.com'));
    const first = c.compile();
    c.setService(service('ns', 'unrelated'));
    const second = c.compile();
    expect(second.specs.websecure.get('ingress:ns/site#0/0@www.example.com')).toBe(first.specs.websecure.get('ingress:ns/site#0/0@www.example.com'));
  });

  test('the alias names get their host TLS settings too (auth-tls CA, ssl-ciphers): a client certificate is asked for there as well', () => {
    const c = compilerWith([service('ns', 'app')]);
    const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
    c.setSecret({ metadata: { namespace: 'ns', name: 'ca' }, data: { 'ca.crt': Buffer.from(pem).toString('base64') } });
    c.setIngress(withAlias('mtls', 'example.com', 'app', 'www.example.com', { 'auth-tls-secret': 'ca', 'ssl-ciphers': 'ECDHE-ECDSA-AES128-GCM-SHA256' }));
    const out = c.compile();
    expect(out.hostTls.map((h) => [h.host, h.ca === pem, h.ciphers])).toEqual([
      ['example.com', true, 'ECDHE-ECDSA-AES128-GCM-SHA256'],
      ['www.example.com', true, 'ECDHE-ECDSA-AES128-GCM-SHA256'],
    ]);
  });
});
