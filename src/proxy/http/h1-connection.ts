// One client HTTP/1.x connection: reads request heads straight from the
// socket's chunks with the strict http1 parser, forwards each request to an
// upstream connection, and streams the response back. One request at a time:
// bytes of a pipelined next request are held (and the socket paused) until
// the current response is complete.
//
// Hot path (keep-alive GET, small response): the request head is copied once
// with the forwarding fields appended and written in one write; the upstream
// chunk holding the response head and body is written to the client as is
// when the head has nothing hop-by-hop. No per-request closures, timers or
// request objects: this object is reused and timeouts are deadline fields
// swept by the entrypoint's clock.

import { boundConnect } from './h2-upstream.ts';
import type net from 'node:net';
import { TLSSocket } from 'node:tls';
import { BodyCollector } from '../http1/body-collector.ts';
import { ChunkedDecoder } from '../http1/chunked-decoder.ts';
import { HttpParseError } from '../http1/errors.ts';
import type { RequestHeadParser, RequestHead } from '../http1/request-head.ts';
import { responseBodyKind, type ResponseHead } from '../http1/response-head.ts';
import type { Timed } from './clock.ts';
import { adoptClientSocket } from './client-reads.ts';
import { ProxyRequest, type EntrypointCore } from './proxy-request.ts';
import { needsNormalizing, normalizePath, queryStart } from './request-path.ts';
import { buildResponseHead, canPassResponseHead, type ClientFraming } from './response-head-out.ts';
import { errorResponse, serializeSimpleResponse } from './simple-response.ts';
import type { Backend, Endpoint, SimpleResponse, SocketParking } from './types.ts';
import type { ResponseEdit } from './response-edit.ts';
import { GrpcWebCall } from './grpc-web-call.ts';
import { grpcWebMode, toGrpcContentType } from './grpc-web-codec.ts';
import { H2_NOT_FORWARDED, pushField, pushLines } from './h2-fields.ts';
import { http } from '../../common/builtins.ts';
import {
  canCopyRequestHead,
  copyRequestHead,
  forwardingFields,
  rebuildRequestHead,
  receivedForwardedFor,
  requestLineStart,
  type ForwardingIdentity,
} from './upstream-head.ts';
import { BODY_DECODED, BODY_RAW, type UpstreamConn } from './upstream.ts';
import { plainIp } from './plain-ip.ts';

// Connection states.
const C_WAIT = 0; // between requests (or before the first)
const C_ROUTING = 1; // head received; routing, middlewares, connecting
const C_FORWARD = 2; // request sent (body may still stream), no response yet
const C_RESPOND = 3; // response head sent to the client
const C_TUNNEL = 4; // 101: bytes piped both ways
const C_CLOSED = 5; // ended or ending (lingering close)

// Deadline kinds.
const K_NONE = 0;
const K_IDLE = 1;
const K_HEADER = 2;
const K_BODY = 3;
const K_SEND = 4;
const K_LINGER = 5;
const K_TUNNEL = 6;
const K_PARK = 7; // idle for parkAfterMs: park (SocketParking), or wait out the rest of idleMs

// Request body framing.
const B_NONE = 0;
const B_LENGTH = 1;
const B_CHUNKED = 2;

/** The connection a client socket belongs to (see the shared socket handlers). */
const OWNER = Symbol('metalgate.h1Connection');
type OwnedSocket = net.Socket & { [OWNER]?: H1Connection };
const ignoreError = (): void => {};

const CONTINUE_100 = Buffer.from('HTTP/1.1 100 Continue\r\n\r\n', 'latin1');
const LAST_CHUNK = Buffer.from('0\r\n\r\n', 'latin1');
const CRLF = Buffer.from('\r\n', 'latin1');
/** How long a closing connection keeps reading (and dropping) what the client still sends (nginx lingering_timeout). */
const LINGER_MS = 5_000;

const EMPTY_BODY = new Uint8Array(0);

type HeaderRecord = Record<string, string | string[]>;

/** readBody in progress: the wire bytes it took off the socket go back to `held` for forwarding. */
interface BodyRead {
  readonly collector: BodyCollector;
  readonly raw: Buffer[];
  /** The route's body limit (0: none): past it the engine answers 413. */
  readonly routeMax: number;
  readonly resolve: (body: Buffer | undefined) => void;
  readonly reject: (e: Error) => void;
}

const NO_BODY = Buffer.alloc(0);

export class H1Connection extends ProxyRequest implements Timed {
  readonly socket: net.Socket;
  deadline = 0;

  private kind = K_NONE;
  private state = C_WAIT;
  /** Lent by core.parsers while a head is being read; null between messages. */
  private parser: RequestHeadParser | null = null;
  private readonly identity: ForwardingIdentity;
  private readonly onGone: (c: H1Connection) => void;
  private req: RequestHead | null = null;
  private lineStart = 0;
  private bodyMode = B_NONE;
  private remaining = 0;
  private reqDone = true;
  private decoder: ChunkedDecoder | undefined;
  /** Bytes read but not processed yet: body while connecting, or the next request. */
  private held: Buffer | null = null;
  /** The whole request body when it arrived with the head (kept for a retry). */
  private replayBody: Buffer | null = null;
  private paused = false;
  private keepAfter = true;
  /** Close once the current response is done (client half-closed, parse error...). */
  private closeAfter = false;
  private outFraming: ClientFraming = 'asis';
  /** Verbatim response head waiting to go out with the first body bytes. */
  private pendChunk: Buffer | null = null;
  private pendStart = 0;
  private pendEnd = 0;
  /** Rebuilt response head waiting to go out with the first body bytes. */
  private pendOut: Buffer | null = null;
  /** A response head whose last field comes from the first body read (setHeaderFromFirstBody): built then. */
  private pendLate: { head: ResponseHead; edit: ResponseEdit; framing: ClientFraming; connection: 'close' | 'keep-alive' | undefined } | null = null;
  private waitClientDrain = false;
  private waitUpDrain = false;
  private transform: NodeJS.ReadWriteStream | undefined;
  private fwdAuthority = '';
  private fwdBuf: Buffer | null = null;
  private record: HeaderRecord | undefined;
  private inLoop = false;
  private loopAgain = false;
  private tunnelPeer: net.Socket | null = null;
  /** The client half-closed: close once the requests already received are answered. */
  private clientEnded = false;
  /** The socket reads through the process's arena (client-reads.ts), not 'data' events. */
  private readonly ownReads: boolean;
  /** Where this connection waits between requests once idle for parkAfterMs; undefined: it keeps its socket. */
  private readonly park: SocketParking | undefined;
  /** Where an own-reads socket's bytes go once it is a tunnel. */
  private tunnelSink: ((chunk: Buffer) => void) | null = null;
  /** A gRPC-Web call bridged to an HTTP/2 backend (grpc-web-call.ts), while it runs. */
  private grpcCall: GrpcWebCall | null = null;
  /** A middleware reading the whole body before it is forwarded (readBody), while it reads. */
  private bodyRead: BodyRead | null = null;
  /** The body readBody found, for a second reader of the same request. */
  private bodyPayload: Buffer | null = null;

  protected clientTls(): TLSSocket | undefined {
    return this.socket instanceof TLSSocket ? this.socket : undefined;
  }

  /**
   * `noDelaySet`: TCP_NODELAY is on the connection already (ConnectionInfo.noDelay).
   * `park`: where the listener parks idle connections; only a plain-HTTP
   * connection reading through the arena is parked (nothing else of it
   * lives in its socket).
   */
  constructor(core: EntrypointCore, socket: net.Socket, tls: boolean, localPort: number, onGone: (c: H1Connection) => void, noDelaySet = false, park?: SocketParking) {
    const ip = plainIp(socket.remoteAddress);
    super(core, ip, tls, localPort);
    // Plain TCP reads through the arena (TLS sockets read through their TLS layer).
    const adopted = tls ? undefined : adoptClientSocket(socket, this.onClientBytes, noDelaySet);
    this.ownReads = adopted !== undefined;
    this.park = this.ownReads && core.timeouts.parkAfterMs > 0 ? park : undefined;
    socket = adopted ?? socket;
    this.socket = socket;
    this.onGone = onGone;
    this.identity = { clientIp: ip, proto: tls ? 'https' : 'http', port: localPort, forwardedFor: core.forwardedFor };
    // A client that half-closes after its request still gets the response
    // (plain TCP only: TLS has no half-close).
    if (!tls) socket.allowHalfOpen = true;
    socket.setNoDelay(true); // no system call when it is set already and the socket knows
    if (!this.ownReads) socket.on('data', H1Connection.onSocketData);
    (socket as OwnedSocket)[OWNER] = this;
    socket.on('end', H1Connection.onSocketEnd);
    socket.on('error', ignoreError); // 'close' follows
    socket.on('close', H1Connection.onSocketClose);
    socket.on('drain', H1Connection.onSocketDrain);
    core.clock.add(this);
    this.arm(K_HEADER, core.timeouts.headerMs);
    if (this.ownReads) socket.resume(); // an adopted socket starts paused
  }

  /** Nothing in progress: safe to close at once (drain). */
  get idle(): boolean {
    return this.state === C_WAIT && this.held === null && (this.parser?.pendingBytes ?? 0) === 0;
  }

  get active(): boolean {
    return this.state === C_ROUTING || this.state === C_FORWARD || this.state === C_RESPOND;
  }

  /** Drain: close now if idle, else after the current response. */
  drain(): void {
    if (this.state === C_TUNNEL || this.state === C_CLOSED) return;
    if (this.idle) this.endConnection();
    else this.closeAfter = true;
  }

  /** Cuts the connection now. */
  destroy(): void {
    this.socket.destroy();
    this.tunnelPeer?.destroy();
  }

  // ------------------------------------------------------------------ RouteView / RequestContext

  get headers(): HeaderRecord {
    if (this.record !== undefined) return this.record;
    const rec: HeaderRecord = {};
    const h = this.req?.headers;
    if (h !== undefined) {
      for (let i = 0; i < h.count; i++) {
        const name = h.name(i).toLowerCase();
        const v = h.value(i);
        const prev = rec[name];
        if (prev === undefined) rec[name] = v;
        else if (Array.isArray(prev)) prev.push(v);
        else rec[name] = [prev, v];
      }
    }
    return (this.record = rec);
  }

  protected receivedValues(lower: string): string[] {
    return this.req?.headers.getAll(lower) ?? [];
  }

  protected receivedTarget(): string {
    return this.req?.path ?? '/';
  }

  // ------------------------------------------------------------------ timers

  private arm(kind: number, ms: number): void {
    this.kind = ms > 0 ? kind : K_NONE;
    this.deadline = ms > 0 ? this.core.clock.in(ms) : 0;
  }

  private disarm(): void {
    this.kind = K_NONE;
    this.deadline = 0;
  }

  onDeadline(): void {
    const kind = this.kind;
    this.kind = K_NONE;
    switch (kind) {
      case K_IDLE:
      case K_LINGER:
      case K_TUNNEL:
        this.destroy();
        break;
      case K_PARK:
        this.parkIdle();
        break;
      case K_HEADER:
        if (this.state !== C_WAIT) break;
        if ((this.parser?.pendingBytes ?? 0) === 0) {
          this.destroy();
        } else {
          this.closeAfter = true;
          this.answerEarly(408, `request timeout: the request head did not arrive within ${this.core.timeouts.headerMs} ms`, 'header-timeout');
        }
        break;
      case K_BODY:
        this.closeAfter = true;
        if (!this.responseStarted) this.answerError(408, `request timeout: the request body stalled for ${this.core.timeouts.bodyMs} ms`, 'body-timeout');
        else this.fail('body-timeout');
        break;
      case K_SEND:
        this.fail('client-send-timeout');
        break;
    }
  }

  // ------------------------------------------------------------------ client socket events

  // One function per event for every connection (the socket carries its
  // connection): per-connection closures cost about 60 bytes each, which
  // 10,000 idle clients pay for nothing.
  private static readonly onSocketData = function (this: net.Socket, chunk: Buffer): void {
    (this as OwnedSocket)[OWNER]?.onData(chunk);
  };
  private static readonly onSocketEnd = function (this: net.Socket): void {
    (this as OwnedSocket)[OWNER]?.onClientEnd();
  };
  private static readonly onSocketClose = function (this: net.Socket): void {
    (this as OwnedSocket)[OWNER]?.onClientClose();
  };
  private static readonly onSocketDrain = function (this: net.Socket): void {
    (this as OwnedSocket)[OWNER]?.onClientDrain();
  };

  private readonly onClientBytes = (chunk: Buffer): boolean => {
    const sink = this.tunnelSink;
    if (sink !== null) sink(chunk);
    else this.onData(chunk);
    return true;
  };

  private onData(chunk: Buffer): void {
    try {
      this.dispatchData(chunk);
    } catch (e) {
      // A bug must cost this connection, not the process.
      this.core.log.error({ err: e }, 'HTTP connection failed');
      this.fail('internal-error');
    }
  }

  private dispatchData(chunk: Buffer): void {
    switch (this.state) {
      case C_WAIT:
        this.readHead(chunk, 0);
        return;
      case C_FORWARD:
      case C_RESPOND:
        if (!this.reqDone && this.held === null) this.passBody(chunk, 0);
        else this.hold(chunk);
        return;
      case C_ROUTING:
        if (this.bodyRead !== null) this.feedBodyRead(chunk, true);
        else this.hold(chunk);
        return;
      default:
        return; // closing: drop
    }
  }

  private onClientEnd(): void {
    // The client sent all it will send; requests already received are still
    // answered (in order), then the connection closes.
    this.clientEnded = true;
    if (this.state === C_CLOSED) {
      this.destroy();
      return;
    }
    if (this.state === C_WAIT) {
      if (this.held === null) this.endConnection();
      return;
    }
    if (!this.reqDone && (this.held === null || this.bodyRead !== null)) {
      // The body was cut short: nothing sensible can be forwarded.
      this.fail('client-closed');
    }
  }

  private onClientClose(): void {
    this.dropBodyRead();
    const wasActive = this.active || this.state === C_TUNNEL;
    this.state = C_CLOSED;
    this.closed = true;
    this.core.clock.delete(this);
    const up = this.up;
    if (up !== null) {
      this.up = null;
      up.destroy();
    }
    this.tunnelPeer?.destroy();
    this.grpcCall?.cancel();
    this.grpcCall = null;
    if (wasActive) {
      if (!this.responseStarted) this.status = 499; // nginx's "client closed request"
      this.failure ??= this.status === 101 ? undefined : 'client-closed';
      this.complete();
    }
    this.onGone(this);
  }

  private onClientDrain(): void {
    if (!this.waitClientDrain) return;
    this.waitClientDrain = false;
    if (this.kind === K_SEND) this.disarm();
    this.up?.resumeForClient();
    this.grpcCall?.resume();
    this.transform?.resume?.();
  }

  // ------------------------------------------------------------------ reading requests

  private hold(chunk: Buffer): void {
    this.held = this.held === null ? chunk : Buffer.concat([this.held, chunk]);
    this.pauseClient();
  }

  protected pauseClient(): void {
    // A middleware waiting on readBody needs the bytes to keep coming.
    if (!this.paused && this.bodyRead === null) {
      this.paused = true;
      this.socket.pause();
    }
  }

  protected resumeClient(): void {
    if (this.paused && this.held === null && this.state !== C_CLOSED) {
      this.paused = false;
      this.socket.resume();
    }
  }

  private readHead(chunk: Buffer, off: number): void {
    let head: RequestHead | null;
    const parser = (this.parser ??= this.core.parsers.take());
    try {
      head = parser.push(chunk, off);
    } catch (e) {
      // Left mid-head: not lent again.
      this.parser = null;
      this.badHead(e);
      return;
    }
    if (head === null) {
      if (this.kind !== K_HEADER) this.arm(K_HEADER, this.core.timeouts.headerMs);
      return;
    }
    const after = parser.consumed;
    // Between messages the parser holds nothing: back to the pool.
    this.parser = null;
    this.core.parsers.give(parser);
    this.disarm();
    // Bytes after the head (body, or a pipelined request) wait in `held`:
    // sendRequest writes body bytes with the head in one go.
    if (after < chunk.length) this.held = chunk.subarray(after);
    this.startRequest(head, head.headers.buf === chunk ? off : 0);
    if (this.held !== null) {
      if (this.state === C_WAIT) this.processHeld();
      else if (this.state !== C_CLOSED) this.pauseClient();
    }
  }

  private badHead(e: unknown): void {
    this.closeAfter = true;
    if (!(e instanceof HttpParseError)) {
      this.core.log.error({ err: e }, 'request head parser failed');
      this.answerEarly(500, 'internal server error', 'parser-error');
      return;
    }
    const text =
      e.status === 431
        ? `request header fields too large: ${e.message}`
        : e.status === 413
          ? `payload too large: ${e.message}`
          : e.status === 505
            ? 'HTTP version not supported: only HTTP/1.0 and HTTP/1.1 (HTTP/2 over TLS by ALPN)'
            : e.status === 501
              ? `not implemented: ${e.message}`
              : e.status === 417
                ? `expectation failed: ${e.message}`
                : `bad request: ${e.message}`;
    this.answerEarly(e.status, text, `bad-request:${e.code}`);
  }

  /** An answer before a request could be routed (bad head, header timeout). */
  private answerEarly(status: number, text: string, failure: string): void {
    this.state = C_ROUTING;
    this.t0 = performance.now();
    this.core.inFlight++;
    this.reqDone = true;
    this.answerError(status, text, failure);
  }

  private startRequest(req: RequestHead, searchFrom: number): void {
    this.req = req;
    this.state = C_ROUTING;
    this.lineStart = requestLineStart(req.headers.buf, searchFrom);
    this.method = req.method;
    this.host = req.authority;
    const target = req.path;
    this.rawTarget = req.target;
    if (req.chunked) {
      this.bodyMode = B_CHUNKED;
      this.reqDone = false;
      (this.decoder ??= new ChunkedDecoder()).reset();
    } else if (req.contentLength > 0) {
      this.bodyMode = B_LENGTH;
      this.remaining = req.contentLength;
      this.reqDone = false;
    } else {
      this.bodyMode = B_NONE;
      this.reqDone = true;
    }
    if (!req.keepAlive) this.closeAfter = true;
    const q = queryStart(target);
    if (q === target.length) {
      this.query = '';
    } else {
      this.query = target.slice(q + 1);
    }
    // "OPTIONS *" is about the server as a whole: routed as the host's root.
    let path = req.targetForm === 'asterisk' ? '/' : q === target.length ? target : target.slice(0, q);
    if (needsNormalizing(path, path.length)) {
      const p = normalizePath(path, path.length);
      if (p === null) {
        this.t0 = performance.now();
        this.core.inFlight++;
        this.closeAfter = true;
        this.answerError(400, 'bad request: the path decodes to a control character', 'bad-path');
        return;
      }
      path = p;
    }
    this.path = path;
    if (req.method === 'CONNECT') {
      this.t0 = performance.now();
      this.core.inFlight++;
      this.closeAfter = true;
      this.answerError(405, 'method not allowed: CONNECT is not proxied here', 'connect-method');
      return;
    }
    this.startRouting();
  }

  // ------------------------------------------------------------------ request body

  /** Body bytes as they arrive: forwarded upstream as they come (the streaming path). */
  private passBody(chunk: Buffer, off: number): void {
    const len = chunk.length;
    if (this.grpcCall !== null) {
      this.readGrpcWebBody(chunk, off);
      return;
    }
    if (this.bodyMode === B_LENGTH) {
      const avail = len - off;
      const n = avail < this.remaining ? avail : this.remaining;
      this.remaining -= n;
      this.writeUp(off === 0 && n === len ? chunk : chunk.subarray(off, off + n));
      if (this.remaining === 0) {
        this.bodyDone();
        if (off + n < len) this.hold(chunk.subarray(off + n));
      } else if (!this.waitUpDrain) {
        this.arm(K_BODY, this.core.timeouts.bodyMs);
      }
      return;
    }
    const decoder = this.decoder!;
    let end: number;
    try {
      // Decoded and chunked anew: the client's chunk sizes, extensions and
      // trailers never reach the backend (a trailer could say
      // Content-Length; nginx drops request trailers too).
      end = decoder.push(chunk, off, (this.rechunkFn ??= (buf, start, end) => this.rechunk(buf, start, end)));
    } catch (e) {
      this.badBody(e as HttpParseError);
      return;
    }
    const max = this.maxBodyBytes();
    if (max > 0 && decoder.bodyBytes > max) {
      this.closeAfter = true;
      if (this.responseStarted) this.fail('body-too-large');
      else this.answerError(413, `payload too large: the request body is larger than ${max} bytes`, 'body-too-large');
      return;
    }
    if (end >= 0) {
      this.writeUp(LAST_CHUNK);
      this.bodyDone();
      if (end < len) this.hold(chunk.subarray(end));
    } else if (!this.waitUpDrain) {
      this.arm(K_BODY, this.core.timeouts.bodyMs);
    }
  }

  /** A chunked body that breaks the framing: answered (413 or 400) if nothing went out yet, else cut; the connection closes. */
  private badBody(err: HttpParseError): void {
    this.closeAfter = true;
    if (this.responseStarted) this.fail('bad-body');
    else if (err.status === 413) this.answerError(413, `payload too large: ${err.message}`, 'bad-body');
    else this.answerError(err.status ?? 400, `bad request: ${err.message}`, 'bad-body');
  }

  private bodyDone(): void {
    this.reqDone = true;
    if (this.kind === K_BODY) this.disarm();
    this.up?.requestSent();
    if (this.mirrors !== null) this.mirrorEnd();
  }

  /** One decoded range of the client's chunked body, as one chunk of ours. */
  /** Made on the first chunked body: most connections never need it. */
  private rechunkFn: ((buf: Buffer, start: number, end: number) => void) | null = null;
  private rechunk(buf: Buffer, start: number, end: number): void {
    if (end <= start) return;
    // Corked: the size line, the data and its CRLF leave in one send.
    const socket = this.up?.socket;
    socket?.cork();
    this.writeUp(Buffer.from(`${(end - start).toString(16)}\r\n`, 'latin1'));
    this.writeUp(buf.subarray(start, end));
    this.writeUp(CRLF);
    socket?.uncork();
  }

  private writeUp(buf: Buffer): void {
    const up = this.up;
    if (up === null || buf.length === 0) return;
    if (this.mirrors !== null) this.mirrorBody(buf);
    if (!up.write(buf)) {
      this.waitUpDrain = true;
      if (this.kind === K_BODY) this.disarm();
      this.pauseClient();
      up.waitingForDrain();
    }
  }

  holdsUpstreamBytes(): boolean {
    return this.socket.writableLength > 0 || this.transform !== undefined || this.pendChunk !== null || this.pendLate !== null;
  }

  onUpstreamDrain(): void {
    if (!this.waitUpDrain) return;
    this.waitUpDrain = false;
    if (!this.reqDone) {
      this.resumeClient();
      this.arm(K_BODY, this.core.timeouts.bodyMs);
    }
  }

  protected bodyTooLarge(max: number): boolean {
    const cl = this.req!.contentLength;
    if (cl <= max) return false;
    this.closeAfter = true;
    this.answerError(413, `payload too large: the request body is larger than ${max} bytes`, 'body-too-large');
    return true;
  }

  protected override mayTunnel(): boolean {
    return this.req?.upgrade !== undefined;
  }

  protected replayable(): boolean {
    return this.bodyMode === B_NONE || this.replayBody !== null;
  }

  protected rewind(): void {
    this.state = C_ROUTING;
    if (this.mirrors !== null) this.dropMirrors(); // a retry is not mirrored twice
    this.pendChunk = null;
    this.pendOut = null;
    this.pendLate = null;
    this.waitUpDrain = false;
    const req = this.req!;
    if (this.bodyMode === B_NONE) return;
    this.reqDone = false;
    this.remaining = req.contentLength;
    this.decoder?.reset();
    const body = this.replayBody;
    if (body !== null) this.held = this.held === null ? body : Buffer.concat([body, this.held]);
  }

  // ------------------------------------------------------------------ reading the body ahead (readBody)

  readBody(maxBytes: number): Promise<Buffer | undefined> {
    if (this.bodyMode === B_NONE) return Promise.resolve(NO_BODY);
    const done = this.bodyPayload;
    if (done !== null) return Promise.resolve(done.length > maxBytes ? undefined : done);
    if (this.state !== C_ROUTING || this.bodyRead !== null) return Promise.reject(new Error('the request body is read ahead only once, before the request is forwarded'));
    const routeMax = this.maxBodyBytes();
    const limit = routeMax > 0 ? Math.min(routeMax, maxBytes) : maxBytes;
    const collector = new BodyCollector(this.bodyMode === B_CHUNKED ? 'chunked' : this.remaining, limit);
    return new Promise((resolve, reject) => {
      this.bodyRead = { collector, raw: [], routeMax, resolve, reject };
      // Body bytes that came with the head are in `held` already.
      const held = this.held;
      if (held !== null) {
        this.feedBodyRead(held, false);
        return;
      }
      // A client waiting for 100 Continue sends nothing until it comes (curl: bodies over 1 MiB).
      if (this.req!.expectContinue && collector.state === 'more') this.socket.write(CONTINUE_100);
      this.settleBodyRead();
    });
  }

  /** Bytes for readBody; `fresh`: just read off the socket (else already in `held`). */
  private feedBodyRead(chunk: Buffer, fresh: boolean): void {
    const r = this.bodyRead!;
    if (fresh) r.raw.push(chunk);
    try {
      r.collector.push(chunk, 0);
    } catch (e) {
      this.dropBodyRead();
      this.badBody(e as HttpParseError);
      return;
    }
    this.settleBodyRead();
  }

  /** Reads on while the body is incomplete; else gives the wire bytes back to `held` and answers the reader. */
  private settleBodyRead(): void {
    const r = this.bodyRead!;
    const state = r.collector.state;
    if (state === 'more') {
      if (this.paused) {
        this.paused = false;
        this.socket.resume();
      }
      this.arm(K_BODY, this.core.timeouts.bodyMs);
      return;
    }
    this.bodyRead = null;
    if (this.kind === K_BODY) this.disarm();
    if (r.raw.length > 0) this.held = Buffer.concat(this.held === null ? r.raw : [this.held, ...r.raw]);
    // What follows the body (a pipelined request) waits, as while routing.
    this.pauseClient();
    if (state === 'done') {
      r.resolve((this.bodyPayload = r.collector.payload()));
      return;
    }
    const size = this.bodyMode === B_LENGTH ? this.req!.contentLength : r.collector.size;
    if (r.routeMax > 0 && size > r.routeMax) {
      r.reject(new Error('request body over the route limit'));
      this.closeAfter = true;
      this.answerError(413, `payload too large: the request body is larger than ${r.routeMax} bytes`, 'body-too-large');
      return;
    }
    r.resolve(undefined);
  }

  /** The request ended while readBody was reading: its reader learns it (the answer is ignored, the request being over). */
  private dropBodyRead(): void {
    const r = this.bodyRead;
    if (r === null) return;
    this.bodyRead = null;
    r.reject(new Error('the request ended while its body was being read'));
  }

  // ------------------------------------------------------------------ sending upstream

  private forwarding(req: RequestHead): Buffer {
    const a = req.authority;
    if (this.fwdBuf !== null && a === this.fwdAuthority) return this.fwdBuf;
    this.fwdAuthority = a;
    return (this.fwdBuf = Buffer.from(forwardingFields(this.identity, a, ''), 'latin1'));
  }

  protected sendRequest(up: UpstreamConn): void {
    const req = this.req!;
    let head: Buffer;
    if (this.edits === undefined && this.targetOverride === null && this.hostOverride === null && canCopyRequestHead(req, this.core.underscoresInHeaders)) {
      head = copyRequestHead(req, this.lineStart, this.forwarding(req));
    } else {
      const chain = this.core.forwardedFor === 'append' ? receivedForwardedFor(req) : '';
      head = rebuildRequestHead(req, {
        target: req.targetForm === 'asterisk' ? '*' : this.upstreamTarget,
        host: this.upstreamHost,
        forwarding: forwardingFields(this.identity, req.authority, chain),
        framing: req.chunked ? 'chunked' : req.contentLength >= 0 ? 'length' : 'none',
        contentLength: req.contentLength,
        upgrade: req.upgrade !== undefined,
        edits: this.edits,
        underscores: this.core.underscoresInHeaders,
      });
    }
    this.state = C_FORWARD;
    if (this.mwRan > 0) this.startMirrors(head);
    const held = this.held;
    if (this.reqDone || held === null) {
      up.write(head);
      if (this.mirrors !== null && this.reqDone) this.mirrorEnd();
      if (this.reqDone) {
        up.requestSent();
      } else if (this.clientEnded) {
        this.fail('client-closed'); // the body will never come
        return;
      } else {
        if (req.expectContinue) this.socket.write(CONTINUE_100);
        this.arm(K_BODY, this.core.timeouts.bodyMs);
      }
      this.resumeClient();
      return;
    }
    // Body bytes came with the head: one write (writev) for head and body.
    this.held = null;
    const s = up.socket;
    s.cork();
    up.write(head);
    this.passBody(held, 0);
    s.uncork();
    if (this.reqDone && this.replayBody === null && this.attempts === 1) {
      const rest = this.held as Buffer | null;
      this.replayBody = held.subarray(0, held.length - (rest === null ? 0 : rest.length));
    }
    if (this.state === C_FORWARD && !this.reqDone) {
      if (this.clientEnded) this.fail('client-closed'); // the body will never be complete
      else this.resumeClient();
    }
  }

  // ------------------------------------------------------------------ response

  onUpstreamInfo(_up: UpstreamConn, head: ResponseHead): void {
    // 100 Continue was answered by us (Expect is not forwarded); pass other 1xx to HTTP/1.1 clients.
    if (head.status === 100 || this.req?.versionMinor !== 1) return;
    this.socket.write(buildResponseHead(head, { framing: 'asis', connection: undefined, edits: undefined }));
  }

  onUpstreamHead(up: UpstreamConn, head: ResponseHead, chunk: Buffer, headStart: number, bodyStart: number): number {
    const req = this.req!;
    if (up.switched) {
      this.startTunnel(up, head, chunk, bodyStart);
      return BODY_RAW;
    }
    if (this.retriesOnStatus(head.status)) {
      this.up = null;
      up.destroy();
      this.retryAfter(up, 'status');
      return BODY_RAW;
    }
    if (this.interceptsStatus(head.status)) {
      this.interceptError(up, head.status);
      return BODY_RAW;
    }
    if (this.responseLimit !== 0 && this.responseTooLarge(up, head.contentLength)) return BODY_RAW;
    const kind = responseBodyKind(head, this.method);
    const hasBody = kind === 'chunked' || kind === 'close' || (kind === 'length' && head.contentLength > 0);
    const edit = this.mwRan > 0 ? this.responseHooks(head, hasBody, chunk, bodyStart, kind === 'chunked') : undefined;
    const minor = req.versionMinor;
    let framing: ClientFraming = 'asis';
    let mode = BODY_RAW;
    const budgeted = this.budgetResponse(kind);
    // A field from the first body read needs payload bytes: chunked bodies are decoded (and re-framed).
    const late = hasBody && edit?.late !== undefined && edit.transform === undefined ? edit : undefined;
    if (edit?.transform !== undefined && hasBody) {
      framing = minor === 1 ? 'chunked' : 'close';
      mode = BODY_DECODED;
    } else if (late !== undefined && kind === 'chunked') {
      framing = minor === 1 ? 'chunked' : 'close';
      mode = BODY_DECODED;
    } else if (kind === 'close') {
      framing = minor === 1 ? 'chunked' : 'close';
    } else if (kind === 'chunked' && minor === 0) {
      framing = 'close';
      mode = BODY_DECODED;
    } else if (budgeted && kind === 'chunked') {
      // Counted as payload bytes, so re-framed (the upstream's trailers are dropped).
      framing = 'chunked';
      mode = BODY_DECODED;
    }
    const keep = framing !== 'close' && !this.closeAfter && this.reqDone && !this.core.draining;
    this.keepAfter = keep;
    const connection = !keep ? 'close' : minor === 0 ? 'keep-alive' : undefined;
    this.outFraming = framing;
    this.status = head.status;
    this.responseStarted = true;
    this.state = C_RESPOND;
    const edits = edit?.edits;
    if (late !== undefined) {
      this.pendLate = { head, edit: late, framing, connection };
    } else if (framing === 'asis' && connection === undefined && edits === undefined && canPassResponseHead(head)) {
      if (headStart < 0) {
        this.writeClient(head.headers.buf);
      } else {
        this.pendChunk = chunk;
        this.pendStart = headStart;
        this.pendEnd = bodyStart;
      }
    } else {
      const out = buildResponseHead(head, { framing, connection, edits });
      if (mode === BODY_RAW) this.pendOut = out;
      else this.writeClient(out);
    }
    if (edit?.transform !== undefined && hasBody) this.startTransform(edit.transform);
    return mode;
  }

  onUpstreamBody(_up: UpstreamConn, chunk: Buffer, start: number, end: number): void {
    if (this.overResponseBudget(end - start)) {
      this.fail('response-too-large');
      return;
    }
    if (this.pendLate !== null) {
      if (start === end) return;
      this.socket.cork();
      this.writeLateHead(chunk.subarray(start, end));
      this.writeBody(chunk, start, end);
      this.socket.uncork();
      return;
    }
    const pc = this.pendChunk;
    if (pc !== null) {
      this.pendChunk = null;
      if (pc === chunk) {
        // Head and body straight from the upstream's chunk: one write, no copy.
        this.bytesOut += end - start;
        this.writeClient(start === this.pendEnd && this.pendStart === 0 && end === chunk.length ? chunk : chunk.subarray(this.pendStart, end));
        return;
      }
      this.writeClient(pc.subarray(this.pendStart, this.pendEnd));
    }
    const po = this.pendOut;
    if (po !== null) {
      this.pendOut = null;
      if (start === end) {
        this.writeClient(po);
        return;
      }
      this.socket.cork();
      this.writeClient(po);
      this.writeBody(chunk, start, end);
      this.socket.uncork();
      return;
    }
    if (start < end) this.writeBody(chunk, start, end);
  }

  private writeBody(chunk: Buffer, start: number, end: number): void {
    this.bytesOut += end - start;
    const slice = start === 0 && end === chunk.length ? chunk : chunk.subarray(start, end);
    const t = this.transform;
    if (t !== undefined) {
      if (!t.write(slice)) {
        const up = this.up;
        if (up !== null) {
          up.pauseForClient();
          t.once('drain', () => up.resumeForClient());
        }
      }
      return;
    }
    if (this.outFraming === 'chunked') {
      // Re-framing a close-delimited body for an HTTP/1.1 client.
      this.socket.cork();
      this.writeClient(Buffer.from(`${slice.length.toString(16)}\r\n`, 'latin1'));
      this.writeClient(slice);
      this.writeClient(CRLF);
      this.socket.uncork();
      return;
    }
    this.writeClient(slice);
  }

  private writeClient(buf: Buffer): void {
    if (!this.socket.write(buf) && !this.waitClientDrain) {
      this.waitClientDrain = true;
      this.up?.pauseForClient();
      this.grpcCall?.pause();
      this.arm(K_SEND, this.core.timeouts.sendMs);
    }
  }

  private startTransform(t: NodeJS.ReadWriteStream): void {
    this.transform = t;
    const chunked = this.outFraming === 'chunked';
    t.on('data', (out: Buffer) => {
      if (out.length === 0) return;
      if (chunked) {
        this.socket.cork();
        this.writeClient(Buffer.from(`${out.length.toString(16)}\r\n`, 'latin1'));
        this.writeClient(out);
        this.writeClient(CRLF);
        this.socket.uncork();
      } else {
        this.writeClient(out);
      }
      if (this.waitClientDrain) t.pause();
    });
    t.on('end', () => {
      if (this.transform !== t || this.closed) return;
      this.transform = undefined;
      if (chunked) this.writeClient(LAST_CHUNK);
      this.finishResponse();
    });
    t.on('error', (err: Error) => {
      if (this.transform !== t) return;
      this.transform = undefined;
      this.core.log.warn({ err }, 'response body transform failed');
      this.fail('transform-error');
    });
  }

  /** The head waiting for the first body read, its late field set from `first` (empty: left out). */
  private writeLateHead(first: Uint8Array): void {
    const p = this.pendLate!;
    this.pendLate = null;
    this.writeClient(buildResponseHead(p.head, { framing: p.framing, connection: p.connection, edits: p.edit.settleLate(first) }));
  }

  onUpstreamEnd(up: UpstreamConn): void {
    this.up = null;
    if (this.pendLate !== null) this.writeLateHead(EMPTY_BODY);
    const pc = this.pendChunk;
    if (pc !== null) {
      this.pendChunk = null;
      this.writeClient(pc.subarray(this.pendStart, this.pendEnd));
    }
    if (this.pendOut !== null) {
      this.writeClient(this.pendOut);
      this.pendOut = null;
    }
    if (this.reqDone) this.core.pool.release(up);
    else up.destroy();
    if (this.transform !== undefined) {
      this.transform.end();
      return; // finishResponse() when the transform ends
    }
    if (this.outFraming === 'chunked') this.writeClient(LAST_CHUNK);
    this.finishResponse();
  }

  // ------------------------------------------------------------------ tunnel (101)

  private startTunnel(up: UpstreamConn, head: ResponseHead, chunk: Buffer, bodyStart: number): void {
    const req = this.req!;
    if (req.upgrade === undefined || !up.streamReads) {
      // (A request with Upgrade always dials a stream-mode connection: mayTunnel().)
      this.up = null;
      up.destroy();
      this.answerError(502, 'bad gateway: the upstream switched protocols without being asked to', 'bad-response');
      return;
    }
    this.up = null;
    const peer = up.takeSocket();
    this.tunnelPeer = peer;
    this.status = 101;
    this.responseStarted = true;
    this.state = C_TUNNEL;
    const client = this.socket;
    client.write(buildResponseHead(head, { framing: 'asis', connection: 'upgrade', edits: undefined }));
    if (bodyStart < chunk.length) client.write(chunk.subarray(bodyStart));
    client.off('data', H1Connection.onSocketData);
    client.off('end', H1Connection.onSocketEnd);
    client.off('drain', H1Connection.onSocketDrain);
    const held = this.held;
    this.held = null;
    if (held !== null) peer.write(held);
    // Idle tunnels close after the upstream read timeout (nginx proxy_read_timeout does the same).
    const idleMs = this.upstream.readMs;
    const touch = (): void => this.arm(K_TUNNEL, idleMs);
    touch();
    peer.on('data', touch);
    peer.on('error', () => {});
    peer.on('close', () => client.destroy());
    if (this.ownReads) {
      // What client.pipe(peer) does, for a socket that emits no 'data'.
      const resume = (): void => void client.resume();
      this.tunnelSink = (b) => {
        touch();
        if (!peer.write(b)) {
          client.pause();
          peer.once('drain', resume);
        }
      };
      client.on('end', () => peer.end());
    } else {
      client.on('data', touch);
      client.pipe(peer);
    }
    peer.pipe(client);
    this.paused = false;
    client.resume();
  }

  // ------------------------------------------------------------------ gRPC-Web to an HTTP/2 backend

  /**
   * A request to an HTTP/2 (gRPC) backend: bridged when it is gRPC-Web on a
   * grpcWeb route (browsers speak HTTP/1.1 to a plain entrypoint), else the
   * base class's 502 (gRPC itself needs HTTP/2 end to end).
   */
  protected override dispatchHttp2(ep: Endpoint): void {
    const mode = this.grpcWebRoute ? grpcWebMode(this.header('content-type')) : undefined;
    if (mode === undefined) {
      super.dispatchHttp2(ep);
      return;
    }
    const b = this.backend!;
    const t = this.upstream;
    let call: GrpcWebCall;
    try {
      const session = this.core.h2Upstream.session(ep, b);
      boundConnect(session, t.connectMs);
      call = new GrpcWebCall(session, this.grpcWebFields(b), mode, t.readMs, {
        head: (status, fields, ended) => this.grpcWebHead(status, fields, ended),
        body: (bytes) => {
          if (this.overResponseBudget(bytes.length)) {
            // Cut as an HTTP/1.1 response past the route's limit is: no last chunk (fail cancels the call).
            this.fail('response-too-large');
            return;
          }
          this.bytesOut += bytes.length;
          this.socket.cork();
          this.writeClient(Buffer.from(`${bytes.length.toString(16)}\r\n`, 'latin1'));
          this.writeClient(bytes);
          this.writeClient(CRLF);
          this.socket.uncork();
        },
        end: () => {
          this.grpcCall = null;
          this.writeClient(LAST_CHUNK);
          this.finishResponse();
        },
        failed: (err, timeout, code) => {
          this.grpcCall = null;
          if (this.responseStarted) this.fail(timeout ? 'read-timeout' : 'reset-mid-response');
          else if (timeout) this.answerError(504, 'gateway timeout: the upstream did not answer in time', 'read-timeout');
          else if (err !== undefined && /ECONNREFUSED/.test(err.message)) this.answerError(502, 'bad gateway: the upstream refused the connection', 'connect-refused');
          else this.answerError(502, `bad gateway: the upstream ${err !== undefined ? 'failed' : 'reset the stream'}${code !== undefined && code !== 0 ? ` (code ${code})` : ''}`, 'reset-before-response');
        },
      });
    } catch (e) {
      this.answerError(502, 'bad gateway: could not open a stream to the upstream', 'connect-failed');
      this.core.log.debug({ err: (e as Error).message, backend: b.name }, 'HTTP/2 upstream stream failed');
      return;
    }
    this.grpcCall = call;
    this.state = C_FORWARD;
    if (this.bodyMode === B_NONE) {
      call.endRequest();
      return;
    }
    const held = this.held;
    this.held = null;
    if (held !== null) this.readGrpcWebBody(held, 0);
    if (this.grpcCall !== null && !this.reqDone) this.resumeClient();
  }

  /** The request's fields for the backend: as received but connection-specific ones, forwarding fields, edits; gRPC's type and te. */
  private grpcWebFields(b: Backend): Record<string, string | string[]> {
    const out: Record<string, string | string[]> = {
      ':method': this.method,
      ':scheme': b.protocol === 'h2' ? 'https' : 'http',
      ':authority': this.upstreamHost,
      ':path': this.upstreamTarget,
    };
    const h = this.req!.headers;
    const edits = this.edits;
    const underscores = this.core.underscoresInHeaders;
    for (let i = 0; i < h.count; i++) {
      const name = h.name(i).toLowerCase();
      if (H2_NOT_FORWARDED.has(name) || (edits !== undefined && edits.isRemoved(name))) continue;
      if (!underscores && name.includes('_')) continue;
      pushField(out, name, h.value(i));
    }
    pushLines(out, forwardingFields(this.identity, this.host, this.core.forwardedFor === 'append' ? receivedForwardedFor(this.req!) : ''));
    if (edits !== undefined) pushLines(out, edits.lines());
    const ct = out['content-type'];
    out['content-type'] = toGrpcContentType(typeof ct === 'string' ? ct : 'application/grpc-web');
    out.te = 'trailers';
    return out;
  }

  /** The bridged answer's head, in HTTP/1.1: chunked (the trailers frame ends the body), or empty for a trailers-only answer. */
  private grpcWebHead(status: number, fields: Record<string, string | string[]>, ended: boolean): void {
    const edit = this.mwRan > 0 ? this.responseHooksOver(status, !ended, (lower: string) => fields[lower]) : undefined;
    const edits = edit?.edits;
    let head = `HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? 'Unknown'}\r\n`;
    for (const [name, value] of Object.entries(fields)) {
      if (edits !== undefined && edits.isRemoved(name)) continue;
      for (const v of Array.isArray(value) ? value : [value]) head += `${name}: ${v}\r\n`;
    }
    if (edits !== undefined) for (const [n, v] of edits.added) head += `${n}: ${v}\r\n`;
    head += ended ? 'Content-Length: 0\r\n' : 'Transfer-Encoding: chunked\r\n';
    if (this.closeAfter || !this.reqDone) head += 'Connection: close\r\n';
    this.keepAfter = !this.closeAfter && this.reqDone;
    this.status = status;
    this.responseStarted = true;
    this.state = C_RESPOND;
    // Counted against the route's response limit as it streams (the length is the bridge's to set).
    this.budgetResponse('close');
    this.writeClient(Buffer.from(`${head}\r\n`, 'latin1'));
    if (ended) {
      this.grpcCall = null;
      this.finishResponse();
    }
  }

  /** Request body bytes of a bridged gRPC-Web call, de-framed (length or chunked). */
  private readGrpcWebBody(chunk: Buffer, off: number): void {
    const call = this.grpcCall!;
    const bad = (): void => {
      this.closeAfter = true;
      call.cancel();
      this.grpcCall = null;
      if (this.responseStarted) this.fail('bad-body');
      else this.answerError(400, 'bad request: a grpc-web-text body that is not base64', 'bad-body');
    };
    let end = -1;
    if (this.bodyMode === B_LENGTH) {
      const n = Math.min(chunk.length - off, this.remaining);
      this.remaining -= n;
      if (!call.write(chunk.subarray(off, off + n))) return bad();
      if (this.remaining === 0) end = off + n;
    } else {
      let ok = true;
      try {
        end = this.decoder!.push(chunk, off, (buf, s, e) => {
          if (ok && e > s) ok = call.write(buf.subarray(s, e));
        });
      } catch (e) {
        this.closeAfter = true;
        call.cancel();
        this.grpcCall = null;
        const err = e as HttpParseError;
        if (this.responseStarted) this.fail('bad-body');
        else this.answerError(err.status ?? 400, `bad request: ${err.message}`, 'bad-body');
        return;
      }
      if (!ok) return bad();
      const max = this.maxBodyBytes();
      if (max > 0 && this.decoder!.bodyBytes > max) {
        this.closeAfter = true;
        call.cancel();
        this.grpcCall = null;
        if (this.responseStarted) this.fail('body-too-large');
        else this.answerError(413, `payload too large: the request body is larger than ${max} bytes`, 'body-too-large');
        return;
      }
    }
    if (end < 0) {
      this.arm(K_BODY, this.core.timeouts.bodyMs);
      return;
    }
    this.reqDone = true;
    if (this.kind === K_BODY) this.disarm();
    if (!call.endRequest()) {
      bad();
      return;
    }
    if (end < chunk.length) this.hold(chunk.subarray(end));
  }

  // ------------------------------------------------------------------ ending

  protected writeSimple(res: SimpleResponse): void {
    if (!this.reqDone && this.bodyMode === B_LENGTH && this.held !== null && this.held.length >= this.remaining) {
      // The rest of the body is already here: skip it and keep the connection.
      const rest = this.held.subarray(this.remaining);
      this.remaining = 0;
      this.reqDone = true;
      this.held = rest.length > 0 ? rest : null;
    }
    const close = this.closeAfter || !this.reqDone || this.core.draining;
    this.keepAfter = !close;
    let out: Buffer;
    try {
      out = serializeSimpleResponse(res, { close, head: this.method === 'HEAD' });
    } catch (e) {
      // A middleware's answer with an invalid field (e.g. CR/LF in a value).
      this.core.log.error({ err: e, route: this.routeName }, 'invalid response from a middleware or route');
      this.status = 500;
      this.failure ??= 'invalid-simple-response';
      out = serializeSimpleResponse(errorResponse(500, 'internal server error: invalid response'), { close, head: this.method === 'HEAD' });
    }
    this.bytesOut += out.length;
    this.writeClient(out);
    this.finishResponse();
  }

  protected cutClient(): void {
    this.fail(this.failure ?? 'upstream-failed');
  }

  /** Gives up on the connection: the request is counted and the socket destroyed. */
  private fail(failure: string): void {
    if (this.state === C_CLOSED) return;
    this.dropBodyRead();
    const wasActive = this.active;
    this.failure ??= failure;
    this.state = C_CLOSED;
    const up = this.up;
    if (up !== null) {
      this.up = null;
      up.destroy();
    }
    this.transform = undefined;
    this.grpcCall?.cancel();
    this.grpcCall = null;
    if (wasActive) {
      if (!this.responseStarted) this.status = 0;
      this.complete();
    }
    this.socket.destroy();
  }

  private finishResponse(): void {
    const keep = this.keepAfter && this.reqDone && !this.closeAfter && !this.core.draining;
    this.complete();
    this.resetConnectionRequest();
    if (!keep || this.closed) {
      this.endConnection();
      return;
    }
    this.state = C_WAIT;
    this.armIdle();
    if (this.held !== null) this.processHeld();
    else if (this.clientEnded) this.endConnection();
    else this.resumeClient();
  }

  /** Between requests: the keep-alive timeout, or the park first when the listener parks. */
  private armIdle(): void {
    const t = this.core.timeouts;
    if (this.park !== undefined && t.idleMs > t.parkAfterMs) this.arm(K_PARK, t.parkAfterMs);
    else this.arm(K_IDLE, t.idleMs);
  }

  /**
   * Idle for parkAfterMs: the connection leaves its socket for the park,
   * where it waits out the rest of the keep-alive timeout; its next request
   * comes back through the listener as a new connection.
   */
  private parkIdle(): void {
    const rest = this.core.timeouts.idleMs - this.core.timeouts.parkAfterMs;
    if (this.state === C_WAIT && this.idle && !this.paused && !this.clientEnded && this.park!.parkSocket(this.socket, rest)) {
      this.state = C_CLOSED;
      return;
    }
    this.arm(K_IDLE, rest);
  }

  /** Parses held bytes (pipelined requests) without recursing per request. */
  private processHeld(): void {
    if (this.inLoop) {
      this.loopAgain = true;
      return;
    }
    this.inLoop = true;
    do {
      this.loopAgain = false;
      const h = this.held;
      if (h === null || this.state !== C_WAIT) break;
      this.held = null;
      this.readHead(h, 0);
    } while (this.loopAgain);
    this.inLoop = false;
    if (this.state === C_WAIT && this.held === null) {
      if (this.clientEnded) this.endConnection();
      else this.resumeClient();
    }
  }

  private resetConnectionRequest(): void {
    this.dropBodyRead();
    this.bodyPayload = null;
    this.grpcCall = null;
    this.req = null;
    this.record = undefined;
    this.bodyMode = B_NONE;
    this.remaining = 0;
    this.replayBody = null;
    this.pendChunk = null;
    this.pendOut = null;
    this.pendLate = null;
    this.waitUpDrain = false;
    this.transform = undefined;
    this.outFraming = 'asis';
    this.keepAfter = true;
  }

  /** Graceful close: FIN after what was written, then keep reading (dropping) for a while. */
  private endConnection(): void {
    if (this.state === C_CLOSED && this.kind === K_LINGER) return;
    this.state = C_CLOSED;
    this.held = null;
    this.socket.end();
    this.arm(K_LINGER, LINGER_MS);
    if (this.paused) {
      this.paused = false;
      this.socket.resume();
    }
  }
}
