// ingress-nginx's satisfy annotation through the real L7 engine, side by
// side with Debian's nginx given the same location (satisfy, the deny and
// allow lines ingress-nginx writes for denylist-/whitelist-source-range, and
// auth_basic): with `any`, an address the lines allow needs no password, a
// password opens what the lines refuse, and a request neither allows gets
// the auth's 401 (with its challenge).
import http from 'node:http';
import type net from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { NGINX, startNginxPeer, type NginxPeer } from '../../support/nginx-peer.ts';
import { Harness, ing } from './harness.ts';

const N = 'nginx.ingress.kubernetes.io/';
const LOOPBACK = '127.0.0.1';
// "ops:secret", as `htpasswd -s` writes it.
const HTPASSWD = 'ops:{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=\n';
const b64 = (s: string) => Buffer.from(s).toString('base64');
const GOOD = { authorization: `Basic ${b64('ops:secret')}` };
const BAD = { authorization: `Basic ${b64('ops:nope')}` };

/** name -> annotations; the same locations are written for nginx below. */
const CASES: Record<string, Record<string, string>> = {
  office: { satisfy: 'any', 'whitelist-source-range': '127.0.0.1/32' },
  remote: { satisfy: 'any', 'whitelist-source-range': '198.18.0.0/15' },
  denied: { satisfy: 'any', 'denylist-source-range': '127.0.0.1/32' },
  both: { satisfy: 'any', 'denylist-source-range': '127.0.0.1/32', 'whitelist-source-range': '127.0.0.0/8' },
  all: { 'whitelist-source-range': '198.18.0.0/15' },
};
/** nginx's lines for each case, as ingress-nginx's template writes them. */
const LINES: Record<string, string> = {
  office: 'satisfy any; allow 127.0.0.1/32; deny all;',
  remote: 'satisfy any; allow 198.18.0.0/15; deny all;',
  denied: 'satisfy any; deny 127.0.0.1/32;',
  both: 'satisfy any; deny 127.0.0.1/32; allow 127.0.0.0/8; deny all;',
  all: 'satisfy all; allow 198.18.0.0/15; deny all;',
};

const h = new Harness();
let authPort = 0;
const auth = http.createServer((req, res) => {
  req.resume();
  res.writeHead((req.headers.cookie ?? '').includes('session=ok') ? 200 : 401);
  res.end();
});

beforeAll(async () => {
  await new Promise<void>((r) => auth.listen(0, LOOPBACK, r));
  authPort = (auth.address() as net.AddressInfo).port;
  await h.start();
  await h.service('ns', 'app', 1);
  h.secret({ metadata: { namespace: 'ns', name: 'users' }, data: { auth: b64(HTPASSWD) } });
  const annotated = (name: string, annotations: Record<string, string>) =>
    ing('ns', name, [{ host: `${name}.example.com`, paths: [{ service: 'app' }] }], { annotations: Object.fromEntries(Object.entries(annotations).map(([k, v]) => [N + k, v])) });
  for (const [name, a] of Object.entries(CASES)) h.ingress(annotated(name, { ...a, 'auth-type': 'basic', 'auth-secret': 'users', 'auth-realm': 'ops' }));
  h.ingress(annotated('external', { satisfy: 'any', 'whitelist-source-range': '198.18.0.0/15', 'auth-url': `http://${LOOPBACK}:${authPort}/check` }));
  h.ingress(annotated('typo', { satisfy: 'some' }));
  const out = h.apply();
  expect(out.diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.ref.name}:${d.reason}`)).toEqual(['typo:BadAnnotation', 'typo:NotServed']);
});

afterAll(async () => {
  await h.stop();
  auth.close();
});

const status = async (host: string, headers: Record<string, string> = {}) => (await h.request({ host: `${host}.example.com`, headers })).status;

describe('satisfy through the proxy', () => {
  test('any: an allowed address needs no password; elsewhere the password opens it', async () => {
    expect(await status('office')).toBe(200);
    expect(await status('remote')).toBe(401);
    expect(await status('remote', GOOD)).toBe(200);
    expect(await status('remote', BAD)).toBe(401);
  });

  test('any: a password opens what a deny list refuses (nginx semantics: one yes is enough)', async () => {
    expect(await status('denied')).toBe(401);
    expect(await status('denied', GOOD)).toBe(200);
    expect(await status('both', GOOD)).toBe(200);
  });

  test('all (the default): both must agree', async () => {
    expect(await status('all', GOOD)).toBe(403);
  });

  test('any with auth-url: the session opens it, no session is 401', async () => {
    expect(await status('external', { cookie: 'session=ok' })).toBe(200);
    expect(await status('external')).toBe(401);
  });

  test('a value other than all or any: not served', async () => {
    expect(await status('typo')).toBe(404);
  });
});

describe.skipIf(NGINX === undefined)(`the same locations in nginx${NGINX === undefined ? ' (skipped: needs nginx)' : ''}`, () => {
  let nginx: NginxPeer;

  beforeAll(async () => {
    const backend = h.echoes[0]!.port;
    const server = (port: number, dir: string, name: string) => `  server {
    listen ${LOOPBACK}:${port};
    server_name ${name}.example.com;
    location / {
      ${LINES[name]}
      auth_basic "ops";
      auth_basic_user_file ${dir}/users.passwd;
      proxy_set_header Host $host;
      proxy_pass http://${LOOPBACK}:${backend};
    }
  }`;
    nginx = await startNginxPeer((port, dir) => Object.keys(CASES).map((name) => server(port, dir, name)).join('\n'), { 'users.passwd': HTPASSWD });
  }, 30_000);

  afterAll(() => nginx?.stop());

  const viaNginx = (host: string, headers: Record<string, string>) =>
    new Promise<{ status: number; challenge: string | undefined }>((resolve, reject) => {
      const req = http.request({ host: LOOPBACK, port: nginx.port, path: '/', headers: { host: `${host}.example.com`, ...headers }, agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, challenge: res.headers['www-authenticate'] }));
      });
      req.on('error', reject);
      req.end();
    });

  test.each(Object.keys(CASES))('%s: the same status and challenge as nginx, with no, wrong and right credentials', async (name) => {
    for (const headers of [{}, BAD, GOOD]) {
      const ours = await h.request({ host: `${name}.example.com`, headers });
      const theirs = await viaNginx(name, headers);
      expect({ name, headers, status: ours.status, challenge: ours.headers['www-authenticate'] }).toEqual({ name, headers, status: theirs.status, challenge: theirs.challenge });
    }
  });
});
