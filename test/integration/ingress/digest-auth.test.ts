// HTTP Digest auth (ingress-nginx auth-type: digest, Traefik digestAuth)
// through the real L7 engine, with curl as the independent client (its own
// RFC 7616 implementation computes the responses).
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { hasProgram } from '../../support/netns-exec.ts';
import { Harness, ing, ingressRoute, middleware } from './harness.ts';

const run = promisify(execFile);
const N = 'nginx.ingress.kubernetes.io/';
const h = new Harness();
const ha1 = (user: string, realm: string, password: string) => createHash('md5').update(`${user}:${realm}:${password}`).digest('hex');
const b64 = (s: string) => Buffer.from(s).toString('base64');

/** curl --digest: the final status, and the challenge of the first answer. */
async function curl(host: string, path: string, user?: string, method = 'GET'): Promise<{ status: number; challenge: string }> {
  const args = ['-s', '-o', '/dev/null', '-D', '-', '-X', method, '-H', `Host: ${host}`, ...(user ? ['--digest', '-u', user] : []), `http://127.0.0.1:${h.webPort}${path}`];
  const { stdout } = await run('curl', args, { timeout: 10_000 });
  const statuses = [...stdout.matchAll(/^HTTP\/1\.1 (\d+)/gm)].map((m) => Number(m[1]));
  const challenge = /^www-authenticate: (.*)\r?$/im.exec(stdout)?.[1]?.trim() ?? '';
  return { status: statuses.at(-1) ?? 0, challenge };
}

beforeAll(async () => {
  await h.start();
  await h.service('ns', 'app', 1);
  const lines = [`alice:Members only:${ha1('alice', 'Members only', 'wonderland')}`, `bob:elsewhere:${ha1('bob', 'elsewhere', 'builder')}`].join('\n');
  h.secret({ metadata: { namespace: 'ns', name: 'digest' }, data: { auth: b64(lines) } });
  h.ingress(ing('ns', 'members', [{ host: 'members.example.com', paths: [{ service: 'app' }] }], { annotations: { [`${N}auth-type`]: 'digest', [`${N}auth-secret`]: 'digest', [`${N}auth-realm`]: 'Members only' } }));
  h.secret({ metadata: { namespace: 'ns', name: 'traefik-digest' }, data: { users: b64(`carol:traefik:${ha1('carol', 'traefik', 'secret')}`) } });
  h.traefik('Middleware', middleware('ns', 'digest', { digestAuth: { secret: 'traefik-digest', headerField: 'X-Digest-User' } }));
  h.traefik('IngressRoute', ingressRoute('ns', 'traefik', [{ match: 'Host(`traefik.example.com`)', services: [{ name: 'app', port: 80 }], middlewares: [{ name: 'digest' }] }]));
  const out = h.apply();
  expect(out.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
});

afterAll(async () => {
  await h.stop();
});

describe.skipIf(!hasProgram('curl'))('digest auth', () => {
  test('no credentials: 401 with a Digest challenge for the realm', async () => {
    const a = await curl('members.example.com', '/');
    expect(a.status).toBe(401);
    expect(a.challenge).toMatch(/^Digest realm="Members only", qop="auth", nonce="[0-9a-f]+\.[A-Za-z0-9_-]+", opaque="[0-9a-f]+", algorithm=MD5$/);
  });

  test('curl with the right password gets through, with a query and a POST too; a wrong one, or a user of another realm, does not', async () => {
    expect((await curl('members.example.com', '/page?x=1', 'alice:wonderland')).status).toBe(200);
    expect((await curl('members.example.com', '/form', 'alice:wonderland', 'POST')).status).toBe(200);
    expect((await curl('members.example.com', '/', 'alice:wrong')).status).toBe(401);
    expect((await curl('members.example.com', '/', 'bob:builder')).status).toBe(401);
  });

  test("Traefik's digestAuth (realm traefik), with the user in headerField", async () => {
    expect((await curl('traefik.example.com', '/', 'carol:secret')).status).toBe(200);
    expect((await curl('traefik.example.com', '/', 'carol:nope')).status).toBe(401);
  });

  test('a replayed Authorization field (same nonce count) is refused; a forged nonce too', async () => {
    const first = await h.request({ host: 'members.example.com', path: '/r' });
    const nonce = /nonce="([^"]+)"/.exec(first.headers['www-authenticate'] as string)![1]!;
    const md5 = (s: string) => createHash('md5').update(s).digest('hex');
    const field = (n: string, nc: string) =>
      `Digest username="alice", realm="Members only", nonce="${n}", uri="/r", qop=auth, nc=${nc}, cnonce="abc", response="${md5(`${ha1('alice', 'Members only', 'wonderland')}:${n}:${nc}:abc:auth:${md5('GET:/r')}`)}"`;
    expect((await h.request({ host: 'members.example.com', path: '/r', headers: { authorization: field(nonce, '00000001') } })).status).toBe(200);
    expect((await h.request({ host: 'members.example.com', path: '/r', headers: { authorization: field(nonce, '00000001') } })).status).toBe(401);
    expect((await h.request({ host: 'members.example.com', path: '/r', headers: { authorization: field(nonce, '00000002') } })).status).toBe(200);
    expect((await h.request({ host: 'members.example.com', path: '/r', headers: { authorization: field('fffffffff.forged', '00000001') } })).status).toBe(401);
  });
});
