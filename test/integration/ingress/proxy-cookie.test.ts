// ingress-nginx proxy-cookie-domain / proxy-cookie-path through the real L7
// engine, side by side with Debian's nginx given the same proxy_cookie_domain
// and proxy_cookie_path lines: the upstream's Set-Cookie fields come out the
// same, attribute by attribute.
import http from 'node:http';
import type net from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { NGINX, startNginxPeer, type NginxPeer } from '../../support/nginx-peer.ts';
import { Harness, ing } from './harness.ts';

const N = 'nginx.ingress.kubernetes.io/';
const LOOPBACK = '127.0.0.1';
const COOKIES = [
  'a=1; Domain=internal.svc; Path=/app/x',
  'b=2; domain=.INTERNAL.svc; path=/other; HttpOnly',
  'c=3; Path=/app',
  'd=4; Domain=elsewhere.example; Path=/app/',
  'e=5',
];
const h = new Harness();
let appPort = 0;
const app = http.createServer((req, res) => {
  req.resume();
  res.writeHead(200, { 'set-cookie': COOKIES, 'content-length': '2' });
  res.end('ok');
});

beforeAll(async () => {
  await new Promise<void>((r) => app.listen(0, LOOPBACK, r));
  appPort = (app.address() as net.AddressInfo).port;
  await h.start();
  h.serviceAt('ns', 'app', appPort);
  h.ingress(
    ing('ns', 'cookies', [{ host: 'cookies.example.com', paths: [{ service: 'app' }] }], {
      annotations: { [`${N}proxy-cookie-domain`]: 'internal.svc $host', [`${N}proxy-cookie-path`]: '/app/ /' },
    }),
  );
  h.ingress(ing('ns', 'bad', [{ host: 'bad.example.com', paths: [{ service: 'app' }] }], { annotations: { [`${N}proxy-cookie-path`]: '/only-one' } }));
  const out = h.apply();
  expect(out.diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.ref.name}:${d.reason}`)).toEqual(['bad:BadAnnotation', 'bad:NotServed']);
});

afterAll(async () => {
  await h.stop();
  app.close();
});

describe('proxy-cookie-domain and proxy-cookie-path through the proxy', () => {
  test('the domain that matches (any case, leading dot ignored but kept) and the path prefix are replaced; others stay', async () => {
    const a = await h.request({ host: 'cookies.example.com' });
    expect(a.headers['set-cookie']).toEqual([
      'a=1; Domain=cookies.example.com; Path=/x',
      'b=2; domain=.cookies.example.com; path=/other; HttpOnly',
      'c=3; Path=/app',
      'd=4; Domain=elsewhere.example; Path=/',
      'e=5',
    ]);
  });
});

describe.skipIf(NGINX === undefined)(`the same lines in nginx${NGINX === undefined ? ' (skipped: needs nginx)' : ''}`, () => {
  let nginx: NginxPeer;
  beforeAll(async () => {
    nginx = await startNginxPeer(
      (port) => `  server {
    listen ${LOOPBACK}:${port};
    server_name cookies.example.com;
    location / { proxy_cookie_domain internal.svc $host; proxy_cookie_path /app/ /; proxy_pass http://${LOOPBACK}:${appPort}; }
  }`,
    );
  }, 30_000);
  afterAll(() => nginx?.stop());

  test('the same Set-Cookie fields as nginx', async () => {
    const theirs = await new Promise<http.IncomingHttpHeaders>((resolve, reject) => {
      const r = http.get({ host: LOOPBACK, port: nginx.port, path: '/', headers: { host: 'cookies.example.com' }, agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.headers));
      });
      r.on('error', reject);
    });
    const ours = await h.request({ host: 'cookies.example.com' });
    expect(ours.headers['set-cookie']).toEqual(theirs['set-cookie']);
  });
});
