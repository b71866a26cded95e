// ingress-nginx's CORS (enable-cors, cors-*) and redirects (permanent-redirect,
// temporal-redirect, app-root) through the real L7 engine, side by side with
// Debian's nginx configured as ingress-nginx's template configures them:
// the "CORS" block's if/set/return with the origin regex its
// buildCorsOriginRegex writes (add_header ... always standing in for
// more_set_headers, which Debian's nginx-light lacks; the backend sends no
// CORS fields, so both set the same), `return <code> <url>` for the
// redirects, and app-root's server-level `if ($uri = /)`.
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { corsOriginPattern } from '../../../src/ingress/translate/nginx-annotations.ts';
import { NGINX, startNginxPeer, type NginxPeer } from '../../support/nginx-peer.ts';
import { Harness, ing } from './harness.ts';

const N = 'nginx.ingress.kubernetes.io/';
const LOOPBACK = '127.0.0.1';
const ORIGINS = 'https://app.example.com, https://*.example.org';
const DEFAULT_METHODS = 'GET, PUT, POST, DELETE, PATCH, OPTIONS';
const DEFAULT_HEADERS = 'DNT,Keep-Alive,User-Agent,X-Requested-With,If-Modified-Since,Cache-Control,Content-Type,Range,Authorization';

const h = new Harness();
const annotated = (name: string, annotations: Record<string, string>) =>
  ing('ns', name, [{ host: `${name}.example.com`, paths: [{ service: 'app' }] }], { annotations: Object.fromEntries(Object.entries(annotations).map(([k, v]) => [N + k, v])) });

beforeAll(async () => {
  await h.start();
  await h.service('ns', 'app', 1);
  h.ingress(annotated('cors', { 'enable-cors': 'true', 'cors-allow-origin': ORIGINS, 'cors-expose-headers': 'X-Total, X-Page', 'cors-max-age': '600' }));
  h.ingress(annotated('corsall', { 'enable-cors': 'true', 'cors-allow-credentials': 'false' }));
  // CORS with basic auth: the preflight is answered before the auth check, as in nginx.
  h.secret({ metadata: { namespace: 'ns', name: 'users' }, data: { auth: Buffer.from('u:{SHA}qUqP5cyxm6YcTAhz05Hph5gvu9M=\n').toString('base64') } });
  h.ingress(annotated('corsauth', { 'enable-cors': 'true', 'auth-type': 'basic', 'auth-secret': 'users' }));
  h.ingress(annotated('moved', { 'permanent-redirect': 'https://www.example.org/moved' }));
  h.ingress(annotated('moved308', { 'permanent-redirect': 'https://$host/new$request_uri', 'permanent-redirect-code': '308' }));
  h.ingress(annotated('temp', { 'temporal-redirect': 'https://status.example.org/', 'permanent-redirect': 'https://never.example.org/' }));
  h.ingress(annotated('approot', { 'app-root': '/app1' }));
  h.ingress(annotated('shop', { 'from-to-www-redirect': 'true' }));
  h.ingress(ing('ns', 'blog', [{ host: 'www.blog.example.com', paths: [{ service: 'app' }] }], { annotations: { [`${N}from-to-www-redirect`]: 'true' } }));
  h.ingress(annotated('both', { 'from-to-www-redirect': 'true' }));
  h.ingress(ing('ns', 'www-both', [{ host: 'www.both.example.com', paths: [{ service: 'app' }] }]));
  const out = h.apply();
  expect(out.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
});

afterAll(async () => {
  await h.stop();
});

describe('CORS and redirects through the proxy', () => {
  test('a listed origin (and a wildcard subdomain) gets the fields on the answer; others get none', async () => {
    const a = await h.request({ host: 'cors.example.com', headers: { origin: 'https://app.example.com' } });
    expect(a.status).toBe(200);
    expect(a.headers).toMatchObject({
      'access-control-allow-origin': 'https://app.example.com',
      'access-control-allow-credentials': 'true',
      'access-control-allow-methods': DEFAULT_METHODS,
      'access-control-allow-headers': DEFAULT_HEADERS,
      'access-control-expose-headers': 'X-Total, X-Page',
      'access-control-max-age': '600',
    });
    expect((await h.request({ host: 'cors.example.com', headers: { origin: 'https://shop.example.org' } })).headers['access-control-allow-origin']).toBe('https://shop.example.org');
    for (const origin of ['https://evil.example', 'https://a.b.example.org', 'http://app.example.com']) {
      expect((await h.request({ host: 'cors.example.com', headers: { origin } })).headers['access-control-allow-origin']).toBeUndefined();
    }
  });

  test('a preflight is answered 204 by the proxy, before the auth check; an unlisted one reaches the backend', async () => {
    const before = h.echoes[0]!.hits;
    const pre = await h.request({ host: 'cors.example.com', method: 'OPTIONS', headers: { origin: 'https://app.example.com', 'access-control-request-method': 'PUT' } });
    expect(pre.status).toBe(204);
    expect(pre.headers['access-control-allow-methods']).toBe(DEFAULT_METHODS);
    expect(h.echoes[0]!.hits).toBe(before);
    expect((await h.request({ host: 'cors.example.com', method: 'OPTIONS', headers: { origin: 'https://evil.example' } })).status).toBe(200);
    expect((await h.request({ host: 'corsauth.example.com', method: 'OPTIONS', headers: { origin: 'https://any.example' } })).status).toBe(204);
    const denied = await h.request({ host: 'corsauth.example.com', headers: { origin: 'https://any.example' } });
    expect(denied.status).toBe(401);
    expect(denied.headers['access-control-allow-origin']).toBe('*');
  });

  test('cors-allow-origin left out: every origin, as `*`', async () => {
    const a = await h.request({ host: 'corsall.example.com' });
    expect(a.headers['access-control-allow-origin']).toBe('*');
    expect(a.headers['access-control-allow-credentials']).toBeUndefined();
  });

  test('redirects: permanent (code and variables), temporal wins over permanent, app-root only from /', async () => {
    const m = await h.request({ host: 'moved.example.com', path: '/x' });
    expect([m.status, m.headers.location]).toEqual([301, 'https://www.example.org/moved']);
    const p = await h.request({ host: 'moved308.example.com', path: '/a?b=1' });
    expect([p.status, p.headers.location]).toEqual([308, 'https://moved308.example.com/new/a?b=1']);
    const t = await h.request({ host: 'temp.example.com' });
    expect([t.status, t.headers.location]).toEqual([302, 'https://status.example.org/']);
    const r = await h.request({ host: 'approot.example.com', path: '/' });
    expect([r.status, r.headers.location]).toEqual([302, 'http://approot.example.com/app1']);
    expect((await h.request({ host: 'approot.example.com', path: '/other' })).status).toBe(200);
  });

  test('from-to-www-redirect: 308 from the other name, unless an Ingress serves it', async () => {
    const a = await h.request({ host: 'www.shop.example.com', path: '/cart?x=1' });
    expect([a.status, a.headers.location]).toEqual([308, 'http://shop.example.com/cart?x=1']);
    const b = await h.request({ host: 'blog.example.com', path: '/' });
    expect([b.status, b.headers.location]).toEqual([308, 'http://www.blog.example.com/']);
    expect((await h.request({ host: 'www.both.example.com' })).status).toBe(200);
    expect((await h.request({ host: 'shop.example.com' })).status).toBe(200);
  });

  test('bad values are errors, never a wider CORS than written', () => {
    const c = new Harness();
    c.ingress(annotated('badorigin', { 'enable-cors': 'true', 'cors-allow-origin': 'https://ok.example, not an origin' }));
    c.ingress(annotated('badmethods', { 'enable-cors': 'true', 'cors-allow-methods': 'GET, P0ST' }));
    c.ingress(annotated('badredirect', { 'permanent-redirect': 'ftp://files.example.org/' }));
    const out = c.apply();
    expect(out.diagnostics.filter((d) => d.reason === 'BadAnnotation').map((d) => d.ref.name).sort()).toEqual(['badmethods', 'badorigin', 'badredirect']);
    void c.stop();
  });
});

describe.skipIf(NGINX === undefined)(`the same in nginx${NGINX === undefined ? ' (skipped: needs nginx)' : ''}`, () => {
  let nginx: NginxPeer;
  let nginxPort = 0;

  beforeAll(async () => {
    const backend = `http://${LOOPBACK}:${h.echoes[0]!.port}`;
    const originRegex = ORIGINS.split(',').map((o) => `(${corsOriginPattern(o.trim())})`).join('|');
    const corsFields = (always: string) => `add_header 'Access-Control-Allow-Origin' $http_origin${always};
        add_header 'Access-Control-Allow-Credentials' 'true'${always};
        add_header 'Access-Control-Allow-Methods' '${DEFAULT_METHODS}'${always};
        add_header 'Access-Control-Allow-Headers' '${DEFAULT_HEADERS}'${always};
        add_header 'Access-Control-Expose-Headers' 'X-Total, X-Page'${always};
        add_header 'Access-Control-Max-Age' '600'${always};`;
    nginx = await startNginxPeer(
      (port) => `  server {
    listen ${LOOPBACK}:${port};
    server_name cors.example.com;
    location / {
      set $cors '';
      if ($http_origin ~* (${originRegex})$ ) { set $cors 'true'; }
      if ($request_method = 'OPTIONS') { set $cors \${cors}options; }
      if ($cors = "true") {
        ${corsFields(' always')}
      }
      if ($cors = "trueoptions") {
        ${corsFields(' always')}
        return 204;
      }
      proxy_pass ${backend};
    }
  }
  server {
    listen ${LOOPBACK}:${port};
    server_name moved.example.com;
    location / { return 301 https://www.example.org/moved; proxy_pass ${backend}; }
  }
  server {
    listen ${LOOPBACK}:${port};
    server_name moved308.example.com;
    location / { return 308 https://$host/new$request_uri; proxy_pass ${backend}; }
  }
  server {
    listen ${LOOPBACK}:${port};
    server_name www.shop.example.com;
    return 308 $scheme://shop.example.com$request_uri;
  }
  server {
    listen ${LOOPBACK}:${port};
    server_name approot.example.com;
    if ($uri = /) { return 302 $scheme://$http_host/app1; }
    location / { proxy_pass ${backend}; }
  }`,
    );
    nginxPort = nginx.port;
  }, 30_000);

  afterAll(() => nginx?.stop());

  const viaNginx = (host: string, path: string, method: string, headers: Record<string, string>) =>
    new Promise<{ status: number; headers: http.IncomingHttpHeaders }>((resolve, reject) => {
      const req = http.request({ host: LOOPBACK, port: nginxPort, path, method, headers: { host, ...headers }, agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
      });
      req.on('error', reject);
      req.end();
    });

  const cors = (r: { headers: http.IncomingHttpHeaders }) => Object.fromEntries(Object.entries(r.headers).filter(([k]) => k.startsWith('access-control-')));
  const cases: Array<[string, string, string, string, Record<string, string>]> = [
    ['listed origin', 'cors', '/', 'GET', { origin: 'https://app.example.com' }],
    ['listed origin, other case', 'cors', '/', 'GET', { origin: 'HTTPS://APP.EXAMPLE.COM' }],
    ['wildcard subdomain', 'cors', '/', 'GET', { origin: 'https://shop.example.org' }],
    ['two labels under the wildcard', 'cors', '/', 'GET', { origin: 'https://a.b.example.org' }],
    ['another origin', 'cors', '/', 'GET', { origin: 'https://evil.example' }],
    ['no origin', 'cors', '/', 'GET', {}],
    ['preflight', 'cors', '/', 'OPTIONS', { origin: 'https://app.example.com', 'access-control-request-method': 'PUT' }],
    ['preflight of another origin', 'cors', '/', 'OPTIONS', { origin: 'https://evil.example' }],
    ['permanent redirect', 'moved', '/x?y=1', 'GET', {}],
    ['permanent redirect with variables', 'moved308', '/a?b=1', 'POST', {}],
    ['app-root from /', 'approot', '/', 'GET', {}],
    ['app-root elsewhere', 'approot', '/other', 'GET', {}],
    ['from-to-www-redirect', 'www.shop', '/cart?x=1', 'POST', {}],
  ];

  test.each(cases)('%s: same status, Location and Access-Control fields as nginx', async (_name, host, path, method, headers) => {
    const ours = await h.request({ host: `${host}.example.com`, path, method, headers });
    const theirs = await viaNginx(`${host}.example.com`, path, method, headers);
    expect(ours.status).toBe(theirs.status);
    expect(ours.headers.location).toBe(theirs.headers.location);
    expect(cors(ours)).toEqual(cors(theirs));
  });
});
