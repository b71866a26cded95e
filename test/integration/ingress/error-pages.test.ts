// Error pages through the real L7 engine: ingress-nginx's custom-http-errors
// with default-backend (the X-Code family of fields to the error backend,
// its status to the client; a Service without endpoints served by the
// default backend) and Traefik's errors middleware (the page at `query`,
// the original status to the client).
import http from 'node:http';
import type net from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Harness, ing, ingressRoute, middleware } from './harness.ts';

const N = 'nginx.ingress.kubernetes.io/';
const h = new Harness();
const servers: http.Server[] = [];

interface PageRequest {
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
}
const pageRequests: PageRequest[] = [];

async function serve(handler: http.RequestListener): Promise<number> {
  const s = http.createServer(handler);
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return (s.address() as net.AddressInfo).port;
}

beforeAll(async () => {
  await h.start();
  // The application: /status/<code> answers that code with its own page.
  const app = await serve((req, res) => {
    const code = Number(/^\/status\/([0-9]{3})/.exec(req.url ?? '')?.[1] ?? 200);
    res.writeHead(code, { 'content-type': 'text/plain' });
    res.end(`app page ${code}`);
  });
  // The error backend, as ingress-nginx's custom-error-pages example: it answers X-Code's status (200 without one).
  const pages = await serve((req, res) => {
    pageRequests.push({ url: req.url ?? '', headers: req.headers });
    const code = Number(req.headers['x-code'] ?? 200);
    res.writeHead(code, { 'content-type': 'text/html' });
    res.end(`<h1>error page ${code} for ${req.url}</h1>`);
  });
  h.serviceAt('ns', 'app', app);
  h.serviceAt('ns', 'error-pages', pages);
  h.serviceAt('ns', 'empty', []);
  const annotations = { [`${N}custom-http-errors`]: '404, 503', [`${N}default-backend`]: 'error-pages' };
  h.ingress(ing('ns', 'errs', [{ host: 'errs.example.com', paths: [{ service: 'app' }] }], { annotations }));
  h.ingress(ing('ns', 'gone', [{ host: 'gone.example.com', paths: [{ service: 'empty' }] }], { annotations: { [`${N}default-backend`]: 'error-pages' } }));
  h.ingress(ing('ns', 'nobackend', [{ host: 'nobackend.example.com', paths: [{ service: 'app' }] }], { annotations: { [`${N}custom-http-errors`]: '404' } }));
  h.ingress(ing('ns', 'badcode', [{ host: 'badcode.example.com', paths: [{ service: 'app' }] }], { annotations: { [`${N}custom-http-errors`]: '404,abc', [`${N}default-backend`]: 'error-pages' } }));
  h.traefik('Middleware', middleware('ns', 'errors', { errors: { status: ['500-599', '418'], service: { name: 'error-pages', port: 80 }, query: '/{status}.html?from={url}' } }));
  h.traefik('IngressRoute', ingressRoute('ns', 'traefik', [{ match: 'Host(`traefik.example.com`)', services: [{ name: 'app', port: 80 }], middlewares: [{ name: 'errors' }] }]));
  const out = h.apply();
  expect(out.diagnostics.filter((d) => d.severity !== 'info' && d.reason !== 'NotServed').map((d) => `${d.ref.name}:${d.reason}`).sort()).toEqual(['badcode:BadAnnotation', 'nobackend:IgnoredAnnotation']);
});

afterAll(async () => {
  await h.stop();
  for (const s of servers) {
    s.closeAllConnections();
    s.close();
  }
});

describe('ingress-nginx custom-http-errors and default-backend', () => {
  test("a listed status is answered by the error backend, which gets the X-Code fields and sets the status", async () => {
    pageRequests.length = 0;
    const a = await h.request({ host: 'errs.example.com', path: '/status/404?q=1', headers: { accept: 'application/json', 'x-request-id': 'r-1' } });
    expect([a.status, a.body]).toEqual([404, '<h1>error page 404 for /status/404?q=1</h1>']);
    expect(a.headers['content-type']).toBe('text/html');
    expect(pageRequests).toHaveLength(1);
    expect(pageRequests[0]!.headers).toMatchObject({
      'x-code': '404',
      'x-format': 'application/json',
      'x-original-uri': '/status/404?q=1',
      'x-namespace': 'ns',
      'x-ingress-name': 'errs',
      'x-service-name': 'app',
      'x-service-port': '80',
      'x-request-id': 'r-1',
      host: 'errs.example.com',
    });
  });

  test('other statuses are the application\'s own', async () => {
    expect(await h.request({ host: 'errs.example.com', path: '/status/500' })).toMatchObject({ status: 500, body: 'app page 500' });
    expect(await h.request({ host: 'errs.example.com', path: '/status/200' })).toMatchObject({ status: 200, body: 'app page 200' });
  });

  test('a Service without endpoints is served by the default backend', async () => {
    pageRequests.length = 0;
    const a = await h.request({ host: 'gone.example.com', path: '/anything' });
    expect([a.status, a.body]).toEqual([200, '<h1>error page 200 for /anything</h1>']);
    expect(pageRequests[0]!.headers['x-code']).toBeUndefined();
  });

  test('without default-backend the application\'s page is served (and a warning says so)', async () => {
    expect(await h.request({ host: 'nobackend.example.com', path: '/status/404' })).toMatchObject({ status: 404, body: 'app page 404' });
  });
});

describe('Traefik errors', () => {
  test('a status in the ranges gets the page at query, with the original status', async () => {
    pageRequests.length = 0;
    const a = await h.request({ host: 'traefik.example.com', path: '/status/503', headers: { 'x-tenant': 't1' } });
    expect([a.status, a.body]).toEqual([503, '<h1>error page 200 for /503.html?from=http%3A%2F%2Ftraefik.example.com%2Fstatus%2F503</h1>']);
    expect(pageRequests[0]!.headers['x-tenant']).toBe('t1');
    expect((await h.request({ host: 'traefik.example.com', path: '/status/418' })).status).toBe(418);
    expect(pageRequests).toHaveLength(2);
  });

  test('other statuses pass through', async () => {
    expect(await h.request({ host: 'traefik.example.com', path: '/status/404' })).toMatchObject({ status: 404, body: 'app page 404' });
  });
});
