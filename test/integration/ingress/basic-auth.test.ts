// ingress-nginx's basic auth (auth-type: basic, auth-secret, auth-secret-type,
// auth-realm) through the real L7 engine, side by side with Debian's nginx
// given the same htpasswd file (auth_basic + auth_basic_user_file, as
// ingress-nginx's template writes it). The hashes come from other
// implementations: bcrypt from bcryptjs (as `htpasswd -B` writes it, $2y$),
// MD5-crypt from `openssl passwd -apr1` and `-1`, SHA1 as `htpasswd -s`.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import http from 'node:http';
import bcrypt from 'bcryptjs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { hasProgram } from '../../support/netns-exec.ts';
import { NGINX, startNginxPeer, type NginxPeer } from '../../support/nginx-peer.ts';
import { Harness, ing, ingressRoute, middleware } from './harness.ts';

const N = 'nginx.ingress.kubernetes.io/';
const LOOPBACK = '127.0.0.1';

const openssl = (...args: string[]) => execFileSync('openssl', ['passwd', ...args], { encoding: 'utf8' }).trim();
const USERS: Array<[user: string, password: string, hash: () => string]> = [
  ['bea', 'bcrypt-secret', () => bcrypt.hashSync('bcrypt-secret', 10).replace(/^\$2b\$/, '$2y$')],
  ['ada', 'apr1-secret', () => openssl('-apr1', '-salt', 'q9Ue3Hdo', 'apr1-secret')],
  ['max', 'md5-secret', () => openssl('-1', '-salt', 'Zr4nQ', 'md5-secret')],
  ['sam', 'sha1-secret', () => `{SHA}${createHash('sha1').update('sha1-secret').digest('base64')}`],
];

const h = new Harness();
let htpasswd = '';
const b64 = (s: string) => Buffer.from(s).toString('base64');
const basic = (user: string, password: string) => ({ authorization: `Basic ${b64(`${user}:${password}`)}` });

beforeAll(async () => {
  htpasswd = USERS.map(([user, , hash]) => `${user}:${hash()}`).join('\n') + '\n';
  await h.start();
  await h.service('ns', 'app', 1);
  h.secret({ metadata: { namespace: 'ns', name: 'basic-auth' }, data: { auth: b64(htpasswd) } });
  h.secret({ metadata: { namespace: 'ns', name: 'basic-map' }, data: { ada: b64(htpasswd.split('\n')[1]!.split(':').slice(1).join(':')) } });
  const annotated = (name: string, annotations: Record<string, string>) =>
    ing('ns', name, [{ host: `${name}.example.com`, paths: [{ service: 'app' }] }], { annotations: Object.fromEntries(Object.entries(annotations).map(([k, v]) => [N + k, v])) });
  // The ingress-nginx documentation's example, as written there.
  h.ingress(annotated('docs', { 'auth-type': 'basic', 'auth-secret': 'basic-auth', 'auth-realm': 'Authentication Required - foo' }));
  h.ingress(annotated('norealm', { 'auth-type': 'basic', 'auth-secret': 'ns/basic-auth' }));
  h.ingress(annotated('map', { 'auth-type': 'basic', 'auth-secret': 'basic-map', 'auth-secret-type': 'auth-map' }));
  h.ingress(annotated('missing', { 'auth-type': 'basic', 'auth-secret': 'nope' }));
  h.ingress(annotated('elsewhere', { 'auth-type': 'basic', 'auth-secret': 'other/basic-auth' }));
  h.ingress(annotated('digest', { 'auth-type': 'digest', 'auth-secret': 'basic-auth' }));
  h.ingress(annotated('untyped', { 'auth-secret': 'basic-auth' }));
  // Traefik's basicAuth reads the same lines under `users`.
  h.secret({ metadata: { namespace: 'ns', name: 'traefik-users' }, data: { users: b64(htpasswd) } });
  h.traefik('Middleware', middleware('ns', 'users', { basicAuth: { secret: 'traefik-users' } }));
  h.traefik('IngressRoute', ingressRoute('ns', 'traefik', [{ match: 'Host(`traefik.example.com`)', services: [{ name: 'app', port: 80 }], middlewares: [{ name: 'users' }] }]));
  const out = h.apply();
  // Fail closed: each of these is withheld, with the reason on the Ingress.
  expect(out.diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.ref.name}:${d.reason}`).sort()).toEqual(
    ['digest:BadSecret', 'digest:NotServed', 'elsewhere:BadAnnotation', 'elsewhere:NotServed', 'missing:MissingSecret', 'missing:NotServed', 'untyped:BadAnnotation', 'untyped:NotServed'].sort(),
  );
});

afterAll(async () => {
  await h.stop();
});

describe('auth-type: basic through the proxy', () => {
  test.each(USERS.map(([user, password]) => [user, password] as const))('%s logs in with the right password only; the backend gets the Authorization field', async (user, password) => {
    const ok = await h.request({ host: 'docs.example.com', headers: basic(user, password) });
    expect(ok.status).toBe(200);
    expect(ok.json!.headers.authorization).toBe(basic(user, password).authorization);
    const wrong = await h.request({ host: 'docs.example.com', headers: basic(user, `${password}x`) });
    expect(wrong.status).toBe(401);
    expect(wrong.headers['www-authenticate']).toBe('Basic realm="Authentication Required - foo"');
  });

  test('no credentials, an unknown user, a malformed field: 401', async () => {
    for (const headers of [{}, basic('eve', 'x'), { authorization: 'Basic !!!' }, { authorization: 'Bearer abc' }]) {
      expect((await h.request({ host: 'docs.example.com', headers })).status).toBe(401);
    }
  });

  test("Traefik's basicAuth: every hash kind, bcrypt included; realm traefik", async () => {
    for (const [user, password] of USERS) expect((await h.request({ host: 'traefik.example.com', headers: basic(user, password) })).status).toBe(200);
    const refused = await h.request({ host: 'traefik.example.com', headers: basic('bea', 'nope') });
    expect(refused.status).toBe(401);
    expect(refused.headers['www-authenticate']).toBe('Basic realm="traefik"');
  });

  test('auth-map: one key per user', async () => {
    expect((await h.request({ host: 'map.example.com', headers: basic('ada', 'apr1-secret') })).status).toBe(200);
    expect((await h.request({ host: 'map.example.com', headers: basic('bea', 'bcrypt-secret') })).status).toBe(401);
  });

  test('a missing Secret, another namespace, digest, or auth-secret without auth-type: not served', async () => {
    for (const host of ['missing', 'elsewhere', 'digest', 'untyped']) expect((await h.request({ host: `${host}.example.com`, headers: basic('ada', 'apr1-secret') })).status).toBe(404);
  });

  test('bcrypt checks do not stall the event loop: other requests are answered while 20 run', async () => {
    const slow = Array.from({ length: 20 }, (_, i) => h.request({ host: 'docs.example.com', headers: basic('bea', `wrong-${i}`) }));
    // On a connection of its own (the harness's client holds 16).
    const t0 = Date.now();
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request({ host: LOOPBACK, port: h.webPort, path: '/', headers: { host: 'norealm.example.com', ...basic('sam', 'sha1-secret') }, agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.end();
    });
    const quick = Date.now() - t0;
    expect(status).toBe(200);
    expect((await Promise.all(slow)).every((a) => a.status === 401)).toBe(true);
    // A SHA1 check waits for no bcrypt computation: 9-11 ms here; with bcrypt on the event loop, 1.8 s.
    expect(quick).toBeLessThan(250);
  });
});

describe.skipIf(NGINX === undefined || !hasProgram('openssl'))(`the same htpasswd in nginx${NGINX === undefined ? ' (skipped: needs nginx)' : ''}`, () => {
  let nginx: NginxPeer;
  let nginxPort = 0;

  beforeAll(async () => {
    const backend = h.echoes[0]!.port;
    const server = (port: number, dir: string, name: string, realm: string) => `  server {
    listen ${LOOPBACK}:${port};
    server_name ${name}.example.com;
    location / {
      auth_basic "${realm}";
      auth_basic_user_file ${dir}/users.passwd;
      proxy_set_header Host $host;
      proxy_pass http://${LOOPBACK}:${backend};
    }
  }`;
    nginx = await startNginxPeer((port, dir) => `${server(port, dir, 'docs', 'Authentication Required - foo')}\n${server(port, dir, 'norealm', '')}`, { 'users.passwd': htpasswd });
    nginxPort = nginx.port;
  }, 30_000);

  afterAll(() => nginx?.stop());

  const viaNginx = (host: string, headers: Record<string, string>) =>
    new Promise<{ status: number; headers: http.IncomingHttpHeaders }>((resolve, reject) => {
      const req = http.request({ host: LOOPBACK, port: nginxPort, path: '/', headers: { host, ...headers }, agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
      });
      req.on('error', reject);
      req.end();
    });

  const cases: Array<[string, string, Record<string, string>]> = [
    ...USERS.flatMap(([user, password]): Array<[string, string, Record<string, string>]> => [
      [`${user}, right password`, 'docs', basic(user, password)],
      [`${user}, wrong password`, 'docs', basic(user, password.toUpperCase())],
    ]),
    ['no credentials', 'docs', {}],
    ['unknown user', 'docs', basic('eve', 'x')],
    ['no colon', 'docs', { authorization: `Basic ${b64('ada')}` }],
    ['another scheme', 'docs', { authorization: 'Bearer abc' }],
    ['lowercase scheme', 'docs', { authorization: `basic ${b64('sam:sha1-secret')}` }],
    ['empty realm, no credentials', 'norealm', {}],
  ];

  test.each(cases)('%s: same status and challenge as nginx', async (_name, host, headers) => {
    const ours = await h.request({ host: `${host}.example.com`, headers });
    const theirs = await viaNginx(`${host}.example.com`, headers);
    expect(ours.status).toBe(theirs.status);
    expect(ours.headers['www-authenticate']).toEqual(theirs.headers['www-authenticate']);
  });
});
