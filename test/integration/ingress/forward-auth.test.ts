// Traefik's forwardAuth middleware through the real L7 engine, against
// Traefik's documented semantics (doc.traefik.io, middlewares/http/
// forwardauth): a GET to the address with X-Forwarded-* fields; 2xx lets the
// request through with authResponseHeaders copied; anything else is returned
// to the client as the auth service gave it (the oauth2-proxy pattern: its
// 302 to the sign-in page goes straight to the browser).
import http from 'node:http';
import type net from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Harness, ingressRoute, middleware } from './harness.ts';

const SESSION = '_oauth2_proxy=valid';

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
}

const seen: Seen[] = [];
const authServer = http.createServer((req, res) => {
  seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
  req.resume();
  if ((req.headers.cookie ?? '').includes(SESSION)) {
    res.writeHead(200, { 'x-auth-request-user': 'alice', 'x-auth-group': 'admins', 'set-cookie': ['_session_refresh=1; Path=/', 'tracking=1; Path=/'] });
    res.end();
    return;
  }
  // oauth2-proxy's answer without a session: to the sign-in page (relative here, as some services send it).
  res.writeHead(302, { location: '/oauth2/sign_in?rd=x', 'content-type': 'text/html', 'x-auth-detail': 'no session' });
  res.end('<a href="/oauth2/sign_in">Found</a>');
});
let authPort = 0;
const h = new Harness();

beforeAll(async () => {
  await new Promise<void>((r) => authServer.listen(0, '127.0.0.1', r));
  authPort = (authServer.address() as net.AddressInfo).port;
  await h.start();
  await h.service('ns', 'app', 1);
  const route = (name: string, mw: string) =>
    ingressRoute('ns', name, [{ match: `Host(\`${name}.example.com\`)`, services: [{ name: 'app', port: 80 }], middlewares: [{ name: mw }] }]);
  const address = `http://127.0.0.1:${authPort}/oauth2/auth`;
  h.traefik('Middleware', middleware('ns', 'auth', { forwardAuth: { address, authResponseHeaders: ['X-Auth-Request-User'], addAuthCookiesToResponse: ['_session_refresh'] } }));
  h.traefik('Middleware', middleware('ns', 'auth-regex', { forwardAuth: { address, authResponseHeadersRegex: '^X-Auth-', authRequestHeaders: ['Cookie'], trustForwardHeader: true } }));
  h.traefik('Middleware', middleware('ns', 'auth-preserve', { forwardAuth: { address, preserveLocationHeader: true } }));
  h.traefik('Middleware', middleware('ns', 'auth-tls', { forwardAuth: { address, tls: { insecureSkipVerify: true } } }));
  h.traefik('Middleware', middleware('ns', 'auth-down', { forwardAuth: { address: 'http://127.0.0.1:1/auth' } }));
  h.traefik('IngressRoute', route('fa', 'auth'));
  h.traefik('IngressRoute', route('regex', 'auth-regex'));
  h.traefik('IngressRoute', route('preserve', 'auth-preserve'));
  h.traefik('IngressRoute', route('tls', 'auth-tls'));
  h.traefik('IngressRoute', route('down', 'auth-down'));
  const out = h.apply();
  // Fail closed: a forwardAuth field metalgate does not implement makes the Middleware unusable, and its route is not served.
  expect(out.diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.ref.name}:${d.reason}`)).toContain('auth-tls:BadMiddleware');
});

afterAll(async () => {
  await h.stop();
  authServer.close();
});

describe('forwardAuth through the proxy', () => {
  test('no session: the auth service answer goes to the client as it is, its relative Location made absolute', async () => {
    const before = h.echoes[0]!.hits;
    const a = await h.request({ host: 'fa.example.com', path: '/inbox' });
    expect(a.status).toBe(302);
    expect(a.headers.location).toBe(`http://127.0.0.1:${authPort}/oauth2/sign_in?rd=x`);
    expect(a.headers['x-auth-detail']).toBe('no session');
    expect(a.body).toBe('<a href="/oauth2/sign_in">Found</a>');
    expect(h.echoes[0]!.hits).toBe(before);
    expect((await h.request({ host: 'preserve.example.com' })).headers.location).toBe('/oauth2/sign_in?rd=x');
  });

  test('a session: through, authResponseHeaders replace what the client sent; the named cookie reaches the client, others do not', async () => {
    seen.length = 0;
    const a = await h.request({ host: 'fa.example.com', path: '/inbox?x=1', method: 'POST', body: 'b', headers: { cookie: SESSION, 'x-auth-request-user': 'mallory', 'x-forwarded-host': 'forged.example' } });
    expect(a.status).toBe(200);
    expect(a.json!.headers['x-auth-request-user']).toBe('alice');
    expect(a.json!.headers['x-auth-group']).toBeUndefined();
    expect(a.headers['set-cookie']).toEqual(['_session_refresh=1; Path=/']);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ method: 'GET', url: '/oauth2/auth' });
    expect(seen[0]!.headers).toMatchObject({
      'x-forwarded-method': 'POST',
      'x-forwarded-proto': 'http',
      'x-forwarded-host': 'fa.example.com',
      'x-forwarded-uri': '/inbox?x=1',
      'x-forwarded-for': '127.0.0.1',
      cookie: SESSION,
    });
    expect(seen[0]!.headers['content-length']).toBeUndefined();
  });

  test('authResponseHeadersRegex, authRequestHeaders and trustForwardHeader', async () => {
    seen.length = 0;
    const a = await h.request({ host: 'regex.example.com', headers: { cookie: SESSION, 'x-auth-forged': 'yes', 'x-forwarded-for': '198.18.0.9', 'x-forwarded-host': 'outer.example', accept: 'text/plain' } });
    expect(a.status).toBe(200);
    expect(a.json!.headers).toMatchObject({ 'x-auth-request-user': 'alice', 'x-auth-group': 'admins' });
    expect(a.json!.headers['x-auth-forged']).toBeUndefined();
    expect(seen[0]!.headers.accept).toBeUndefined();
    expect(seen[0]!.headers).toMatchObject({ cookie: SESSION, 'x-forwarded-for': '198.18.0.9, 127.0.0.1', 'x-forwarded-host': 'outer.example' });
  });

  test('an auth service that cannot be reached: 500; a Middleware with a field metalgate lacks: not served', async () => {
    expect((await h.request({ host: 'down.example.com', headers: { cookie: SESSION } })).status).toBe(500);
    expect((await h.request({ host: 'tls.example.com', headers: { cookie: SESSION } })).status).toBe(404);
  });
});
