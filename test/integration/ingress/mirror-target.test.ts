// ingress-nginx mirror-target, mirror-host and mirror-request-body through
// the real L7 engine, side by side with Debian's nginx given the location
// ingress-nginx generates (`mirror` to an internal location whose
// proxy_pass is the target and whose Host is mirror-host): the copy that
// reaches the mirror has the same method, request-target, Host, client
// fields and body; the client's answer is the backend's, and a mirror that
// is down changes nothing for it.
import http from 'node:http';
import type net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { NGINX, startNginxPeer, type NginxPeer } from '../../support/nginx-peer.ts';
import { Harness, ing } from './harness.ts';

const N = 'nginx.ingress.kubernetes.io/';
const LOOPBACK = '127.0.0.1';

interface Copy {
  method: string;
  url: string;
  host: string;
  custom: string | undefined;
  contentLength: string | undefined;
  body: string;
}

/** A mirror: records what reaches it (at the head, so a copy whose body never comes is still seen). */
async function mirrorServer(): Promise<{ port: number; copies: Copy[]; server: http.Server }> {
  const copies: Copy[] = [];
  const server = http.createServer((req, res) => {
    const copy: Copy = { method: req.method ?? '', url: req.url ?? '', host: req.headers.host ?? '', custom: req.headers['x-custom'] as string | undefined, contentLength: req.headers['content-length'], body: '' };
    copies.push(copy);
    req.on('data', (c: Buffer) => (copy.body += c.toString()));
    req.on('end', () => res.end('from the mirror'));
  });
  await new Promise<void>((r) => server.listen(0, LOOPBACK, r));
  return { port: (server.address() as net.AddressInfo).port, copies, server };
}

/** Each case: the annotations, with MIRROR standing for the mirror's address. */
const CASES: Array<[string, Record<string, string>]> = [
  ['requesturi', { 'mirror-target': 'http://MIRROR/$request_uri', 'mirror-host': 'mirror.example.com' }],
  ['fixed', { 'mirror-target': 'http://MIRROR/copy', 'mirror-host': 'fixed.example.com' }],
  ['fixedquery', { 'mirror-target': 'http://MIRROR/copy?from=edge' }],
  ['joined', { 'mirror-target': 'http://MIRROR$request_uri', 'mirror-host': '$host' }],
];

const h = new Harness();
let ours: Awaited<ReturnType<typeof mirrorServer>>;
let theirs: Awaited<ReturnType<typeof mirrorServer>>;
let appPort = 0;
const app = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => res.end('from the app'));
});

beforeAll(async () => {
  await new Promise<void>((r) => app.listen(0, LOOPBACK, r));
  appPort = (app.address() as net.AddressInfo).port;
  ours = await mirrorServer();
  theirs = await mirrorServer();
  await h.start();
  h.serviceAt('ns', 'app', appPort);
  const annotated = (name: string, annotations: Record<string, string>) =>
    ing('ns', name, [{ host: `${name}.example.com`, paths: [{ service: 'app' }] }], {
      annotations: Object.fromEntries(Object.entries(annotations).map(([k, v]) => [N + k, v.replace('MIRROR', `${LOOPBACK}:${ours.port}`)])),
    });
  for (const [name, a] of CASES) h.ingress(annotated(name, a));
  h.ingress(annotated('nobody', { 'mirror-target': 'http://MIRROR/$request_uri', 'mirror-request-body': 'off' }));
  h.ingress(annotated('down', { 'mirror-target': `http://${LOOPBACK}:1/$request_uri` }));
  h.ingress(annotated('bad', { 'mirror-target': 'http://$host/x' }));
  const out = h.apply();
  expect(out.diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.ref.name}:${d.reason}:${d.message}`)).toEqual([
    `bad:BadAnnotation:${N}mirror-target: "http://$host/x" is not an http:// or https:// URL with its host written out (variables only after it)`,
    'bad:NotServed:the Ingress is not served until the errors above are fixed',
  ]);
}, 30_000);

afterAll(async () => {
  await h.stop();
  for (const s of [app, ours.server, theirs.server]) {
    s.closeAllConnections();
    s.close();
  }
});

async function send(port: number, host: string, path: string, method: string, body: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const r = http.request({ host: LOOPBACK, port, path, method, agent: false, headers: { host, 'x-custom': 'yes', 'content-type': 'text/plain' } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve(text));
    });
    r.on('error', reject);
    r.end(body);
  });
}

/** The copy that reaches `mirror` after `go`, waiting up to 3 s. */
async function copyAfter(mirror: { copies: Copy[] }, go: () => Promise<string>): Promise<{ answer: string; copy: Copy | undefined }> {
  const before = mirror.copies.length;
  const answer = await go();
  const until = Date.now() + 3000;
  while (mirror.copies.length === before && Date.now() < until) await sleep(20);
  await sleep(100);
  return { answer, copy: mirror.copies[before] };
}

describe('mirror-target through the engine', () => {
  test('the client gets the backend\'s answer; a mirror that is down changes nothing', async () => {
    expect(await send(h.webPort, 'down.example.com', '/a', 'GET', '')).toBe('from the app');
    const { answer, copy } = await copyAfter(ours, () => send(h.webPort, 'requesturi.example.com', '/a', 'GET', ''));
    expect(answer).toBe('from the app');
    expect(copy?.url).toBe('//a');
  });

  test('mirror-request-body: off: the copy has no body and says none (nginx keeps Content-Length and stalls the mirror)', async () => {
    const { copy } = await copyAfter(ours, () => send(h.webPort, 'nobody.example.com', '/form?x=1', 'POST', 'hello'));
    expect(copy).toEqual({ method: 'POST', url: '//form?x=1', host: `${LOOPBACK}:${ours.port}`, custom: 'yes', contentLength: undefined, body: '' });
  });
});

describe.skipIf(NGINX === undefined)(`side by side with nginx${NGINX === undefined ? ' (skipped: no nginx)' : ''}`, () => {
  let nginx: NginxPeer;
  beforeAll(async () => {
    // What ingress-nginx generates for each Ingress: the mirror in the location, the target in an internal one.
    const location = (name: string, a: Record<string, string>) => {
      const target = a['mirror-target']!.replace('MIRROR', `${LOOPBACK}:${theirs.port}`);
      const host = a['mirror-host'] ?? new URL(target.replace(/\$[a-z_]+/g, '')).host;
      return `
  server {
    listen ${LOOPBACK}:PORT;
    server_name ${name}.example.com;
    location / {
      mirror /_mirror-${name};
      mirror_request_body on;
      proxy_http_version 1.1;
      proxy_pass http://${LOOPBACK}:${appPort};
    }
    location = /_mirror-${name} {
      internal;
      proxy_set_header Host "${host}";
      proxy_pass "${target}";
    }
  }`;
    };
    nginx = await startNginxPeer((port) => CASES.map(([name, a]) => location(name, a).replaceAll('PORT', String(port))).join('\n'));
  }, 30_000);
  afterAll(() => nginx?.stop());

  test.each(CASES)('%s: the same copy as nginx sends', async (name) => {
    for (const [method, path, body] of [
      ['GET', '/a/b?x=1&y=2', ''],
      ['POST', '/form', 'hello'],
    ] as const) {
      const mine = await copyAfter(ours, () => send(h.webPort, `${name}.example.com`, path, method, body));
      const peer = await copyAfter(theirs, () => send(nginx.port, `${name}.example.com`, path, method, body));
      expect(mine.answer).toBe(peer.answer);
      // The mirror's own address appears in the default Host: compare without the port.
      const same = (c: Copy | undefined, port: number) => (c === undefined ? undefined : { ...c, host: c.host.replace(String(port), 'MIRROR') });
      expect(same(mine.copy, ours.port)).toEqual(same(peer.copy, theirs.port));
    }
  });
});
