// The HTTP entrypoint: takes over accepted sockets (plain or TLS), serves
// HTTP/1.1 on them (h1-connection.ts) or HTTP/2 when a TLS client picks it by
// ALPN (node:http2 compat, h2-request.ts), and proxies every request to the
// backend its Router picks. Listening is the caller's job (the listener
// manager binds owned IP:ports and calls handle()).

import { HeadParserPool } from './head-parser-pool.ts';
import type { Http2SecureServer, Http2ServerRequest, Http2ServerResponse, ServerHttp2Session } from 'node:http2';
import { http2 } from '../../common/builtins.ts';
import type net from 'node:net';
import tls from 'node:tls';
import { pino, type Logger } from 'pino';
import { RequestLog } from './access-log.ts';
import type { CertificateStore } from './certificates.ts';
import { rememberClientCertificate } from './client-certificate.ts';
import { pipeToBackend } from './tcp-pipe.ts';
import { HostTlsTable, PLAIN_SERVER } from './host-tls.ts';
import { DeadlineClock } from './clock.ts';
import { H1Connection } from './h1-connection.ts';
import { H2Request } from './h2-request.ts';
import { H2UpstreamSessions } from './h2-upstream.ts';
import { TlsPassthrough } from './tls-passthrough.ts';
import { secureContextOptions, type TlsPolicy } from './tls-policy.ts';
import { HttpMetrics } from './metrics.ts';
import type { EntrypointCore } from './proxy-request.ts';
import type {
  ClientLimits,
  ClientTimeouts,
  Backend,
  ConnectionInfo,
  EntrypointStats,
  HostTlsSettings,
  HttpEntrypointApi,
  SocketParking,
  HttpEntrypointOptions,
  Router,
  TcpTarget,
  UpstreamTimeouts,
} from './types.ts';
import { UpstreamPool } from './upstream.ts';

const CLIENT_LIMIT_DEFAULTS: ClientLimits = { maxHeadBytes: 16 * 1024, maxHeaders: 100, maxBodyBytes: 1024 * 1024 };
const CLIENT_TIMEOUT_DEFAULTS: ClientTimeouts = { headerMs: 60_000, bodyMs: 60_000, idleMs: 75_000, sendMs: 60_000, parkAfterMs: 1_000 };
const UPSTREAM_TIMEOUT_DEFAULTS: UpstreamTimeouts = { connectMs: 5_000, readMs: 60_000, sendMs: 60_000 };
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
  private readonly sessions = new Set<ServerHttp2Session>();
  private readonly certificates: CertificateStore | undefined;
  private tlsServer: tls.Server | undefined;
  /** Hosts with TLS settings of their own (client certificates, TLSOption). */
  private readonly hostTls = new HostTlsTable();
  /** The TLS servers for those hosts, one per distinct offer (HostTlsTable.serverKey). */
  private readonly hostServers = new Map<string, tls.Server>();
  private tcpHosts: ReadonlyMap<string, TcpTarget> = new Map();
  private h2Server: Http2SecureServer | undefined;
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
      parsers: new HeadParserPool({ ...CLIENT_LIMIT_DEFAULTS, ...opts.limits }),
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

  /** IngressRouteTCP hosts whose TLS is terminated here and whose plaintext goes to a backend. */
  setTcpHosts(hosts: ReadonlyMap<string, TcpTarget>): void {
    this.tcpHosts = hosts;
  }

  /** Hosts (lowercase, or `*.` wildcards) with TLS settings of their own. */
  setHostTls(hosts: ReadonlyMap<string, HostTlsSettings>): void {
    this.hostTls.set(hosts);
  }

  /** ssl-passthrough hosts (lowercase SNI -> backend): their TLS connections are not terminated here. */
  setPassthrough(hosts: ReadonlyMap<string, TcpTarget>): void {
    this.passthrough.set(hosts);
  }

  /** Atomic swap: a request already routed keeps its route; the next one uses `router`. */
  setRouter(router: Router): void {
    this.core.router = router;
  }

  get router(): Router | undefined {
    return this.core.router;
  }

  get firstByteTimeoutMs(): number {
    return this.core.timeouts.headerMs;
  }

  handle(socket: net.Socket, info: ConnectionInfo): net.Socket | void {
    if (this.closed || this.core.draining) {
      socket.destroy();
      return;
    }
    const localPort = info.localPort ?? socket.localPort ?? 0;
    if (!info.tls) return this.serveHttp1(socket, false, localPort, info.noDelay === true, info.park);
    if (socket instanceof tls.TLSSocket && socket.encrypted) {
      this.serveSecure(socket, localPort);
      return;
    }
    // The server name decides before any TLS: passed through, terminated with the host's own settings, or as usual.
    if (this.passthrough.active || this.hostTls.size > 0) this.passthrough.route(socket, this.terminateTls);
    else this.terminateTls(socket, undefined);
  }

  terminateTcpTls(socket: net.Socket, secretKey: string | undefined, onSecure: (plain: net.Socket) => void): void {
    if (this.closed || this.core.draining) {
      socket.destroy();
      return;
    }
    socket.allowHalfOpen = false;
    const store = this.storeOrThrow();
    const ts = new tls.TLSSocket(socket, { isServer: true, secureContext: (secretKey !== undefined ? store.contextOfSecret(secretKey) : undefined) ?? store.defaultContext() });
    const timer = setTimeout(() => ts.destroy(), HANDSHAKE_TIMEOUT_MS);
    ts.once('secure', () => {
      clearTimeout(timer);
      // As on the HTTPS port: no renegotiation, and a TLS error after the handshake ends the connection.
      ts.disableRenegotiation();
      onSecure(ts);
    });
    ts.on('error', (err: Error) => {
      this.core.log.debug({ err: err.message }, 'TLS error on a TCP entry point: connection closed');
      ts.destroy();
    });
    ts.once('close', () => {
      clearTimeout(timer);
      socket.destroy();
    });
  }

  private readonly terminateTls = (socket: net.Socket, sni: string | undefined): void => {
    if (this.closed || this.core.draining) {
      socket.destroy();
      return;
    }
    // TLS has no half-close: a client's FIN must end the handshake or the
    // session (with allowHalfOpen the TLS layer would wait for its timeout).
    socket.allowHalfOpen = false;
    const settings = sni !== undefined ? this.hostTls.settingsFor(sni) : undefined;
    (settings === undefined ? this.ensureTls() : this.serverFor(settings)).emit('connection', socket);
  };

  /** Returns the socket the connection reads (plain HTTP: one that adopted `socket`'s connection). */
  private serveHttp1(socket: net.Socket, secure: boolean, localPort: number, noDelaySet = false, park?: SocketParking): net.Socket {
    const conn = new H1Connection(this.core, socket, secure, localPort, this.forget, noDelaySet, park);
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
    this.tlsServer = this.tlsServerWith(this.storeOrThrow().policy, {});
    return this.tlsServer;
  }

  /**
   * The TLS server for a host's settings. With a CA it asks every client
   * for a certificate and verifies it against the CA of the host's SNI
   * context; the request layer decides what an absent or failed one means,
   * unless the host refuses such clients in the handshake (Traefik).
   */
  private serverFor(s: HostTlsSettings): tls.Server {
    const key = HostTlsTable.serverKey(s);
    if (key === PLAIN_SERVER) return this.ensureTls();
    let server = this.hostServers.get(key);
    if (server !== undefined) return server;
    const asks = s.ca !== undefined;
    server = this.tlsServerWith(
      HostTlsTable.policyOf(this.storeOrThrow().policy, s),
      { ...(asks ? { requestCert: true, rejectUnauthorized: s.requireClientCert === true } : {}), ...(s.ecdhCurve !== undefined ? { ecdhCurve: s.ecdhCurve } : {}) },
      asks ? (ts) => rememberClientCertificate(ts, this.hostTls.caBundle(typeof ts.servername === 'string' ? ts.servername.toLowerCase() : '')) : undefined,
    );
    this.hostServers.set(key, server);
    return server;
  }

  /** Every TLS server's SNI callback: the store's context, or the host's own (HostTlsTable). */
  private readonly sniCallback = (servername: string, cb: (err: Error | null, ctx?: tls.SecureContext) => void): void => {
    const r = this.hostTls.size === 0 ? this.storeOrThrow().contextFor(servername) : this.hostTls.context(servername, this.storeOrThrow());
    if (r instanceof Error) {
      this.core.log.debug({ servername, err: r.message }, 'TLS handshake refused');
      cb(r);
    } else cb(null, r);
  };

  private storeOrThrow(): CertificateStore {
    if (this.certificates === undefined) throw new Error(`entrypoint ${this.name}: a TLS socket needs options.certificates`);
    return this.certificates;
  }

  private tlsServerWith(policy: TlsPolicy, extra: Pick<tls.TlsOptions, 'requestCert' | 'rejectUnauthorized' | 'ecdhCurve'>, onSecure?: (ts: tls.TLSSocket) => void): tls.Server {
    const certs = this.storeOrThrow();
    const def = certs.defaultCertificate.pair;
    const server = tls.createServer({
      ...secureContextOptions(policy),
      cert: def.cert,
      key: def.key,
      ...extra,
      SNICallback: this.sniCallback,
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
      const tcp = this.tcpHosts.size > 0 && typeof ts.servername === 'string' ? this.tcpHosts.get(ts.servername.toLowerCase()) : undefined;
      if (tcp !== undefined) {
        pipeToBackend(ts, undefined, tcp, this.core.log, 'IngressRouteTCP');
        return;
      }
      this.serveSecure(ts, raw?.localPort ?? ts.localPort ?? 0);
    });
    server.on('tlsClientError', (err: Error, ts: tls.TLSSocket) => {
      this.core.log.debug({ err: err.message }, 'TLS handshake failed');
      parentOf(ts)?.destroy();
    });
    const stop = certs.onDefaultChange((pair) => server.setSecureContext({ ...secureContextOptions(policy), ...(extra.ecdhCurve !== undefined ? { ecdhCurve: extra.ecdhCurve } : {}), cert: pair.cert, key: pair.key }));
    const before = this.stopDefaultListener;
    this.stopDefaultListener = () => {
      before?.();
      stop();
    };
    return server;
  }

  private ensureH2(): Http2SecureServer {
    if (this.h2Server !== undefined) return this.h2Server;
    const server = http2().createSecureServer({ allowHTTP1: false });
    server.on('session', (session: ServerHttp2Session) => {
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
    server.on('request', (req: Http2ServerRequest, res: Http2ServerResponse) => {
      const sock = req.stream.session?.socket as (tls.TLSSocket & { metalgateLocalPort?: number }) | undefined;
      try {
        new H2Request(this.core, req, res, sock?.metalgateLocalPort ?? sock?.localPort ?? 0).start();
      } catch (e) {
        this.core.log.error({ err: e }, 'HTTP/2 request failed');
        if (!req.stream.destroyed) req.stream.close(http2().constants.NGHTTP2_INTERNAL_ERROR);
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
