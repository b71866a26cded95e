// ingress-nginx proxy-redirect-from / proxy-redirect-to through the real L7
// engine, side by side with Debian's nginx given the same proxy_redirect
// line: the upstream's Location and Refresh rewritten the same way, with
// variables, and left alone when they do not start with the prefix.
import http from 'node:http';
import type net from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { NGINX, startNginxPeer, type NginxPeer } from '../../support/nginx-peer.ts';
import { Harness, ing } from './harness.ts';

const N = 'nginx.ingress.kubernetes.io/';
const LOOPBACK = '127.0.0.1';
const h = new Harness();
let appPort = 0;
// /to/<location> answers 302 with that Location (and a Refresh to it).
const app = http.createServer((req, res) => {
  req.resume();
  const target = decodeURIComponent((req.url ?? '').replace(/^\/to\//, ''));
  res.writeHead(302, { location: target, refresh: `3; url=${target}`, 'content-length': '0' });
  res.end();
});

const CASES = ['http://internal.svc:8080/login?x=1', 'http://internal.svc:8080/', 'HTTP://internal.svc:8080/upper', 'https://elsewhere.example/a', '/relative/path'];

beforeAll(async () => {
  await new Promise<void>((r) => app.listen(0, LOOPBACK, r));
  appPort = (app.address() as net.AddressInfo).port;
  await h.start();
  h.serviceAt('ns', 'app', appPort);
  const annotated = (name: string, annotations: Record<string, string>) =>
    ing('ns', name, [{ host: `${name}.example.com`, paths: [{ service: 'app' }] }], { annotations: Object.fromEntries(Object.entries(annotations).map(([k, v]) => [N + k, v])) });
  h.ingress(annotated('moved', { 'proxy-redirect-from': 'http://internal.svc:8080/', 'proxy-redirect-to': 'https://$host/app/' }));
  h.ingress(annotated('off', { 'proxy-redirect-from': 'off', 'proxy-redirect-to': 'https://x/' }));
  h.ingress(annotated('half', { 'proxy-redirect-from': 'http://internal.svc:8080/' }));
  const out = h.apply();
  expect(out.diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.ref.name}:${d.reason}`)).toEqual(['half:BadAnnotation', 'half:NotServed']);
});

afterAll(async () => {
  await h.stop();
  app.close();
});

const via = (host: string, location: string) => h.request({ host, path: `/to/${encodeURIComponent(location)}` });

describe('proxy-redirect through the proxy', () => {
  test('a Location and Refresh with the prefix get the replacement, variables filled; others stay', async () => {
    const a = await via('moved.example.com', 'http://internal.svc:8080/login?x=1');
    expect(a.headers.location).toBe('https://moved.example.com/app/login?x=1');
    expect(a.headers.refresh).toBe('3; url=https://moved.example.com/app/login?x=1');
    expect((await via('moved.example.com', 'https://elsewhere.example/a')).headers.location).toBe('https://elsewhere.example/a');
    expect((await via('off.example.com', 'http://internal.svc:8080/x')).headers.location).toBe('http://internal.svc:8080/x');
  });
});

describe.skipIf(NGINX === undefined)(`the same proxy_redirect in nginx${NGINX === undefined ? ' (skipped: needs nginx)' : ''}`, () => {
  let nginx: NginxPeer;
  beforeAll(async () => {
    nginx = await startNginxPeer(
      (port) => `  server {
    listen ${LOOPBACK}:${port};
    server_name moved.example.com;
    location / { proxy_redirect http://internal.svc:8080/ https://$host/app/; proxy_pass http://${LOOPBACK}:${appPort}; }
  }`,
    );
  }, 30_000);
  afterAll(() => nginx?.stop());

  const viaNginx = (location: string) =>
    new Promise<http.IncomingHttpHeaders>((resolve, reject) => {
      const r = http.get({ host: LOOPBACK, port: nginx.port, path: `/to/${encodeURIComponent(location)}`, headers: { host: 'moved.example.com' }, agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.headers));
      });
      r.on('error', reject);
    });

  test.each(CASES)('%s: the same Location and Refresh as nginx', async (location) => {
    const ours = await via('moved.example.com', location);
    const theirs = await viaNginx(location);
    expect({ location: ours.headers.location, refresh: ours.headers.refresh }).toEqual({ location: theirs.location, refresh: theirs.refresh });
  });
});
