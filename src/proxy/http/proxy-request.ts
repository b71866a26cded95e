// What an HTTP/1.1 connection and an HTTP/2 stream share: routing, the
// middleware walk, picking an endpoint and getting an upstream connection
// (pooled or new), retries, the error answers, and the bookkeeping when a
// request ends (metrics, access log, onDone). The protocol subclasses write
// bytes; this class decides.
//
// One object serves one request at a time and is reused for the next on the
// same connection, so the fast path allocates no request object: it is the
// RouteView the router reads and the RequestContext middlewares edit.

import type { HeadParserPool } from './head-parser-pool.ts';
import type tls from 'node:tls';
import type { Logger } from 'pino';
import { clientCertificateOf } from './client-certificate.ts';
import { TARGET } from '../http1/char-classes.ts';
import { assertValidField } from '../http1/forward-headers.ts';
import type { ResponseHead } from '../http1/response-head.ts';
import type { DeadlineClock } from './clock.ts';
import { HeaderEdits } from './header-edits.ts';
import { MirrorCopy, retargetRequestHead } from './mirror.ts';
import type { BackendSeries, HttpMetrics } from './metrics.ts';
import type { RequestLog } from './access-log.ts';
import { ResponseEdit, type EarlyBody, type FieldLookup } from './response-edit.ts';
import { errorResponse } from './simple-response.ts';
import type {
  Backend,
  ClientCertificate,
  ClientLimits,
  ClientTimeouts,
  Endpoint,
  Middleware,
  MirrorTarget,
  RequestContext,
  RetryPolicy,
  RouteResult,
  RouteView,
  Router,
  SimpleResponse,
  UpstreamTimeouts,
} from './types.ts';
import type { UpstreamConn, UpstreamFailure, UpstreamOwner, UpstreamPool } from './upstream.ts';
import type { H2UpstreamSessions } from './h2-upstream.ts';

/** Entrypoint-wide state every connection reads. */
export interface EntrypointCore {
  readonly name: string;
  router: Router | undefined;
  readonly pool: UpstreamPool;
  /** HTTP/2 sessions to h2c/h2 (gRPC) backends. */
  readonly h2Upstream: H2UpstreamSessions;
  readonly clock: DeadlineClock;
  readonly metrics: HttpMetrics;
  /** Series for answers without a backend (404, 400, direct responses). */
  readonly noBackend: BackendSeries;
  readonly log: Logger;
  readonly requestLog: RequestLog;
  readonly limits: ClientLimits;
  /** Request-head parsers, lent to HTTP/1 connections while they read a head. */
  readonly parsers: HeadParserPool;
  readonly timeouts: ClientTimeouts;
  readonly upstreamTimeouts: UpstreamTimeouts;
  readonly forwardedFor: 'replace' | 'append';
  /** Forward request field names with underscores (nginx underscores_in_headers); default false: dropped. */
  readonly underscoresInHeaders: boolean;
  draining: boolean;
  inFlight: number;
}

/** Connect errors that fail at once are retried on the next endpoint up to this many attempts in all. */
const CONNECT_ATTEMPTS = 3;
/** Stale pooled sockets are skipped at most this many times per request. */
const STALE_RETRIES = 3;

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);

/** The status and text for a failure before any response byte went out. */
function failureAnswer(failure: UpstreamFailure, t: UpstreamTimeouts): [number, string] {
  switch (failure) {
    case 'connect-refused':
      return [502, 'bad gateway: the upstream refused the connection'];
    case 'connect-failed':
      return [502, 'bad gateway: could not connect to the upstream'];
    case 'connect-timeout':
      return [504, `gateway timeout: the upstream did not accept the connection within ${t.connectMs} ms`];
    case 'reset-before-response':
      return [502, 'bad gateway: the upstream closed the connection without answering'];
    case 'bad-response':
      return [502, 'bad gateway: the upstream sent an invalid HTTP response'];
    case 'read-timeout':
      return [504, `gateway timeout: the upstream did not answer within ${t.readMs} ms`];
    case 'send-timeout':
      return [504, `gateway timeout: the upstream did not read the request within ${t.sendMs} ms`];
    case 'reset-mid-response':
      return [502, 'bad gateway: the upstream closed the connection in the middle of the response'];
  }
}

export abstract class ProxyRequest implements RouteView, RequestContext, UpstreamOwner {
  readonly core: EntrypointCore;
  readonly clientIp: string;
  readonly tls: boolean;
  readonly localPort: number;

  // --- the current request (reset between requests)
  method = 'GET';
  path = '/';
  query = '';
  host = '';
  routeName = '';
  backend: Backend | undefined = undefined;
  endpoint: Endpoint | undefined = undefined;
  affinityKey: string | undefined = undefined;
  balanceKey: string | undefined = undefined;
  protected route: RouteResult | undefined = undefined;
  protected series: BackendSeries;
  protected edits: HeaderEdits | undefined = undefined;
  /** Target and Host to send upstream; null = as received. */
  protected targetOverride: string | null = null;
  protected hostOverride: string | null = null;
  protected mwRan = 0;
  protected attempts = 0;
  protected maxAttempts = 1;
  /** The route's retry policy (the last one that set the attempts). */
  protected retryPolicy: RetryPolicy | null = null;
  protected retryDelayMs = 0;
  protected staleRetries = 0;
  protected up: UpstreamConn | null = null;
  /** The route's error pages (custom-http-errors, Traefik errors), and whether this request used them. */
  protected errorPages: NonNullable<Middleware['errorPages']> | null = null;
  private fallback: Backend | null = null;
  /** Middleware body limits (0: none). */
  private requestLimit = 0;
  protected responseLimit = 0;
  /**
   * Body bytes a response without a declared length may still carry under
   * `responseLimit` (Infinity: no limit). Such a response is streamed, not
   * held, so passing the limit cuts it instead of answering 500: holding every
   * limited response whole would cost up to the limit per request in flight.
   */
  private responseBudget = Infinity;
  private intercepted = false;
  /** The route bridges gRPC-Web to its HTTP/2 backend (Traefik grpcWeb). */
  protected grpcWebRoute = false;
  /** Mirror copies of the current request (null on the usual path). */
  protected mirrors: MirrorCopy[] | null = null;
  private mirrorTargets: readonly MirrorTarget[] | null = null;
  private mirrorsEnded = false;
  protected t0 = 0;
  /** The request-target as received (for logs). */
  protected rawTarget = '/';
  protected upstream: UpstreamTimeouts;
  status = 0;
  bytesOut = 0;
  /** Set when the proxy failed the request itself. */
  failure: string | undefined = undefined;
  /** Some byte of the response went to the client: no more error answers or retries. */
  responseStarted = false;
  /** Bumped per request: async continuations of an old request see it changed. */
  protected generation = 0;
  protected closed = false;

  constructor(core: EntrypointCore, clientIp: string, tls: boolean, localPort: number) {
    this.core = core;
    this.clientIp = clientIp;
    this.tls = tls;
    this.localPort = localPort;
    this.series = core.noBackend;
    this.upstream = core.upstreamTimeouts;
  }

  // ------------------------------------------------------------------ subclass hooks

  /** RouteView.headers: lowercase record, built on first use. */
  abstract get headers(): Readonly<Record<string, string | readonly string[] | undefined>>;
  /** Received values of a request field (lowercase name). */
  protected abstract receivedValues(lower: string): string[];
  /** Writes the current request to a connected upstream. */
  protected abstract sendRequest(up: UpstreamConn): void;
  /** Writes a proxy-made response; must end by calling complete(). */
  protected abstract writeSimple(res: SimpleResponse): void;
  /** Cuts the client side after a failure mid-response; must end by calling complete(). */
  protected abstract cutClient(): void;
  /** Stop / restart reading the client while waiting (connect, async middleware). */
  protected abstract pauseClient(): void;
  protected abstract resumeClient(): void;
  /** Content-Length over the limit: answered 413 here (before connecting). */
  protected abstract bodyTooLarge(max: number): boolean;
  /** Can the request be sent again from the start (no body, or all of it still held)? */
  protected abstract replayable(): boolean;
  /** Rewind whatever sendRequest consumed, before a retry. */
  protected abstract rewind(): void;
  /** RequestContext.readBody: the body read whole before it is forwarded. */
  abstract readBody(maxBytes: number): Promise<Buffer | undefined>;
  abstract onUpstreamInfo(up: UpstreamConn, head: ResponseHead, chunk: Buffer, headStart: number, headEnd: number): void;
  abstract onUpstreamHead(up: UpstreamConn, head: ResponseHead, chunk: Buffer, headStart: number, bodyStart: number): number;
  abstract onUpstreamBody(up: UpstreamConn, chunk: Buffer, start: number, end: number): void;
  abstract onUpstreamEnd(up: UpstreamConn): void;
  abstract onUpstreamDrain(up: UpstreamConn): void;
  abstract holdsUpstreamBytes(): boolean;
  /** The request may switch protocols (101): its upstream connection must be a stream socket the tunnel can take. */
  protected mayTunnel(): boolean {
    return false;
  }

  // ------------------------------------------------------------------ RequestContext

  /** The client's TLS socket, when the connection is TLS. */
  protected abstract clientTls(): tls.TLSSocket | undefined;

  /** undefined on plain HTTP; on TLS what the handshake got (nothing when it did not ask). */
  clientCertificate(): ClientCertificate | undefined {
    const socket = this.clientTls();
    return socket === undefined ? undefined : clientCertificateOf(socket);
  }

  header(name: string): string | undefined {
    const lower = name.toLowerCase();
    const e = this.edits;
    if (e === undefined) return this.receivedValues(lower)[0];
    if (e.isRemoved(lower)) return e.addedValues(lower)[0];
    return this.receivedValues(lower)[0] ?? e.addedValues(lower)[0];
  }

  headerValues(name: string): string[] {
    const lower = name.toLowerCase();
    const e = this.edits;
    if (e === undefined) return this.receivedValues(lower);
    const added = e.addedValues(lower);
    return e.isRemoved(lower) ? added : [...this.receivedValues(lower), ...added];
  }

  setHeader(name: string, value: string): void {
    (this.edits ??= new HeaderEdits()).set(name, value);
  }

  addHeader(name: string, value: string): void {
    (this.edits ??= new HeaderEdits()).add(name, value);
  }

  removeHeader(name: string): void {
    (this.edits ??= new HeaderEdits()).remove(name);
  }

  get upstreamTarget(): string {
    return this.targetOverride ?? this.receivedTarget();
  }

  set upstreamTarget(v: string) {
    if (v.charCodeAt(0) !== 0x2f) throw new TypeError(`upstream target must start with "/": ${JSON.stringify(v)}`);
    for (let i = 0; i < v.length; i++) {
      const c = v.charCodeAt(i);
      if (c > 0xff || TARGET[c] !== 1) throw new TypeError(`invalid character in upstream target ${JSON.stringify(v)}`);
    }
    this.targetOverride = v;
  }

  get upstreamHost(): string {
    return this.hostOverride ?? this.host;
  }

  set upstreamHost(v: string) {
    assertValidField('Host', v);
    this.hostOverride = v;
  }

  /** The origin-form target as received (subclass: path + query). */
  protected abstract receivedTarget(): string;

  // ------------------------------------------------------------------ flow

  /** Head received and the view fields set: route it. */
  protected startRouting(): void {
    this.t0 = performance.now();
    this.core.inFlight++;
    const router = this.core.router;
    let r: RouteResult | undefined;
    try {
      r = router?.route(this);
    } catch (e) {
      this.core.log.error({ err: e, host: this.host, path: this.path }, 'router failed');
      this.answerError(500, 'internal server error: routing failed', 'router-error');
      return;
    }
    if (r === undefined) {
      this.answerError(404, 'not found: no route for this host and path', 'no-route');
      return;
    }
    this.route = r;
    this.routeName = r.routeName;
    const b = r.backend;
    if (b !== undefined) {
      this.backend = b;
      this.series = this.core.metrics.backend(b.name);
    }
    const mws = r.middlewares;
    if (mws !== undefined && mws.length > 0) {
      this.prepareMiddlewares(mws);
      this.runRequestHooks(mws, 0);
    } else {
      this.afterMiddlewares();
    }
  }

  private prepareMiddlewares(mws: readonly Middleware[]): void {
    for (const mw of mws) {
      if (mw.mirror !== undefined && mw.mirror.length > 0) this.mirrorTargets = this.mirrorTargets === null ? mw.mirror : [...this.mirrorTargets, ...mw.mirror];
      if (mw.errorPages !== undefined) this.errorPages = mw.errorPages;
      if (mw.fallback !== undefined) this.fallback = mw.fallback;
      if (mw.grpcWeb === true) this.grpcWebRoute = true;
      const bl = mw.bodyLimits;
      if (bl !== undefined) {
        if (bl.requestBytes && (this.requestLimit === 0 || bl.requestBytes < this.requestLimit)) this.requestLimit = bl.requestBytes;
        if (bl.responseBytes && (this.responseLimit === 0 || bl.responseBytes < this.responseLimit)) this.responseLimit = bl.responseBytes;
      }
      const r = mw.retry;
      if (r !== undefined && (r.attempts > this.maxAttempts || r.when !== undefined)) {
        this.maxAttempts = r.attempts;
        this.retryDelayMs = r.initialIntervalMs ?? 0;
        this.retryPolicy = r;
      }
    }
  }

  private runRequestHooks(mws: readonly Middleware[], from: number): void {
    for (let i = from; i < mws.length; i++) {
      const mw = mws[i]!;
      this.mwRan = i + 1;
      if (mw.onRequest === undefined) continue;
      let res: SimpleResponse | undefined | Promise<SimpleResponse | undefined>;
      try {
        res = mw.onRequest(this);
      } catch (e) {
        this.middlewareFailed(mw, e);
        return;
      }
      if (res === undefined) continue;
      if (typeof (res as Promise<unknown>).then === 'function') {
        const gen = this.generation;
        this.pauseClient();
        (res as Promise<SimpleResponse | undefined>).then(
          (answer) => {
            if (gen !== this.generation || this.closed) return;
            this.resumeClient();
            if (answer !== undefined) this.answerSimple(answer, undefined);
            else this.runRequestHooks(mws, i + 1);
          },
          (e: unknown) => {
            if (gen !== this.generation || this.closed) return;
            this.resumeClient();
            this.middlewareFailed(mw, e);
          },
        );
        return;
      }
      this.answerSimple(res as SimpleResponse, undefined);
      return;
    }
    this.afterMiddlewares();
  }

  private middlewareFailed(mw: Middleware, e: unknown): void {
    this.core.log.error({ err: e, middleware: mw.name, route: this.routeName }, 'middleware failed');
    this.answerError(500, 'internal server error: a middleware failed', 'middleware-error');
  }

  private afterMiddlewares(): void {
    const r = this.route!;
    if (r.response !== undefined) {
      this.answerSimple(r.response, undefined);
      return;
    }
    const b = r.backend;
    const bt = b.timeouts;
    if (bt !== undefined) {
      const d = this.core.upstreamTimeouts;
      this.upstream = { connectMs: bt.connectMs ?? d.connectMs, readMs: bt.readMs ?? d.readMs, sendMs: bt.sendMs ?? d.sendMs };
    }
    const max = this.maxBodyBytes();
    if (max > 0 && this.bodyTooLarge(max)) return;
    this.dispatch();
  }

  /**
   * A request to an HTTP/2 (gRPC) backend. gRPC needs HTTP/2 end to end
   * (trailers carry its status), so an HTTP/1.1 request gets 502; the
   * HTTP/2 side overrides this.
   */
  protected dispatchHttp2(_ep: Endpoint): void {
    this.answerError(502, 'bad gateway: this backend speaks HTTP/2 only (gRPC): connect with HTTP/2 over TLS', 'needs-http2');
  }

  /** Per-request body limit (the backend's or the entrypoint's, narrowed by a middleware's); 0 = none. */
  protected maxBodyBytes(): number {
    const base = this.backend?.limits?.maxBodyBytes ?? this.core.limits.maxBodyBytes;
    const mw = this.requestLimit;
    return mw === 0 ? base : base === 0 ? mw : Math.min(base, mw);
  }

  /** A response declaring more than the route's limit: dropped, 500 (Traefik buffering's answer). */
  protected responseTooLarge(up: UpstreamConn, contentLength: number): boolean {
    if (this.responseLimit === 0 || contentLength <= this.responseLimit) return false;
    this.up = null;
    up.destroy();
    this.answerError(500, 'internal server error: the response is larger than this route allows', 'response-too-large');
    return true;
  }

  /** Counts a response without a declared length against the route's limit; false when it has none. */
  protected budgetResponse(kind: string): boolean {
    this.responseBudget = this.responseLimit !== 0 && (kind === 'chunked' || kind === 'close') ? this.responseLimit : Infinity;
    return this.responseBudget !== Infinity;
  }

  /** Spends `n` body bytes of the budget; true once the response has passed the route's limit. */
  protected overResponseBudget(n: number): boolean {
    this.responseBudget -= n;
    if (this.responseBudget >= 0) return false;
    this.failure ??= 'response-too-large';
    return true;
  }

  /** One attempt: pick an endpoint, take a pooled connection or open one. */
  protected dispatch(): void {
    const b = this.backend!;
    let ep: Endpoint | undefined;
    try {
      ep = b.pick(this.clientIp, this.affinityKey, this.balanceKey);
    } catch (e) {
      this.core.log.error({ err: e, backend: b.name }, 'backend pick failed');
      this.answerError(500, 'internal server error: endpoint selection failed', 'pick-error');
      return;
    }
    if (ep === undefined) {
      const fb = this.fallback;
      if (fb !== null && b !== fb) {
        // ingress-nginx default-backend: a Service without endpoints is served by it.
        this.backend = fb;
        this.series = this.core.metrics.backend(fb.name);
        this.dispatch();
        return;
      }
      this.answerError(503, 'service unavailable: no ready endpoint for this route', 'no-endpoint');
      return;
    }
    this.endpoint = ep;
    this.attempts++;
    if (b.protocol === 'h2c' || b.protocol === 'h2') {
      this.dispatchHttp2(ep);
      return;
    }
    const t = this.upstream;
    const pool = this.core.pool;
    // A request that may become a tunnel gets a new connection in stream mode
    // (pooled ones read into their own buffers); it is long-lived anyway.
    const tunnel = this.mayTunnel();
    let up = tunnel ? undefined : pool.acquire(ep, b);
    if (up !== undefined) {
      this.up = up;
      up.begin(this, this.method, t.readMs, t.sendMs);
      this.sendRequest(up);
      return;
    }
    up = pool.connect(ep, b, this.series, t.connectMs, tunnel);
    this.up = up;
    up.begin(this, this.method, t.readMs, t.sendMs);
    this.pauseClient();
  }

  onUpstreamConnect(up: UpstreamConn): void {
    if (up !== this.up) return;
    this.resumeClient();
    this.sendRequest(up);
  }

  onUpstreamError(up: UpstreamConn, failure: UpstreamFailure, error: Error | undefined): void {
    if (up !== this.up) return;
    this.up = null;
    if (this.responseStarted) {
      this.failure = failure;
      this.logFailure(failure, error);
      this.cutClient();
      return;
    }
    if (this.retryAfter(up, failure)) return;
    const [status, text] = failureAnswer(failure, this.upstream);
    this.logFailure(failure, error);
    this.answerError(status, text, failure);
  }

  /** Retries when allowed; true when a retry was started. */
  protected retryAfter(up: UpstreamConn, failure: UpstreamFailure | 'status'): boolean {
    if (failure === 'reset-before-response' && up.reused && this.staleRetries < STALE_RETRIES && IDEMPOTENT.has(this.method) && this.replayable()) {
      // A kept-alive socket the upstream had already closed: not the endpoint's fault.
      this.staleRetries++;
      this.attempts--;
      this.restart(0);
      return true;
    }
    const when = this.retryPolicy?.when;
    if (when !== undefined) return this.nextUpstream(when, failure);
    const connectFailed = failure === 'connect-refused' || failure === 'connect-failed';
    const max = connectFailed ? Math.max(this.maxAttempts, CONNECT_ATTEMPTS) : this.maxAttempts;
    if (this.attempts >= max) return false;
    // Nothing was written on a failed connect; anything else needs the whole request again.
    if (!connectFailed && failure !== 'connect-timeout' && !this.replayable()) return false;
    const delay = connectFailed && this.maxAttempts <= 1 ? 0 : this.retryDelayMs * 2 ** (this.attempts - 1);
    this.restart(delay);
    return true;
  }

  /** ingress-nginx proxy-next-upstream: nginx's rules for passing a request to the next endpoint. */
  private nextUpstream(when: NonNullable<RetryPolicy['when']>, failure: UpstreamFailure | 'status'): boolean {
    const timeout = failure === 'connect-timeout' || failure === 'read-timeout' || failure === 'send-timeout';
    const connect = failure === 'connect-refused' || failure === 'connect-failed' || failure === 'connect-timeout';
    const allowed = failure === 'status' ? true : timeout ? when.timeout : when.error;
    if (!allowed || !this.mayMoveOn(when, connect)) return false;
    this.restart(0);
    return true;
  }

  /** Attempts and time left, and (once the request went out) a method and body nginx would send again. */
  private mayMoveOn(when: NonNullable<RetryPolicy['when']>, connect: boolean): boolean {
    if (this.attempts >= this.maxAttempts) return false;
    const budget = this.retryPolicy?.budgetMs ?? 0;
    if (budget > 0 && performance.now() - this.t0 >= budget) return false;
    return connect || ((IDEMPOTENT.has(this.method) || when.nonIdempotent) && this.replayable());
  }

  private restart(delayMs: number): void {
    this.rewind();
    if (delayMs <= 0) {
      this.dispatch();
      return;
    }
    const gen = this.generation;
    this.pauseClient();
    setTimeout(() => {
      if (gen === this.generation && !this.closed) this.dispatch();
    }, delayMs).unref();
  }

  private logFailure(failure: string, error: Error | undefined): void {
    const ep = this.endpoint;
    this.core.log.debug(
      { failure, err: error?.message, backend: this.backend?.name, endpoint: ep ? `${ep.ip}:${ep.port}` : undefined, attempt: this.attempts },
      'upstream failure',
    );
  }

  /** A proxy error answer (text body); counted as a failure for the log. */
  protected answerError(status: number, text: string, failure: string): void {
    this.failure = failure;
    this.answerSimple(errorResponse(status, text), failure);
  }

  /** Answers without (or instead of) the upstream. */
  protected answerSimple(res: SimpleResponse, failure: string | undefined): void {
    if (failure !== undefined) this.failure = failure;
    const up = this.up;
    if (up !== null) {
      this.up = null;
      up.destroy();
    }
    if (this.responseStarted) {
      this.cutClient();
      return;
    }
    let out = res;
    const mws = this.route?.middlewares;
    if (mws !== undefined && this.mwRan > 0 && failure === undefined) out = this.editSimple(res, mws);
    this.status = out.status;
    this.responseStarted = true;
    this.writeSimple(out);
  }

  /** onResponse of the middlewares that ran, over a proxy-made response. */
  private editSimple(res: SimpleResponse, mws: readonly Middleware[]): SimpleResponse {
    let edit: ResponseEdit | undefined;
    for (let i = this.mwRan - 1; i >= 0; i--) {
      const mw = mws[i]!;
      if (mw.onResponse === undefined) continue;
      edit ??= new ResponseEdit(res.status, false, (lower) => res.headers?.filter(([n]) => n.toLowerCase() === lower).map(([, v]) => v));
      try {
        mw.onResponse(this, edit);
      } catch (e) {
        this.core.log.error({ err: e, middleware: mw.name }, 'middleware onResponse failed');
      }
    }
    const e = edit?.edits;
    if (e === undefined) return res;
    const kept = (res.headers ?? []).filter(([n]) => !e.isRemoved(n.toLowerCase()));
    return { status: res.status, headers: [...kept, ...e.added], ...(res.body !== undefined ? { body: res.body } : {}) };
  }

  /**
   * onResponse hooks over an upstream head (reverse order). Returns undefined
   * when no middleware has one (the usual case: nothing allocated).
   */
  /** `chunk` from `bodyStart`: the body bytes that came with the head (chunk framing when `chunked`), read only if a hook asks. */
  protected responseHooks(head: Pick<ResponseHead, 'status' | 'headers'>, hasBody: boolean, chunk?: Buffer, bodyStart = 0, chunked = false): ResponseEdit | undefined {
    return this.responseHooksOver(head.status, hasBody, (lower: string) => {
      const v = head.headers.getAll(lower);
      return v.length === 0 ? undefined : v.length === 1 ? v[0] : v;
    }, chunk === undefined ? undefined : { chunk, start: bodyStart, chunked });
  }

  protected responseHooksOver(status: number, hasBody: boolean, field: FieldLookup, early?: EarlyBody): ResponseEdit | undefined {
    const mws = this.route?.middlewares;
    if (mws === undefined || this.mwRan === 0) return undefined;
    let edit: ResponseEdit | undefined;
    for (let i = this.mwRan - 1; i >= 0; i--) {
      const mw = mws[i]!;
      if (mw.onResponse === undefined) continue;
      edit ??= new ResponseEdit(status, hasBody, field, early);
      try {
        mw.onResponse(this, edit);
      } catch (e) {
        this.core.log.error({ err: e, middleware: mw.name }, 'middleware onResponse failed');
      }
    }
    return edit;
  }

  /**
   * Starts the mirror copies with the head just written upstream (first
   * attempt only: a retry is not mirrored again).
   */
  protected startMirrors(head: Buffer): void {
    const targets = this.mirrorTargets;
    if (targets === null || this.attempts !== 1 || this.mirrors !== null) return;
    const copies: MirrorCopy[] = [];
    for (const t of targets) {
      if (Math.random() * 100 >= t.percent) continue;
      const to = t.retarget?.(this);
      if (to === null) continue;
      const body = t.body !== false;
      const copyHead = to === undefined && body ? head : retargetRequestHead(head, to?.target, to?.host, body);
      const m = MirrorCopy.start(this.core.pool, t.backend, this.core.metrics.backend(t.backend.name), this.clientIp, this.method, copyHead, this.core.upstreamTimeouts, body);
      if (m !== undefined) copies.push(m);
    }
    if (copies.length > 0) this.mirrors = copies;
  }

  protected mirrorBody(buf: Buffer): void {
    for (const m of this.mirrors!) m.write(buf);
  }

  protected mirrorEnd(): void {
    for (const m of this.mirrors!) m.end();
    this.mirrorsEnded = true;
  }

  /** Lets complete copies finish on their own and cuts incomplete ones. */
  protected dropMirrors(): void {
    const ms = this.mirrors;
    if (ms === null) return;
    this.mirrors = null;
    if (!this.mirrorsEnded) for (const m of ms) m.abort();
  }

  /** Is this upstream status to be replaced by an error page? */
  protected interceptsStatus(status: number): boolean {
    return this.errorPages !== null && !this.intercepted && this.errorPages.intercepts(status);
  }

  /** Drops the upstream's answer and answers with the route's error page for `status`. */
  protected interceptError(up: UpstreamConn, status: number): void {
    this.up = null;
    up.destroy();
    this.intercepted = true;
    const gen = this.generation;
    this.pauseClient();
    this.errorPages!.fetch(this, status).then(
      (res) => {
        if (gen === this.generation && !this.closed) this.answerSimple(res, undefined);
      },
      (e: unknown) => {
        if (gen !== this.generation || this.closed) return;
        this.core.log.debug({ err: (e as Error).message, status }, 'error page fetch failed');
        this.answerError(status, `${status}`, 'error-page-failed');
      },
    );
  }

  /** Does the route move on to another endpoint on this answer (before anything was sent)? */
  protected retriesOnStatus(status: number): boolean {
    const when = this.retryPolicy?.when;
    if (when !== undefined) return when.statuses.includes(status) && this.mayMoveOn(when, false);
    return status === 502 && this.maxAttempts > 1 && this.attempts < this.maxAttempts && this.replayable();
  }

  /**
   * The response is finished (or the client was cut): metrics, log, onDone,
   * then per-request state is cleared. Subclasses call it exactly once per request.
   */
  protected complete(): void {
    const core = this.core;
    const durationMs = performance.now() - this.t0;
    this.series.observe(this.status, durationMs / 1000);
    if (this.endpoint !== undefined && this.backend?.done !== undefined) this.backend.done(this.endpoint, durationMs);
    const mws = this.route?.middlewares;
    if (mws !== undefined && this.mwRan > 0) {
      const outcome = { status: this.status, durationMs, error: this.failure };
      for (let i = this.mwRan - 1; i >= 0; i--) {
        const mw = mws[i]!;
        if (mw.onDone === undefined) continue;
        try {
          mw.onDone(this, outcome);
        } catch (e) {
          core.log.error({ err: e, middleware: mw.name }, 'middleware onDone failed');
        }
      }
    }
    const log = core.requestLog;
    if (this.failure !== undefined) log.proxyError(this.logRecord(durationMs));
    else if (log.sampled()) log.request(this.logRecord(durationMs));
    core.inFlight--;
    this.resetRequest();
  }

  private logRecord(durationMs: number): {
    method: string;
    host: string;
    target: string;
    status: number;
    durationMs: number;
    clientIp: string;
    route: string;
    backend: string;
    endpoint: string;
    bytesOut: number;
    error?: string;
  } {
    const ep = this.endpoint;
    return {
      method: this.method,
      host: this.host,
      target: this.rawTarget,
      status: this.status,
      durationMs: Math.round(durationMs * 1000) / 1000,
      clientIp: this.clientIp,
      route: this.routeName,
      backend: this.backend?.name ?? '-',
      endpoint: ep === undefined ? '-' : `${ep.ip}:${ep.port}`,
      bytesOut: this.bytesOut,
      ...(this.failure !== undefined ? { error: this.failure } : {}),
    };
  }

  protected resetRequest(): void {
    this.generation++;
    this.route = undefined;
    this.routeName = '';
    this.backend = undefined;
    this.endpoint = undefined;
    this.affinityKey = undefined;
    this.balanceKey = undefined;
    this.errorPages = null;
    this.fallback = null;
    this.requestLimit = 0;
    this.responseLimit = 0;
    this.responseBudget = Infinity;
    this.intercepted = false;
    this.grpcWebRoute = false;
    this.series = this.core.noBackend;
    this.edits = undefined;
    this.targetOverride = null;
    this.hostOverride = null;
    this.mwRan = 0;
    this.attempts = 0;
    this.maxAttempts = 1;
    this.retryPolicy = null;
    this.retryDelayMs = 0;
    this.staleRetries = 0;
    this.up = null;
    if (this.mirrors !== null) this.dropMirrors();
    this.mirrorsEnded = false;
    this.mirrorTargets = null;
    this.upstream = this.core.upstreamTimeouts;
    this.status = 0;
    this.bytesOut = 0;
    this.failure = undefined;
    this.responseStarted = false;
  }
}
