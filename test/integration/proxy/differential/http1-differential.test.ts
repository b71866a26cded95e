// HTTP/1.1 strictness proven against peers: every request of the corpus is
// sent as raw bytes to metalgate and to nginx (each proxying to a backend
// that records the bytes it gets) and to a node:http server (llhttp). What
// is asserted is what reached metalgate's backend:
// - the framing is metalgate's own: one Content-Length in canonical digits
//   that matches the body, or Transfer-Encoding: chunked with canonical
//   chunks (lower-case hex, no leading zeros, no extensions) and no
//   trailers; never both; exactly one message;
// - no field name with an underscore (nginx's default);
// - nothing at all when nginx and llhttp both refuse the request.

import http from 'node:http';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { NGINX, startNginxPeer, type NginxPeer } from '../../../support/nginx-peer.ts';
import { LOOPBACK, proxyTo, type Proxy } from '../http-harness.ts';
import { corpus } from './corpus.ts';

const skip = NGINX === undefined ? 'needs nginx (Debian nginx-light; .ci/run installs it)' : null;

/** A backend that records every byte it receives and answers 200 once the sender has been quiet 40 ms. */
class RecordingBackend {
  received: Buffer[] = [];
  readonly server = net.createServer((s) => {
    let quiet: NodeJS.Timeout | undefined;
    s.on('data', (b: Buffer) => {
      this.received.push(b);
      clearTimeout(quiet);
      quiet = setTimeout(() => s.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok'), 40);
    });
    s.on('error', () => {});
    s.on('close', () => clearTimeout(quiet));
  });
  port = 0;
  async start(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, LOOPBACK, r));
    this.port = (this.server.address() as net.AddressInfo).port;
  }
  take(): Buffer {
    const all = Buffer.concat(this.received);
    this.received = [];
    return all;
  }
}

/** Sends raw bytes on a new connection; the status of the first answer, or 0 when none came before the close or 1.5 s. */
function exchange(port: number, raw: string): Promise<number> {
  return new Promise((resolve) => {
    const s = net.connect(port, LOOPBACK);
    let got = '';
    const done = () => {
      clearTimeout(limit);
      s.destroy();
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(got);
      resolve(m ? Number(m[1]) : 0);
    };
    const limit = setTimeout(done, 1_500);
    s.on('connect', () => s.write(Buffer.from(raw, 'latin1')));
    s.on('data', (b: Buffer) => (got += b.toString('latin1')));
    s.on('close', done);
    s.on('error', () => {});
  });
}

interface Forwarded {
  readonly ok: boolean;
  readonly problems: string[];
}

/** Checks the bytes a backend got for one request: metalgate's framing only, one message, no underscores. */
function checkForwarded(bytes: Buffer): Forwarded {
  const text = bytes.toString('latin1');
  const problems: string[] = [];
  const headEnd = text.indexOf('\r\n\r\n');
  if (headEnd < 0) return { ok: false, problems: ['no complete head'] };
  const lines = text.slice(0, headEnd).split('\r\n');
  const fields = lines.slice(1).map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1)] as const);
  const named = (n: string) => fields.filter(([k]) => k.toLowerCase() === n);
  for (const [k] of fields) if (k.includes('_')) problems.push(`field name with an underscore: ${k}`);
  const te = named('transfer-encoding');
  const cl = named('content-length');
  let rest = text.slice(headEnd + 4);
  if (te.length > 0 && cl.length > 0) problems.push('both Content-Length and Transfer-Encoding');
  if (te.length > 1 || cl.length > 1) problems.push('a framing field twice');
  if (te.length === 1) {
    if (te[0]![1] !== ' chunked') problems.push(`Transfer-Encoding as the client wrote it: ${JSON.stringify(te[0]![1])}`);
    for (;;) {
      if (rest === '') break; // the client has not sent the rest yet: nothing wrong went out
      const m = /^([0-9a-f]+)\r\n/.exec(rest);
      if (m === null || (m[1]!.length > 1 && m[1]!.startsWith('0'))) {
        problems.push(`chunk-size line not ours: ${JSON.stringify(rest.slice(0, 20))}`);
        break;
      }
      const size = parseInt(m[1]!, 16);
      rest = rest.slice(m[0].length);
      if (size === 0) {
        if (!rest.startsWith('\r\n')) problems.push(`trailers or bytes after the last chunk: ${JSON.stringify(rest.slice(0, 40))}`);
        rest = rest.slice(2);
        break;
      }
      if (rest.slice(size, size + 2) !== '\r\n') {
        problems.push('chunk data not followed by CRLF');
        break;
      }
      rest = rest.slice(size + 2);
    }
  } else if (cl.length === 1) {
    const v = cl[0]![1];
    if (!/^ (0|[1-9][0-9]*)$/.test(v)) problems.push(`Content-Length as the client wrote it: ${JSON.stringify(v)}`);
    const n = Number(v.trim());
    if (rest.length < n) problems.push(`Content-Length ${n} but ${rest.length} body bytes`);
    rest = rest.slice(n);
  }
  if (rest.length > 0) problems.push(`bytes after the message (a second request?): ${JSON.stringify(rest.slice(0, 40))}`);
  return { ok: problems.length === 0, problems };
}

describe.skipIf(skip !== null)(`HTTP/1.1 differential corpus: metalgate, nginx, llhttp${skip ? ` (skipped: ${skip})` : ''}`, () => {
  const mgBackend = new RecordingBackend();
  const nginxBackend = new RecordingBackend();
  let metalgate: Proxy;
  let nginx: NginxPeer;
  let nginxPort = 0;
  let nodeServer: http.Server;
  let nodePort = 0;
  const rows: string[] = [];

  beforeAll(async () => {
    await mgBackend.start();
    await nginxBackend.start();
    metalgate = await proxyTo([mgBackend.port]);
    nodeServer = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => res.end('ok'));
    });
    await new Promise<void>((r) => nodeServer.listen(0, LOOPBACK, r));
    nodePort = (nodeServer.address() as net.AddressInfo).port;

    // nginx as ingress-nginx configures a proxied location (HTTP/1.1 upstream, defaults otherwise).
    nginx = await startNginxPeer(
      (port) => `  server {
    listen ${LOOPBACK}:${port};
    location / {
      proxy_pass http://${LOOPBACK}:${nginxBackend.port};
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
    }
  }`,
    );
    nginxPort = nginx.port;
  }, 30_000);

  afterAll(async () => {
    console.log(`| request | metalgate | nginx | llhttp | reached metalgate's backend |\n|---|---:|---:|---:|---|\n${rows.join('\n')}`);
    nginx?.stop();
    await metalgate?.close();
    await new Promise<void>((r) => nodeServer?.close(() => r()) ?? r());
    mgBackend.server.close();
    nginxBackend.server.close();
  });

  const requests = corpus();
  test('the corpus holds at least 120 requests', () => expect(requests.length).toBeGreaterThanOrEqual(120));

  test.each(requests.map((r) => [r.name, r] as const))('%s', async (_name, r) => {
    const [mgStatus, nginxStatus, nodeStatus] = await Promise.all([exchange(metalgate.port, r.raw), exchange(nginxPort, r.raw), exchange(nodePort, r.raw)]);
    await new Promise((res) => setTimeout(res, 60)); // let the backends' last bytes land
    const mgUp = mgBackend.take();
    const nginxUp = nginxBackend.take();
    // Refused: an error answer (and for nginx nothing forwarded); no answer yet means still waiting.
    const nginxRefused = nginxStatus >= 400 && nginxUp.length === 0;
    const llhttpRefused = nodeStatus >= 400;
    rows.push(`| ${r.name.replaceAll('|', '\\|')} | ${mgStatus} | ${nginxStatus} | ${nodeStatus} | ${mgUp.length === 0 ? 'nothing' : `${mgUp.length} bytes`} |`);
    if (mgUp.length > 0) {
      const check = checkForwarded(mgUp);
      expect(check.problems, `forwarded:\n${mgUp.toString('latin1')}`).toEqual([]);
      if (nginxRefused && llhttpRefused) {
        expect.fail(`nginx (${nginxStatus}) and llhttp (${nodeStatus}) both refuse this request, but metalgate forwarded it:\n${mgUp.toString('latin1')}`);
      }
    }
  }, 10_000);
});
