// ingress-nginx's upstream annotations on a real API server, through the
// proxy and the rule engine as the speaker runs them: custom-http-errors
// with default-backend (and a Service without endpoints), upstream-hash-by,
// proxy-next-upstream, cookie affinity, upstream-vhost, x-forwarded-prefix,
// denylist-source-range, temporal-redirect. Each Service's pods are small servers on addresses
// of the test range; the Ingresses are applied with kubectl's API.
import http from 'node:http';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { eventsFor, useCluster, waitFor } from '../helpers/cluster.ts';
import { portBase, vipRequest, writeSlice } from '../proxy/k8s-helpers.ts';
import { startApiIngress, type ApiIngress } from './api-ingress.ts';

const cluster = useCluster();
const NS = 'upstreams';
const VIP = '127.77.8.1';
const BASE = portBase();
const N = 'nginx.ingress.kubernetes.io/';

async function get(host: string, path = '/'): Promise<{ status: number; body: string }> {
  const { status, body } = await vipRequest(VIP, host, path);
  return { status, body };
}

describe('ingress-nginx upstream annotations on a real API server', () => {
  let ing: ApiIngress;
  const pageCodes: string[] = [];

  /** A pod: `answer` for each request, listening on the test address `ip`. */
  async function pod(ip: string, port: number, answer: (req: http.IncomingMessage) => [number, string]): Promise<void> {
    await ing.pod(ip, port, (req, res) => {
      req.resume();
      const [status, body] = answer(req);
      res.writeHead(status, { 'content-type': 'text/plain' });
      res.end(body);
    });
  }

  beforeAll(async () => {
    const { kc, core } = cluster();
    const networking = kc.makeApiClient(k8s.NetworkingV1Api);
    const discovery = kc.makeApiClient(k8s.DiscoveryV1Api);
    ing = await startApiIngress(kc, core, { namespace: NS, vip: VIP, classes: { className: 'nginx' } });
    // app: /status/<code> answers that code; three pods name themselves.
    const app = ['198.18.10.1', '198.18.10.2', '198.18.10.3'];
    for (const ip of app) await pod(ip, BASE + 1, (req) => [Number(/^\/status\/([0-9]{3})/.exec(req.url ?? '')?.[1] ?? 200), ip]);
    await pod('198.18.10.9', BASE + 1, (req) => {
      pageCodes.push(String(req.headers['x-code'] ?? ''));
      return [Number(req.headers['x-code'] ?? 200), `error page ${req.headers['x-code'] ?? 'none'} from ${req.headers['x-ingress-name'] ?? '?'}`];
    });
    // echo: what the pod was sent, as JSON.
    await pod('198.18.10.6', BASE + 1, (req) => [200, JSON.stringify({ host: req.headers.host, prefix: req.headers['x-forwarded-prefix'], url: req.url })]);
    // flaky: one pod always 503, one fine.
    await pod('198.18.10.4', BASE + 1, () => [503, 'busy']);
    await pod('198.18.10.5', BASE + 1, () => [200, 'fine']);
    const svc = async (name: string, ips: string[]) => {
      await core.createNamespacedService({ namespace: NS, body: { metadata: { name, namespace: NS }, spec: { ports: [{ name: 'http', port: 80 }] } } });
      if (ips.length > 0) await writeSlice(discovery, NS, name, `${name}-1`, [{ name: 'http', port: BASE + 1 }], ips.map((ip) => ({ ip })));
    };
    await svc('app', app);
    await svc('error-pages', ['198.18.10.9']);
    await svc('flaky', ['198.18.10.4', '198.18.10.5']);
    await svc('nothing', []);
    await svc('echo', ['198.18.10.6']);
    const ingress = (name: string, service: string, annotations: Record<string, string>): k8s.V1Ingress => ({
      metadata: { name, namespace: NS, annotations: Object.fromEntries(Object.entries(annotations).map(([k, v]) => [N + k, v])) },
      spec: { ingressClassName: 'nginx', rules: [{ host: `${name}.example.com`, http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: service, port: { number: 80 } } } }] } }] },
    });
    for (const body of [
      ingress('errors', 'app', { 'custom-http-errors': '404,503', 'default-backend': 'error-pages' }),
      ingress('empty', 'nothing', { 'default-backend': 'error-pages' }),
      ingress('hashed', 'app', { 'upstream-hash-by': '$request_uri' }),
      ingress('retried', 'flaky', { 'proxy-next-upstream': 'error timeout http_503' }),
      ingress('sticky', 'app', { affinity: 'cookie', 'session-cookie-name': 'route' }),
      ingress('vhost', 'echo', { 'upstream-vhost': 'internal.example.com', 'x-forwarded-prefix': '/shop' }),
      ingress('denied', 'app', { 'denylist-source-range': '127.0.0.0/8' }),
      ingress('temporary', 'app', { 'temporal-redirect': 'https://maintenance.example.com/' }),
    ]) {
      await networking.createNamespacedIngress({ namespace: NS, body });
    }
    await waitFor(async () => (await get('retried.example.com').catch(() => ({ status: 0 }))).status === 200, 'the Ingresses served', 15_000);
  }, 120_000);

  afterAll(async () => {
    await ing?.stop();
  });

  test('applied without a Warning Event', async () => {
    for (const name of ['errors', 'empty', 'hashed', 'retried', 'sticky', 'vhost', 'denied', 'temporary']) {
      const warnings = (await eventsFor(cluster().core, NS, 'Ingress', name)).filter((e) => e.type === 'Warning');
      expect(warnings.map((e) => `${name}: ${e.reason}: ${e.message}`)).toEqual([]);
    }
  });

  test('custom-http-errors: a listed status is answered by the default backend; a Service without endpoints is served by it', async () => {
    expect(await get('errors.example.com', '/status/404')).toEqual({ status: 404, body: 'error page 404 from errors' });
    expect((await get('errors.example.com', '/status/500')).status).toBe(500);
    expect(await get('empty.example.com', '/x')).toEqual({ status: 200, body: 'error page none from ?' });
    expect(pageCodes).toContain('404');
  });

  test('upstream-hash-by: one URI, one pod; many URIs, every pod', async () => {
    const first = (await get('hashed.example.com', '/cart/7')).body;
    for (let i = 0; i < 8; i++) expect((await get('hashed.example.com', '/cart/7')).body).toBe(first);
    const seen = new Set<string>();
    for (let i = 0; i < 60; i++) seen.add((await get('hashed.example.com', `/item/${i}`)).body);
    expect(seen.size).toBe(3);
  });

  test('proxy-next-upstream http_503: the busy pod is passed over', async () => {
    for (let i = 0; i < 10; i++) expect(await get('retried.example.com', `/${i}`)).toEqual({ status: 200, body: 'fine' });
  });

  test('affinity cookie: the cookie it sets keeps a client on one pod', async () => {
    const first = await vipRequest(VIP, 'sticky.example.com', '/');
    const cookie = (Array.isArray(first.headers['set-cookie']) ? first.headers['set-cookie'][0]! : '').split(';')[0]!;
    expect(cookie).toMatch(/^route=/);
    for (let i = 0; i < 8; i++) expect((await vipRequest(VIP, 'sticky.example.com', '/', { cookie })).body).toBe(first.body);
  });

  test('upstream-vhost and x-forwarded-prefix: what the pod is sent', async () => {
    expect(JSON.parse((await get('vhost.example.com', '/items')).body)).toEqual({ host: 'internal.example.com', prefix: '/shop', url: '/items' });
  });

  test('denylist-source-range: a client inside it gets 403', async () => {
    expect((await get('denied.example.com')).status).toBe(403);
  });

  test('temporal-redirect: 302 to the address given', async () => {
    const r = await vipRequest(VIP, 'temporary.example.com', '/x');
    expect([r.status, r.location]).toEqual([302, 'https://maintenance.example.com/']);
  });
});
