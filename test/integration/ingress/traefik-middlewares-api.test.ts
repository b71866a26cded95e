// Traefik Middleware objects on a real API server (the CRDs from
// manifests/crds/traefik installed), through the proxy and the rule engine
// as the speaker runs them: what the client got and what the backend saw,
// per middleware kind users lean on (headers, basicAuth with a basic-auth
// Secret, forwardAuth with and without forwardBody, stripPrefix,
// redirectScheme, ipAllowList, rateLimit, chain, errors, path rewrites,
// compress, contentType, buffering, redirectRegex), and a Middleware
// metalgate does not implement keeping its route out with a Warning Event.
import http from 'node:http';
import type net from 'node:net';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { useCluster, waitFor, waitForEvent } from '../helpers/cluster.ts';
import { portBase, vipRequest, writeSlice } from '../proxy/k8s-helpers.ts';
import { startApiIngress, type ApiIngress } from './api-ingress.ts';

const cluster = useCluster();
const NS = 'traefik-mw';
const VIP = '127.77.10.1';
const BASE = portBase();
const repo = join(import.meta.dirname, '../../..');

interface Seen {
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

describe('Traefik Middleware objects on a real API server', () => {
  let ing: ApiIngress;
  const servers: http.Server[] = [];
  const seen: Seen[] = [];

  const get = async (host: string, path = '/', headers: Record<string, string> = {}) => vipRequest(VIP, host, path, headers);

  beforeAll(async () => {
    const { kc, core, cp } = cluster();
    await cp.kubectl(['apply', '-f', join(repo, 'manifests/crds/traefik/traefik.io.yaml')]);
    ing = await startApiIngress(kc, core, { namespace: NS, vip: VIP, crdRetryMs: 300 });
    // The app pod records what it got; the error pages pod answers with the status in its body.
    const pod = (ip: string, handler: http.RequestListener) => ing.pod(ip, BASE + 1, handler);
    await pod('198.18.12.1', (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => answerApp(req, res, Buffer.concat(chunks).toString()));
    });
    const answerApp = (req: http.IncomingMessage, res: http.ServerResponse, body: string): void => {
      seen.push({ url: req.url ?? '', headers: req.headers, body });
      // An HTML page without Content-Type (contentType), a body big enough to compress, one with a declared length.
      if (req.url === '/bare') return void res.end('<!DOCTYPE html><p>bare</p>');
      if (req.url === '/big') return void res.writeHead(200, { 'content-type': 'text/plain' }).end('metalgate '.repeat(200));
      if (req.url === '/sized') return void res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '3' }).end('app');
      const status = Number(/^\/status\/([0-9]{3})$/.exec(req.url ?? '')?.[1] ?? 200);
      res.writeHead(status, { 'content-type': 'text/plain' });
      res.end('app');
    };
    await pod('198.18.12.2', (req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(`page for ${req.url}`);
    });
    // The auth service, on the host: a session cookie (or, with forwardBody, a token in the body) gets through with X-User.
    const auth = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        if ((req.headers.cookie ?? '').includes('session=ok') || body.includes('token=ok')) res.writeHead(200, { 'x-user': 'alice' });
        else res.writeHead(401, { 'www-authenticate': 'Bearer' });
        res.end();
      });
    });
    servers.push(auth);
    await new Promise<void>((r) => auth.listen(0, '127.0.0.1', r));
    const authPort = (auth.address() as net.AddressInfo).port;

    const discovery = kc.makeApiClient(k8s.DiscoveryV1Api);
    for (const [name, ip] of [['app', '198.18.12.1'], ['pages', '198.18.12.2']] as const) {
      await core.createNamespacedService({ namespace: NS, body: { metadata: { name, namespace: NS }, spec: { ports: [{ name: 'http', port: 80 }] } } });
      await writeSlice(discovery, NS, name, `${name}-1`, [{ name: 'http', port: BASE + 1 }], [{ ip }]);
    }
    await core.createNamespacedSecret({ namespace: NS, body: { metadata: { name: 'ops' }, type: 'kubernetes.io/basic-auth', stringData: { username: 'ops', password: 'open sesame' } } });

    const custom = kc.makeApiClient(k8s.CustomObjectsApi);
    const create = (plural: string, kind: string, name: string, spec: Record<string, unknown>) =>
      custom.createNamespacedCustomObject({ group: 'traefik.io', version: 'v1alpha1', namespace: NS, plural, body: { apiVersion: 'traefik.io/v1alpha1', kind, metadata: { name, namespace: NS }, spec } });
    const middleware = (name: string, spec: Record<string, unknown>) => create('middlewares', 'Middleware', name, spec);
    await middleware('headers', { headers: { customRequestHeaders: { 'X-Env': 'prod' }, customResponseHeaders: { 'X-Frame-Options': 'DENY', Server: '' } } });
    await middleware('basic', { basicAuth: { secret: 'ops' } });
    await middleware('forward', { forwardAuth: { address: `http://127.0.0.1:${authPort}/check`, authResponseHeaders: ['X-User'] } });
    await middleware('strip', { stripPrefix: { prefixes: ['/api'] } });
    await middleware('https', { redirectScheme: { scheme: 'https', permanent: true } });
    await middleware('office', { ipAllowList: { sourceRange: ['198.18.0.0/15'] } });
    await middleware('slow-down', { rateLimit: { average: 1, period: '1m', burst: 1 } });
    await middleware('both', { chain: { middlewares: [{ name: 'strip' }, { name: 'headers' }] } });
    await middleware('pages', { errors: { status: ['500-599'], service: { name: 'pages', port: 80 }, query: '/{status}.html' } });
    await middleware('body', { forwardAuth: { address: `http://127.0.0.1:${authPort}/check`, forwardBody: true, maxBodySize: 64, authResponseHeaders: ['X-User'] } });
    await middleware('plugin', { plugin: { demo: { greeting: 'hi' } } });
    await middleware('add', { addPrefix: { prefix: '/v2' } });
    await middleware('rx-replace', { replacePathRegex: { regex: '^/old/(.*)', replacement: '/new/$1' } });
    await middleware('rx-strip', { stripPrefixRegex: { regex: ['/tenant/[a-z]+'] } });
    await middleware('gzip', { compress: {} });
    await middleware('sniff', { contentType: {} });
    await middleware('small', { buffering: { maxResponseBodyBytes: 2 } });
    await middleware('moved', { redirectRegex: { regex: '^http://moved\\.example\\.com/(.*)', replacement: 'http://new.example.com/${1}' } });
    const route = (name: string, middlewares: string[]) =>
      create('ingressroutes', 'IngressRoute', name, {
        entryPoints: ['web'],
        routes: [{ match: `Host(\`${name}.example.com\`)`, services: [{ name: 'app', port: 80 }], middlewares: middlewares.map((m) => ({ name: m })) }],
      });
    for (const [name, mws] of [
      ['headers', ['headers']],
      ['basic', ['basic']],
      ['forward', ['forward']],
      ['strip', ['strip']],
      ['https', ['https']],
      ['office', ['office']],
      ['limited', ['slow-down']],
      ['chained', ['both']],
      ['pages', ['pages']],
      ['body', ['body']],
      ['plugin', ['plugin']],
      ['add', ['add']],
      ['rx-replace', ['rx-replace']],
      ['rx-strip', ['rx-strip']],
      ['gzip', ['gzip']],
      ['sniff', ['sniff']],
      ['small', ['small']],
      ['moved', ['moved']],
    ] as const) {
      await route(name, [...mws]);
    }
    await waitFor(async () => (await get('headers.example.com').catch(() => ({ status: 0 }))).status === 200, 'the IngressRoutes served', 20_000);
  }, 120_000);

  afterAll(async () => {
    await ing?.stop();
    for (const s of servers) {
      s.closeAllConnections();
      s.close();
    }
  });

  const last = () => seen[seen.length - 1]!;

  test('headers: a request field for the backend, a response field added and one removed', async () => {
    const r = await get('headers.example.com', '/h');
    expect(r.status).toBe(200);
    expect(r.headers['x-frame-options']).toBe('DENY');
    expect(last().headers['x-env']).toBe('prod');
  });

  test('basicAuth from a kubernetes.io/basic-auth Secret', async () => {
    expect((await get('basic.example.com')).status).toBe(401);
    const auth = `Basic ${Buffer.from('ops:open sesame').toString('base64')}`;
    expect((await get('basic.example.com', '/', { authorization: auth })).status).toBe(200);
  });

  test('forwardAuth: the auth service decides; its X-User reaches the backend, a forged one does not', async () => {
    expect((await get('forward.example.com', '/', { 'x-user': 'mallory' })).status).toBe(401);
    expect((await get('forward.example.com', '/in', { cookie: 'session=ok', 'x-user': 'mallory' })).status).toBe(200);
    expect(last().headers['x-user']).toBe('alice');
  });

  test('stripPrefix, and a chain of it with headers', async () => {
    await get('strip.example.com', '/api/users?x=1');
    expect(last().url).toBe('/users?x=1');
    await get('chained.example.com', '/api/items');
    expect(last()).toMatchObject({ url: '/items', headers: { 'x-env': 'prod' } });
  });

  test('addPrefix, replacePathRegex (old path in X-Replaced-Path), stripPrefixRegex (the match in X-Forwarded-Prefix)', async () => {
    await get('add.example.com', '/x');
    expect(last().url).toBe('/v2/x');
    await get('rx-replace.example.com', '/old/a/b');
    expect(last()).toMatchObject({ url: '/new/a/b', headers: { 'x-replaced-path': '/old/a/b' } });
    await get('rx-strip.example.com', '/tenant/acme/items');
    expect(last()).toMatchObject({ url: '/items', headers: { 'x-forwarded-prefix': '/tenant/acme' } });
  });

  test('compress, contentType, and buffering over a declared length', async () => {
    expect((await get('gzip.example.com', '/big', { 'accept-encoding': 'gzip' })).headers['content-encoding']).toBe('gzip');
    expect((await get('gzip.example.com', '/big')).headers['content-encoding']).toBeUndefined();
    expect((await get('sniff.example.com', '/bare')).headers['content-type']).toBe('text/html; charset=utf-8');
    expect((await get('small.example.com', '/sized')).status).toBe(500);
  });

  test('redirectRegex: a temporary redirect built from the request URL', async () => {
    const r = await get('moved.example.com', '/a/b');
    expect(r.status).toBe(302);
    expect(r.location).toBe('http://new.example.com/a/b');
  });

  test('redirectScheme: permanent to https', async () => {
    const r = await get('https.example.com', '/p?q=1');
    expect(r.status).toBe(301);
    expect(r.location).toBe('https://https.example.com/p?q=1');
  });

  test('ipAllowList: a client outside the ranges gets 403', async () => {
    expect((await get('office.example.com')).status).toBe(403);
  });

  test('rateLimit: past the burst, 429', async () => {
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await get('limited.example.com')).status);
    expect(statuses[0]).toBe(200);
    expect(statuses.slice(1)).toContain(429);
  });

  test("errors: a 5xx answered with the error service's page, the original status kept", async () => {
    const r = await get('pages.example.com', '/status/503');
    expect(r).toMatchObject({ status: 503, body: 'page for /503.html' });
    expect((await get('pages.example.com', '/status/404')).body).toBe('app');
  });

  test('forwardAuth forwardBody: the auth service reads the body; the backend gets it after; over maxBodySize 401', async () => {
    const post = (body: string) => vipRequest(VIP, 'body.example.com', '/submit', { 'content-type': 'application/x-www-form-urlencoded' }, 'POST', body);
    expect((await post('item=1')).status).toBe(401);
    const r = await post('token=ok&item=1');
    expect(r.status).toBe(200);
    expect(last()).toMatchObject({ url: '/submit', body: 'token=ok&item=1' });
    expect(last().headers['x-user']).toBe('alice');
    expect((await post(`token=ok&pad=${'x'.repeat(64)}`)).status).toBe(401);
  });

  test('a Middleware metalgate does not implement (plugin): its route is not served, with a Warning Event', async () => {
    expect((await get('plugin.example.com')).status).toBe(404);
    const e = await waitForEvent(cluster().core, NS, 'Middleware', 'plugin', 'UnsupportedMiddleware');
    expect(e.message).toContain('middleware type plugin is not supported by metalgate');
  });
});
