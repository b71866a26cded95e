// Shared by the proxy's API-level tests (k8s-*.test.ts): the real API server,
// an in-process Proxy following a ManualOwnership, and backends on loopback.
//
// The API server refuses loopback addresses in EndpointSlices, and the host's
// interfaces are not ours to add addresses to, so EndpointSlices carry
// 198.18.x.y and each backend listens on the stand-in 127.18.x.y, which the
// proxy dials through its test-only `dialAddress`. Service IPs (status) may
// be loopback: the proxy binds 127.77.x.y for real. The lab tests
// (lab-*.test.ts) run the same path with real addresses in namespaces.

import dgram from 'node:dgram';
import http from 'node:http';
import net from 'node:net';
import * as k8s from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import { apiStatus } from '../../../src/kube/client.ts';
import { ManualOwnership } from '../../../src/proxy/listeners/manual-ownership.ts';
import { defaultProxyOptions, Proxy, type ProxyHttpEngine, type ProxyOptions } from '../../../src/proxy/proxy.ts';
import { ensureNamespace, waitFor } from '../helpers/cluster.ts';
import { setServiceIps } from '../speaker/helpers.ts';
import { testLogger } from '../speaker/helpers.ts';
import { productClient } from '../../support/kube-config.ts';

export const dialAddress = (ip: string): string => (ip.startsWith('198.18.') ? `127.18.${ip.slice(7)}` : ip);

/** A port base per test file, so files running side by side do not collide. */
export function portBase(): number {
  return 20_000 + Math.floor(Math.random() * 400) * 100;
}

export async function startProxy(
  kc: k8s.KubeConfig,
  overrides: Partial<ProxyOptions> = {},
  http?: (registry: Registry) => ProxyHttpEngine,
): Promise<{ proxy: Proxy; ownership: ManualOwnership }> {
  const ownership = new ManualOwnership();
  const registry = new Registry();
  const opts = { ...defaultProxyOptions, nodeName: 'node-a', dialAddress, ...overrides };
  const proxy = new Proxy(productClient(kc), testLogger().child({ component: 'proxy' }), opts, registry, http?.(registry));
  proxy.start(ownership);
  await proxy.synced();
  return { proxy, ownership };
}

export async function waitListening(proxy: Proxy, key: string, listening = true): Promise<void> {
  await waitFor(() => proxy.listening().includes(key) === listening, `${key} ${listening ? '' : 'not '}listening`, 10_000, 10);
}

export interface SvcPort {
  name: string;
  port: number;
  protocol?: 'TCP' | 'UDP';
}

export async function createLbService(
  core: k8s.CoreV1Api,
  ns: string,
  name: string,
  ports: SvcPort[],
  ip: string,
  opts: { annotations?: Record<string, string>; spec?: Partial<k8s.V1ServiceSpec> } = {},
): Promise<void> {
  await ensureNamespace(core, ns);
  await core.createNamespacedService({
    namespace: ns,
    body: {
      metadata: { name, namespace: ns, annotations: opts.annotations ?? {} },
      spec: { type: 'LoadBalancer', ports: ports.map((p) => ({ name: p.name, port: p.port, protocol: p.protocol ?? 'TCP' })), ...opts.spec },
    },
  });
  await setServiceIps(core, ns, name, [ip]);
}

export interface SliceEndpoint {
  ip: string;
  ready?: boolean;
  serving?: boolean;
  terminating?: boolean;
  node?: string;
}

/** Creates or replaces an EndpointSlice, as the EndpointSlice controller would write it. */
export async function writeSlice(
  discovery: k8s.DiscoveryV1Api,
  ns: string,
  service: string,
  name: string,
  ports: Array<{ name: string; port: number; protocol?: 'TCP' | 'UDP' }>,
  endpoints: SliceEndpoint[],
): Promise<void> {
  const body: k8s.V1EndpointSlice = {
    metadata: { name, namespace: ns, labels: { 'kubernetes.io/service-name': service, 'endpointslice.kubernetes.io/managed-by': 'metalgate-tests' } },
    addressType: 'IPv4',
    ports: ports.map((p) => ({ name: p.name, port: p.port, protocol: p.protocol ?? 'TCP' })),
    endpoints: endpoints.map((e) => ({
      addresses: [e.ip],
      conditions: { ready: e.ready ?? true, serving: e.serving ?? e.ready ?? true, terminating: e.terminating ?? false },
      ...(e.node ? { nodeName: e.node } : {}),
    })),
  };
  try {
    await discovery.createNamespacedEndpointSlice({ namespace: ns, body });
  } catch (err) {
    if (apiStatus(err) !== 409) throw err;
    const current = await discovery.readNamespacedEndpointSlice({ name, namespace: ns });
    await discovery.replaceNamespacedEndpointSlice({ name, namespace: ns, body: { ...body, metadata: { ...body.metadata, resourceVersion: current.metadata?.resourceVersion } } });
  }
}

// ---- backends ----

export interface Closable {
  close(): Promise<void>;
}

/** TCP: answers every chunk with "<name>:<chunk>". */
export async function tcpEchoBackend(ip: string, port: number, name: string): Promise<Closable> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    s.on('data', (d) => s.write(`${name}:${d.toString()}`));
    s.on('end', () => s.end());
  });
  await new Promise<void>((resolve) => server.listen(port, dialAddress(ip), resolve));
  return {
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

/** UDP: answers every datagram with "<name>:<datagram>". */
export async function udpEchoBackend(ip: string, port: number, name: string): Promise<Closable> {
  const socket = dgram.createSocket('udp4');
  socket.on('message', (msg, rinfo) => socket.send(`${name}:${msg.toString()}`, rinfo.port, rinfo.address));
  await new Promise<void>((resolve) => socket.bind(port, dialAddress(ip), resolve));
  return { close: async () => new Promise<void>((r) => socket.close(() => r())) };
}

export interface HttpBackend extends Closable {
  readonly name: string;
  /** Requests answered. */
  served: number;
  /** Connections accepted, with when (performance.now()). */
  readonly connections: number[];
  /** From now on every response says Connection: close (a pod shutting down gracefully). */
  terminate(): void;
  /** Connections open now. */
  open(): number;
  /** Waits (bounded) for its connections to end, then closes (what a pod does after SIGTERM). */
  drainAndClose(timeoutMs: number): Promise<void>;
}

/** HTTP: GET / answers the backend's name; /slow?ms=N answers after N ms. */
export async function httpBackend(ip: string, port: number, name: string): Promise<HttpBackend> {
  let terminating = false;
  const b = {
    name,
    served: 0,
    connections: [] as number[],
    terminate: () => {
      terminating = true;
    },
    open: () => open.size,
    close: async () => {},
    drainAndClose: async (_ms: number) => {},
  };
  const open = new Set<net.Socket>();
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const answer = () => {
      b.served++;
      res.writeHead(200, { 'content-type': 'text/plain', ...(terminating ? { connection: 'close' } : {}) });
      res.end(name);
    };
    const ms = Number(url.searchParams.get('ms') ?? 0);
    if (url.pathname === '/slow' && ms > 0) setTimeout(answer, ms);
    else answer();
  });
  server.keepAliveTimeout = 30_000;
  server.on('connection', (s: net.Socket) => {
    b.connections.push(performance.now());
    open.add(s);
    s.on('close', () => open.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(port, dialAddress(ip), resolve));
  b.close = async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  };
  b.drainAndClose = async (ms: number) => {
    const deadline = performance.now() + ms;
    while (open.size > 0 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await b.close();
  };
  return b;
}

/** One exchange over a fresh TCP connection: what came back before the server ended it. */
export async function tcpExchange(host: string, port: number, payload: string, localAddress?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host, port, ...(localAddress ? { localAddress } : {}) });
    let out = '';
    s.setTimeout(5000, () => s.destroy(new Error('timed out')));
    s.on('connect', () => s.end(payload));
    s.on('data', (d) => (out += d.toString()));
    s.on('end', () => resolve(out));
    s.on('error', reject);
  });
}

export async function udpExchange(host: string, port: number, payload: string, timeoutMs = 2000): Promise<string> {
  const s = dgram.createSocket('udp4');
  try {
    return await new Promise<string>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('no UDP reply')), timeoutMs);
      s.once('message', (m) => {
        clearTimeout(t);
        resolve(m.toString());
      });
      s.send(payload, port, host);
    });
  } finally {
    s.close();
  }
}

/** A GET; resolves with status and body. */
export function httpGet(url: string, agent: http.Agent | false): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
  });
}

/** A kubernetes.io/tls Secret holding `pair`. */
export function tlsSecret(namespace: string, name: string, pair: { cert: string | Buffer; key: string | Buffer }): k8s.V1Secret {
  return {
    metadata: { name, namespace },
    type: 'kubernetes.io/tls',
    data: { 'tls.crt': Buffer.from(pair.cert).toString('base64'), 'tls.key': Buffer.from(pair.key).toString('base64') },
  };
}

/** One plain HTTP request to `vip`:80 on a new connection, with a Host header (and `body` with its Content-Length): status, body, Location and fields. */
export function vipRequest(
  vip: string,
  host: string,
  path = '/',
  headers: Record<string, string> = {},
  method = 'GET',
  body?: string,
): Promise<{ status: number; body: string; location: string | undefined; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const r = http.request({ host: vip, port: 80, path, method, headers: { host, ...headers }, agent: false, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, location: res.headers.location, headers: res.headers }));
    });
    r.on('timeout', () => r.destroy(new Error('timed out')));
    r.on('error', reject);
    r.end(body);
  });
}
