// The HTTP entrypoint: takes over accepted sockets (plain or TLS), serves
// HTTP/1.1 on them (h1-connection.ts) or HTTP/2 when a TLS client picks it by
// ALPN (node:http2 compat, h2-request.ts), and proxies every request to the
// backend its Router picks. Listening is the caller's job (the listener
// manager binds owned IP:ports and calls handle()).

import http2 from 'node:http2';
import type net from 'node:net';
import type { X509Certificate } from 'node:crypto';
import tls from 'node:tls';
import { pino, type Logger } from 'pino';
import { RequestLog } from './access-log.ts';
import type { CertificateStore } from './certificates.ts';
import type { CertificatePair } from './types.ts';
import { certificatesOf, rememberClientCertificate } from './client-certificate.ts';
import { DeadlineClock } from './clock.ts';
import { H1Connection } from './h1-connection.ts';
import { H2Request } from './h2-request.ts';
import { H2UpstreamSessions } from './h2-upstream.ts';
import { TlsPassthrough } from './tls-passthrough.ts';
import { secureContextOptions } from './tls-policy.ts';
import { HttpMetrics } from './metrics.ts';
import type { EntrypointCore } from './proxy-request.ts';
import type {
  ClientLimits,
  ClientTimeouts,
  Backend,
  ConnectionInfo,
  EntrypointStats,
  HttpEntrypointApi,
  HttpEntrypointOptions,
  Router,
  UpstreamTimeouts,
} from './types.ts';
import { UpstreamPool } from './upstream.ts';

export const CLIENT_LIMIT_DEFAULTS: ClientLimits = { maxHeadBytes: 16 * 1024, maxHeaders: 100, maxBodyBytes: 1024 * 1024 };
export const CLIENT_TIMEOUT_DEFAULTS: ClientTimeouts = { headerMs: 60_000, bodyMs: 60_000, idleMs: 75_000, sendMs: 60_000 };
export const UPSTREAM_TIMEOUT_DEFAULTS: UpstreamTimeouts = { connectMs: 5_000, readMs: 60_000, sendMs: 60_000 };
/** TLS handshakes that take longer are dropped. */
const HANDSHAKE_TIMEOUT_MS = 10_000;
/** An HTTP/2 session to a gRPC backend closes after this long without a stream (nginx's grpc keepalive_timeout is 60 s). */
const H2_UPSTREAM_IDLE_MS = 60_000;

function parentOf(ts: tls.TLSSocket): net.Socket | undefined {
  return (ts as unknown as { _parent?: net.Socket | null })._parent ?? undefined;
}

export class HttpEntrypoint implements HttpEntrypointApi {
  readonly name: string;
  private readonly core: EntrypointCore;
  private readonly connections = new Set<H1Connection>();
  private readonly sessions = new Set<http2.ServerHttp2Session>();
  private readonly certificates: CertificateStore | undefined;
  private tlsServer: tls.Server | undefined;
  /** The TLS server for hosts that ask for client certificates (auth-tls). */
  private mtlsServer: tls.Server | undefined;
  private clientAuth: ReadonlyMap<string, string> = new Map();
  private readonly mtlsContexts = new Map<string, { pair: CertificatePair; ca: string; context: tls.SecureContext }>();
  /** Each CA bundle's certificates (by PEM), for counting a client's intermediates. */
  private readonly caBundles = new Map<string, X509Certificate[]>();
  private h2Server: http2.Http2SecureServer | undefined;
  private readonly http2: boolean;
  private readonly passthrough: TlsPassthrough;
  private stopDefaultListener: (() => void) | undefined;
  private closed = false;
  private drainWaiters: Array<() => void> = [];

  constructor(opts: HttpEntrypointOptions = {}) {
    this.name = opts.name ?? 'http';
    const log: Logger = opts.logger ?? pino({ level: 'silent' });
    const clock = new DeadlineClock(opts.timerResolutionMs ?? 250);
    const metrics = new HttpMetrics(this.name, opts.registry);
    this.core = {
      name: this.name,
      router: opts.router,
      pool: new UpstreamPool(clock, opts.pool),
      h2Upstream: new H2UpstreamSessions(H2_UPSTREAM_IDLE_MS),
      clock,
      metrics,
      noBackend: metrics.backend('-'),
      log,
      requestLog: new RequestLog(opts.accessLogger ?? log, log, opts.accessLogSampleRate ?? 0.01),
      limits: { ...CLIENT_LIMIT_DEFAULTS, ...opts.limits },
      timeouts: { ...CLIENT_TIMEOUT_DEFAULTS, ...opts.timeouts },
      upstreamTimeouts: { ...UPSTREAM_TIMEOUT_DEFAULTS, ...opts.upstreamTimeouts },
      forwardedFor: opts.forwardedFor ?? 'replace',
      underscoresInHeaders: opts.underscoresInHeaders ?? false,
      draining: false,
      inFlight: 0,
    };
    this.certificates = opts.certificates as CertificateStore | undefined;
    this.http2 = opts.http2 ?? true;
    this.passthrough = new TlsPassthrough(log);
  }

  /** Hosts (lowercase SNI -> CA PEM) whose TLS connections are asked for a client certificate. */
  setClientAuth(hosts: ReadonlyMap<string, string>): void {
    this.clientAuth = hosts;
    this.mtlsContexts.clear();
    this.caBundles.clear();
  }

  /** ssl-passthrough hosts (lowercase SNI -> backend): their TLS connections are not terminated here. */
  setPassthrough(hosts: ReadonlyMap<string, Backend>): void {
    this.passthrough.set(hosts);
  }

  /** Atomic swap: a request already routed keeps its route; the next one uses `router`. */
  setRouter(router: Router): void {
    this.core.router = router;
  }

  get router(): Router | undefined {
    return this.core.router;
  }

  handle(socket: net.Socket, info: ConnectionInfo): net.Socket | void {
    if (this.closed || this.core.draining) {
      socket.destroy();
      return;
    }
    const localPort = info.localPort ?? socket.localPort ?? 0;
    if (!info.tls) return this.serveHttp1(socket, false, localPort, info.noDelay === true);
    if (socket instanceof tls.TLSSocket && socket.encrypted) {
      this.serveSecure(socket, localPort);
      return;
    }
    // The server name decides before any TLS: passed through, asked for a client certificate, or terminated as usual.
    if (this.passthrough.active || this.clientAuth.size > 0) this.passthrough.route(socket, this.terminateTls);
    else this.terminateTls(socket, undefined);
  }

  private readonly terminateTls = (socket: net.Socket, sni: string | undefined): void => {
    if (this.closed || this.core.draining) {
      socket.destroy();
      return;
    }
    // TLS has no half-close: a client's FIN must end the handshake or the
    // session (with allowHalfOpen the TLS layer would wait for its timeout).
    socket.allowHalfOpen = false;
    const withClientAuth = sni !== undefined && this.caFor(sni) !== undefined;
    (withClientAuth ? this.ensureMtls() : this.ensureTls()).emit('connection', socket);
  };

  /** Returns the socket the connection reads (plain HTTP: one that adopted `socket`'s connection). */
  private serveHttp1(socket: net.Socket, secure: boolean, localPort: number, noDelaySet = false): net.Socket {
    const conn = new H1Connection(this.core, socket, secure, localPort, this.forget, noDelaySet);
    this.connections.add(conn);
    this.core.metrics.openHttp1++;
    return conn.socket;
  }

  private readonly forget = (conn: H1Connection): void => {
    if (this.connections.delete(conn)) this.core.metrics.openHttp1--;
    this.checkDrained();
  };

  private serveSecure(socket: tls.TLSSocket, localPort: number): void {
    if (this.closed || this.core.draining) {
      socket.destroy();
      return;
    }
    if (socket.alpnProtocol === 'h2' && this.http2) {
      (socket as tls.TLSSocket & { metalgateLocalPort?: number }).metalgateLocalPort = localPort;
      this.ensureH2().emit('secureConnection', socket);
      return;
    }
    this.serveHttp1(socket, true, localPort);
  }

  /** A TLS server that never listens: it only terminates sockets handed to handle(). */
  private ensureTls(): tls.Server {
    if (this.tlsServer !== undefined) return this.tlsServer;
    const certs = this.storeOrThrow();
    this.tlsServer = this.tlsServerWith({ SNICallback: certs.sniCallback });
    return this.tlsServer;
  }

  /**
   * The same for hosts with client certificates: it asks every client for
   * one and verifies it against the host's CA (the SNI context carries it);
   * the request layer decides what an absent or failed one means.
   */
  private ensureMtls(): tls.Server {
    if (this.mtlsServer !== undefined) return this.mtlsServer;
    this.mtlsServer = this.tlsServerWith({ requestCert: true, rejectUnauthorized: false, SNICallback: (name, cb) => cb(null, this.mtlsContext(name)) }, (ts) =>
      rememberClientCertificate(ts, this.caBundle(typeof ts.servername === 'string' ? ts.servername.toLowerCase() : '')),
    );
    return this.mtlsServer;
  }

  private mtlsContext(servername: string): tls.SecureContext | undefined {
    const certs = this.storeOrThrow();
    const name = servername.toLowerCase();
    const ca = this.caFor(name);
    if (ca === undefined) return certs.contextFor(servername);
    const pair = certs.pairFor(name);
    const cached = this.mtlsContexts.get(name);
    if (cached !== undefined && cached.pair === pair && cached.ca === ca) return cached.context;
    const context = tls.createSecureContext({ ...secureContextOptions(certs.policy), cert: pair.cert, key: pair.key, ca });
    this.mtlsContexts.set(name, { pair, ca, context });
    return context;
  }

  /** The CA a server name asks client certificates for: its own host, else the wildcard one label up. */
  private caFor(name: string): string | undefined {
    const exact = this.clientAuth.get(name);
    if (exact !== undefined) return exact;
    const dot = name.indexOf('.');
    return dot > 0 ? this.clientAuth.get(`*${name.slice(dot)}`) : undefined;
  }

  private caBundle(name: string): readonly X509Certificate[] {
    const pem = this.caFor(name);
    if (pem === undefined) return [];
    let bundle = this.caBundles.get(pem);
    if (bundle === undefined) this.caBundles.set(pem, (bundle = certificatesOf(pem)));
    return bundle;
  }

  private storeOrThrow(): CertificateStore {
    if (this.certificates === undefined) throw new Error(`entrypoint ${this.name}: a TLS socket needs options.certificates`);
    return this.certificates;
  }

  private tlsServerWith(extra: Pick<tls.TlsOptions, 'SNICallback' | 'requestCert' | 'rejectUnauthorized'>, onSecure?: (ts: tls.TLSSocket) => void): tls.Server {
    const certs = this.storeOrThrow();
    const def = certs.defaultCertificate.pair;
    const server = tls.createServer({
      ...secureContextOptions(certs.policy),
      cert: def.cert,
      key: def.key,
      ...extra,
      ALPNProtocols: this.http2 ? ['h2', 'http/1.1'] : ['http/1.1'],
      handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
    });
    // The TLS socket takes over the accepted socket's handle; the accepted
    // socket object itself never sees 'close', so destroy it when the TLS one
    // goes (its listener counts it as open until then).
    server.on('secureConnection', (ts: tls.TLSSocket) => {
      const raw = parentOf(ts);
      ts.once('close', () => raw?.destroy());
      onSecure?.(ts);
      // The context already refuses renegotiation (SSL_OP_NO_RENEGOTIATION);
      // this is the second lock, and any TLS error after the handshake (a
      // renegotiation attempt, ERR_TLS_SESSION_ATTACK, a bad record) ends the
      // connection instead of being ignored by the HTTP layer.
      ts.disableRenegotiation();
      ts.on('error', (err: Error) => {
        this.core.log.debug({ err: err.message }, 'TLS error: connection closed');
        ts.destroy();
      });
      this.serveSecure(ts, raw?.localPort ?? ts.localPort ?? 0);
    });
    server.on('tlsClientError', (err: Error, ts: tls.TLSSocket) => {
      this.core.log.debug({ err: err.message }, 'TLS handshake failed');
      parentOf(ts)?.destroy();
    });
    const stop = certs.onDefaultChange((pair) => server.setSecureContext({ ...secureContextOptions(certs.policy), cert: pair.cert, key: pair.key }));
    const before = this.stopDefaultListener;
    this.stopDefaultListener = () => {
      before?.();
      stop();
    };
    return server;
  }

  private ensureH2(): http2.Http2SecureServer {
    if (this.h2Server !== undefined) return this.h2Server;
    const server = http2.createSecureServer({ allowHTTP1: false });
    server.on('session', (session: http2.ServerHttp2Session) => {
      this.sessions.add(session);
      this.core.metrics.openHttp2++;
      session.on('close', () => {
        if (this.sessions.delete(session)) this.core.metrics.openHttp2--;
        this.checkDrained();
      });
      session.on('error', () => {});
      session.setTimeout(this.core.timeouts.idleMs, () => session.close());
      if (this.core.draining) session.close();
    });
    server.on('request', (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => {
      const sock = req.stream.session?.socket as (tls.TLSSocket & { metalgateLocalPort?: number }) | undefined;
      try {
        new H2Request(this.core, req, res, sock?.metalgateLocalPort ?? sock?.localPort ?? 0).start();
      } catch (e) {
        this.core.log.error({ err: e }, 'HTTP/2 request failed');
        if (!req.stream.destroyed) req.stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
      }
    });
    this.h2Server = server;
    return server;
  }

  /**
   * Stop taking requests: idle connections close now, busy ones after their
   * current response (sent with Connection: close), HTTP/2 sessions get a
   * GOAWAY. Resolves when every connection is gone, or after graceMs when the
   * rest are cut.
   */
  async drain(graceMs: number): Promise<void> {
    this.core.draining = true;
    for (const c of [...this.connections]) c.drain();
    for (const s of [...this.sessions]) s.close();
    if (this.connections.size + this.sessions.size > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, graceMs);
        timer.unref();
        this.drainWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    this.close();
  }

  private checkDrained(): void {
    if (!this.core.draining || this.connections.size + this.sessions.size > 0) return;
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const w of waiters) w();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.core.draining = true;
    for (const c of [...this.connections]) c.destroy();
    for (const s of [...this.sessions]) s.destroy();
    this.core.pool.close();
    this.core.h2Upstream.close();
    this.core.clock.stop();
    this.stopDefaultListener?.();
    this.checkDrained();
  }

  stats(): EntrypointStats {
    return {
      openConnections: this.connections.size + this.sessions.size,
      inFlightRequests: this.core.inFlight,
      pooledUpstreamSockets: this.core.pool.idleCount,
      draining: this.core.draining,
    };
  }
}
