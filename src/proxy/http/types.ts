// The contracts of the L7 (HTTP) entrypoint, for the code that feeds it
// (listener manager, EndpointSlices, Secrets) and the code that plugs into it
// (route compilers, middlewares). Implementations live next to this file:
// `entrypoint.ts` (HttpEntrypoint), `backend.ts` (EndpointSetBackend),
// `certificates.ts` (CertificateStore), `table-router.ts` (a Router over
// `src/ingress/match`).
//
// Allocation rules the engine keeps and implementers should too: a request
// without middlewares allocates no context object (the connection's own
// request state is the RequestContext), headers are only turned into strings
// when someone asks for them, and everything below is called synchronously on
// the event loop unless it says it may return a Promise.

import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { HttpRequestInfo } from '../../ingress/match/request-view.ts';

// ---------------------------------------------------------------------------
// Endpoints and backends

/** One pod address of a Service port, as EndpointSlices describe it. */
export interface Endpoint {
  readonly ip: string;
  readonly port: number;
  /** Gets new requests only when true (EndpointSlice `conditions.ready`). */
  readonly ready: boolean;
  /** `conditions.serving`: may finish work it holds even while terminating. */
  readonly serving: boolean;
  readonly terminating: boolean;
  readonly nodeName?: string;
  readonly zone?: string;
}

/** Upstream timeouts in milliseconds; 0 disables one. */
export interface UpstreamTimeouts {
  /** TCP (and TLS) connect. Past it: 504. Default 5 s (ingress-nginx proxy-connect-timeout). */
  readonly connectMs: number;
  /**
   * From the request sent to the response head, and then between two reads of
   * the response body (nginx proxy_read_timeout). Before the head: 504; after:
   * the client connection is cut. Default 60 s.
   */
  readonly readMs: number;
  /** Between two successful writes of the request body upstream (nginx proxy_send_timeout). Default 60 s. */
  readonly sendMs: number;
}

export interface BodyLimits {
  /** Request body bytes allowed; more is answered 413. 0 = unlimited. Default 1 MiB (nginx client_max_body_size). */
  readonly maxBodyBytes: number;
}

/** TLS toward an `https` backend. */
/**
 * How the proxy talks to a backend: HTTP/1.1 in clear or over TLS, or
 * HTTP/2 in clear (h2c) or over TLS (h2) for gRPC backends.
 */
export type BackendProtocol = 'http' | 'https' | 'h2c' | 'h2';

/** A TCP route's target (ssl-passthrough, IngressRouteTCP): the backend, and who may connect (its middlewares) if limited. */
export interface TcpTarget {
  readonly backend: Backend;
  readonly guard?: {
    /** Counts the connection in and returns how to count it out, or undefined: refused (the caller closes it). */
    admit(remoteAddress: string | undefined): (() => void) | undefined;
  };
}

/** A host's own TLS settings on a TLS entrypoint (the host is the map key: exact, or `*.` wildcard). */
export interface HostTlsSettings {
  /** CA bundle (PEM): clients are asked for a certificate, verified against it. */
  readonly ca?: string;
  readonly minVersion?: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';
  readonly maxVersion?: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';
  /** OpenSSL cipher list for TLS 1.2 and below. */
  readonly ciphers?: string;
  /** OpenSSL curve list (`P-256:X25519`). */
  readonly ecdhCurve?: string;
  /** No certificate of the host's own for the server name: the handshake is refused. */
  readonly sniStrict?: boolean;
  /** With `ca`: a client without a certificate the CA verifies fails the handshake (Traefik's RequireAndVerifyClientCert), rather than its first request. */
  readonly requireClientCert?: boolean;
}

export interface UpstreamTls {
  /** SNI sent upstream; default none (pods are addressed by IP). */
  readonly servername?: string;
  /** Default false: like ingress-nginx's proxy-ssl-verify off. */
  readonly verify?: boolean;
  /** PEM CA bundle used when verify is true. */
  readonly ca?: string | Buffer;
  /** With verify: the name the server's certificate must carry (default: servername, else the chain alone). */
  readonly checkName?: string;
  /** With verify: intermediates allowed between the server's certificate and the trust anchor (nginx's proxy_ssl_verify_depth). */
  readonly verifyDepth?: number;
  /** A client certificate and key (PEM) shown to the backend. */
  readonly cert?: string;
  readonly key?: string;
  readonly minVersion?: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';
  readonly maxVersion?: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';
  /** OpenSSL cipher list for TLS 1.2 and below. */
  readonly ciphers?: string;
}

/**
 * A named upstream pool (one Service port, or a weighted/mirrored virtual
 * service built by the rule engine). The entrypoint keeps its keep-alive sockets per
 * endpoint `ip:port`, so several Backend objects may share endpoints.
 */
export interface Backend {
  /** For metrics and logs, e.g. `ns/svc:port`. Keep it stable and low-cardinality. */
  readonly name: string;
  readonly protocol: BackendProtocol;
  /** Override the entrypoint's defaults field by field. */
  readonly timeouts?: Partial<UpstreamTimeouts>;
  readonly limits?: Partial<BodyLimits>;
  readonly tls?: UpstreamTls;
  /**
   * The endpoint for the next attempt, or undefined when there is none
   * (answered 503). Called once per attempt, so a retry moves on.
   * `affinityKey` is what a sticky-cookie middleware read from the request
   * (see affinityKeyOf); an unknown or unready key falls back to balancing.
   * `balanceKey` (upstream-hash-by) picks by consistent hashing.
   */
  pick(clientIp: string, affinityKey?: string, balanceKey?: string): Endpoint | undefined;
  /** The value a sticky cookie should hold to come back to `endpoint`. */
  affinityKeyOf?(endpoint: Endpoint): string;
  /** The endpoints that get new requests now (the same array until the set changes). */
  readyEndpoints?(): readonly Endpoint[];
  /** A request to `endpoint` completed after `ms` (balancers that learn from response times). */
  done?(endpoint: Endpoint, ms: number): void;
}

// ---------------------------------------------------------------------------
// Routing

/**
 * What a Router sees of a request: `src/ingress/match`'s HttpRequestInfo
 * (host as received, normalized path without query, method, lowercase header
 * record built on first access, raw query, client IP) plus the connection's
 * scheme. Valid only during the route() call.
 */
export interface RouteView extends HttpRequestInfo {
  readonly tls: boolean;
  /** The entrypoint port the request arrived on. */
  readonly localPort: number;
}

/** A response the proxy writes itself (middleware short-circuit, redirect, default 404). */
export interface SimpleResponse {
  readonly status: number;
  /** Extra fields; Content-Length, Connection and Date are added by the engine. */
  readonly headers?: ReadonlyArray<readonly [name: string, value: string]>;
  /** Default: empty. Text is sent as UTF-8 (with `text/plain; charset=utf-8` unless a Content-Type is given). */
  readonly body?: string | Buffer;
}

export interface BackendRoute {
  /** Route id for logs and metrics (e.g. `ingress/ns/name#0/0` or `ns-router@kubernetescrd`). */
  readonly routeName: string;
  readonly backend: Backend;
  /** Applied in order; absent or empty on the fast path. */
  readonly middlewares?: readonly Middleware[];
  readonly response?: undefined;
}

export interface ResponseRoute {
  readonly routeName: string;
  /** Answer without an upstream (redirect, default 404). Middlewares still run first. */
  readonly response: SimpleResponse;
  readonly middlewares?: readonly Middleware[];
  readonly backend?: undefined;
}

export type RouteResult = BackendRoute | ResponseRoute;

/**
 * Chooses where a request goes. Must be pure and fast (called per request);
 * undefined means 404. Swapped whole with HttpEntrypoint.setRouter.
 */
export interface Router {
  route(view: RouteView): RouteResult | undefined;
}

// ---------------------------------------------------------------------------
// Middlewares

/**
 * The request as a middleware sees and edits it. Edits apply to what is sent
 * upstream; the routing decision is already taken. The object is reused by
 * the connection for its next request: do not keep it past onDone.
 */
export interface RequestContext {
  readonly method: string;
  /** Normalized path without the query (what routing saw). */
  readonly path: string;
  /** Raw query without "?" ("" when none). */
  readonly query: string;
  /** Host/authority as received (may carry a port). */
  readonly host: string;
  readonly clientIp: string;
  readonly tls: boolean;
  readonly localPort: number;
  readonly routeName: string;
  /** The backend of the route (undefined on a ResponseRoute). */
  readonly backend: Backend | undefined;
  /** The endpoint picked for the current attempt (set before onResponse). */
  readonly endpoint: Endpoint | undefined;
  /** Steers Backend.pick (sticky cookie); set it in onRequest. */
  affinityKey: string | undefined;
  /** A key for consistent hashing over the backend's endpoints (upstream-hash-by). */
  balanceKey: string | undefined;

  /** The client's TLS certificate as the handshake left it (TLS connections that asked for one), else undefined. */
  clientCertificate(): ClientCertificate | undefined;
  /** Every request field as received, before any edit (lowercase names). */
  readonly headers: Readonly<Record<string, string | readonly string[] | undefined>>;
  /** First value of a request field (any case), as received or as edited. */
  header(name: string): string | undefined;
  /** Every value of a request field. */
  headerValues(name: string): string[];
  /** Replaces every line of `name` by one (throws on an invalid name or value: no injection). */
  setHeader(name: string, value: string): void;
  addHeader(name: string, value: string): void;
  removeHeader(name: string): void;
  /**
   * The request-target path sent upstream, query included (default: as
   * received). stripPrefix/addPrefix/replacePath/rewrite-target set it.
   * Must be origin-form: starts with "/", no CTL or SP.
   */
  upstreamTarget: string;
  /** Host header sent upstream (default as received). */
  upstreamHost: string;
  /**
   * Reads the whole request body before the request goes on (Traefik
   * forwardAuth forwardBody): its payload, chunk framing removed (empty
   * when the request has none), or undefined when it is larger than
   * `maxBytes` (Infinity: the route's body limit only). The body still
   * goes to the backend afterwards. A body over the route's limit is
   * answered 413 by the engine, and a stalled one 408. From onRequest
   * only, once per request.
   */
  readBody(maxBytes: number): Promise<Buffer | undefined>;
}

/** What a TLS client presented, and whether it verified against the CA its host names. */
export interface ClientCertificate {
  readonly presented: boolean;
  readonly verified: boolean;
  /** OpenSSL's reason when presented but not verified. */
  readonly error?: string;
  /** RFC 2253 distinguished names, as nginx's $ssl_client_s_dn and $ssl_client_i_dn. */
  readonly subjectDn: string;
  readonly issuerDn: string;
  /** The certificate, PEM. */
  readonly pem: string;
  /** Intermediate certificates between the client's and the trust anchor (undefined: not verified, or some could not be seen). */
  readonly intermediates: number | undefined;
  /** caDigest of the CA bundle the handshake verified it against. */
  readonly caDigest?: string;
}

/** The upstream response head as middlewares may edit it before it is sent. */
export interface ResponseContext {
  readonly status: number;
  header(name: string): string | undefined;
  /** Every value of a field that may come more than once (Set-Cookie), edits included. */
  headerValues(name: string): string[];
  setHeader(name: string, value: string): void;
  addHeader(name: string, value: string): void;
  removeHeader(name: string): void;
  /**
   * Re-encodes the body through a transform (e.g. zlib.createGzip()): the
   * engine drops Content-Length, sends the output chunked (or close-delimited
   * to HTTP/1.0) and keeps backpressure. Only for responses with a body.
   */
  setBodyTransform(transform: NodeJS.ReadWriteStream): void;
  /** True when the response has a body (not HEAD, 1xx, 204, 304). */
  readonly hasBody: boolean;
  /** The body bytes that arrived with the head (possibly none; payload only, chunk framing removed). */
  firstBody(): Uint8Array;
  /**
   * Sets a field from the body's first bytes when none came with the head:
   * the head then waits for the first read of the body (payload only), as
   * Go's server does for Content-Type; a body that ends empty leaves the
   * field out. Not with a body transform.
   */
  setHeaderFromFirstBody(name: string, derive: (first: Uint8Array) => string | undefined): void;
}

/** How a request ended, for onDone and the access log. */
export interface RequestOutcome {
  /** Status sent to the client (0 when nothing could be sent). */
  readonly status: number;
  readonly durationMs: number;
  /** Set when the proxy itself failed the request (e.g. `upstream-connect-timeout`). */
  readonly error: string | undefined;
}

/** Where Middleware.mirror sends a copy of a request. */
export interface MirrorTarget {
  readonly backend: Backend;
  /** Share of requests copied, 0-100. */
  readonly percent: number;
  /**
   * The copy's request-target and Host, when they differ from the upstream
   * request's (ingress-nginx mirror-target); undefined: the same head;
   * null: no copy of this request.
   */
  readonly retarget?: (ctx: RequestContext) => { readonly target: string; readonly host: string } | undefined | null;
  /** Whether the copy carries the request body (default true). */
  readonly body?: boolean;
}

/**
 * A request/response hook. Every member is optional; the engine checks them
 * once per request and the route's list is walked only when present.
 *
 * Order: onRequest of each middleware in order (a SimpleResponse stops the
 * walk and is answered; onResponse then runs, in reverse order, for the
 * middlewares whose onRequest ran, the one that answered included); pick +
 * forward (with retry/mirror as declared); onResponse in reverse order; onDone
 * in reverse order, exactly once for each middleware whose onRequest ran.
 * The proxy's own error answers (404 without route, 413, 502, 503, 504...)
 * do not go through onResponse.
 */
/**
 * When a request goes to another endpoint (Traefik retry; ingress-nginx
 * proxy-next-upstream). Without `when`: connect failures, resets and 502
 * answers, for requests whose body can be replayed (Traefik's retry).
 */
export interface RetryPolicy {
  readonly attempts: number;
  readonly initialIntervalMs?: number;
  /** ingress-nginx proxy-next-upstream: which failures move on. */
  readonly when?: {
    /** Connect errors, resets before a response, a response that breaks HTTP (error, invalid_header). */
    readonly error: boolean;
    /** Connect, send and read timeouts. */
    readonly timeout: boolean;
    /** Answers with these statuses (http_502 ...). */
    readonly statuses: readonly number[];
    /** Also POST, PATCH and LOCK once sent (non_idempotent). */
    readonly nonIdempotent: boolean;
  };
  /** No new attempt after this long since the request began (proxy-next-upstream-timeout); 0: no limit. */
  readonly budgetMs?: number;
}

export interface Middleware {
  /** For logs, e.g. `ns-name@kubernetescrd`. */
  readonly name: string;
  /**
   * Look at / rewrite the request, or answer it (401, 403, 429, 30x...). May
   * return a Promise (e.g. a forward-auth call); sync is the fast path.
   */
  onRequest?(ctx: RequestContext): SimpleResponse | undefined | Promise<SimpleResponse | undefined>;
  /** Edit the response head (and wrap the body) before it goes to the client. */
  onResponse?(ctx: RequestContext, res: ResponseContext): void;
  /** Release what onRequest took (in-flight counters). Must not throw. */
  onDone?(ctx: RequestContext, outcome: RequestOutcome): void;
  /**
   * Retry on another endpoint when connecting fails, or the upstream resets or
   * answers 502 before any byte went to the client. Bodies are replayed only
   * when the request had none. The largest value on the route wins.
   */
  readonly retry?: RetryPolicy;
  /** Send a copy of the request to these backends and ignore their answers. */
  readonly mirror?: readonly MirrorTarget[];
  /**
   * Answers with these statuses are replaced (before any byte went to the
   * client) by the page `fetch` gets; a failed fetch answers the status
   * with the engine's own text. The last one on the route wins.
   */
  readonly errorPages?: { intercepts(status: number): boolean; fetch(ctx: RequestContext, status: number): Promise<SimpleResponse> };
  /** When the route's backend has no ready endpoint, the request goes here instead. */
  readonly fallback?: Backend;
  /**
   * Traefik buffering: a request body over `requestBytes` gets 413; a
   * response declaring a length over `responseBytes` gets 500, and one
   * without a declared length is streamed and cut once past it (it is not
   * held). The smallest limit on the route wins.
   */
  readonly bodyLimits?: { readonly requestBytes?: number; readonly responseBytes?: number };
  /**
   * Traefik grpcWeb: a gRPC-Web request (content type application/grpc-web*)
   * to the route's HTTP/2 backend is bridged: sent as gRPC, answered as
   * gRPC-Web (trailers in the body).
   */
  readonly grpcWeb?: true;
}

// ---------------------------------------------------------------------------
// TLS

export interface CertificatePair {
  /** PEM chain (leaf first). */
  readonly cert: string | Buffer;
  /** PEM private key. */
  readonly key: string | Buffer;
}

/** What CertificateStore.set reports about a pair (for Events). */
export interface CertificateInfo {
  /** DNS names the certificate serves (SAN DNS entries, else the CN). */
  readonly hosts: readonly string[];
  readonly notAfter: Date;
}

// ---------------------------------------------------------------------------
// Entrypoint

/** How `handle()` should treat an accepted socket. */
export interface ConnectionInfo {
  /**
   * The socket is TLS: a raw TCP socket to terminate here with the
   * CertificateStore (SNI, ALPN h2/http/1.1), or an already established
   * tls.TLSSocket (then its alpnProtocol is honoured).
   */
  readonly tls: boolean;
  /** The address:port the client connected to (defaults to the socket's). */
  readonly localAddress?: string;
  readonly localPort?: number;
  /** TCP_NODELAY is set on the socket already (the listener's accept did it): no setsockopt again. */
  readonly noDelay?: boolean;
  /** Where the listener parks its idle connections (listeners/idle-park.ts); without it they keep their sockets. */
  readonly park?: SocketParking;
}

/** A listener's parking for idle connections: a parked connection comes back to the listener as a new socket when it sends. */
export interface SocketParking {
  /**
   * Parks an idle connection (nothing to write, nothing unread) for up to
   * `timeoutMs` and destroys `socket`, sending nothing to the client; false
   * (the socket untouched) when it cannot.
   */
  parkSocket(socket: Socket, timeoutMs: number): boolean;
}

export interface ClientLimits {
  /** Request line + headers; more is 431. Default 16 KiB. */
  readonly maxHeadBytes: number;
  /** Header lines; more is 431. Default 100. */
  readonly maxHeaders: number;
  /** Default request body limit (Backend.limits overrides). */
  readonly maxBodyBytes: number;
}

export interface ClientTimeouts {
  /** From the first byte of a request to the end of its head: 408. Default 60 s (nginx client_header_timeout). */
  readonly headerMs: number;
  /** Between two reads of a request body: 408 (or cut once the response started). Default 60 s. */
  readonly bodyMs: number;
  /** A kept-alive connection with no request in progress is closed after this. Default 75 s (nginx keepalive_timeout). */
  readonly idleMs: number;
  /** A response the client does not read: cut after no progress for this long. Default 60 s. */
  readonly sendMs: number;
  /**
   * A kept-alive HTTP/1 connection idle this long gives up its socket and
   * waits parked in the kernel for the rest of idleMs, where its listener
   * parks (ConnectionInfo.park). Default 1 s: a client sending again sooner
   * keeps its socket, as waking a parked one costs about a socket's
   * creation (measured, test/bench/park-wake.ts: 81-84 µs of CPU per
   * request when each wakes its connection, 57 when none is parked).
   * 0: never parked.
   */
  readonly parkAfterMs: number;
}

export interface UpstreamPoolOptions {
  /** Idle keep-alive sockets kept per endpoint. Default 320 (ingress-nginx's upstream-keepalive-connections). */
  readonly maxIdlePerEndpoint: number;
  /** An idle pooled socket is closed after this. Default 60 s (nginx keepalive_timeout for upstreams). */
  readonly idleMs: number;
  /** Requests sent over one upstream socket before it is retired (nginx keepalive_requests). Default 10 000. */
  readonly maxRequestsPerSocket: number;
}

/** Access-log record (pino, level info, msg "request"). */
export interface AccessLogRecord {
  readonly method: string;
  readonly host: string;
  readonly target: string;
  readonly status: number;
  readonly durationMs: number;
  readonly clientIp: string;
  readonly route: string;
  readonly backend: string;
  readonly endpoint: string;
  readonly bytesOut: number;
  readonly error?: string;
}

export interface EntrypointStats {
  readonly openConnections: number;
  readonly inFlightRequests: number;
  readonly pooledUpstreamSockets: number;
  readonly draining: boolean;
}

/** Options of `new HttpEntrypoint(opts)` (every field optional). */
export interface HttpEntrypointOptions {
  /** Name for logs and the `entrypoint` metric label, e.g. `web`, `websecure`. Default `http`. */
  readonly name?: string;
  readonly router?: Router;
  /** Required to serve TLS sockets (handle(..., { tls: true })). */
  readonly certificates?: CertificateStoreApi;
  /** Default pino silent. */
  readonly logger?: Logger;
  /** Fraction of requests written to the access log, 0..1. Default 0.01. Errors the proxy answers itself are always logged at warn (rate-limited). */
  readonly accessLogSampleRate?: number;
  /** Where access-log lines go (default `logger`). access-log.ts's createAccessLogger() never blocks. */
  readonly accessLogger?: Logger;
  /** Metrics are registered here when given (see metrics.ts for names). */
  readonly registry?: Registry;
  readonly limits?: Partial<ClientLimits>;
  readonly timeouts?: Partial<ClientTimeouts>;
  /** Entrypoint-wide upstream defaults; Backend.timeouts override per backend. */
  readonly upstreamTimeouts?: Partial<UpstreamTimeouts>;
  readonly pool?: Partial<UpstreamPoolOptions>;
  /**
   * Incoming X-Forwarded-For: 'replace' (default; like ingress-nginx without
   * use-forwarded-headers and Traefik without trusted IPs) or 'append'.
   */
  readonly forwardedFor?: 'replace' | 'append';
  /**
   * Forward request fields whose names hold an underscore. Default false:
   * they are dropped, as nginx does (underscores_in_headers off).
   */
  readonly underscoresInHeaders?: boolean;
  /** Serve HTTP/2 to TLS clients that offer it by ALPN. Default true. */
  readonly http2?: boolean;
  /** Timer resolution for every timeout above, ms. Default 250. */
  readonly timerResolutionMs?: number;
}

/** The entrypoint's public surface (implemented by `HttpEntrypoint` in entrypoint.ts). */
export interface HttpEntrypointApi {
  /** Atomic swap: requests already routed keep the route they got. */
  setRouter(router: Router): void;
  /** ssl-passthrough hosts (lowercase SNI -> backend): their TLS connections go undecrypted to the backend. */
  setPassthrough?(hosts: ReadonlyMap<string, TcpTarget>): void;
  /** Hosts (lowercase SNI -> CA PEM) whose TLS connections are asked for a client certificate, verified against that CA. */
  setHostTls?(hosts: ReadonlyMap<string, HostTlsSettings>): void;
  /** Hosts (lowercase SNI -> backend) whose TLS is terminated here and whose plaintext goes to the backend as TCP (IngressRouteTCP). */
  setTcpHosts?(hosts: ReadonlyMap<string, TcpTarget>): void;
  /**
   * Takes over an accepted socket; the entrypoint owns it from now on.
   * Returns the socket now carrying the connection when it is another one
   * (plain HTTP adopts the connection into a socket reading through its own
   * buffer): the one to track and to cut.
   */
  handle(socket: Socket, info: ConnectionInfo): Socket | void;
  /** How long a new connection may wait before its first byte (the header timeout): as long as it may wait parked. */
  readonly firstByteTimeoutMs: number;
  /**
   * Terminates TLS on a socket of a TCP entry point of its own (IngressRouteTCP
   * with tls) with the certificate held under `secretKey` (the default one
   * when undefined or not held), as this entrypoint's TLS policy says;
   * `onSecure` gets the plaintext socket after the handshake. A failed or
   * stalled handshake destroys the socket.
   */
  terminateTcpTls?(socket: Socket, secretKey: string | undefined, onSecure: (plain: Socket) => void): void;
  /**
   * SIGTERM: every kept-alive connection answers its current request with
   * Connection: close and closes; idle ones close now; new sockets passed to
   * handle() are closed. Resolves when all connections are gone or after
   * graceMs (then the rest are cut).
   */
  drain(graceMs: number): Promise<void>;
  /** Cuts everything now (tests, fatal errors). */
  close(): void;
  stats(): EntrypointStats;
}

/** The certificate store's public surface (implemented by `CertificateStore` in certificates.ts). */
export interface CertificateStoreApi {
  /** Adds or replaces a pair under a key (e.g. the Secret's `ns/name`). Throws when cert/key are unusable. */
  set(secretKey: string, pair: CertificatePair): CertificateInfo;
  delete(secretKey: string): boolean;
  /** The Secret keys held. */
  keys(): string[];
  /** The certificate for clients whose SNI matches nothing (or that send none). */
  setDefault(pair: CertificatePair): CertificateInfo;
  /** Secret key serving `servername`: exact SAN first, then a wildcard, else undefined (default cert). */
  lookup(servername: string): string | undefined;
}
