// The routes' wire form, through the real compiler: what the speaker's
// process publishes (routesUpdate over compiled specs), sent through JSON as
// over IPC, rebuilt by the serving side (RouteTables), routes every request
// as the compiler's own tables do - regexp paths, canary conditions,
// rewrite-target regexps, allow-lists (IP networks) and the default backend
// included - and only changed routes travel.
import { describe, expect, test } from 'vitest';
import { decodeTarget, encodeTarget, routesUpdate, type RoutesUpdate } from '../../../src/ingress/compile/route-wire.ts';
import { publishedRoutes } from '../../../src/ingress/compile/ingress-compiler.ts';
import { RouteTables } from '../../../src/ingress/runtime/route-tables.ts';
import { RuntimeFactory } from '../../../src/ingress/runtime/runtime-target.ts';
import type { Backend } from '../../../src/proxy/http/types.ts';
import { compilerWith, ingress, NGINX, request, service } from './translate/fixtures.ts';
import { tableOf } from '../../support/compiled-tables.ts';

const backends = {
  backend: (ref: { namespace: string; service: string; portName: string }): Backend => ({ name: `${ref.namespace}/${ref.service}`, protocol: 'http', pick: () => undefined }),
};

const published = publishedRoutes;

/** Over the wire: JSON both ways, as the IPC channel carries it. */
const overWire = (u: RoutesUpdate): RoutesUpdate => JSON.parse(JSON.stringify(u)) as RoutesUpdate;

const REQUESTS = [
  request('a.example', '/'),
  request('a.example', '/api/v2/x'),
  request('a.example', '/api/v2/x', { headers: { 'x-canary': 'always' } }),
  request('a.example', '/users/42/profile'),
  request('b.example', '/anything'),
  request('c.example', '/'),
  request('a.example', '/', { clientIp: '198.18.9.9' }),
];

function outcome(r: ReturnType<RouteTables['router']['route']>): string {
  if (r === undefined) return 'none';
  if ('response' in r && r.response) return `${r.routeName} -> ${r.response.status}`;
  return `${r.routeName} -> ${'backend' in r ? r.backend?.name : '?'} [${(r.middlewares ?? []).length} mw]`;
}

describe('routes over the wire', () => {
  const c = compilerWith([service('ns', 'a'), service('ns', 'b'), service('ns', 'canary'), service('ns', 'd')]);
  c.setIngress(ingress('ns', 'main', [{ host: 'a.example', paths: [{ path: '/api', service: 'a' }, { path: '/users/[0-9]+', pathType: 'ImplementationSpecific', service: 'a' }] }], {
    annotations: { 'nginx.ingress.kubernetes.io/use-regex': 'true', 'nginx.ingress.kubernetes.io/rewrite-target': '/v1/$1', 'nginx.ingress.kubernetes.io/whitelist-source-range': '198.18.0.0/24' },
  }));
  c.setIngress(ingress('ns', 'canary', [{ host: 'a.example', paths: [{ path: '/api', service: 'canary' }] }], {
    annotations: { 'nginx.ingress.kubernetes.io/canary': 'true', 'nginx.ingress.kubernetes.io/canary-by-header': 'x-canary' },
  }));
  c.setIngress(ingress('ns', 'other', [{ host: 'b.example', paths: [{ service: 'b' }] }], { defaultBackend: { service: 'd' } }));
  c.setIngress(ingress('ns', 'extra', [{ host: 'e.example', paths: [{ service: 'b' }] }]));
  const factory = new RuntimeFactory(backends);

  test('a rebuilt table routes every request as the compiler does', () => {
    const first = c.compile();
    const u = routesUpdate(undefined, published(first))!;
    expect(u.web.reset?.length).toBeGreaterThan(0);
    const tables = new RouteTables(factory.materialize);
    const { router, errors } = tables.apply(overWire(u));
    expect(errors).toEqual([]);
    const local = new RouteTables(factory.materialize);
    const direct = local.apply(u).router;
    for (const tls of [false, true]) {
      for (const req of REQUESTS) {
        const view = { ...req, tls, localPort: tls ? 443 : 80 } as Parameters<typeof router.route>[0];
        const expected = tableOf(first, tls ? 'websecure' : 'web').lookup(view)?.routeName ?? 'none';
        expect(outcome(router.route(view))).toBe(outcome(direct.route(view)));
        expect(router.route(view)?.routeName ?? 'none').toBe(expected);
      }
    }
    // The wire form is data: regexps and networks are tagged, nothing is lost in JSON.
    const text = JSON.stringify(u);
    expect(text).toContain('$goRegexp');
    expect(text).toContain('$u32');
  });

  test('one changed Ingress sends its routes only; unchanged routes keep their runtime targets', () => {
    const before = c.compile();
    const tables = new RouteTables(factory.materialize);
    tables.apply(overWire(routesUpdate(undefined, published(before))!));
    const view = { ...request('a.example', '/api/v2/x'), tls: true, localPort: 443 } as Parameters<RouteTables['router']['route']>[0];
    const kept = tables.router.route(view);
    c.setIngress(ingress('ns', 'extra', [{ host: 'e.example', paths: [{ path: '/new', service: 'b' }] }]));
    const after = c.compile();
    const u = routesUpdate(published(before), published(after))!;
    expect(u.web.reset).toBeUndefined();
    expect(u.websecure.upsert?.map((s) => s.id).every((id) => id.includes('ns/extra'))).toBe(true);
    expect(u.websecure.upsert?.length).toBe(1);
    expect(u.defaultTarget).toBeUndefined();
    // The compiler's own per-table changes give the same update without diffing the tables again.
    expect(routesUpdate(published(before), published(after), after.changes)).toEqual(u);
    tables.apply(overWire(u));
    expect(tables.router.route(view)).toBe(kept);
    expect(outcome(tables.router.route({ ...view, host: 'e.example', path: '/new/x' }))).toContain('ns/b');
    expect(outcome(tables.router.route({ ...view, host: 'e.example', path: '/old' }))).toContain('ns/d'); // the default backend
    expect(routesUpdate(published(after), published(after))).toBeUndefined();
  });
});

describe('every kind of setting over the wire', () => {
  test('client certificates, backend TLS, gRPC, hashing, error pages, retries, TLS options and Traefik middlewares survive JSON unchanged', () => {
    const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
    const KEY = '-----BEGIN PRIVATE KEY-----\nKEY\n-----END PRIVATE KEY-----\n';
    const b64 = (t: string) => Buffer.from(t).toString('base64');
    const c = compilerWith([service('ns', 'a'), service('ns', 'pages')]);
    c.setSecret({ metadata: { namespace: 'ns', name: 'ca' }, data: { 'ca.crt': b64(PEM) } });
    c.setSecret({ metadata: { namespace: 'ns', name: 'up' }, data: { 'ca.crt': b64(PEM), 'tls.crt': b64(PEM), 'tls.key': b64(KEY) } });
    c.setIngress(
      ingress('ns', 'all', [{ host: 'all.example', paths: [{ service: 'a' }] }], {
        annotations: {
          [`${NGINX}auth-tls-secret`]: 'ca',
          [`${NGINX}auth-tls-match-cn`]: 'CN=(alice|bob)',
          [`${NGINX}backend-protocol`]: 'GRPCS',
          [`${NGINX}proxy-ssl-secret`]: 'up',
          [`${NGINX}proxy-ssl-verify`]: 'on',
          [`${NGINX}proxy-ssl-name`]: 'api.internal',
          [`${NGINX}upstream-hash-by`]: '$request_uri',
          [`${NGINX}load-balance`]: 'ewma',
          [`${NGINX}custom-http-errors`]: '404,503',
          [`${NGINX}default-backend`]: 'pages',
          [`${NGINX}proxy-next-upstream`]: 'error http_503',
        },
      }),
    );
    c.setTraefik('TLSOption', { apiVersion: 'traefik.io/v1alpha1', kind: 'TLSOption', metadata: { namespace: 'ns', name: 'opt' }, spec: { minVersion: 'VersionTLS13', clientAuth: { secretNames: ['ca'] } } });
    c.setTraefik('Middleware', { apiVersion: 'traefik.io/v1alpha1', kind: 'Middleware', metadata: { namespace: 'ns', name: 'errs' }, spec: { errors: { status: ['500-599'], service: { name: 'pages', port: 80 }, query: '/{status}' } } });
    c.setTraefik('Middleware', { apiVersion: 'traefik.io/v1alpha1', kind: 'Middleware', metadata: { namespace: 'ns', name: 'pem' }, spec: { passTLSClientCert: { pem: true, info: { subject: { commonName: true } } } } });
    c.setTraefik('IngressRoute', {
      apiVersion: 'traefik.io/v1alpha1',
      kind: 'IngressRoute',
      metadata: { namespace: 'ns', name: 'r' },
      spec: { routes: [{ match: 'Host(`r.example`)', services: [{ name: 'a', port: 80 }], middlewares: [{ name: 'errs' }, { name: 'pem' }] }], tls: { options: { name: 'opt' } } },
    });
    const out = c.compile();
    expect(out.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    const u = overWire(routesUpdate(undefined, published(out))!);
    expect(u.hostTls).toEqual(out.hostTls);
    expect(u.hostTls!.map((h) => h.host).sort()).toEqual(['all.example', 'r.example']);
    const targets = [...out.specs.websecure.values()].map((s) => s.target);
    expect(targets.length).toBeGreaterThanOrEqual(2);
    for (const t of targets) expect(decodeTarget(JSON.parse(JSON.stringify(encodeTarget(t))))).toEqual(t);
    const types = targets.flatMap((t) => t.middlewares.map((m) => m.spec.type)).sort();
    expect(types).toEqual(expect.arrayContaining(['clientCert', 'balanceKey', 'errorPages', 'fallbackBackend', 'retry', 'passTlsClientCert']));
    const tables = new RouteTables(new RuntimeFactory(backends).materialize);
    expect(tables.apply(u).errors).toEqual([]);
  });
});
