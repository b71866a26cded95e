// L4 TCP forwarding: connect the accepted client to a backend (bounded retries
// on the next endpoint, connect timeout), then copy bytes both ways: each
// side reads into the flow's own 16 KiB buffer (user-buffer.ts) and a read
// is written on at once; while that write is pending the side reads no more
// (backpressure, and the buffer is not overwritten). Sockets that cannot read
// into a buffer of ours use 'data' + write, pausing the reader while the
// writer is over its high-water mark. Either way buffering stays bounded,
// half-close passed through in each direction, idle and connect deadlines
// checked by one sweep per forwarder, and every path ends with both sockets
// destroyed. Not stream.pipe: it registers and removes eight listeners per
// direction per flow; a bare pipe forwarder spent about a fifth more CPU per
// short connection than a bare 'data' + write one (wrk, Connection: close).

import net from 'node:net';
import type { Endpoint, EndpointPicker } from './endpoint.ts';
import { encodeProxyV1, encodeProxyV2 } from './proxy-protocol.ts';
import { adoptWithUserBuffer, giveSlabBack, takeSlab, USER_BUFFER_BYTES } from './user-buffer.ts';

export type TcpCloseReason =
  /** Both directions finished (FIN each way) or one side closed cleanly. */
  | 'done'
  /** The picker had no endpoint. */
  | 'no-endpoint'
  /** Every attempt failed (refused, unreachable, timed out). */
  | 'connect-failed'
  | 'idle-timeout'
  | 'client-error'
  | 'upstream-error'
  /** close() / closeAll() was called. */
  | 'closed';

export interface TcpFlowSummary {
  readonly client: { readonly ip: string; readonly port: number };
  /** The endpoint the flow was connected to, if any. */
  readonly endpoint: Endpoint | undefined;
  readonly reason: TcpCloseReason;
  readonly error: Error | undefined;
  /** Connection attempts made. */
  readonly attempts: number;
  readonly bytesFromClient: number;
  readonly bytesFromUpstream: number;
  readonly durationMs: number;
}

/** Counter hooks (no metrics library here): called synchronously, must not throw. */
export interface TcpForwarderHooks {
  /** An upstream connection was established (attempt is 1-based). */
  onConnected?(endpoint: Endpoint, attempt: number): void;
  /** One attempt failed; another may follow. */
  onConnectFailed?(endpoint: Endpoint, error: Error): void;
  /** Exactly once per handled client connection. */
  onClosed?(summary: TcpFlowSummary): void;
}

export interface TcpForwarderOptions {
  readonly pick: EndpointPicker;
  /** Per attempt. Default 5 s. */
  readonly connectTimeoutMs?: number;
  /** Attempts per client connection, each on the endpoint pick() returns next. Default 3. */
  readonly maxAttempts?: number;
  /** Close when no byte moved either way for this long; 0 disables. Default 10 min (nginx's proxy_timeout). */
  readonly idleTimeoutMs?: number;
  /** Send a PROXY protocol header to the backend first. */
  readonly proxyProtocol?: 'v1' | 'v2';
  readonly hooks?: TcpForwarderHooks;
  /**
   * Dials an endpoint; default net.connect with allowHalfOpen and noDelay,
   * and `onread` when given. The returned socket must be connecting (emit
   * 'connect' or 'error'); one that ignores `onread` is read with 'data'.
   */
  readonly connect?: (endpoint: Endpoint, onread?: net.OnReadOpts) => net.Socket;
  /**
   * Read into per-flow buffers (default true). Accepted sockets are adopted
   * when nothing has been read from them yet (paused since the accept, with
   * net.Server `pauseOnConnect`, or handed over in the tick of the accept);
   * others are read with 'data'.
   */
  readonly userBuffers?: boolean;
  /** Accepted sockets come with TCP_NODELAY set (net.Server `noDelay`): an adopted one is told, no setsockopt again. */
  readonly acceptedNoDelay?: boolean;
}

/** Sweeps per shortest deadline: deadlines fire at most 1/4 late. */
const SWEEPS_PER_DEADLINE = 4;

export const TCP_FORWARDER_DEFAULTS = { connectTimeoutMs: 5_000, maxAttempts: 3, idleTimeoutMs: 600_000 } as const;

function defaultConnect(endpoint: Endpoint, onread?: net.OnReadOpts): net.Socket {
  return net.connect({ host: endpoint.ip, port: endpoint.port, allowHalfOpen: true, noDelay: true, ...(onread !== undefined ? { onread } : {}) });
}

class ConnectTimeoutError extends Error {
  readonly code = 'ETIMEDOUT';
  constructor(endpoint: Endpoint, ms: number) {
    super(`connect to ${endpoint.ip}:${endpoint.port} timed out after ${ms} ms`);
  }
}

/** One client connection and, once connected, its upstream. */
export class TcpFlow {
  /** The accepted socket, or the one that adopted its handle to read into our buffer. */
  client: net.Socket;
  upstream: net.Socket | undefined;
  endpoint: Endpoint | undefined;
  attempts = 0;

  private readonly forwarder: TcpForwarder;
  private readonly startedAt = performance.now();
  private readonly clientIp: string;
  private readonly clientPort: number;
  /** Forwarder tick of the last byte moved (or of the start): the idle clock. */
  lastActiveTick: number;
  /** Forwarder tick the current dial began at; -1 when not dialing. */
  dialTick = -1;
  private isConnected = false;
  private finished = false;
  /** Our read buffers (user-buffer.ts), when this flow reads into its own: halves of one slab. */
  private slab: Buffer | undefined;
  private clientBuffer: Uint8Array | undefined;
  private upstreamRead: net.OnReadOpts | undefined;
  /** Bytes the client sent before the upstream was connected, still in clientBuffer. */
  private clientStash = 0;
  /** A side that stopped reading because its last read is still being written from our buffer. */
  private clientHeld = false;
  private upstreamHeld = false;

  constructor(forwarder: TcpForwarder, client: net.Socket) {
    this.forwarder = forwarder;
    this.client = client;
    this.clientIp = client.remoteAddress ?? '';
    this.clientPort = client.remotePort ?? 0;
    this.lastActiveTick = forwarder.tick;
  }

  /** Bytes held in user space for this flow (both directions): what backpressure keeps bounded. */
  bufferedBytes(): number {
    const u = this.upstream;
    return this.client.readableLength + this.client.writableLength + (u === undefined ? 0 : u.readableLength + u.writableLength);
  }

  /** Tears the flow down now. */
  close(): void {
    this.finish('closed', undefined);
  }

  /** @internal */
  start(): void {
    if (this.forwarder.userBuffers) {
      const slab = takeSlab();
      this.slab = slab;
      const clientBuffer = slab.subarray(0, USER_BUFFER_BYTES);
      const adopted = adoptWithUserBuffer(this.client, clientBuffer, this.onClientRead, this.forwarder.acceptedNoDelay);
      if (adopted !== undefined) {
        this.client = adopted;
        this.clientBuffer = clientBuffer;
      }
      this.upstreamRead = { buffer: slab.subarray(USER_BUFFER_BYTES), callback: this.onUpstreamRead };
    }
    const c = this.client;
    c.setNoDelay(true); // no system call when the socket knows it is set (accepted with noDelay, or adopted with acceptedNoDelay)
    c.on('error', this.onClientError);
    c.on('close', this.onClientClose);
    // No timer per flow: the forwarder's sweep checks the idle and connect
    // deadlines against the ticks stamped here and on every chunk.
    this.attempt();
  }

  private attempt(): void {
    if (this.finished) return;
    const f = this.forwarder;
    let endpoint: Endpoint | undefined;
    let sock: net.Socket;
    try {
      endpoint = f.pick();
      if (endpoint === undefined) {
        this.finish(this.attempts === 0 ? 'no-endpoint' : 'connect-failed', undefined);
        return;
      }
      this.attempts++;
      sock = f.connect(endpoint, this.upstreamRead);
    } catch (err) {
      this.finish('connect-failed', err as Error);
      return;
    }
    this.upstream = sock;
    this.endpoint = endpoint;
    // Per-flow handlers (class fields), not per-attempt closures: they act on
    // this.upstream, which is the dialing socket until the attempt settles.
    sock.on('connect', this.onDialConnect);
    sock.on('error', this.onDialError);
    this.dialTick = f.tick;
    f.dialing.add(this);
  }

  private settleDial(): net.Socket {
    const sock = this.upstream!;
    this.dialTick = -1;
    this.forwarder.dialing.delete(this);
    sock.off('connect', this.onDialConnect);
    sock.off('error', this.onDialError);
    return sock;
  }

  private readonly onDialConnect = () => this.connected(this.settleDial(), this.endpoint!);
  private readonly onDialError = (err: Error) => {
    const endpoint = this.endpoint!;
    this.failedAttempt(this.settleDial(), endpoint, err);
  };
  /** @internal Called by the sweep once the dial is past its deadline. */
  readonly onDialTimeout = () => {
    const endpoint = this.endpoint!;
    this.failedAttempt(this.settleDial(), endpoint, new ConnectTimeoutError(endpoint, this.forwarder.connectTimeoutMs));
  };

  private failedAttempt(sock: net.Socket, endpoint: Endpoint, err: Error): void {
    sock.on('error', noop); // late errors of an abandoned socket
    sock.destroy();
    this.upstream = undefined;
    this.endpoint = undefined;
    if (this.finished) return;
    this.forwarder.hooks.onConnectFailed?.(endpoint, err);
    if (this.attempts >= this.forwarder.maxAttempts) this.finish('connect-failed', err);
    else this.attempt();
  }

  private connected(up: net.Socket, endpoint: Endpoint): void {
    if (this.finished) {
      up.destroy();
      return;
    }
    this.isConnected = true;
    const f = this.forwarder;
    f.hooks.onConnected?.(endpoint, this.attempts);
    up.on('error', this.onUpstreamError);
    up.on('close', this.onUpstreamClose);
    const c = this.client;
    if (f.proxyProtocol !== undefined) {
      const addresses = {
        sourceIp: this.clientIp,
        sourcePort: this.clientPort,
        destIp: c.localAddress ?? '',
        destPort: c.localPort ?? 0,
      };
      up.write(f.proxyProtocol === 'v1' ? encodeProxyV1(addresses) : encodeProxyV2(addresses));
    }
    up.on('data', this.onUpstreamData);
    up.on('drain', this.onUpstreamDrain);
    up.on('end', this.onUpstreamEnd);
    // Bytes the client sent while we dialed sit in its readable buffer (or,
    // read into ours, in clientStash) and go first.
    c.on('data', this.onClientData);
    c.on('drain', this.onClientDrain);
    c.on('end', this.onClientEnd);
    const stash = this.clientStash;
    this.clientStash = 0;
    if (stash > 0 && !this.onClientRead(stash, this.clientBuffer!)) return; // onUpstreamWritten resumes
    c.resume(); // an accepted socket comes paused
  }

  // Reads into our buffers: the write takes a view of it; if the write could
  // not complete at once it still holds the bytes, so the reader stops
  // (returning false stops the reading) until that write is done: its
  // callback, not 'drain', which only comes after a write over the
  // high-water mark. (Writable schedules the same after-write tick with or
  // without a callback: passing one costs nothing.)
  private readonly onClientRead = (n: number, buffer: Uint8Array): boolean => {
    const up = this.upstream;
    if (!this.isConnected || up === undefined) {
      // Not connected yet (an accepted socket is handed over paused, so only
      // if that changed): keep the bytes where they are and read no more.
      this.clientStash = n;
      return false;
    }
    this.lastActiveTick = this.forwarder.tick;
    up.write(n === buffer.length ? buffer : buffer.subarray(0, n), this.onUpstreamWritten);
    if (up.writableLength === 0) return true;
    this.clientHeld = true;
    return false;
  };
  private readonly onUpstreamRead = (n: number, buffer: Uint8Array): boolean => {
    this.lastActiveTick = this.forwarder.tick;
    const c = this.client;
    c.write(n === buffer.length ? buffer : buffer.subarray(0, n), this.onClientWritten);
    if (c.writableLength === 0) return true;
    this.upstreamHeld = true;
    return false;
  };
  private readonly onUpstreamWritten = () => {
    if (!this.clientHeld || this.finished) return;
    this.clientHeld = false;
    this.lastActiveTick = this.forwarder.tick;
    this.client.resume();
  };
  private readonly onClientWritten = () => {
    if (!this.upstreamHeld || this.finished) return;
    this.upstreamHeld = false;
    this.lastActiveTick = this.forwarder.tick;
    this.upstream?.resume();
  };

  // Backpressure: a write over the high-water mark pauses the reader until
  // the writer drains.
  // Every handler that moves bytes stamps the idle clock.
  private readonly onClientData = (chunk: Buffer) => {
    this.lastActiveTick = this.forwarder.tick;
    if (!this.upstream!.write(chunk)) this.client.pause();
  };
  private readonly onUpstreamData = (chunk: Buffer) => {
    this.lastActiveTick = this.forwarder.tick;
    if (!this.client.write(chunk)) this.upstream!.pause();
  };
  private readonly onUpstreamDrain = () => {
    this.lastActiveTick = this.forwarder.tick;
    this.client.resume();
  };
  private readonly onClientDrain = () => {
    this.lastActiveTick = this.forwarder.tick;
    this.upstream!.resume();
  };

  // A FIN from one side: pass it on with end() (the other direction stays
  // open: that is the half-close), unless the other side has sent its FIN
  // already and nothing waits in user space, in which case the flow is over
  // and destroy() closes both sockets (the kernel still sends what it holds,
  // then a FIN): one shutdown(2) and two 'close' round trips fewer.
  private readonly onClientEnd = () => this.passFin(this.client, this.upstream!);
  private readonly onUpstreamEnd = () => this.passFin(this.upstream!, this.client);

  private passFin(from: net.Socket, to: net.Socket): void {
    if (to.readableEnded && to.writableLength === 0 && from.writableLength === 0) this.finish('done', undefined);
    else to.end();
  }

  private readonly onClientError = (err: Error) => this.finish('client-error', err);
  private readonly onUpstreamError = (err: Error) => this.finish('upstream-error', err);
  /** @internal Called by the sweep. */
  readonly onIdle = () => this.finish('idle-timeout', undefined);

  // A socket closes once both its directions are done (errors come first as
  // 'error'). Then the other side has nothing more to receive, but the last
  // bytes for it may still sit in its write buffer (end() was called): let
  // them drain before destroying it, bounded by an idle timer on that side.
  private readonly onClientClose = () => this.finishAfterFlush(this.upstream);
  private readonly onUpstreamClose = () => this.finishAfterFlush(this.client);
  private readonly onFlushed = () => this.finish('done', undefined);

  private finishAfterFlush(other: net.Socket | undefined): void {
    if (!this.isConnected || other === undefined || other.writableFinished || other.destroyed) this.finish('done', undefined);
    else other.once('finish', this.onFlushed); // the idle sweep bounds the wait
  }

  private finish(reason: TcpCloseReason, error: Error | undefined): void {
    if (this.finished) return;
    this.finished = true;
    if (this.dialTick >= 0) this.forwarder.dialing.delete(this);
    const c = this.client;
    const u = this.upstream;
    c.on('error', noop);
    c.destroy();
    if (u !== undefined) {
      u.on('error', noop);
      u.destroy();
    }
    const slab = this.slab;
    if (slab !== undefined) {
      this.slab = undefined;
      // Back to the free list once no socket can still write from it or read into it.
      let open = (c.closed ? 0 : 1) + (u === undefined || u.closed ? 0 : 1);
      const closed = () => {
        if (--open === 0) giveSlabBack(slab);
      };
      if (open === 0) giveSlabBack(slab);
      else {
        if (!c.closed) c.once('close', closed);
        if (u !== undefined && !u.closed) u.once('close', closed);
      }
    }
    this.forwarder.flowEnded(this, {
      client: { ip: this.clientIp, port: this.clientPort },
      endpoint: this.endpoint,
      reason,
      error,
      attempts: this.attempts,
      bytesFromClient: c.bytesRead,
      bytesFromUpstream: u?.bytesRead ?? 0,
      durationMs: performance.now() - this.startedAt,
    });
  }
}

function noop(): void {}

/**
 * Forwards accepted TCP connections to endpoints. One instance per listener;
 * the listener's net.Server must be created with `allowHalfOpen: true` so a
 * client's FIN does not close our side before the backend has answered.
 */
export class TcpForwarder {
  readonly connectTimeoutMs: number;
  readonly maxAttempts: number;
  readonly idleTimeoutMs: number;
  readonly proxyProtocol: 'v1' | 'v2' | undefined;
  readonly hooks: TcpForwarderHooks;
  readonly pick: EndpointPicker;
  readonly connect: (endpoint: Endpoint, onread?: net.OnReadOpts) => net.Socket;
  readonly userBuffers: boolean;
  readonly acceptedNoDelay: boolean;
  private readonly flows = new Set<TcpFlow>();
  /** @internal Flows dialing now (their connect deadline is swept). */
  readonly dialing = new Set<TcpFlow>();
  /** @internal Sweeps since the forwarder started: the coarse clock flows stamp. */
  tick = 0;
  // One interval per forwarder instead of two timers per flow (creating,
  // refreshing and clearing them cost about 5 us of user CPU per short
  // flow). A deadline of D ms fires between D and D + period after the last
  // stamp, period = shortest deadline / 4.
  private readonly sweepMs: number;
  private readonly idleTicks: number;
  private readonly connectTicks: number;
  private sweepTimer: NodeJS.Timeout | undefined;

  constructor(options: TcpForwarderOptions) {
    this.pick = options.pick;
    this.connectTimeoutMs = options.connectTimeoutMs ?? TCP_FORWARDER_DEFAULTS.connectTimeoutMs;
    this.maxAttempts = Math.max(1, options.maxAttempts ?? TCP_FORWARDER_DEFAULTS.maxAttempts);
    this.idleTimeoutMs = options.idleTimeoutMs ?? TCP_FORWARDER_DEFAULTS.idleTimeoutMs;
    this.proxyProtocol = options.proxyProtocol;
    this.hooks = options.hooks ?? {};
    this.connect = options.connect ?? defaultConnect;
    this.userBuffers = options.userBuffers ?? true;
    this.acceptedNoDelay = options.acceptedNoDelay === true;
    const shortest = this.idleTimeoutMs > 0 ? Math.min(this.idleTimeoutMs, this.connectTimeoutMs) : this.connectTimeoutMs;
    this.sweepMs = Math.max(1, Math.floor(shortest / SWEEPS_PER_DEADLINE));
    this.idleTicks = Math.ceil(this.idleTimeoutMs / this.sweepMs);
    this.connectTicks = Math.ceil(this.connectTimeoutMs / this.sweepMs);
  }

  private readonly sweep = (): void => {
    if (this.flows.size === 0) {
      clearInterval(this.sweepTimer);
      this.sweepTimer = undefined;
      return;
    }
    const tick = ++this.tick;
    // A stamp taken during tick k is past a deadline of N ticks once tick > k + N.
    for (const flow of this.dialing) if (tick - flow.dialTick > this.connectTicks) flow.onDialTimeout();
    if (this.idleTimeoutMs > 0) {
      for (const flow of this.flows) if (tick - flow.lastActiveTick > this.idleTicks) flow.onIdle();
    }
  };

  /** Flows not yet closed. */
  get activeFlows(): number {
    return this.flows.size;
  }

  /** Takes ownership of an accepted client socket. */
  handle(client: net.Socket): TcpFlow {
    if (!client.allowHalfOpen) throw new TypeError('TcpForwarder needs a net.Server created with allowHalfOpen: true');
    const flow = new TcpFlow(this, client);
    this.flows.add(flow);
    if (this.sweepTimer === undefined) {
      this.sweepTimer = setInterval(this.sweep, this.sweepMs);
      this.sweepTimer.unref();
    }
    flow.start();
    return flow;
  }

  /** Closes every flow (listener shutdown). */
  closeAll(): void {
    for (const flow of [...this.flows]) flow.close();
  }

  /** @internal */
  flowEnded(flow: TcpFlow, summary: TcpFlowSummary): void {
    this.flows.delete(flow);
    this.hooks.onClosed?.(summary);
  }
}
