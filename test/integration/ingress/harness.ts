// End-to-end harness on loopback: echo backends (node:http, optionally
// HTTPS), the real L7 engine (HttpEntrypoint) behind plain and TLS
// listeners, and the ingress compiler + runtime feeding it a new Router on
// every apply(). No API server: objects go straight into the compiler.
import type { PassthroughHost } from '../../../src/ingress/compile/route-wire.ts';
import { TcpGuard } from '../../../src/proxy/http/tcp-guard.ts';
import { weightedTcpBackend } from '../../../src/proxy/http/weighted-tcp-backend.ts';
import type { TcpTarget } from '../../../src/proxy/http/types.ts';
import { createHash } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { V1ConfigMap, V1Ingress, V1Secret, V1Service } from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import { IngressCompiler, type CompiledIngress, type IngressCompilerOptions } from '../../../src/ingress/compile/ingress-compiler.ts';
import type { IngressRouteObject, MiddlewareObject, IngressRouteTcpObject, MiddlewareTcpObject, ServersTransportObject, TlsOptionObject, TlsStoreObject, TraefikServiceObject } from '../../../src/ingress/model/traefik-crd.ts';
import type { ServicePortRef } from '../../../src/ingress/model/service-node.ts';
import { FlaggerMetrics } from '../../../src/ingress/runtime/flagger-metrics.ts';
import { RuntimeFactory } from '../../../src/ingress/runtime/runtime-target.ts';
import { EndpointSetBackend } from '../../../src/proxy/http/backend.ts';
import { CertificateStore } from '../../../src/proxy/http/certificates.ts';
import { HttpEntrypoint } from '../../../src/proxy/http/entrypoint.ts';
import { createSelfSignedCertificate } from '../../../src/proxy/http/self-signed.ts';
import type { CertificatePair, Endpoint } from '../../../src/proxy/http/types.ts';
import { WireRoutes } from '../../support/compiled-tables.ts';
import type { RouteTarget } from '../../../src/ingress/model/route-target.ts';
import type { IngressRouter } from '../../../src/ingress/runtime/router.ts';

export interface EchoReply {
  name: string;
  method: string;
  url: string;
  host: string;
  headers: http.IncomingHttpHeaders;
  bodyBytes: number;
  /** SHA-256 of the body received, hex. */
  bodyDigest: string;
}

export interface Echo {
  name: string;
  port: number;
  hits: number;
  /** Requests seen (url), newest last. */
  seen: string[];
  close(): Promise<void>;
}

export interface EchoOptions {
  delayMs?: number;
  tls?: CertificatePair;
  /** Fixed response body (e.g. for compression tests). */
  body?: string;
  contentType?: string;
  /** Answer with this status (e.g. to test retries). */
  status?: number;
  /** Destroy the socket instead of answering. */
  reset?: boolean;
}

export async function startEcho(name: string, opts: EchoOptions = {}): Promise<Echo> {
  const echo: Echo = { name, port: 0, hits: 0, seen: [], close: async () => {} };
  const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    let bodyBytes = 0;
    const digest = createHash('sha256');
    req.on('data', (c: Buffer) => {
      bodyBytes += c.length;
      digest.update(c);
    });
    req.on('end', () => {
      echo.hits++;
      echo.seen.push(req.url ?? '');
      if (opts.reset) {
        req.socket.destroy();
        return;
      }
      const send = (): void => {
        const reply: EchoReply = { name, method: req.method ?? '', url: req.url ?? '', host: req.headers.host ?? '', headers: req.headers, bodyBytes, bodyDigest: digest.digest('hex') };
        const body = opts.body ?? `${JSON.stringify(reply)}\n`;
        res.writeHead(opts.status ?? 200, { 'content-type': opts.contentType ?? 'application/json', 'content-length': Buffer.byteLength(body), 'x-served-by': name });
        res.end(body);
      };
      if (opts.delayMs) setTimeout(send, opts.delayMs);
      else send();
    });
  };
  const server = opts.tls ? https.createServer({ cert: opts.tls.cert, key: opts.tls.key }, handler) : http.createServer(handler);
  server.keepAliveTimeout = 5000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  echo.port = (server.address() as AddressInfo).port;
  echo.close = () =>
    new Promise((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return echo;
}

export interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  json: EchoReply | undefined;
}

export interface RequestOptions {
  host: string;
  path?: string;
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  tls?: boolean;
}

export class Harness {
  readonly compiler: IngressCompiler;
  readonly entrypoint: HttpEntrypoint;
  readonly certificates = new CertificateStore();
  readonly registry = new Registry();
  readonly backends = new Map<string, EndpointSetBackend>();
  readonly pairs = new Map<string, CertificatePair>();
  readonly echoes: Echo[] = [];
  webPort = 0;
  securePort = 0;
  compiled: CompiledIngress | undefined;
  /** The router the entrypoint serves with, built as a proxy worker builds it (over the wire). */
  router: IngressRouter | undefined;
  readonly #routes: WireRoutes;
  readonly #servers: net.Server[] = [];
  readonly #agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  readonly #tlsAgent = new https.Agent({ keepAlive: true, maxSockets: 16, rejectUnauthorized: false });

  constructor(opts: Omit<IngressCompilerOptions, 'materialize'> & { random?: () => number } = {}) {
    const runtime = new RuntimeFactory(
      { backend: (ref: ServicePortRef) => this.#backend(ref) },
      { flaggerMetrics: new FlaggerMetrics(this.registry), ...(opts.random ? { random: opts.random } : {}) },
    );
    this.compiler = new IngressCompiler(opts);
    this.#routes = new WireRoutes(runtime.materialize);
    this.compiler.setIngressClass({ metadata: { name: 'metalgate' }, spec: { controller: 'metalgate.io/ingress-controller' } });
    this.entrypoint = new HttpEntrypoint({ name: 'test', certificates: this.certificates, registry: this.registry, accessLogSampleRate: 0, timerResolutionMs: 50 });
  }

  #backend(ref: ServicePortRef): EndpointSetBackend {
    const key = `${ref.namespace}/${ref.service}:${ref.portName}`;
    let b = this.backends.get(key);
    if (b === undefined) {
      b = new EndpointSetBackend({ name: key });
      this.backends.set(key, b);
    }
    return b;
  }

  async start(): Promise<void> {
    const listen = async (tls: boolean): Promise<number> => {
      const server = net.createServer((socket) => this.entrypoint.handle(socket, { tls }));
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      this.#servers.push(server);
      return (server.address() as AddressInfo).port;
    };
    this.webPort = await listen(false);
    this.securePort = await listen(true);
  }

  /** A Service `ns/name` (port `http`/80) whose endpoints are these echo servers. */
  async service(ns: string, name: string, count = 1, opts: EchoOptions = {}, ports: { name: string; port: number }[] = [{ name: 'http', port: 80 }]): Promise<Echo[]> {
    const echoes: Echo[] = [];
    for (let i = 0; i < count; i++) echoes.push(await startEcho(count === 1 ? name : `${name}-${i}`, opts));
    this.echoes.push(...echoes);
    const svc: V1Service = { metadata: { namespace: ns, name, resourceVersion: String(Date.now()) }, spec: { ports: ports.map((p) => ({ ...p, protocol: 'TCP' })) } };
    this.compiler.setService(svc);
    const endpoints: Endpoint[] = echoes.map((e) => ({ ip: '127.0.0.1', port: e.port, ready: true, serving: true, terminating: false }));
    for (const p of ports) this.#backend({ namespace: ns, service: name, portName: p.name, port: p.port }).setEndpoints(endpoints);
    return echoes;
  }

  /** A Service `ns/name` (port `http`/80 unless given) whose endpoints are servers the test runs itself on 127.0.0.1:`ports`. */
  serviceAt(ns: string, name: string, ports: number | readonly number[], portDef: { name: string; port: number } = { name: 'http', port: 80 }): void {
    this.compiler.setService({ metadata: { namespace: ns, name, resourceVersion: String(Date.now()) }, spec: { ports: [{ ...portDef, protocol: 'TCP' }] } });
    const list = typeof ports === 'number' ? [ports] : ports;
    this.#backend({ namespace: ns, service: name, portName: portDef.name, port: portDef.port }).setEndpoints(list.map((port) => ({ ip: '127.0.0.1', port, ready: true, serving: true, terminating: false })));
  }

  ingress(o: V1Ingress): void {
    this.compiler.setIngress(o);
  }
  traefik(
    kind: 'IngressRoute' | 'Middleware' | 'TraefikService' | 'ServersTransport' | 'TLSOption' | 'TLSStore' | 'IngressRouteTCP' | 'IngressRouteUDP' | 'MiddlewareTCP',
    o: IngressRouteObject | MiddlewareObject | TraefikServiceObject | ServersTransportObject | TlsOptionObject | TlsStoreObject | IngressRouteTcpObject | MiddlewareTcpObject,
  ): void {
    this.compiler.setTraefik(kind, o);
  }
  secret(o: V1Secret): void {
    this.compiler.setSecret(o);
  }
  configMap(o: V1ConfigMap): void {
    this.compiler.setConfigMap(o);
  }
  /** A TLS Secret plus the certificate the store will serve for it (self-signed for `hosts` unless given). */
  tlsSecret(ns: string, name: string, hosts: string[], given?: CertificatePair): CertificatePair {
    const pair = given ?? createSelfSignedCertificate({ names: hosts });
    this.pairs.set(`${ns}/${name}`, pair);
    this.compiler.setSecret({ metadata: { namespace: ns, name }, type: 'kubernetes.io/tls', data: { 'tls.crt': Buffer.from(pair.cert).toString('base64'), 'tls.key': Buffer.from(pair.key).toString('base64') } });
    return pair;
  }

  apply(): CompiledIngress {
    const out = this.compiler.compile();
    this.compiled = out;
    for (const c of out.certificates) {
      const pair = this.pairs.get(c.secretKey);
      if (pair) this.certificates.set(c.secretKey, pair);
    }
    const def = out.defaultCertificate !== undefined ? this.pairs.get(out.defaultCertificate.secretKey) : undefined;
    if (def) this.certificates.setDefault(def);
    this.router = this.#routes.apply(out);
    this.entrypoint.setRouter(this.router);
    const target = (p: PassthroughHost): TcpTarget => ({
      // As the proxy's runtime builds it (proxy-runtime.ts).
      backend: p.weighted ? weightedTcpBackend(p.weighted.map((t) => this.#backend(t.ref)), p.weighted.map((t) => t.weight)) : this.#backend(p.ref),
      ...(p.allow !== undefined || p.maxConnections !== undefined ? { guard: new TcpGuard({ ...(p.allow ? { allow: p.allow } : {}), ...(p.maxConnections ? { maxConnections: p.maxConnections } : {}) }) } : {}),
    });
    this.entrypoint.setPassthrough(new Map(out.passthrough.map((p) => [p.host, target(p)])));
    this.entrypoint.setTcpHosts(new Map(out.tcpHosts.map((p) => [p.host, target(p)])));
    this.entrypoint.setHostTls(new Map(out.hostTls.map(({ host, ...settings }) => [host, settings])));
    return out;
  }

  request(o: RequestOptions): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = { host: o.host, ...(o.headers ?? {}) };
      if (o.body !== undefined) headers['content-length'] = String(Buffer.byteLength(o.body));
      const common = { host: '127.0.0.1', path: o.path ?? '/', method: o.method ?? 'GET', headers, timeout: 10_000 };
      const done = (res: http.IncomingMessage): void => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          let json: EchoReply | undefined;
          try {
            json = res.headers['content-type']?.includes('json') ? (JSON.parse(body) as EchoReply) : undefined;
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json });
        });
      };
      const req = o.tls
        ? https.request({ ...common, port: this.securePort, servername: o.host.replace(/:.*/, ''), agent: this.#tlsAgent }, done)
        : http.request({ ...common, port: this.webPort, agent: this.#agent }, done);
      req.on('timeout', () => req.destroy(new Error('timed out')));
      req.on('error', reject);
      req.end(o.body);
    });
  }

  async stop(): Promise<void> {
    this.#agent.destroy();
    this.#tlsAgent.destroy();
    this.entrypoint.close();
    for (const s of this.#servers) s.close();
    await Promise.all(this.echoes.map((e) => e.close()));
  }
}

let rv = 0;
export function ing(
  ns: string,
  name: string,
  rules: { host?: string; paths: { path?: string; pathType?: 'Exact' | 'Prefix' | 'ImplementationSpecific'; service: string; port?: number | string }[] }[],
  extra: { annotations?: Record<string, string>; tls?: { hosts?: string[]; secretName?: string }[]; defaultBackend?: { service: string; port?: number }; created?: string } = {},
): V1Ingress {
  const backend = (p: { service: string; port?: number | string }) => ({
    service: { name: p.service, port: typeof (p.port ?? 80) === 'number' ? { number: (p.port ?? 80) as number } : { name: p.port as string } },
  });
  return {
    metadata: { namespace: ns, name, resourceVersion: String(++rv), creationTimestamp: new Date(extra.created ?? '2026-01-01T00:00:00Z'), ...(extra.annotations ? { annotations: extra.annotations } : {}) },
    spec: {
      ingressClassName: 'metalgate',
      rules: rules.map((r) => ({ ...(r.host ? { host: r.host } : {}), http: { paths: r.paths.map((p) => ({ path: p.path ?? '/', pathType: p.pathType ?? 'Prefix', backend: backend(p) })) } })),
      ...(extra.tls ? { tls: extra.tls } : {}),
      ...(extra.defaultBackend ? { defaultBackend: backend(extra.defaultBackend) } : {}),
    },
  };
}

export function ingressRoute(ns: string, name: string, routes: Record<string, unknown>[], extra: { entryPoints?: string[]; tls?: Record<string, unknown> } = {}): IngressRouteObject {
  return {
    apiVersion: 'traefik.io/v1alpha1',
    kind: 'IngressRoute',
    metadata: { namespace: ns, name, resourceVersion: String(++rv) },
    spec: { ...(extra.entryPoints ? { entryPoints: extra.entryPoints } : {}), routes: routes as never, ...(extra.tls ? { tls: extra.tls } : {}) },
  };
}

export function middleware(ns: string, name: string, spec: Record<string, unknown>): MiddlewareObject {
  return { apiVersion: 'traefik.io/v1alpha1', kind: 'Middleware', metadata: { namespace: ns, name, resourceVersion: String(++rv) }, spec };
}

export function traefikService(ns: string, name: string, spec: Record<string, unknown>): TraefikServiceObject {
  return { apiVersion: 'traefik.io/v1alpha1', kind: 'TraefikService', metadata: { namespace: ns, name, resourceVersion: String(++rv) }, spec };
}
