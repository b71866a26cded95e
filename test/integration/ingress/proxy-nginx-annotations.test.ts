// Each supported ingress-nginx annotation through the real L7 engine.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createSelfSignedCertificate } from '../../../src/proxy/http/self-signed.ts';
import { Harness, ing } from './harness.ts';
import type { IngressRouter } from '../../../src/ingress/runtime/router.ts';

const N = 'nginx.ingress.kubernetes.io/';
const h = new Harness();

function annotated(name: string, host: string, service: string, annotations: Record<string, string>, path = '/', pathType: 'Prefix' | 'ImplementationSpecific' = 'Prefix') {
  return ing('ns', name, [{ host, paths: [{ path, pathType, service }] }], { annotations: Object.fromEntries(Object.entries(annotations).map(([k, v]) => [N + k, v])) });
}

beforeAll(async () => {
  await h.start();
  await h.service('ns', 'app', 3);
  await h.service('ns', 'slow', 1, { delayMs: 1500 });
  await h.service('ns', 'tlsapp', 1, { tls: createSelfSignedCertificate({ names: ['pod.local'] }) });
  h.tlsSecret('ns', 'r-tls', ['redirect.example.com']);
  h.ingress(ing('ns', 'redirect', [{ host: 'redirect.example.com', paths: [{ service: 'app' }] }], { tls: [{ hosts: ['redirect.example.com'], secretName: 'r-tls' }] }));
  h.ingress(
    ing('ns', 'no-redirect', [{ host: 'noredirect.example.com', paths: [{ service: 'app' }] }], {
      tls: [{ hosts: ['noredirect.example.com'], secretName: 'r-tls' }],
      annotations: { [`${N}ssl-redirect`]: 'false' },
    }),
  );
  h.ingress(annotated('force', 'force.example.com', 'app', { 'force-ssl-redirect': 'true' }));
  h.ingress(annotated('rewrite', 'rewrite.example.com', 'app', { 'rewrite-target': '/$2' }, '/something(/|$)(.*)', 'ImplementationSpecific'));
  h.ingress(annotated('regex', 'regex.example.com', 'app', { 'use-regex': 'true' }, '/v[0-9]+/items', 'ImplementationSpecific'));
  h.ingress(annotated('allow', 'allow.example.com', 'app', { 'whitelist-source-range': '127.0.0.0/8' }));
  h.ingress(annotated('deny', 'deny.example.com', 'app', { 'whitelist-source-range': '198.18.0.0/15, 2001:db8::/32' }));
  h.ingress(annotated('body', 'body.example.com', 'app', { 'proxy-body-size': '1k' }));
  h.ingress(annotated('https', 'https.example.com', 'tlsapp', { 'backend-protocol': 'HTTPS' }));
  h.ingress(annotated('sticky', 'sticky.example.com', 'app', { affinity: 'cookie', 'session-cookie-name': 'route', 'session-cookie-max-age': '60' }));
  h.ingress(annotated('samesite', 'samesite.example.com', 'app', { affinity: 'cookie', 'session-cookie-samesite': 'None', 'session-cookie-conditional-samesite-none': 'true' }));
  h.ingress(annotated('timeout', 'timeout.example.com', 'slow', { 'proxy-read-timeout': '1' }));
  h.ingress(annotated('connect', 'connect.example.com', 'app', { 'proxy-connect-timeout': '2', 'proxy-send-timeout': '2' }));
  h.ingress(annotated('limit', 'limit.example.com', 'app', { 'limit-rps': '1', 'limit-burst-multiplier': '2' }));
  h.ingress(annotated('denied', 'denied.example.com', 'app', { 'denylist-source-range': '127.0.0.0/8', 'whitelist-source-range': '127.0.0.0/8' }));
  h.ingress(annotated('notdenied', 'notdenied.example.com', 'app', { 'denylist-source-range': '198.18.0.0/15' }));
  h.ingress(annotated('rpm', 'rpm.example.com', 'app', { 'limit-rpm': '1', 'limit-burst-multiplier': '1' }));
  h.ingress(annotated('rpmexempt', 'rpmexempt.example.com', 'app', { 'limit-rpm': '1', 'limit-burst-multiplier': '1', 'limit-whitelist': '127.0.0.1/32' }));
  h.ingress(annotated('conns', 'conns.example.com', 'slow', { 'limit-connections': '1' }));
  // global-rate-limit: one count for every path of the Ingress, keyed here by a request header.
  const globalLimit = { 'global-rate-limit': '4', 'global-rate-limit-window': '1h', 'global-rate-limit-key': '$http_x_api_client' };
  h.ingress(ing('ns', 'global', [{ host: 'global.example.com', paths: [{ path: '/a', service: 'app' }, { path: '/b', service: 'app' }] }], { annotations: Object.fromEntries(Object.entries(globalLimit).map(([k, v]) => [N + k, v])) }));
  h.ingress(annotated('globalexempt', 'globalexempt.example.com', 'app', { ...globalLimit, 'global-rate-limit-ignored-cidrs': '127.0.0.0/8' }));
  // service-upstream: the Service's cluster IP and port (here the loopback and the echo's port stand for them).
  const viaCluster = await h.service('ns', 'clustered', 1);
  h.compiler.setService({ metadata: { namespace: 'ns', name: 'clustered', resourceVersion: 'ci' }, spec: { clusterIP: '127.0.0.1', ports: [{ name: 'http', port: viaCluster[0]!.port, protocol: 'TCP' }] } });
  // Its endpoints are another server: reaching it would mean the annotation was ignored.
  const decoy = h.echoes.find((e) => e.name === 'app-0')!;
  h.backends.get(`ns/clustered:http`)!.setEndpoints([{ ip: '127.0.0.1', port: decoy.port, ready: true, serving: true, terminating: false }]);
  h.ingress(ing('ns', 'upstream', [{ host: 'upstream.example.com', paths: [{ service: 'clustered', port: viaCluster[0]!.port }] }], { annotations: { [`${N}service-upstream`]: 'true' } }));
  h.ingress(annotated('vhost', 'vhost.example.com', 'app', { 'upstream-vhost': 'internal.example.local:8080', 'x-forwarded-prefix': '/shop' }));
  h.ingress(annotated('unsupported', 'unsupported.example.com', 'app', { 'enable-opentelemetry': 'true' }));
  h.ingress(annotated('snippet', 'snippet.example.com', 'app', { 'configuration-snippet': 'deny all;' }));
  const out = h.apply();
  // Fail closed: the snippet may hold access rules, so that Ingress alone is withheld.
  expect(out.diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.ref.name}:${d.reason}`)).toEqual(['snippet:UnsupportedSecurityAnnotation', 'snippet:NotServed']);
  expect(out.diagnostics.filter((d) => d.reason === 'UnsupportedAnnotation').map((d) => d.ref.name)).toEqual(['unsupported']);
});

afterAll(async () => {
  await h.stop();
});

describe('ingress-nginx annotations through the proxy', () => {
  test('an Ingress with a snippet is not served; one with a benign unsupported annotation is', async () => {
    expect((await h.request({ host: 'snippet.example.com', path: '/' })).status).toBe(404);
    expect((await h.request({ host: 'unsupported.example.com', path: '/' })).status).toBe(200);
  });

  test('ssl-redirect: TLS hosts redirect HTTP with 308; ssl-redirect: "false" serves HTTP', async () => {
    const a = await h.request({ host: 'redirect.example.com', path: '/a?b=c', method: 'POST', body: 'x' });
    expect(a.status).toBe(308);
    expect(a.headers.location).toBe('https://redirect.example.com/a?b=c');
    expect((await h.request({ host: 'redirect.example.com', tls: true })).status).toBe(200);
    expect((await h.request({ host: 'noredirect.example.com' })).status).toBe(200);
  });
  test('force-ssl-redirect redirects without TLS on the Ingress', async () => {
    const a = await h.request({ host: 'force.example.com', path: '/p' });
    expect(a.status).toBe(308);
    expect(a.headers.location).toBe('https://force.example.com/p');
  });
  test('rewrite-target with capture groups (case-insensitive regex path)', async () => {
    expect((await h.request({ host: 'rewrite.example.com', path: '/something/new/x?q=1' })).json!.url).toBe('/new/x?q=1');
    expect((await h.request({ host: 'rewrite.example.com', path: '/SOMETHING' })).json!.url).toBe('/');
    expect((await h.request({ host: 'rewrite.example.com', path: '/other' })).status).toBe(404);
  });
  test('use-regex paths', async () => {
    expect((await h.request({ host: 'regex.example.com', path: '/v2/items/9' })).json!.url).toBe('/v2/items/9');
    expect((await h.request({ host: 'regex.example.com', path: '/vx/items' })).status).toBe(404);
  });
  test('whitelist-source-range: 403 outside the ranges', async () => {
    expect((await h.request({ host: 'allow.example.com' })).status).toBe(200);
    const d = await h.request({ host: 'deny.example.com' });
    expect(d.status).toBe(403);
  });
  test('proxy-body-size: 413 above the limit', async () => {
    expect((await h.request({ host: 'body.example.com', method: 'POST', body: 'x'.repeat(1024) })).status).toBe(200);
    expect((await h.request({ host: 'body.example.com', method: 'POST', body: 'x'.repeat(1025) })).status).toBe(413);
  });
  test('backend-protocol: HTTPS talks TLS to the pod', async () => {
    const a = await h.request({ host: 'https.example.com', path: '/tls' });
    expect(a.status).toBe(200);
    expect(a.json!.name).toBe('tlsapp');
  });
  test('affinity: cookie pins a client to the endpoint that answered', async () => {
    const first = await h.request({ host: 'sticky.example.com' });
    const setCookie = first.headers['set-cookie']?.[0] ?? '';
    expect(setCookie).toMatch(/^route=[0-9a-f]+; Path=\/; Max-Age=60; HttpOnly$/);
    const cookie = setCookie.split(';')[0]!;
    for (let i = 0; i < 10; i++) {
      const a = await h.request({ host: 'sticky.example.com', headers: { cookie } });
      expect(a.json!.name).toBe(first.json!.name);
      expect(a.headers['set-cookie']).toBeUndefined();
    }
  });
  test('session-cookie-conditional-samesite-none: SameSite=None left out for the browsers that drop such a cookie', async () => {
    const cookieFor = async (ua: string | undefined) => (await h.request({ host: 'samesite.example.com', ...(ua ? { headers: { 'user-agent': ua } } : {}) })).headers['set-cookie']?.[0] ?? '';
    const chrome66 = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/66.0.3359.181 Safari/537.36';
    const chrome120 = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36';
    const ios12 = 'Mozilla/5.0 (iPhone; CPU iPhone OS 12_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/12.0 Mobile/15E148 Safari/604.1';
    expect(await cookieFor(chrome66)).toMatch(/^INGRESSCOOKIE=[0-9a-f]+; Path=\/; HttpOnly$/);
    expect(await cookieFor(ios12)).not.toContain('SameSite');
    expect(await cookieFor(chrome120)).toMatch(/; SameSite=None$/);
    expect(await cookieFor(undefined)).toMatch(/; SameSite=None$/);
  });
  test('proxy-read-timeout: 504 when the upstream is slower', async () => {
    const a = await h.request({ host: 'timeout.example.com' });
    expect(a.status).toBe(504);
  });
  test('proxy-connect/send-timeout reach the backend settings', async () => {
    const result = h.router!.route({ host: 'connect.example.com', path: '/', method: 'GET', headers: {}, query: '', clientIp: '127.0.0.1', tls: true, localPort: 443 } as Parameters<IngressRouter['route']>[0]);
    expect(result?.backend?.timeouts).toEqual({ connectMs: 2000, sendMs: 2000 });
    expect((await h.request({ host: 'connect.example.com' })).status).toBe(200);
  });
  test('service-upstream: the request goes to the cluster IP and port, not to the endpoints', async () => {
    const a = await h.request({ host: 'upstream.example.com' });
    expect(a.status).toBe(200);
    expect(a.json!.name).toBe('clustered');
  });
  test('upstream-vhost sets the Host sent upstream; x-forwarded-prefix the X-Forwarded-Prefix', async () => {
    const a = await h.request({ host: 'vhost.example.com', headers: { 'x-forwarded-prefix': '/forged' } });
    expect(a.json!.host).toBe('internal.example.local:8080');
    expect(a.json!.headers['x-forwarded-prefix']).toBe('/shop');
  });
  test('denylist-source-range: 403 inside the ranges, even when the allow-list has them', async () => {
    expect((await h.request({ host: 'denied.example.com' })).status).toBe(403);
    expect((await h.request({ host: 'notdenied.example.com' })).status).toBe(200);
  });
  test('limit-rpm: above rpm x multiplier, 503; limit-whitelist exempts its clients', async () => {
    expect((await h.request({ host: 'rpm.example.com' })).status).toBe(200);
    expect((await h.request({ host: 'rpm.example.com' })).status).toBe(503);
    for (let i = 0; i < 3; i++) expect((await h.request({ host: 'rpmexempt.example.com' })).status).toBe(200);
  });
  test('limit-connections: a second request in progress from the same client gets 503', async () => {
    const [a, b] = await Promise.all([h.request({ host: 'conns.example.com' }), new Promise((r) => setTimeout(r, 200)).then(() => h.request({ host: 'conns.example.com' }))]);
    expect([a.status, b.status]).toEqual([200, 503]);
  });
  test('global-rate-limit: one count per key over every path of the Ingress; over it 429; another key counts apart; ignored CIDRs are never counted', async () => {
    const get = async (path: string, client: string, host = 'global.example.com') => (await h.request({ host, path, headers: { 'x-api-client': client } })).status;
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) statuses.push(await get(i % 2 === 0 ? '/a' : '/b', 'alpha'));
    // lua-resty-global-throttle's estimate carries this window's rate to its end: early in a 1 h
    // window about half the limit passes; never more than the limit, and once refused, refused.
    const passed = statuses.filter((x) => x === 200).length;
    expect(passed).toBeGreaterThanOrEqual(1);
    expect(passed).toBeLessThanOrEqual(4);
    expect(statuses).toEqual([...Array<number>(passed).fill(200), ...Array<number>(10 - passed).fill(429)]);
    expect(await get('/a', 'beta')).toBe(200);
    for (let i = 0; i < 10; i++) expect(await get('/', 'alpha', 'globalexempt.example.com')).toBe(200);
  });
  test('limit-rps: bursts above rps x multiplier get 503', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await h.request({ host: 'limit.example.com' })).status);
    expect(statuses.slice(0, 2)).toEqual([200, 200]);
    expect(statuses).toContain(503);
  });
});
