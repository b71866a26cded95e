// Test harness for the HTTP entrypoint (loopback only): echo backends (one
// on node:http, one strict raw one built on the http1 parsers so that
// extension methods and odd framing reach it as the proxy forwards them), a
// proxy on an ephemeral port, raw-socket clients and a response reader.

import http from 'node:http';
import net from 'node:net';
import { ChunkedDecoder } from '../../../src/proxy/http1/chunked-decoder.ts';
import { RequestHeadParser, type RequestHead } from '../../../src/proxy/http1/request-head.ts';
import { ResponseHeadParser, responseBodyKind } from '../../../src/proxy/http1/response-head.ts';
import { EndpointSetBackend } from '../../../src/proxy/http/backend.ts';
import { CertificateStore } from '../../../src/proxy/http/certificates.ts';
import { HttpEntrypoint } from '../../../src/proxy/http/entrypoint.ts';
import { ingressRouter } from '../../support/table-router.ts';
import type { Endpoint, HttpEntrypointOptions } from '../../../src/proxy/http/types.ts';

export const LOOPBACK = '127.0.0.1';

/** A loopback port with nothing listening: bind, note the port, close. */
export async function deadPort(host = LOOPBACK): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, host, resolve));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((resolve) => s.close(resolve));
  return port;
}

export function endpoint(port: number, ip = LOOPBACK, extra: Partial<Endpoint> = {}): Endpoint {
  return { ip, port, ready: true, serving: true, terminating: false, ...extra };
}

/** What the echo backends answer (JSON body, and x-echo-* fields). */
export interface Echo {
  name: string;
  method: string;
  url: string;
  headers: Record<string, string | string[]>;
  /** Raw field lines as received, in order (raw backend only). */
  raw?: Array<[string, string]>;
  bodyBytes: number;
  body: string;
  remotePort: number;
}

export interface Backend {
  readonly port: number;
  readonly server: net.Server;
  /** Connections accepted so far. */
  connections: number;
  /** Requests seen so far. */
  requests: Echo[];
  close(): Promise<void>;
}

/**
 * node:http echo backend. Paths: /slow?ms=N (answer after N ms), /status/N,
 * /chunked (chunked response of three parts), /big?bytes=N, /nobody (204),
 * /notmodified (304). Anything else: 200 with the Echo JSON.
 */
export async function nodeBackend(name = 'node', opts: { keepAliveTimeoutMs?: number } = {}): Promise<Backend> {
  const state = { connections: 0, requests: [] as Echo[] };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const echo: Echo = {
        name,
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers as Record<string, string | string[]>,
        bodyBytes: body.length,
        body: body.toString('latin1'),
        remotePort: req.socket.remotePort ?? 0,
      };
      state.requests.push(echo);
      const u = new URL(req.url ?? '/', 'http://x');
      const send = (): void => {
        if (u.pathname.startsWith('/status/')) {
          res.writeHead(Number(u.pathname.slice(8)), { 'content-type': 'text/plain' });
          res.end(`status ${u.pathname.slice(8)}`);
        } else if (u.pathname === '/chunked') {
          res.writeHead(200, { 'content-type': 'text/plain' });
          res.write('part1-');
          setTimeout(() => {
            res.write('part2-');
            res.end('part3');
          }, 5);
        } else if (u.pathname === '/big') {
          const n = Number(u.searchParams.get('bytes') ?? '1000000');
          res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': n });
          res.end(Buffer.alloc(n, 0x61));
        } else if (u.pathname === '/nobody') {
          res.writeHead(204, { 'x-echo-name': name });
          res.end();
        } else if (u.pathname === '/notmodified') {
          res.writeHead(304, { etag: '"x"', 'x-echo-name': name });
          res.end();
        } else if (u.pathname === '/text') {
          const text = 'hello compressible text '.repeat(200);
          res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(text) });
          res.end(text);
        } else {
          const out = JSON.stringify(echo);
          res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(out), 'x-echo-name': name });
          res.end(out);
        }
      };
      const slow = u.pathname === '/slow' ? Number(u.searchParams.get('ms') ?? '200') : 0;
      if (slow > 0) setTimeout(send, slow);
      else send();
    });
  });
  if (opts.keepAliveTimeoutMs !== undefined) server.keepAliveTimeout = opts.keepAliveTimeoutMs;
  server.on('connection', () => state.connections++);
  await new Promise<void>((r) => server.listen(0, LOOPBACK, r));
  return wrap(server, state);
}

function wrap(server: net.Server, state: { connections: number; requests: Echo[] }): Backend {
  const sockets = new Set<net.Socket>();
  server.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    server,
    get connections() {
      return state.connections;
    },
    set connections(v: number) {
      state.connections = v;
    },
    get requests() {
      return state.requests;
    },
    set requests(v: Echo[]) {
      state.requests = v;
    },
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/**
 * A strict echo backend on the http1 parsers: forwards nothing to Node's
 * parser, so any method and the exact field lines the proxy sent are seen.
 * Answers 200 with the Echo JSON (Content-Length), keeps connections alive.
 */
export async function rawBackend(name = 'raw'): Promise<Backend> {
  const state = { connections: 0, requests: [] as Echo[] };
  const server = net.createServer((sock) => {
    state.connections++;
    const parser = new RequestHeadParser();
    const decoder = new ChunkedDecoder();
    let head: RequestHead | null = null;
    let remaining = 0;
    let body: Buffer[] = [];
    const finish = (): void => {
      const h = head!;
      const b = Buffer.concat(body);
      const headers: Record<string, string | string[]> = {};
      for (const [n, v] of h.headers.entries()) {
        const k = n.toLowerCase();
        const prev = headers[k];
        headers[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
      }
      const echo: Echo = { name, method: h.method, url: h.target, headers, raw: h.headers.entries(), bodyBytes: b.length, body: b.toString('latin1'), remotePort: sock.remotePort ?? 0 };
      state.requests.push(echo);
      const out = JSON.stringify(echo);
      const close = !h.keepAlive;
      sock.write(`HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(out)}\r\n${close ? 'Connection: close\r\n' : ''}\r\n${out}`);
      if (close) sock.end();
      head = null;
      body = [];
    };
    sock.on('error', () => {});
    sock.on('data', (chunk: Buffer) => {
      let pos = 0;
      try {
        while (pos < chunk.length) {
          if (head === null) {
            head = parser.push(chunk, pos);
            if (head === null) return;
            pos = parser.consumed;
            if (head.chunked) decoder.reset();
            remaining = head.chunked ? 0 : Math.max(0, head.contentLength);
            if (!head.chunked && remaining === 0) finish();
          } else if (head.chunked) {
            const end = decoder.push(chunk, pos, (b, s, e) => body.push(Buffer.from(b.subarray(s, e))));
            if (end < 0) return;
            pos = end;
            finish();
          } else {
            const n = Math.min(remaining, chunk.length - pos);
            body.push(Buffer.from(chunk.subarray(pos, pos + n)));
            remaining -= n;
            pos += n;
            if (remaining === 0) finish();
          }
        }
      } catch {
        sock.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, LOOPBACK, r));
  return wrap(server, state);
}

export interface Proxy {
  readonly port: number;
  readonly entrypoint: HttpEntrypoint;
  readonly server: net.Server;
  close(): Promise<void>;
}

/** An entrypoint behind a net.Server on an ephemeral loopback port. */
export async function startProxy(opts: HttpEntrypointOptions, tls = false, host = LOOPBACK): Promise<Proxy> {
  const entrypoint = new HttpEntrypoint({ timerResolutionMs: 20, ...opts });
  const server = net.createServer({ allowHalfOpen: true }, (s) => entrypoint.handle(s, { tls }));
  await new Promise<void>((r) => server.listen(0, host, r));
  return {
    port: (server.address() as net.AddressInfo).port,
    entrypoint,
    server,
    close: () =>
      new Promise<void>((r) => {
        entrypoint.close();
        server.close(() => r());
      }),
  };
}

/** A proxy routing every request to `backends` (one EndpointSetBackend over their ports). */
export async function proxyTo(ports: readonly number[], opts: HttpEntrypointOptions = {}, name = 'test/backend:80'): Promise<Proxy & { backend: EndpointSetBackend }> {
  const backend = new EndpointSetBackend({ name, endpoints: ports.map((p) => endpoint(p)) });
  const p = await startProxy({ router: ingressRouter([{ backend }]), ...opts });
  return Object.assign(p, { backend });
}

export interface RawResponse {
  status: number;
  reason: string;
  headers: Array<[string, string]>;
  body: Buffer;
  header(name: string): string | undefined;
}

/**
 * Reads consecutive HTTP/1.1 responses from bytes (strict parser), given the
 * request methods in order (HEAD answers have no body). A close-delimited
 * body runs to the end of the bytes.
 */
export function readResponses(bytes: Buffer, methods: readonly string[] = []): RawResponse[] {
  const out: RawResponse[] = [];
  let pos = 0;
  let i = 0;
  while (pos < bytes.length) {
    const parser = new ResponseHeadParser();
    const head = parser.push(bytes, pos);
    if (head === null) throw new Error(`incomplete response head at ${pos}: ${JSON.stringify(bytes.subarray(pos).toString('latin1').slice(0, 200))}`);
    pos = parser.consumed;
    const method = methods[i] ?? 'GET';
    const kind = head.status < 200 ? 'none' : responseBodyKind(head, method);
    let body: Buffer = Buffer.alloc(0);
    if (kind === 'length') {
      body = bytes.subarray(pos, pos + head.contentLength);
      pos += head.contentLength;
    } else if (kind === 'chunked') {
      const d = new ChunkedDecoder({}, true);
      const parts: Buffer[] = [];
      const end = d.push(bytes, pos, (b, s, e) => parts.push(b.subarray(s, e)));
      if (end < 0) throw new Error('incomplete chunked body');
      body = Buffer.concat(parts);
      pos = end;
    } else if (kind === 'close' || kind === 'switch') {
      body = bytes.subarray(pos);
      pos = bytes.length;
    }
    const headers = head.headers.entries();
    out.push({
      status: head.status,
      reason: head.reason,
      headers,
      body,
      header: (n) => headers.find(([k]) => k.toLowerCase() === n.toLowerCase())?.[1],
    });
    if (head.status >= 200) i++;
  }
  return out;
}

/**
 * How many complete responses (1xx not counted) `bytes` starts with, given
 * the request methods in order. A close-delimited body is complete only at
 * the close, so it is never counted here.
 */
export function completeResponses(bytes: Buffer, methods: readonly string[] = []): number {
  let pos = 0;
  let n = 0;
  while (pos < bytes.length) {
    const parser = new ResponseHeadParser();
    const head = parser.push(bytes, pos);
    if (head === null) return n;
    pos = parser.consumed;
    const kind = head.status < 200 ? 'none' : responseBodyKind(head, methods[n] ?? 'GET');
    if (kind === 'length') {
      pos += head.contentLength;
    } else if (kind === 'chunked') {
      const end = new ChunkedDecoder({}, true).push(bytes, pos);
      if (end < 0) return n;
      pos = end;
    } else if (kind !== 'none') {
      return n;
    }
    if (pos > bytes.length) return n;
    if (head.status >= 200) n++;
  }
  return n;
}

/**
 * Sends raw bytes (optionally in pieces, optionally half-closing after) and
 * collects everything until the server closes, `responses` complete
 * responses (to GET-like requests) arrived - for answers on a connection
 * kept alive, instead of reading for a fixed time that a loaded machine can
 * outlast - or `waitMs` passes.
 */
export function rawExchange(
  port: number,
  data: string | Buffer | ReadonlyArray<string | Buffer>,
  opts: { waitMs?: number; end?: boolean; gapMs?: number; responses?: number } = {},
): Promise<{ bytes: Buffer; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: LOOPBACK, port, allowHalfOpen: true });
    const parts: Buffer[] = [];
    let closed = false;
    const timer = setTimeout(() => {
      sock.destroy();
      resolve({ bytes: Buffer.concat(parts), closed });
    }, opts.waitMs ?? 10_000); // a bound, not a duration: most exchanges end with the server's close
    sock.on('data', (d: Buffer) => {
      parts.push(d);
      if (opts.responses === undefined) return;
      const bytes = Buffer.concat(parts);
      if (completeResponses(bytes) < opts.responses) return;
      clearTimeout(timer);
      resolve({ bytes, closed });
      sock.destroy();
    });
    sock.on('error', () => {});
    sock.on('close', () => {
      closed = true;
      clearTimeout(timer);
      resolve({ bytes: Buffer.concat(parts), closed });
    });
    sock.on('end', () => sock.end());
    sock.once('connect', async () => {
      try {
        const list = typeof data === 'string' || Buffer.isBuffer(data) ? [data] : data;
        for (const d of list) {
          sock.write(typeof d === 'string' ? Buffer.from(d, 'latin1') : d);
          if (opts.gapMs) await new Promise((r) => setTimeout(r, opts.gapMs));
        }
        if (opts.end) sock.end();
      } catch (e) {
        reject(e);
      }
    });
  });
}

/** One request over a fresh keep-alive agent-less node:http client; resolves with status, headers, body. */
export function get(
  port: number,
  path: string,
  opts: { host?: string; method?: string; headers?: Record<string, string>; body?: string | Buffer; agent?: http.Agent } = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string; reused: boolean }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: LOOPBACK,
        port,
        path,
        method: opts.method ?? 'GET',
        headers: { host: opts.host ?? 'a.example', ...opts.headers },
        agent: opts.agent ?? false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString(), reused: req.reusedSocket }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (opts.body !== undefined) req.end(opts.body);
    else req.end();
  });
}

export { CertificateStore };
