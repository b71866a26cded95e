// Traefik's forwardAuth middleware through the real L7 engine, against
// Traefik's documented semantics (doc.traefik.io, middlewares/http/
// forwardauth): a GET to the address with X-Forwarded-* fields; 2xx lets the
// request through with authResponseHeaders copied; anything else is returned
// to the client as the auth service gave it (the oauth2-proxy pattern: its
// 302 to the sign-in page goes straight to the browser). forwardBody sends
// the client's body to the auth service too, then to the backend.
import { createHash } from 'node:crypto';
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import net from 'node:net';
import type { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CA_EXT, CLIENT_EXT, OpensslPki } from '../../support/openssl-pki.ts';
import { Harness, ingressRoute, middleware } from './harness.ts';

const SESSION = '_oauth2_proxy=valid';

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

const seen: Seen[] = [];
/** Per request to the TLS auth service: whether the client showed a certificate its CA signed. */
const clientCerts: boolean[] = [];
const answer = (req: http.IncomingMessage, res: http.ServerResponse): void => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => decide(req, res, Buffer.concat(chunks).toString('latin1')));
};
const decide = (req: http.IncomingMessage, res: http.ServerResponse, body: string): void => {
  seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
  if (req.url === '/unauthorized') {
    res.writeHead(401, { 'www-authenticate': 'Bearer' });
    res.end('sign in first');
    return;
  }
  if (req.url === '/large') {
    res.writeHead(403, { 'content-type': 'text/plain' });
    res.end('x'.repeat(4096));
    return;
  }
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
  h.traefik('Middleware', middleware('ns', 'auth-body', { forwardAuth: { address, forwardBody: true, maxBodySize: 1000 } }));
  h.traefik('Middleware', middleware('ns', 'auth-body-unbounded', { forwardAuth: { address, forwardBody: true, maxBodySize: -1 } }));
  h.traefik('Middleware', middleware('ns', 'auth-large', { forwardAuth: { address: `http://127.0.0.1:${authPort}/large`, maxResponseBodySize: 1024 } }));
  h.traefik('Middleware', middleware('ns', 'auth-signin', { forwardAuth: { address: `http://127.0.0.1:${authPort}/unauthorized`, authSigninURL: 'https://login.example.com/start?x=1' } }));
  h.traefik('Middleware', middleware('ns', 'auth-down', { forwardAuth: { address: 'http://127.0.0.1:1/auth' } }));
  h.traefik('IngressRoute', route('fa', 'auth'));
  h.traefik('IngressRoute', route('regex', 'auth-regex'));
  h.traefik('IngressRoute', route('preserve', 'auth-preserve'));
  h.traefik('IngressRoute', route('tls', 'auth-tls'));
  h.traefik('IngressRoute', route('roots', 'auth-tls-roots'));
  h.traefik('IngressRoute', route('skip', 'auth-tls-skip'));
  h.traefik('IngressRoute', route('method', 'auth-method'));
  h.traefik('IngressRoute', route('body', 'auth-body'));
  h.traefik('IngressRoute', route('bodyall', 'auth-body-unbounded'));
  h.traefik('IngressRoute', route('large', 'auth-large'));
  h.traefik('IngressRoute', route('signin', 'auth-signin'));
  h.traefik('IngressRoute', route('down', 'auth-down'));
  const out = h.apply();
  expect(out.diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.ref.name}:${d.reason}`)).toEqual([]);
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

  test('an auth service that cannot be reached: 500', async () => {
    expect((await h.request({ host: 'down.example.com', headers: { cookie: SESSION } })).status).toBe(500);
  });

  test('maxResponseBodySize: an auth answer with a larger body is 401; authSigninURL: the auth service\'s 401 becomes a 302 to it', async () => {
    const large = await h.request({ host: 'large.example.com' });
    expect(large.status).toBe(401);
    expect(large.body).toBe('');
    const signin = await h.request({ host: 'signin.example.com' });
    expect(signin.status).toBe(302);
    expect(signin.headers.location).toBe('https://login.example.com/start?x=1');
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

describe('forwardAuth forwardBody: the body goes to the auth service, then unchanged to the backend', () => {
  const sha = (b: string | Buffer): string => createHash('sha256').update(b).digest('hex');
  /** A raw connection to the plain entrypoint: what it wrote so far, and a wait (5 s at most) until that matches. */
  const rawClient = async () => {
    const socket = net.connect(h.webPort, '127.0.0.1');
    await new Promise<void>((r) => socket.once('connect', () => r()));
    const c = { socket, got: '', until: async (done: (got: string) => boolean): Promise<void> => {
      const deadline = Date.now() + 5000;
      while (!done(c.got) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    } };
    socket.on('data', (d: Buffer) => (c.got += d.toString('latin1')));
    return c;
  };

  test('HTTP/1.1 with Content-Length: the auth request carries the body (still a GET); the backend gets it whole', async () => {
    seen.length = 0;
    const body = 'name=alice&amount=10';
    const a = await h.request({ host: 'body.example.com', method: 'POST', body, headers: { cookie: SESSION, 'content-type': 'application/x-www-form-urlencoded' } });
    expect(a.status).toBe(200);
    expect(a.json).toMatchObject({ method: 'POST', bodyBytes: body.length, bodyDigest: sha(body) });
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ method: 'GET', body });
    expect(seen[0]!.headers).toMatchObject({ 'content-length': String(body.length), 'content-type': 'application/x-www-form-urlencoded' });
    // Refused by the auth service: the backend never sees the request.
    const hits = h.echoes[0]!.hits;
    expect((await h.request({ host: 'body.example.com', method: 'POST', body })).status).toBe(302);
    expect(seen[1]!.body).toBe(body);
    expect(h.echoes[0]!.hits).toBe(hits);
  });

  test('a body over maxBodySize: 401, neither the auth service nor the backend asked', async () => {
    seen.length = 0;
    const hits = h.echoes[0]!.hits;
    const a = await h.request({ host: 'body.example.com', method: 'POST', body: 'x'.repeat(1001), headers: { cookie: SESSION } });
    expect(a.status).toBe(401);
    expect(seen).toEqual([]);
    expect(h.echoes[0]!.hits).toBe(hits);
    // 1000 bytes is within it.
    expect((await h.request({ host: 'body.example.com', method: 'POST', body: 'x'.repeat(1000), headers: { cookie: SESSION } })).json?.bodyBytes).toBe(1000);
  });

  test('maxBodySize -1: the route\'s body limit still holds (413 from the proxy)', async () => {
    seen.length = 0;
    const a = await h.request({ host: 'bodyall.example.com', method: 'POST', body: Buffer.alloc(1536 * 1024, 0x61), headers: { cookie: SESSION } });
    expect(a.status).toBe(413);
    expect(seen).toEqual([]);
  });

  test('a chunked body sent in pieces, with a pipelined request behind it: both served in order, the chunk framing gone for the auth service', async () => {
    seen.length = 0;
    const c = await rawClient();
    c.socket.write(`POST /first HTTP/1.1\r\nHost: body.example.com\r\nCookie: ${SESSION}\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n`);
    await new Promise((r) => setTimeout(r, 100));
    c.socket.write(`6\r\n world\r\n0\r\n\r\nGET /second HTTP/1.1\r\nHost: body.example.com\r\nCookie: ${SESSION}\r\n\r\n`);
    await c.until((got) => (got.match(/"name":"app"/g) ?? []).length >= 2);
    c.socket.destroy();
    const replies = [...c.got.matchAll(/\{"name":"app".*\}/g)].map((m) => JSON.parse(m[0]) as { url: string; bodyBytes: number; bodyDigest: string });
    expect(replies.map((r) => r.url)).toEqual(['/first', '/second']);
    expect(replies[0]).toMatchObject({ bodyBytes: 11, bodyDigest: sha('hello world') });
    expect(replies[1]!.bodyBytes).toBe(0);
    expect(seen.map((x) => x.body)).toEqual(['hello world', '']);
  });

  test('Expect: 100-continue: the proxy asks for the body it reads ahead (the client would wait for it)', async () => {
    seen.length = 0;
    const c = await rawClient();
    c.socket.write(`PUT /upload HTTP/1.1\r\nHost: body.example.com\r\nCookie: ${SESSION}\r\nContent-Length: 8\r\nExpect: 100-continue\r\n\r\n`);
    await c.until((got) => /^HTTP\/1\.1 100 Continue\r\n\r\n/.test(got));
    expect(c.got).toBe('HTTP/1.1 100 Continue\r\n\r\n');
    c.socket.write('12345678');
    await c.until((got) => /"name":"app".*\}/.test(got));
    c.socket.destroy();
    expect(c.got.match(/ 100 Continue/g)).toHaveLength(1);
    expect(JSON.parse(/\{"name":"app".*\}/.exec(c.got)![0])).toMatchObject({ method: 'PUT', bodyBytes: 8, bodyDigest: sha('12345678') });
    expect(seen.map((x) => x.body)).toEqual(['12345678']);
  });

  test('HTTP/2: the body read ahead goes to the auth service and the backend; over maxBodySize: 401', async () => {
    seen.length = 0;
    const session = http2.connect(`https://127.0.0.1:${h.securePort}`, { rejectUnauthorized: false, servername: 'body.example.com' });
    try {
      const post = (body: Buffer, parts: number): Promise<{ status: number; text: string }> =>
        new Promise((resolve, reject) => {
          const req = session.request({ ':method': 'POST', ':path': '/h2', ':authority': 'body.example.com', cookie: SESSION });
          let text = '';
          let status = 0;
          req.on('response', (hd) => (status = Number(hd[':status'])));
          req.on('data', (c: Buffer) => (text += c.toString()));
          req.on('end', () => resolve({ status, text }));
          req.on('error', reject);
          const step = Math.ceil(body.length / parts);
          let off = 0;
          const next = (): void => {
            if (off >= body.length) {
              req.end();
              return;
            }
            req.write(body.subarray(off, off + step));
            off += step;
            setTimeout(next, 30);
          };
          next();
        });
      const body = Buffer.from('a'.repeat(300) + 'b'.repeat(300));
      const ok = await post(body, 3);
      expect(ok.status).toBe(200);
      expect(JSON.parse(ok.text)).toMatchObject({ url: '/h2', bodyBytes: 600, bodyDigest: sha(body) });
      expect(seen.map((x) => x.body)).toEqual([body.toString()]);
      const over = await post(Buffer.alloc(1500, 0x61), 2);
      expect(over.status).toBe(401);
      expect(seen).toHaveLength(1);
    } finally {
      session.close();
    }
  });
});
