// ingress-nginx's external auth (auth-url, auth-signin, auth-response-headers)
// through the real L7 engine, side by side with Debian's nginx configured as
// ingress-nginx's template configures the same Ingress (an internal auth
// location with auth_request, auth_request_set, add_header Set-Cookie).
// A small auth server stands in for oauth2-proxy: a request carrying the
// session cookie is let through (202, X-Auth-Request-User), others get 401;
// X-Want asks it for another status. Both proxies must send the auth service
// the same request and give the client the same answer.
import http from 'node:http';
import type net from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { freePort } from '../../support/control-plane.ts';
import { NGINX, startNginxPeer, type NginxPeer } from '../../support/nginx-peer.ts';
import { Harness, ing } from './harness.ts';

const N = 'nginx.ingress.kubernetes.io/';
const LOOPBACK = '127.0.0.1';
const SESSION = '_oauth2_proxy=valid';

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
}

/** The oauth2-proxy stand-in. */
class AuthServer {
  readonly seen: Seen[] = [];
  port = 0;
  #server = http.createServer((req, res) => {
    this.seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    req.resume();
    const want = Number(req.headers['x-want'] ?? 0);
    const ok = (req.headers.cookie ?? '').includes(SESSION);
    const status = want || (ok ? 202 : 401);
    const headers: Record<string, string | string[]> = { 'content-type': 'text/plain', 'set-cookie': ['_oauth2_proxy_csrf=abc; Path=/; HttpOnly'] };
    if (status === 401) headers['www-authenticate'] = 'Bearer realm="stand-in"';
    if (status >= 200 && status < 300) {
      headers['x-auth-request-user'] = 'alice';
      headers['x-auth-request-email'] = 'alice@example.test';
    }
    res.writeHead(status, headers);
    res.end(`auth ${status}\n`);
  });
  async start(): Promise<void> {
    await new Promise<void>((r) => this.#server.listen(0, LOOPBACK, r));
    this.port = (this.#server.address() as net.AddressInfo).port;
  }
  take(): Seen[] {
    return this.seen.splice(0);
  }
  close(): void {
    this.#server.close();
  }
}

const h = new Harness();
const auth = new AuthServer();
let deadPort = 0;

beforeAll(async () => {
  await auth.start();
  deadPort = await freePort();
  await h.start();
  await h.service('ns', 'app', 1);
  const annotated = (name: string, annotations: Record<string, string>) =>
    ing('ns', name, [{ host: `${name}.example.com`, paths: [{ service: 'app' }] }], { annotations: Object.fromEntries(Object.entries(annotations).map(([k, v]) => [N + k, v])) });
  h.ingress(annotated('guarded', { 'auth-url': `http://${LOOPBACK}:${auth.port}/oauth2/auth`, 'auth-response-headers': 'X-Auth-Request-User, X-Auth-Request-Email' }));
  h.ingress(
    annotated('signin', {
      'auth-url': `http://${LOOPBACK}:${auth.port}/oauth2/auth`,
      'auth-signin': 'https://$host/oauth2/start?rd=$escaped_request_uri',
    }),
  );
  h.ingress(annotated('portal', { 'auth-url': `http://${LOOPBACK}:${auth.port}/oauth2/auth`, 'auth-signin': 'https://login.example.com/start' }));
  h.ingress(annotated('method', { 'auth-url': `http://${LOOPBACK}:${auth.port}/check?host=$host`, 'auth-method': 'POST', 'auth-request-redirect': '/landing' }));
  h.ingress(annotated('down', { 'auth-url': `http://${LOOPBACK}:${deadPort}/oauth2/auth` }));
  // auth-proxy-set-headers: a field, a variable, and an empty value that removes the client's Cookie from the auth request.
  h.configMap({ metadata: { namespace: 'ns', name: 'auth-fields' }, data: { 'X-Tenant': 'blue', 'X-Client-Addr': '$remote_addr', 'X-Want': '', 'X-Original-Method': 'overridden' } });
  h.ingress(annotated('fields', { 'auth-url': `http://${LOOPBACK}:${auth.port}/oauth2/auth`, 'auth-response-headers': 'X-Auth-Request-User, X-Auth-Request-Email', 'auth-proxy-set-headers': 'auth-fields' }));
  const out = h.apply();
  expect(out.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
});

afterAll(async () => {
  await h.stop();
  auth.close();
});

describe('external auth (auth-url) through the proxy', () => {
  test('no session: 401 with the auth service challenge, and the backend never sees the request', async () => {
    const before = h.echoes[0]!.hits;
    const a = await h.request({ host: 'guarded.example.com', path: '/private' });
    expect(a.status).toBe(401);
    expect(a.headers['www-authenticate']).toBe('Bearer realm="stand-in"');
    expect(a.headers['set-cookie']).toBeUndefined();
    expect(h.echoes[0]!.hits).toBe(before);
  });

  test('a session: through, with the listed auth response headers; a client cannot forge them', async () => {
    auth.take();
    const a = await h.request({ host: 'guarded.example.com', path: '/private?x=1', headers: { cookie: SESSION, 'x-auth-request-user': 'mallory', 'x-auth-request-email': 'forged' } });
    expect(a.status).toBe(200);
    expect(a.json!.headers['x-auth-request-user']).toBe('alice');
    expect(a.json!.headers['x-auth-request-email']).toBe('alice@example.test');
    expect(a.headers['set-cookie']).toEqual(['_oauth2_proxy_csrf=abc; Path=/; HttpOnly']);
    const [sub] = auth.take();
    expect(sub).toMatchObject({ method: 'GET', url: '/oauth2/auth' });
    expect(sub!.headers).toMatchObject({
      host: `${LOOPBACK}:${auth.port}`,
      'x-original-url': 'http://guarded.example.com/private?x=1',
      'x-original-method': 'GET',
      'x-sent-from': 'nginx-ingress-controller',
      'x-auth-request-redirect': '/private?x=1',
      cookie: SESSION,
    });
  });

  test('the auth request has no body and is a GET whatever the client sent (an nginx subrequest)', async () => {
    auth.take();
    const a = await h.request({ host: 'guarded.example.com', path: '/form', method: 'POST', body: 'a=1', headers: { cookie: SESSION, 'content-type': 'application/x-www-form-urlencoded' } });
    expect(a.status).toBe(200);
    expect(a.json!.bodyBytes).toBe(3);
    const [sub] = auth.take();
    expect(sub!.method).toBe('GET');
    expect(sub!.headers['x-original-method']).toBe('POST');
    expect(sub!.headers['content-length']).toBeUndefined();
  });

  test('403 is passed on; any other status (a redirect, a 5xx) or a dead auth service answers 500, never lets through', async () => {
    expect((await h.request({ host: 'guarded.example.com', headers: { 'x-want': '403' } })).status).toBe(403);
    expect((await h.request({ host: 'guarded.example.com', headers: { 'x-want': '302' } })).status).toBe(500);
    expect((await h.request({ host: 'guarded.example.com', headers: { 'x-want': '503' } })).status).toBe(500);
    expect((await h.request({ host: 'down.example.com', headers: { cookie: SESSION } })).status).toBe(500);
  });

  test('auth-signin: 401 becomes a 302 to the sign-in URL with the original URL, escaped as ingress-nginx does', async () => {
    const a = await h.request({ host: 'signin.example.com', path: '/app/page?tab=2&x=a%20b' });
    expect(a.status).toBe(302);
    expect(a.headers.location).toBe('https://signin.example.com/oauth2/start?rd=%2Fapp%2Fpage%3Ftab%3D2%26x%3Da%2520b');
    expect(a.headers['set-cookie']).toEqual(['_oauth2_proxy_csrf=abc; Path=/; HttpOnly']);
    const b = await h.request({ host: 'portal.example.com', path: '/p?q=1' });
    expect(b.headers.location).toBe('https://login.example.com/start?rd=http://portal.example.com%2Fp%3Fq%3D1');
    // With a session, no redirect.
    expect((await h.request({ host: 'signin.example.com', path: '/app', headers: { cookie: SESSION } })).status).toBe(200);
  });

  test("auth-proxy-set-headers: the ConfigMap fields on the auth request, variables filled; the client's field of that name never passes; a fixed field gets a second line, as in nginx", async () => {
    auth.take();
    // X-Want is emptied by the ConfigMap: the client cannot ask the stand-in for 503 through it.
    expect((await h.request({ host: 'fields.example.com', path: '/f', headers: { cookie: SESSION, 'x-want': '503' } })).status).toBe(200);
    const [sub] = auth.take();
    expect(sub!.headers).toMatchObject({ 'x-tenant': 'blue', 'x-client-addr': '127.0.0.1', 'x-original-method': 'GET, overridden', cookie: SESSION });
    expect(sub!.headers['x-want']).toBeUndefined();
  });

  test('auth-method sends that method with X-Original-URI and X-Scheme; auth-request-redirect replaces X-Auth-Request-Redirect; variables in the URL', async () => {
    auth.take();
    expect((await h.request({ host: 'method.example.com', path: '/m', headers: { cookie: SESSION } })).status).toBe(200);
    const [sub] = auth.take();
    expect(sub).toMatchObject({ method: 'POST', url: '/check?host=method.example.com' });
    expect(sub!.headers).toMatchObject({ 'x-original-uri': '/m', 'x-scheme': 'http', 'x-auth-request-redirect': '/landing' });
  });
});

describe.skipIf(NGINX === undefined)(`the same Ingress in nginx, configured as ingress-nginx does${NGINX === undefined ? ' (skipped: needs nginx)' : ''}`, () => {
  let nginx: NginxPeer;
  let nginxPort = 0;

  beforeAll(async () => {
    const backend = h.echoes[0]!.port;
    // The auth location and the guarded location as ingress-nginx's nginx.tmpl writes them (auth-url,
    // auth-response-headers), with Debian's nginx (no lua: the auth_request form of the template).
    // The same server for `fields`, with the ConfigMap's proxy_set_header lines after the fixed ones, as the template puts them.
    const server = (port: number, host: string, extra: string) => `  server {
    listen ${LOOPBACK}:${port};
    server_name ${host};
    location = /_external-auth-guarded {
      internal;
      proxy_intercept_errors off;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header X-Forwarded-Proto "";
      proxy_set_header X-Request-ID $request_id;
      proxy_set_header Host ${LOOPBACK}:${auth.port};
      proxy_set_header X-Original-URL $scheme://$http_host$request_uri;
      proxy_set_header X-Original-Method $request_method;
      proxy_set_header X-Sent-From "nginx-ingress-controller";
      proxy_set_header X-Real-IP $remote_addr;
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_set_header X-Auth-Request-Redirect $request_uri;
      proxy_ssl_server_name on;
      proxy_pass_request_headers on;
      proxy_http_version 1.1;${extra}
      set $target "http://${LOOPBACK}:${auth.port}/oauth2/auth";
      proxy_pass $target;
    }
    location / {
      set $auth_cookie '';
      auth_request /_external-auth-guarded;
      auth_request_set $auth_cookie $upstream_http_set_cookie;
      add_header Set-Cookie $auth_cookie;
      auth_request_set $authHeader0 $upstream_http_x_auth_request_user;
      proxy_set_header 'X-Auth-Request-User' $authHeader0;
      auth_request_set $authHeader1 $upstream_http_x_auth_request_email;
      proxy_set_header 'X-Auth-Request-Email' $authHeader1;
      proxy_set_header Host $host;
      proxy_http_version 1.1;
      proxy_pass http://${LOOPBACK}:${backend};
    }
  }`;
    const fields = `
      proxy_set_header X-Client-Addr '$remote_addr';
      proxy_set_header X-Original-Method 'overridden';
      proxy_set_header X-Tenant 'blue';
      proxy_set_header X-Want '';`;
    nginx = await startNginxPeer((port) => `${server(port, 'guarded.example.com', '')}\n${server(port, 'fields.example.com', fields)}`);
    nginxPort = nginx.port;
  }, 30_000);

  afterAll(() => nginx?.stop());

  /** One request to nginx, answered as Harness answers. */
  const viaNginx = (o: { host?: string; path: string; method?: string; headers?: Record<string, string>; body?: string }) =>
    new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>((resolve, reject) => {
      const headers: Record<string, string> = { host: o.host ?? 'guarded.example.com', ...(o.headers ?? {}) };
      if (o.body !== undefined) headers['content-length'] = String(Buffer.byteLength(o.body));
      const req = http.request({ host: LOOPBACK, port: nginxPort, path: o.path, method: o.method ?? 'GET', headers, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      });
      req.on('error', reject);
      req.end(o.body);
    });

  /** What the auth service saw, minus what differs by nature (request ids, connection handling). */
  const comparable = (s: Seen) => {
    const { 'x-request-id': id, connection: _c, ...headers } = s.headers;
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    return { method: s.method, url: s.url, headers };
  };

  const cases: Array<[string, { host?: string; path: string; method?: string; headers?: Record<string, string>; body?: string }]> = [
    ['no session', { path: '/private' }],
    ['a session, forged identity headers', { path: '/private?x=1', headers: { cookie: SESSION, 'x-auth-request-user': 'mallory' } }],
    ['a POST with a body', { path: '/form', method: 'POST', body: 'a=1', headers: { cookie: SESSION, 'content-type': 'text/plain' } }],
    ['the auth service forbids', { path: '/', headers: { 'x-want': '403' } }],
    ['the auth service redirects', { path: '/', headers: { 'x-want': '302' } }],
    ['the auth service fails', { path: '/', headers: { 'x-want': '503' } }],
    ['auth-proxy-set-headers', { host: 'fields.example.com', path: '/f', headers: { cookie: SESSION, 'x-want': '503' } }],
  ];

  test.each(cases)('%s: same status, challenge, cookie, backend identity, and the same auth request', async (_name, o) => {
    auth.take();
    const ours = await h.request({ ...o, host: o.host ?? 'guarded.example.com' });
    const oursSeen = auth.take();
    const theirs = await viaNginx(o);
    const theirsSeen = auth.take();
    expect(ours.status).toBe(theirs.status);
    expect(ours.headers['www-authenticate']).toEqual(theirs.headers['www-authenticate']);
    expect(ours.headers['set-cookie']).toEqual(theirs.headers['set-cookie']);
    if (theirs.status === 200) {
      const theirBackend = JSON.parse(theirs.body) as { headers: http.IncomingHttpHeaders };
      expect(ours.json!.headers['x-auth-request-user']).toBe(theirBackend.headers['x-auth-request-user']);
      expect(ours.json!.headers['x-auth-request-email']).toBe(theirBackend.headers['x-auth-request-email']);
    }
    expect(oursSeen.map(comparable)).toEqual(theirsSeen.map(comparable));
  });
});
