// ingress-nginx's upstream-hash-by and load-balance: ewma through the real
// L7 engine, against echo backends: what each request's key decides, and
// where a slow endpoint's share goes.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Harness, ing, startEcho, type Echo } from './harness.ts';

const N = 'nginx.ingress.kubernetes.io/';
const h = new Harness();
const annotated = (name: string, service: string, annotations: Record<string, string>) =>
  ing('ns', name, [{ host: `${name}.example.com`, paths: [{ service }] }], { annotations: Object.fromEntries(Object.entries(annotations).map(([k, v]) => [N + k, v])) });
let fast: Echo;
let slow: Echo;

beforeAll(async () => {
  await h.start();
  await h.service('ns', 'app', 4);
  await h.service('ns', 'six', 6);
  fast = await startEcho('fast');
  slow = await startEcho('slow', { delayMs: 200 });
  h.echoes.push(fast, slow);
  h.serviceAt('ns', 'mixed', [fast.port, slow.port]);
  h.ingress(annotated('byuri', 'app', { 'upstream-hash-by': '$request_uri' }));
  h.ingress(annotated('byuser', 'app', { 'upstream-hash-by': '$http_x_user$cookie_tenant' }));
  h.ingress(annotated('sticky', 'app', { 'upstream-hash-by': '$request_uri', affinity: 'cookie', 'session-cookie-name': 'route' }));
  h.ingress(annotated('subset', 'six', { 'upstream-hash-by': '$request_uri', 'upstream-hash-by-subset': 'true' }));
  h.ingress(annotated('subset2', 'six', { 'upstream-hash-by': '$request_uri', 'upstream-hash-by-subset': 'true', 'upstream-hash-by-subset-size': '2' }));
  h.ingress(annotated('ewma', 'mixed', { 'load-balance': 'ewma' }));
  h.ingress(annotated('rr', 'mixed', {}));
  h.ingress(annotated('badhash', 'app', { 'upstream-hash-by': 'request_uri' }));
  h.ingress(annotated('badlb', 'app', { 'load-balance': 'least_conn' }));
  const out = h.apply();
  expect(out.diagnostics.filter((d) => d.severity === 'error' && d.reason !== 'NotServed').map((d) => `${d.ref.name}:${d.reason}`).sort()).toEqual(['badhash:BadAnnotation', 'badlb:BadAnnotation']);
});

afterAll(async () => {
  await h.stop();
});

const servedBy = async (host: string, path = '/', headers: Record<string, string> = {}) => (await h.request({ host, path, headers })).json!.name;

describe('upstream-hash-by', () => {
  test('the same request URI always reaches the same endpoint; many URIs reach them all', async () => {
    for (const path of ['/a', '/b?x=1', '/c/d']) {
      const first = await servedBy('byuri.example.com', path);
      for (let i = 0; i < 10; i++) expect(await servedBy('byuri.example.com', path)).toBe(first);
    }
    const seen = new Set<string>();
    for (let i = 0; i < 80; i++) seen.add(await servedBy('byuri.example.com', `/item/${i}`));
    expect(seen.size).toBe(4);
  });

  test('a header and a cookie make the key', async () => {
    const one = await servedBy('byuser.example.com', '/x', { 'x-user': 'u17', cookie: 'tenant=t3' });
    for (let i = 0; i < 10; i++) expect(await servedBy('byuser.example.com', `/other/${i}`, { 'x-user': 'u17', cookie: 'a=b; tenant=t3' })).toBe(one);
  });

  test('upstream-hash-by-subset: one URI spreads over a subset of 3 (the default size) or the size given; the subsets cover every endpoint', async () => {
    for (const [host, size] of [['subset.example.com', 3], ['subset2.example.com', 2]] as const) {
      const all = new Set<string>();
      for (const path of ['/a', '/b', '/c', '/d']) {
        const seen = new Set<string>();
        for (let i = 0; i < 40; i++) seen.add(await servedBy(host, path));
        expect(seen.size).toBe(size);
        for (const n of seen) all.add(n);
      }
      for (let i = 0; i < 60; i++) all.add(await servedBy(host, `/more/${i}`));
      expect(all.size).toBe(6);
    }
  });

  test('a sticky cookie wins over the hash, as ingress-nginx', async () => {
    const first = await h.request({ host: 'sticky.example.com', path: '/p' });
    const cookie = (first.headers['set-cookie'] as string[])[0]!.split(';')[0]!;
    const pinned = first.json!.name;
    const others = new Set<string>();
    for (let i = 0; i < 40; i++) others.add(await servedBy('sticky.example.com', `/q/${i}`, { cookie }));
    expect([...others]).toEqual([pinned]);
  });
});

describe('load-balance: ewma', () => {
  test('a slow endpoint gets few requests; round robin gives it half', async () => {
    const before = slow.hits;
    for (let i = 0; i < 30; i++) await servedBy('ewma.example.com', `/${i}`);
    expect(slow.hits - before).toBeLessThanOrEqual(3);
    const rrBefore = slow.hits;
    for (let i = 0; i < 10; i++) await servedBy('rr.example.com', `/${i}`);
    expect(slow.hits - rrBefore).toBe(5);
  });
});
