// ingress-nginx's proxy-next-upstream, -tries and -timeout through the real
// L7 engine: a Service with one good endpoint beside one that answers 503,
// one that refuses connections, or one too slow to answer; which requests
// move on to the good one, as nginx's rules say.
import http from 'node:http';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Harness, ing } from './harness.ts';

const N = 'nginx.ingress.kubernetes.io/';
const h = new Harness();
const servers: http.Server[] = [];
const hits = { good: 0, bad: 0, slow: 0 };

async function serve(name: keyof typeof hits, status: number, delayMs = 0): Promise<number> {
  const s = http.createServer((req, res) => {
    req.resume();
    hits[name]++;
    setTimeout(() => {
      res.writeHead(status, { 'content-type': 'text/plain' });
      res.end(name);
    }, delayMs);
  });
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return (s.address() as net.AddressInfo).port;
}

/** A port nothing listens on (connections refused). */
async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

const annotated = (name: string, service: string, annotations: Record<string, string>) =>
  ing('ns', name, [{ host: `${name}.example.com`, paths: [{ service }] }], { annotations: Object.fromEntries(Object.entries(annotations).map(([k, v]) => [N + k, v])) });

beforeAll(async () => {
  await h.start();
  const good = await serve('good', 200);
  const bad = await serve('bad', 503);
  const slow = await serve('slow', 200, 1500);
  h.serviceAt('ns', 'flaky', [bad, good]);
  h.serviceAt('ns', 'dead', [await closedPort(), good]);
  h.serviceAt('ns', 'sluggish', [slow, good]);
  h.ingress(annotated('n503', 'flaky', { 'proxy-next-upstream': 'error timeout http_503' }));
  h.ingress(annotated('n503post', 'flaky', { 'proxy-next-upstream': 'error timeout http_503 non_idempotent' }));
  h.ingress(annotated('tries1', 'flaky', { 'proxy-next-upstream': 'http_503', 'proxy-next-upstream-tries': '1' }));
  h.ingress(annotated('plain', 'flaky', {}));
  h.ingress(annotated('off', 'dead', { 'proxy-next-upstream': 'off' }));
  h.ingress(annotated('deaddefault', 'dead', {}));
  h.ingress(annotated('timeout', 'sluggish', { 'proxy-next-upstream': 'timeout', 'proxy-read-timeout': '1' }));
  h.ingress(annotated('notimeout', 'sluggish', { 'proxy-next-upstream': 'error', 'proxy-read-timeout': '1' }));
  h.ingress(annotated('badtoken', 'flaky', { 'proxy-next-upstream': 'error http_418' }));
  const out = h.apply();
  expect(out.diagnostics.filter((d) => d.severity === 'error' && d.reason !== 'NotServed').map((d) => `${d.ref.name}:${d.reason}`)).toEqual(['badtoken:BadAnnotation']);
});

afterAll(async () => {
  await h.stop();
  for (const s of servers) {
    s.closeAllConnections();
    s.close();
  }
});

const statuses = async (host: string, n: number, method = 'GET'): Promise<number[]> => {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((await h.request({ host, path: `/${i}`, method })).status);
  return out;
};

describe('proxy-next-upstream', () => {
  test('http_503: a 503 moves on to the next endpoint; without the annotation it reaches the client', async () => {
    const before = hits.bad;
    expect(new Set(await statuses('n503.example.com', 10))).toEqual(new Set([200]));
    expect(hits.bad).toBeGreaterThan(before);
    expect(await statuses('plain.example.com', 10)).toContain(503);
  });

  test('a POST moves on only with non_idempotent', async () => {
    expect(await statuses('n503.example.com', 10, 'POST')).toContain(503);
    expect(new Set(await statuses('n503post.example.com', 10, 'POST'))).toEqual(new Set([200]));
  });

  test('tries 1: no second endpoint', async () => {
    expect(await statuses('tries1.example.com', 10)).toContain(503);
  });

  test('off: even a refused connection is not retried (by default it is)', async () => {
    expect(await statuses('off.example.com', 10)).toContain(502);
    expect(new Set(await statuses('deaddefault.example.com', 10))).toEqual(new Set([200]));
  });

  test('timeout: a read timeout moves on; without the token it answers 504', async () => {
    expect(new Set(await statuses('timeout.example.com', 4))).toEqual(new Set([200]));
    expect(await statuses('notimeout.example.com', 4)).toContain(504);
  }, 30_000);
});
