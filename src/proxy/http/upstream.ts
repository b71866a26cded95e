// Upstream side: one HTTP/1.1 connection to an endpoint (UpstreamConn) and the
// keep-alive pool of idle ones per endpoint (UpstreamPool). An UpstreamConn
// parses responses with the strict http1 parser and hands heads and body
// bytes to its current owner (the client-side request); between requests it
// sits idle in the pool, LIFO so the warmest socket is reused first.

import net from 'node:net';
import tls from 'node:tls';
import { ChunkedDecoder } from '../http1/chunked-decoder.ts';
import { HttpParseError } from '../http1/errors.ts';
import { ResponseHeadParser, responseBodyKind, type ResponseHead } from '../http1/response-head.ts';
import type { DeadlineClock, Timed } from './clock.ts';
import type { BackendSeries } from './metrics.ts';
import type { Backend, Endpoint, UpstreamPoolOptions } from './types.ts';
import { SHARED_IDLE_READ_BUFFER, giveReadBuffer, takeReadBuffer } from './upstream-read-buffers.ts';
import { upstreamTlsKey, upstreamTlsOptions } from './upstream-tls.ts';

/** How body bytes are handed to the owner. */
export const BODY_RAW = 0; // as received, framing included (pass-through)
export const BODY_DECODED = 1; // payload only (chunked framing removed)

export type UpstreamFailure =
  /** Connection refused by the endpoint. */
  | 'connect-refused'
  /** Other connect error (unreachable, TLS handshake...). */
  | 'connect-failed'
  | 'connect-timeout'
  /** Connected, then closed or reset before any byte of a response. */
  | 'reset-before-response'
  /** The response broke the HTTP/1.1 rules. */
  | 'bad-response'
  /** No response head, or no body progress, within the read timeout. */
  | 'read-timeout'
  /** The request body could not be written within the send timeout. */
  | 'send-timeout'
  /** Closed or reset in the middle of a response. */
  | 'reset-mid-response';

/** Receives one exchange's events. Every call is synchronous. */
export interface UpstreamOwner {
  onUpstreamConnect(up: UpstreamConn): void;
  /** A 1xx other than 101. */
  onUpstreamInfo(up: UpstreamConn, head: ResponseHead, chunk: Buffer, headStart: number, headEnd: number): void;
  /**
   * The final response head; head bytes are chunk[headStart, bodyStart), or
   * head.headers.buf whole when headStart is -1 (the head spanned chunks).
   * Returns BODY_RAW or BODY_DECODED. Unless the exchange ends or fails, an
   * onUpstreamBody call (maybe empty) follows within the same chunk.
   */
  onUpstreamHead(up: UpstreamConn, head: ResponseHead, chunk: Buffer, headStart: number, bodyStart: number): number;
  onUpstreamBody(up: UpstreamConn, chunk: Buffer, start: number, end: number): void;
  /** The response is complete. The owner then calls pool.release(up) or up.destroy(). */
  onUpstreamEnd(up: UpstreamConn): void;
  /** Once; the connection is already destroyed. */
  onUpstreamError(up: UpstreamConn, failure: UpstreamFailure, error: Error | undefined): void;
  onUpstreamDrain(up: UpstreamConn): void;
  /**
   * Asked right after each read of a connection that reads into its own
   * buffer: whether anything of this owner may still point into the bytes
   * it was handed (a write that did not complete at once, a transform, an
   * HTTP/2 stream). If so, the next read goes into a fresh buffer.
   */
  holdsUpstreamBytes(): boolean;
}

export { UPSTREAM_READ_BYTES } from './upstream-read-buffers.ts';

const S_CONNECTING = 0;
const S_IDLE = 1;
const S_HEAD = 2;
const S_LENGTH = 3;
const S_CHUNKED = 4;
const S_CLOSE = 5;
const S_DONE = 6;
const S_TUNNEL = 7;
const S_DEAD = 8;

const D_NONE = 0;
const D_CONNECT = 1;
const D_READ = 2;
const D_SEND = 3;
const D_IDLE = 4;

export class UpstreamConn implements Timed {
  readonly socket: net.Socket;
  readonly endpoint: Endpoint;
  readonly pool: EndpointPool;
  readonly series: BackendSeries;
  owner: UpstreamOwner | null = null;
  /** Requests started on this socket (1 for the first). */
  requests = 0;
  /** Any byte of the current response seen. */
  gotBytes = false;
  /** The current response allows reuse (keep-alive, delimited, nothing extra). */
  reusable = false;
  /** The response of the current exchange is a 101/CONNECT tunnel. */
  switched = false;
  deadline = 0;
  /** Request method of the current exchange (decides whether a body follows). */
  method = 'GET';
  readMs = 0;
  sendMs = 0;

  private state = S_CONNECTING;
  private deadlineKind = D_NONE;
  private remaining = 0;
  private bodyMode = BODY_RAW;
  private readonly parser = new ResponseHeadParser();
  private decoder: ChunkedDecoder | undefined;
  private error: Error | undefined;
  private readonly clock: DeadlineClock;
  private readonly sink = (buf: Buffer, start: number, end: number): void => {
    this.owner?.onUpstreamBody(this, buf, start, end);
  };
  /**
   * The socket reads into buffers of ours (dialOwnReads()) rather than
   * emitting 'data' events, which TLS and tunnels (101) need.
   */
  private readonly ownReads: boolean;
  /**
   * The buffer its reads go into while busy (ownReads); undefined while it
   * waits in the pool, reading into the shared one (upstream-read-buffers.ts).
   */
  private readBuffer: Buffer | undefined;
  /** Something still points into readBuffer: the next read goes into a new one. */
  private readBufferHeld = false;

  /** Dials a plain-HTTP connection that reads into a buffer of its own (`onread`). */
  static dialOwnReads(ep: Endpoint, pool: EndpointPool, series: BackendSeries, clock: DeadlineClock, connectMs: number): UpstreamConn {
    let first: Buffer | undefined = takeReadBuffer();
    let up: UpstreamConn | undefined; // set before the first read: connecting takes a turn of the loop
    const socket = net.connect({
      host: ep.ip,
      port: ep.port,
      noDelay: true,
      onread: {
        // Asked at once (inside net.connect) for the first buffer, then after every read.
        buffer: () => (up === undefined ? first! : up.nextReadBuffer()),
        callback: (n: number, buf: Uint8Array): boolean => {
          up!.onOwnRead(n, buf as Buffer);
          return true;
        },
      },
    });
    up = new UpstreamConn(socket, ep, pool, series, clock, connectMs, first);
    // The closures outlive the buffer's use: an idle connection gives it back (upstream-read-buffers.ts).
    first = undefined;
    return up;
  }

  /** `readBuffer`: the socket reads into it (dialOwnReads()) rather than emitting 'data'. */
  constructor(socket: net.Socket, endpoint: Endpoint, pool: EndpointPool, series: BackendSeries, clock: DeadlineClock, connectMs: number, readBuffer?: Buffer) {
    this.socket = socket;
    this.endpoint = endpoint;
    this.pool = pool;
    this.series = series;
    this.clock = clock;
    clock.add(this);
    if (connectMs > 0) this.arm(D_CONNECT, connectMs);
    socket.on(pool.tls ? 'secureConnect' : 'connect', this.onConnect);
    this.readBuffer = readBuffer;
    this.ownReads = readBuffer !== undefined;
    if (!this.ownReads) socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('error', this.onError);
    socket.on('close', this.onClose);
    socket.on('drain', this.onDrain);
  }

  get connected(): boolean {
    return this.state !== S_CONNECTING;
  }

  /** The socket was used before the current exchange (a stale-socket failure may be retried). */
  get reused(): boolean {
    return this.requests > 1;
  }

  get dead(): boolean {
    return this.state === S_DEAD;
  }

  /** Starts an exchange: the owner writes the request right after. */
  begin(owner: UpstreamOwner, method: string, readMs: number, sendMs: number): void {
    this.owner = owner;
    this.method = method;
    this.readMs = readMs;
    this.sendMs = sendMs;
    this.requests++;
    this.gotBytes = false;
    this.reusable = false;
    this.switched = false;
    // A connect timeout armed at creation keeps running.
    if (this.state !== S_CONNECTING) {
      this.disarm();
      this.state = S_HEAD;
    }
  }

  /** The whole request is written: the read timeout runs until the response moves. */
  requestSent(): void {
    if (this.state === S_HEAD && !this.gotBytes && this.readMs > 0) this.arm(D_READ, this.readMs);
    else if (this.deadlineKind === D_SEND) this.disarm();
  }

  /** A write returned false: the send timeout runs until 'drain'. */
  waitingForDrain(): void {
    if (this.sendMs > 0 && this.deadlineKind !== D_READ) this.arm(D_SEND, this.sendMs);
  }

  /** The client is not reading: stop reading the response, and its read timeout with it. */
  pauseForClient(): void {
    this.socket.pause();
    if (this.deadlineKind === D_READ) this.disarm();
  }

  resumeForClient(): void {
    this.socket.resume();
    if (this.readMs > 0 && this.deadlineKind === D_NONE && (this.state === S_LENGTH || this.state === S_CHUNKED || this.state === S_CLOSE)) {
      this.arm(D_READ, this.readMs);
    }
  }

  write(data: Buffer): boolean {
    return this.socket.write(data);
  }

  destroy(): void {
    if (this.state === S_DEAD) return;
    this.state = S_DEAD;
    this.owner = null;
    this.socket.destroy();
    this.clock.delete(this);
    this.pool.forget(this);
  }

  /** Whether the socket can be handed over as a stream (takeSocket): not when it reads into its own buffer. */
  get streamReads(): boolean {
    return !this.ownReads;
  }

  /** Hands the socket over for a tunnel (101/CONNECT): no more parsing or timers here. Only when streamReads. */
  takeSocket(): net.Socket {
    if (this.ownReads) throw new Error('an upstream socket reading into its own buffer cannot become a tunnel');
    const s = this.socket;
    s.off('data', this.onData);
    s.off('end', this.onEnd);
    s.off('error', this.onError);
    s.off('close', this.onClose);
    s.off('drain', this.onDrain);
    this.state = S_DEAD;
    this.owner = null;
    this.clock.delete(this);
    this.pool.forget(this);
    return s;
  }

  /** Parked in the pool. */
  idle(idleMs: number): void {
    this.owner = null;
    this.state = S_IDLE;
    this.parser.reset();
    if (idleMs > 0) this.arm(D_IDLE, idleMs);
    else this.disarm();
  }

  onDeadline(): void {
    const kind = this.deadlineKind;
    this.deadlineKind = D_NONE;
    if (kind === D_IDLE) this.destroy();
    else if (kind === D_CONNECT) this.fail('connect-timeout', undefined);
    else if (kind === D_READ) this.fail('read-timeout', undefined);
    else if (kind === D_SEND) this.fail('send-timeout', undefined);
  }

  private arm(kind: number, ms: number): void {
    this.deadlineKind = kind;
    this.deadline = this.clock.in(ms);
  }

  private disarm(): void {
    this.deadlineKind = D_NONE;
    this.deadline = 0;
  }

  private fail(failure: UpstreamFailure, error: Error | undefined): void {
    const owner = this.owner;
    this.destroy();
    this.series.upstreamError(failure);
    if (owner !== null) owner.onUpstreamError(this, failure, error);
  }

  private readonly onConnect = (): void => {
    if (this.state !== S_CONNECTING) return;
    this.state = this.owner === null ? S_IDLE : S_HEAD;
    this.disarm();
    this.socket.setNoDelay(true);
    this.owner?.onUpstreamConnect(this);
  };

  private readonly onDrain = (): void => {
    if (this.deadlineKind === D_SEND) this.disarm();
    this.owner?.onUpstreamDrain(this);
  };

  private readonly onError = (err: Error): void => {
    this.error ??= err;
  };

  private readonly onEnd = (): void => {
    if (this.state === S_CLOSE) {
      // Close-delimited body: the end of the connection is the end of the body.
      this.state = S_DONE;
      this.reusable = false;
      this.owner?.onUpstreamEnd(this);
      return;
    }
    this.lost();
  };

  private readonly onClose = (): void => {
    this.lost();
  };

  /** The socket ended or closed: fail the exchange in progress, if any. */
  private lost(): void {
    const s = this.state;
    if (s === S_DEAD) return;
    if (this.owner === null || s === S_IDLE || s === S_DONE) {
      this.destroy();
      return;
    }
    const err = this.error;
    if (s === S_CONNECTING) {
      this.fail((err as NodeJS.ErrnoException | undefined)?.code === 'ECONNREFUSED' ? 'connect-refused' : 'connect-failed', err);
    } else if (!this.gotBytes) {
      this.fail('reset-before-response', err);
    } else {
      this.fail(s === S_HEAD ? 'bad-response' : 'reset-mid-response', err);
    }
  }

  /** Where the next read goes: asked after every read. */
  private nextReadBuffer(): Buffer {
    if (this.state === S_IDLE || this.state === S_DEAD) {
      // Back in the pool (or gone): the buffer goes back unless something still points into it.
      if (this.readBuffer !== undefined && !this.readBufferHeld) giveReadBuffer(this.readBuffer);
      this.readBuffer = undefined;
      this.readBufferHeld = false;
      return SHARED_IDLE_READ_BUFFER;
    }
    if (this.readBuffer === undefined || this.readBufferHeld) {
      // A held one stays with whoever holds it; the collector takes it after.
      this.readBuffer = takeReadBuffer();
      this.readBufferHeld = false;
    }
    return this.readBuffer;
  }

  private onOwnRead(n: number, buf: Buffer): void {
    const owner = this.owner;
    let bytes = buf;
    if (buf === SHARED_IDLE_READ_BUFFER && owner !== null) {
      // The first read since the pool handed us out: out of the shared
      // buffer before anything keeps a view of it (an idle connection's
      // bytes go nowhere: read() ends it).
      if (this.readBuffer === undefined || this.readBufferHeld) this.readBuffer = takeReadBuffer();
      this.readBufferHeld = false;
      bytes = this.readBuffer;
      buf.copy(bytes, 0, 0, n);
    }
    this.onData(n === bytes.length ? bytes : bytes.subarray(0, n));
    // A head split over reads keeps views of them in the parser; an owner
    // may have a write pending from them. (The owner as it was before the
    // read: the exchange may have ended and released us during it.) Bytes
    // left in the shared buffer belong to nobody.
    this.readBufferHeld = bytes !== SHARED_IDLE_READ_BUFFER && (this.parser.pendingBytes > 0 || (owner !== null && owner.holdsUpstreamBytes()));
  }

  private readonly onData = (chunk: Buffer): void => {
    try {
      this.read(chunk);
    } catch (e) {
      // A bug (ours or an owner's) costs this exchange, not the process.
      this.fail('bad-response', e instanceof Error ? e : undefined);
    }
  };

  private read(chunk: Buffer): void {
    const owner = this.owner;
    if (owner === null || this.state === S_IDLE || this.state === S_DONE) {
      // Bytes nobody asked for: the connection is out of step.
      this.destroy();
      return;
    }
    this.gotBytes = true;
    if (this.readMs > 0 && this.deadlineKind !== D_SEND) this.arm(D_READ, this.readMs);
    let off = 0;
    const len = chunk.length;
    while (off < len && this.owner !== null) {
      const state = this.state;
      if (state === S_HEAD) {
        let head: ResponseHead | null;
        try {
          head = this.parser.push(chunk, off);
        } catch (e) {
          this.fail('bad-response', e instanceof HttpParseError ? e : undefined);
          return;
        }
        if (head === null) return;
        const headStart = head.headers.buf === chunk ? off : -1;
        const bodyStart = this.parser.consumed;
        off = bodyStart;
        const kind = responseBodyKind(head, this.method);
        if (kind === 'none' && head.status < 200) {
          this.owner.onUpstreamInfo(this, head, chunk, headStart, bodyStart);
          continue;
        }
        this.reusable = head.keepAlive;
        if (kind === 'switch') {
          this.switched = true;
          this.state = S_TUNNEL;
          this.disarm();
          this.owner.onUpstreamHead(this, head, chunk, headStart, bodyStart);
          return;
        }
        this.bodyMode = this.owner.onUpstreamHead(this, head, chunk, headStart, bodyStart);
        if (this.owner === null) return;
        if (kind === 'none' || (kind === 'length' && head.contentLength === 0)) {
          this.owner.onUpstreamBody(this, chunk, off, off);
          this.complete(off < len);
          return;
        }
        if (kind === 'length') {
          this.state = S_LENGTH;
          this.remaining = head.contentLength;
        } else if (kind === 'chunked') {
          this.state = S_CHUNKED;
          (this.decoder ??= new ChunkedDecoder({}, true)).reset();
        } else {
          this.state = S_CLOSE;
          this.reusable = false;
        }
        if (off === len) {
          this.owner.onUpstreamBody(this, chunk, off, off);
          return;
        }
      } else if (state === S_LENGTH) {
        const n = Math.min(this.remaining, len - off);
        this.remaining -= n;
        this.owner.onUpstreamBody(this, chunk, off, off + n);
        off += n;
        if (this.remaining === 0) {
          this.complete(off < len);
          return;
        }
      } else if (state === S_CHUNKED) {
        const decoder = this.decoder!;
        let end: number;
        try {
          if (this.bodyMode === BODY_RAW) {
            end = decoder.push(chunk, off);
            this.owner.onUpstreamBody(this, chunk, off, end < 0 ? len : end);
          } else {
            end = decoder.push(chunk, off, this.sink);
          }
        } catch (e) {
          this.fail('bad-response', e instanceof HttpParseError ? e : undefined);
          return;
        }
        if (end >= 0) {
          if (this.owner === null) return;
          if (this.bodyMode !== BODY_RAW) this.owner.onUpstreamBody(this, chunk, end, end);
          this.complete(end < len);
          return;
        }
        off = len;
      } else if (state === S_CLOSE) {
        this.owner.onUpstreamBody(this, chunk, off, len);
        off = len;
      } else {
        return;
      }
    }
  }

  private complete(extraBytes: boolean): void {
    this.state = S_DONE;
    this.disarm();
    if (extraBytes) this.reusable = false;
    this.owner?.onUpstreamEnd(this);
  }
}

/** Idle connections to one endpoint. */
export class EndpointPool {
  readonly ip: string;
  readonly port: number;
  readonly tls: boolean;
  /** upstreamTlsKey of the settings its connections were made with. */
  readonly tlsKey: string;
  readonly idle: UpstreamConn[] = [];
  /** Connections open to this endpoint (idle or busy). */
  open = 0;

  constructor(ip: string, port: number, tls: boolean, tlsKey: string) {
    this.ip = ip;
    this.port = port;
    this.tls = tls;
    this.tlsKey = tlsKey;
  }

  forget(up: UpstreamConn): void {
    const i = this.idle.lastIndexOf(up);
    if (i >= 0) this.idle.splice(i, 1);
  }
}

// ingress-nginx keeps 320 idle upstream connections (upstream-keepalive-connections) and
// retires one after 10000 requests; fewer idle slots than concurrent requests means a new
// connection per request beyond them.
const POOL_DEFAULTS: UpstreamPoolOptions = { maxIdlePerEndpoint: 320, idleMs: 60_000, maxRequestsPerSocket: 10_000 };

export class UpstreamPool {
  private readonly opts: UpstreamPoolOptions;
  private readonly clock: DeadlineClock;
  /** ip -> pools for that ip (few: one per port and protocol). */
  private readonly pools = new Map<string, EndpointPool[]>();
  private closed = false;

  constructor(clock: DeadlineClock, opts: Partial<UpstreamPoolOptions> = {}) {
    this.clock = clock;
    this.opts = { ...POOL_DEFAULTS, ...opts };
  }

  private poolOf(ep: Endpoint, backend: Backend): EndpointPool {
    const tlsOn = backend.protocol === 'https';
    const tlsKey = tlsOn ? upstreamTlsKey(backend.tls) : '';
    let list = this.pools.get(ep.ip);
    if (list === undefined) {
      list = [];
      this.pools.set(ep.ip, list);
    }
    for (const p of list) if (p.port === ep.port && p.tls === tlsOn && p.tlsKey === tlsKey) return p;
    const p = new EndpointPool(ep.ip, ep.port, tlsOn, tlsKey);
    list.push(p);
    return p;
  }

  /** An idle kept-alive connection to the endpoint, or undefined. */
  acquire(ep: Endpoint, backend: Backend): UpstreamConn | undefined {
    const pool = this.poolOf(ep, backend);
    const idle = pool.idle;
    while (idle.length > 0) {
      const up = idle.pop()!;
      const s = up.socket;
      if (!up.dead && !s.destroyed && s.writable && s.readyState === 'open') return up;
      up.destroy();
    }
    return undefined;
  }

  /**
   * Opens a new connection; the owner hears onUpstreamConnect or
   * onUpstreamError. A plain-HTTP connection reads into its own buffer unless
   * `streamReads` (a request that may become a tunnel needs a stream socket).
   */
  connect(ep: Endpoint, backend: Backend, series: BackendSeries, connectMs: number, streamReads = false): UpstreamConn {
    const tlsOn = backend.protocol === 'https';
    const pool = this.poolOf(ep, backend);
    series.connects++;
    pool.open++;
    const opened = (up: UpstreamConn): UpstreamConn => {
      up.socket.once('close', () => pool.open--);
      return up;
    };
    if (tlsOn) {
      let socket: net.Socket;
      try {
        socket = tls.connect({ host: ep.ip, port: ep.port, ...upstreamTlsOptions(backend.tls, ['http/1.1']) });
      } catch (e) {
        // Settings OpenSSL refuses (a cipher list it does not know): the attempt fails as a connect error, never with weaker settings.
        socket = new net.Socket();
        process.nextTick(() => socket.destroy(e as Error));
      }
      return opened(new UpstreamConn(socket, ep, pool, series, this.clock, connectMs));
    }
    if (streamReads) {
      return opened(new UpstreamConn(net.connect({ host: ep.ip, port: ep.port, noDelay: true }), ep, pool, series, this.clock, connectMs));
    }
    return opened(UpstreamConn.dialOwnReads(ep, pool, series, this.clock, connectMs));
  }

  /** Parks a connection whose exchange completed cleanly, or closes it. */
  release(up: UpstreamConn): void {
    const pool = up.pool;
    if (this.closed || !up.reusable || up.dead || up.requests >= this.opts.maxRequestsPerSocket || pool.idle.length >= this.opts.maxIdlePerEndpoint) {
      up.destroy();
      return;
    }
    up.idle(this.opts.idleMs);
    pool.idle.push(up);
  }

  get idleCount(): number {
    let n = 0;
    for (const list of this.pools.values()) for (const p of list) n += p.idle.length;
    return n;
  }

  /** Closes idle connections (busy ones close when their exchange ends). */
  close(): void {
    this.closed = true;
    for (const list of this.pools.values()) for (const p of list) for (const up of [...p.idle]) up.destroy();
  }
}
