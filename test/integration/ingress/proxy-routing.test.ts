// Through the real L7 engine with echo backends on loopback: host rules
// (exact, wildcard, TLS by SNI), path rules (exact, prefix, mixed, trailing
// slash), default backend, 404, load spread over 10 endpoints, canary
// split and precedence.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Harness, ing, type Echo } from './harness.ts';

const h = new Harness({ random: Math.random });
let spread: Echo[];
const N = 'nginx.ingress.kubernetes.io/';

beforeAll(async () => {
  await h.start();
  for (const s of ['exact', 'wild', 'anyhost', 'pexact', 'pprefix', 'proot', 'pslash', 'fallback', 'secure', 'main', 'canary', 'hdr']) await h.service('ns', s);
  spread = await h.service('ns', 'spread', 10);
  h.tlsSecret('ns', 'secure-tls', ['secure.example.com']);
  h.ingress(ing('ns', 'hosts', [{ host: 'foo.example.com', paths: [{ service: 'exact' }] }, { host: '*.example.com', paths: [{ service: 'wild' }] }, { paths: [{ path: '/anyhost', service: 'anyhost' }] }]));
  h.ingress(
    ing('ns', 'paths', [
      {
        host: 'paths.example.com',
        paths: [
          { path: '/', pathType: 'Prefix', service: 'proot' },
          { path: '/foo', pathType: 'Exact', service: 'pexact' },
          { path: '/foo', pathType: 'Prefix', service: 'pprefix' },
          { path: '/dir/', pathType: 'Prefix', service: 'pslash' },
        ],
      },
    ]),
  );
  h.ingress(ing('ns', 'fallback', [], { defaultBackend: { service: 'fallback' } }));
  h.ingress(ing('ns', 'tls', [{ host: 'secure.example.com', paths: [{ service: 'secure' }] }], { tls: [{ hosts: ['secure.example.com'], secretName: 'secure-tls' }] }));
  h.ingress(ing('ns', 'spread', [{ host: 'spread.example.com', paths: [{ service: 'spread' }] }]));
  h.ingress(ing('ns', 'main', [{ host: 'canary.example.com', paths: [{ service: 'main' }] }]));
  h.ingress(
    ing('ns', 'canary', [{ host: 'canary.example.com', paths: [{ service: 'canary' }] }], {
      annotations: { [`${N}canary`]: 'true', [`${N}canary-weight`]: '20', [`${N}canary-by-header`]: 'x-canary', [`${N}canary-by-cookie`]: 'canary' },
      created: '2026-02-01T00:00:00Z',
    }),
  );
  h.ingress(ing('ns', 'main-h', [{ host: 'hdr.example.com', paths: [{ service: 'main' }] }]));
  h.ingress(
    ing('ns', 'canary-h', [{ host: 'hdr.example.com', paths: [{ service: 'hdr' }] }], {
      annotations: { [`${N}canary`]: 'true', [`${N}canary-by-header`]: 'x-version', [`${N}canary-by-header-pattern`]: '^v2(\\.[0-9]+)?$' },
      created: '2026-02-01T00:00:00Z',
    }),
  );
  const out = h.apply();
  expect(out.diagnostics.filter((d) => d.severity !== 'info')).toEqual([]);
});

afterAll(async () => {
  await h.stop();
});

async function served(host: string, path = '/', more: { tls?: boolean; headers?: Record<string, string> } = {}): Promise<string> {
  const a = await h.request({ host, path, ...more });
  return a.status === 200 ? (a.json?.name ?? '?') : String(a.status);
}

describe('host rules', () => {
  test.each([
    ['foo.example.com', 'exact'],
    ['FOO.Example.com:8080', 'exact'],
    ['bar.example.com', 'wild'],
    ['a.bar.example.com', 'fallback'],
    ['example.com', 'fallback'],
  ])('%s -> %s', async (host, want) => {
    expect(await served(host)).toBe(want);
  });
  test('a host-less rule serves any host', async () => {
    expect(await served('whatever.test', '/anyhost/x')).toBe('anyhost');
  });
  test('TLS by SNI: the Secret of the host, HTTP on the web side redirected (308)', async () => {
    expect(await served('secure.example.com', '/', { tls: true })).toBe('secure');
    const plain = await h.request({ host: 'secure.example.com', path: '/x?y=1' });
    expect(plain.status).toBe(308);
    expect(plain.headers.location).toBe('https://secure.example.com/x?y=1');
  });
});

describe('path rules', () => {
  test.each([
    ['/foo', 'pexact'],
    ['/foo/', 'pprefix'],
    ['/foo/bar', 'pprefix'],
    ['/foobar', 'proot'],
    ['/dir', 'pslash'],
    ['/dir/', 'pslash'],
    ['/dir/x', 'pslash'],
    ['/dirx', 'proot'],
    ['/', 'proot'],
  ])('%s -> %s', async (path, want) => {
    expect(await served('paths.example.com', path)).toBe(want);
  });
});

describe('default backend and 404', () => {
  test('no match goes to the default backend', async () => {
    expect(await served('nothing.test', '/zzz')).toBe('fallback');
  });
  test('without a default backend the engine answers 404', async () => {
    const solo = new Harness();
    await solo.start();
    await solo.service('ns', 'a');
    solo.ingress(ing('ns', 'a', [{ host: 'a.example.com', paths: [{ path: '/a', service: 'a' }] }]));
    solo.apply();
    expect((await solo.request({ host: 'a.example.com', path: '/b' })).status).toBe(404);
    expect((await solo.request({ host: 'b.example.com', path: '/a' })).status).toBe(404);
    expect((await solo.request({ host: 'a.example.com', path: '/a' })).status).toBe(200);
    await solo.stop();
  });
});

describe('load spread over 10 endpoints', () => {
  test('every endpoint answers, Host kept, path not rewritten, Content-Length kept', async () => {
    const counts = new Map<string, number>();
    for (let i = 0; i < 200; i++) {
      const body = 'x'.repeat(i + 1);
      const a = await h.request({ host: 'spread.example.com', path: `/p/${i}?q=${i}`, method: 'POST', body });
      expect(a.status).toBe(200);
      expect(a.json!.host).toBe('spread.example.com');
      expect(a.json!.url).toBe(`/p/${i}?q=${i}`);
      expect(a.json!.headers['content-length']).toBe(String(body.length));
      expect(a.json!.bodyBytes).toBe(body.length);
      counts.set(a.json!.name, (counts.get(a.json!.name) ?? 0) + 1);
    }
    expect(counts.size).toBe(10);
    for (const e of spread) expect(counts.get(e.name)).toBe(20); // round robin
  });
});

describe('canary', () => {
  test('weight 20 over 2,000 requests lands within 5% of 20%', async () => {
    let canary = 0;
    const total = 2000;
    const batch = 50;
    for (let i = 0; i < total; i += batch) {
      const answers = await Promise.all(Array.from({ length: batch }, () => h.request({ host: 'canary.example.com' })));
      for (const a of answers) if (a.json?.name === 'canary') canary++;
    }
    const share = canary / total;
    expect(Math.abs(share - 0.2)).toBeLessThan(0.05);
  });
  test('header beats cookie beats weight', async () => {
    expect(await served('canary.example.com', '/', { headers: { 'x-canary': 'always' } })).toBe('canary');
    expect(await served('canary.example.com', '/', { headers: { 'x-canary': 'never', cookie: 'canary=always' } })).toBe('main');
    expect(await served('canary.example.com', '/', { headers: { 'x-canary': 'always', cookie: 'canary=never' } })).toBe('canary');
    for (let i = 0; i < 20; i++) expect(await served('canary.example.com', '/', { headers: { cookie: 'canary=never' } })).toBe('main');
    for (let i = 0; i < 20; i++) expect(await served('canary.example.com', '/', { headers: { cookie: 'a=b; canary=always' } })).toBe('canary');
  });
  test('Flagger nginx series: requests by the main Ingress, canary traffic labelled', async () => {
    const text = await h.registry.metrics();
    expect(text).toMatch(/nginx_ingress_controller_requests\{namespace="ns",ingress="main",service="canary",status="200",method="GET",canary="ns-canary-80"\} [0-9]+/);
    expect(text).toMatch(/nginx_ingress_controller_requests\{namespace="ns",ingress="main",service="main",status="200",method="GET",canary=""\} [0-9]+/);
    expect(text).toMatch(/nginx_ingress_controller_ingress_upstream_latency_seconds_count\{namespace="ns",ingress="main",service="main"\} [0-9]+/);
    expect(text).toMatch(/traefik_service_requests_total\{service="ns-main-80@kubernetes",code="200"/);
  });
  test('header pattern', async () => {
    expect(await served('hdr.example.com', '/', { headers: { 'x-version': 'v2.1' } })).toBe('hdr');
    expect(await served('hdr.example.com', '/', { headers: { 'x-version': 'v3' } })).toBe('main');
    expect(await served('hdr.example.com')).toBe('main');
  });
});
