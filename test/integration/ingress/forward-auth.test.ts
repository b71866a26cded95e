// Traefik's forwardAuth middleware through the real L7 engine, against
// Traefik's documented semantics (doc.traefik.io, middlewares/http/
// forwardauth): a GET to the address with X-Forwarded-* fields; 2xx lets the
// request through with authResponseHeaders copied; anything else is returned
// to the client as the auth service gave it (the oauth2-proxy pattern: its
// 302 to the sign-in page goes straight to the browser).
import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import type { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CA_EXT, CLIENT_EXT, OpensslPki } from '../../support/openssl-pki.ts';
import { Harness, ingressRoute, middleware } from './harness.ts';

const SESSION = '_oauth2_proxy=valid';

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
}

const seen: Seen[] = [];
/** Per request to the TLS auth service: whether the client showed a certificate its CA signed. */
const clientCerts: boolean[] = [];
const answer = (req: http.IncomingMessage, res: http.ServerResponse): void => {
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
};
const authServer = http.createServer(answer);
let authPort = 0;
// The same service over TLS, with a certificate of a private CA for 127.0.0.1, asking for a client certificate.
const pki = new OpensslPki();
pki.issue('ca', '/CN=auth CA', undefined, CA_EXT);
pki.issue('server', '/CN=auth', 'ca', 'basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1\n');
pki.issue('client', '/CN=metalgate', 'ca', CLIENT_EXT);
const tlsAuthServer = https.createServer({ ...pki.ids.server!, ca: pki.ids.ca!.cert, requestCert: true, rejectUnauthorized: false }, (req, res) => {
  clientCerts.push((req.socket as TLSSocket).authorized);
  answer(req, res);
});
let tlsAuthPort = 0;
const h = new Harness();

beforeAll(async () => {
  await new Promise<void>((r) => authServer.listen(0, '127.0.0.1', r));
  authPort = (authServer.address() as net.AddressInfo).port;
  await new Promise<void>((r) => tlsAuthServer.listen(0, '127.0.0.1', r));
  tlsAuthPort = (tlsAuthServer.address() as net.AddressInfo).port;
  await h.start();
  const b64 = (t: string) => Buffer.from(t).toString('base64');
  h.secret({ metadata: { namespace: 'ns', name: 'auth-ca' }, data: { 'ca.crt': b64(pki.ids.ca!.cert) } });
  h.secret({ metadata: { namespace: 'ns', name: 'auth-client' }, type: 'kubernetes.io/tls', data: { 'tls.crt': b64(pki.ids.client!.cert), 'tls.key': b64(pki.ids.client!.key) } });
  await h.service('ns', 'app', 1);
  const route = (name: string, mw: string) =>
    ingressRoute('ns', name, [{ match: `Host(\`${name}.example.com\`)`, services: [{ name: 'app', port: 80 }], middlewares: [{ name: mw }] }]);
  const address = `http://127.0.0.1:${authPort}/oauth2/auth`;
  h.traefik('Middleware', middleware('ns', 'auth', { forwardAuth: { address, authResponseHeaders: ['X-Auth-Request-User'], addAuthCookiesToResponse: ['_session_refresh'] } }));
  h.traefik('Middleware', middleware('ns', 'auth-regex', { forwardAuth: { address, authResponseHeadersRegex: '^X-Auth-', authRequestHeaders: ['Cookie'], trustForwardHeader: true } }));
  h.traefik('Middleware', middleware('ns', 'auth-preserve', { forwardAuth: { address, preserveLocationHeader: true } }));
  const tlsAddress = `https://127.0.0.1:${tlsAuthPort}/oauth2/auth`;
  h.traefik('Middleware', middleware('ns', 'auth-tls', { forwardAuth: { address: tlsAddress, tls: { caSecret: 'auth-ca', certSecret: 'auth-client' } } }));
  h.traefik('Middleware', middleware('ns', 'auth-tls-roots', { forwardAuth: { address: tlsAddress } }));
  h.traefik('Middleware', middleware('ns', 'auth-tls-skip', { forwardAuth: { address: tlsAddress, tls: { insecureSkipVerify: true } } }));
  h.traefik('Middleware', middleware('ns', 'auth-method', { forwardAuth: { address, preserveRequestMethod: true, headerField: 'X-Auth-Request-User' } }));
  h.traefik('Middleware', middleware('ns', 'auth-body', { forwardAuth: { address, forwardBody: true } }));
  h.traefik('Middleware', middleware('ns', 'auth-down', { forwardAuth: { address: 'http://127.0.0.1:1/auth' } }));
  h.traefik('IngressRoute', route('fa', 'auth'));
  h.traefik('IngressRoute', route('regex', 'auth-regex'));
  h.traefik('IngressRoute', route('preserve', 'auth-preserve'));
  h.traefik('IngressRoute', route('tls', 'auth-tls'));
  h.traefik('IngressRoute', route('roots', 'auth-tls-roots'));
  h.traefik('IngressRoute', route('skip', 'auth-tls-skip'));
  h.traefik('IngressRoute', route('method', 'auth-method'));
  h.traefik('IngressRoute', route('body', 'auth-body'));
  h.traefik('IngressRoute', route('down', 'auth-down'));
  const out = h.apply();
  // Fail closed: a forwardAuth field metalgate does not implement makes the Middleware unusable, and its route is not served.
  expect(out.diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.ref.name}:${d.reason}`)).toEqual(['auth-body:BadMiddleware', 'body:BadMiddleware', 'body:NotServed']);
  expect(out.diagnostics.filter((d) => d.severity === 'warning').map((d) => `${d.ref.name}:${d.message}`)).toContain(
    "auth-method:forwardAuth.headerField only names the user in Traefik's access log; metalgate's access log has no user field: ignored",
  );
});

afterAll(async () => {
  await h.stop();
  authServer.close();
  tlsAuthServer.closeAllConnections();
  tlsAuthServer.close();
  pki.remove();
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

  test('an auth service that cannot be reached: 500; a Middleware with a field metalgate lacks (forwardBody): not served', async () => {
    expect((await h.request({ host: 'down.example.com', headers: { cookie: SESSION } })).status).toBe(500);
    expect((await h.request({ host: 'body.example.com', headers: { cookie: SESSION } })).status).toBe(404);
  });

  test('tls: the auth service verified against caSecret and shown certSecret; without tls, the system roots refuse its private CA (500); insecureSkipVerify goes through without a certificate', async () => {
    clientCerts.length = 0;
    expect((await h.request({ host: 'tls.example.com', headers: { cookie: SESSION } })).status).toBe(200);
    expect(clientCerts).toEqual([true]);
    expect((await h.request({ host: 'tls.example.com' })).status).toBe(302);
    expect((await h.request({ host: 'roots.example.com', headers: { cookie: SESSION } })).status).toBe(500);
    clientCerts.length = 0;
    expect((await h.request({ host: 'skip.example.com', headers: { cookie: SESSION } })).status).toBe(200);
    expect(clientCerts).toEqual([false]);
  });

  test('preserveRequestMethod: the auth request has the client method', async () => {
    seen.length = 0;
    expect((await h.request({ host: 'method.example.com', method: 'DELETE', headers: { cookie: SESSION } })).status).toBe(200);
    expect(seen.map((x) => x.method)).toEqual(['DELETE']);
  });
});
