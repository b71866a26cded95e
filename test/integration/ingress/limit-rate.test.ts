// ingress-nginx limit-rate / limit-rate-after through the real L7 engine,
// side by side with Debian's nginx given the same location (limit_rate,
// limit_rate_after, proxy_buffering as ingress-nginx writes them): a
// 230 KiB answer at 50 KiB/s takes 3-4 s in both, the first 100 KiB free
// make it 2 s shorter, and without proxy-buffering: "on" neither
// paces it (nginx's limit_rate leaves an unbuffered proxied response alone).
// Times are bounded loosely: the pace, not the machine, is what is checked.
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { NGINX, startNginxPeer, type NginxPeer } from '../../support/nginx-peer.ts';
import { Harness, ing, startEcho, type Echo } from './harness.ts';

const N = 'nginx.ingress.kubernetes.io/';
const LOOPBACK = '127.0.0.1';
// Not a whole number of seconds' worth: nginx counts the head's bytes too, and its clock has whole seconds.
const BODY = 'a'.repeat(230 * 1024);
const h = new Harness();
let big: Echo;

beforeAll(async () => {
  await h.start();
  big = await startEcho('big', { body: BODY, contentType: 'text/plain' });
  h.echoes.push(big);
  h.serviceAt('ns', 'big', big.port);
  const annotated = (name: string, annotations: Record<string, string>) =>
    ing('ns', name, [{ host: `${name}.example.com`, paths: [{ service: 'big' }] }], { annotations: Object.fromEntries(Object.entries(annotations).map(([k, v]) => [N + k, v])) });
  h.ingress(annotated('paced', { 'limit-rate': '50', 'proxy-buffering': 'on' }));
  h.ingress(annotated('after', { 'limit-rate': '50', 'limit-rate-after': '100', 'proxy-buffering': 'on' }));
  h.ingress(annotated('unbuffered', { 'limit-rate': '50' }));
  const out = h.apply();
  expect(out.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  expect(out.diagnostics.filter((d) => d.ref.name === 'unbuffered').map((d) => d.message)).toContain(
    `${N}limit-rate has no effect without ${N}proxy-buffering: "on", as in ingress-nginx (nginx does not pace an unbuffered proxied response)`,
  );
});

afterAll(async () => {
  await h.stop();
});

/** Seconds until the whole body arrived, and its size. */
async function timed(get: () => Promise<{ status: number; body: string }>): Promise<{ s: number; bytes: number }> {
  const t0 = performance.now();
  const a = await get();
  expect(a.status).toBe(200);
  return { s: (performance.now() - t0) / 1000, bytes: a.body.length };
}

describe('limit-rate through the proxy', () => {
  test('50 KiB/s: 230 KiB in 3-4 s; 100 KiB free first: 2 s less; unbuffered: not paced', async () => {
    const paced = await timed(() => h.request({ host: 'paced.example.com' }));
    const after = await timed(() => h.request({ host: 'after.example.com' }));
    const fast = await timed(() => h.request({ host: 'unbuffered.example.com' }));
    expect(paced.bytes).toBe(BODY.length);
    expect(paced.s).toBeGreaterThan(2.5);
    expect(paced.s).toBeLessThan(8);
    expect(after.s).toBeGreaterThan(0.9);
    expect(after.s).toBeLessThan(paced.s);
    expect(fast.s).toBeLessThan(1.5);
  }, 30_000);
});

describe.skipIf(NGINX === undefined)(`the same locations in nginx${NGINX === undefined ? ' (skipped: needs nginx)' : ''}`, () => {
  let nginx: NginxPeer;
  beforeAll(async () => {
    const loc = (name: string, lines: string) => `  server {
    listen ${LOOPBACK}:PORT;
    server_name ${name}.example.com;
    location / { ${lines} proxy_pass http://${LOOPBACK}:${big.port}; }
  }`;
    nginx = await startNginxPeer((port) =>
      [loc('paced', 'proxy_buffering on; limit_rate 50k;'), loc('after', 'proxy_buffering on; limit_rate 50k; limit_rate_after 100k;'), loc('unbuffered', 'proxy_buffering off; limit_rate 50k;')]
        .join('\n')
        .replaceAll('PORT', String(port)),
    );
  }, 30_000);
  afterAll(() => nginx?.stop());

  const viaNginx = (host: string) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const r = http.get({ host: LOOPBACK, port: nginx.port, path: '/', headers: { host }, agent: false }, (res) => {
        let body = '';
        res.setEncoding('latin1');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      r.on('error', reject);
    });

  test('nginx: the same three behaviours, in the same bounds', async () => {
    const paced = await timed(() => viaNginx('paced.example.com'));
    const after = await timed(() => viaNginx('after.example.com'));
    const fast = await timed(() => viaNginx('unbuffered.example.com'));
    expect(paced.s).toBeGreaterThan(2.5);
    expect(paced.s).toBeLessThan(8);
    expect(after.s).toBeGreaterThan(0.9);
    expect(after.s).toBeLessThan(paced.s);
    expect(fast.s).toBeLessThan(1.5);
  }, 30_000);
});
