// One TCP listening socket on IP:port: binds (retrying with backoff until it
// works or the listener is closed), hands every accepted socket to the
// current handler, and keeps the accepted sockets so that closing the
// listener can stop accepting at once, let the established connections
// finish, and cut what is left after a grace period. A listener given the
// thread's IdlePark parks connections that have sent nothing yet at accept,
// and takes parked ones back when they send (idle-park.ts).

import net from 'node:net';
import type { Logger } from 'pino';
import type { BindBackoff } from './bind-backoff.ts';
import { BindRetry } from './bind-retry.ts';
import type { AcceptedHandle, IdlePark, ParkPlace } from './idle-park.ts';

export type ListenerState = 'waiting' | 'listening' | 'closed';

export interface SocketListenerHooks {
  onStateChange?(state: ListenerState, previous: ListenerState): void;
  onBindError?(code: string): void;
}

export interface TcpListenerOptions {
  readonly ip: string;
  readonly port: number;
  /** For logs. */
  readonly key: string;
  /** The L4 forwarder needs it (half-close passes through); the HTTP engine sets it too. */
  readonly allowHalfOpen: boolean;
  readonly backoff: BindBackoff;
  readonly log: Logger;
  readonly hooks?: SocketListenerHooks;
  /** SO_REUSEPORT: proxy worker processes each bind the same IP:port and the kernel spreads connections. */
  readonly reusePort?: boolean;
  /** Hand sockets over before anything is read (the L4 forwarder then reads into buffers of its own). */
  readonly pauseOnConnect?: boolean;
  /**
   * Park connections that have sent nothing at accept, for up to
   * `firstByteMs`, and serve them when they send: only where the client
   * speaks first (HTTP, TLS).
   */
  readonly park?: { readonly park: IdlePark; readonly firstByteMs: number; readonly atAccept: () => boolean };
}

/** net.Server's handle callback for each accepted connection (not public API). */
type OnConnection = (this: unknown, err: number, client?: AcceptedHandle) => void;

/**
 * Takes an accepted socket. Returns the socket to track if the handler
 * replaced it (a new net.Socket over the same connection), else nothing.
 */
export type SocketHandler = (socket: net.Socket) => net.Socket | void;

/** Accepted sockets come with TCP_NODELAY set (net.Server `noDelay`): handlers need not set it again. */
export const ACCEPTS_WITH_NO_DELAY = true;

export class TcpListener {
  readonly key: string;
  #state: ListenerState = 'waiting';
  readonly #opts: TcpListenerOptions;
  #handler: SocketHandler;
  #server: net.Server | undefined;
  readonly #retry: BindRetry;
  readonly #sockets = new Set<net.Socket>();
  readonly #forget: (this: net.Socket) => void;
  /** Where this listener's idle connections wait; undefined when it does not park. */
  readonly #place: ParkPlace | undefined;

  constructor(opts: TcpListenerOptions, handler: SocketHandler) {
    this.key = opts.key;
    this.#opts = opts;
    this.#handler = handler;
    this.#retry = new BindRetry(opts.key, opts.log, opts.backoff, (code) => opts.hooks?.onBindError?.(code));
    const sockets = this.#sockets;
    this.#forget = function (this: net.Socket) {
      sockets.delete(this);
    };
    this.#place = opts.park?.park.place(this.#onConnection);
  }

  /** Where idle connections of this listener are parked (handlers park kept-alive ones there). */
  get parkPlace(): ParkPlace | undefined {
    return this.#place;
  }

  get state(): ListenerState {
    return this.#state;
  }

  /** Accepted connections not closed yet, parked ones included. */
  get openSockets(): number {
    return this.#sockets.size + (this.#place?.count ?? 0);
  }

  /** Closes the connections parked idle (shutdown: idle connections close at once). */
  closeParked(): number {
    return this.#place?.release() ?? 0;
  }

  /** Applies to connections accepted from now on. */
  setHandler(handler: SocketHandler): void {
    this.#handler = handler;
  }

  start(): void {
    if (this.#state === 'waiting' && this.#server === undefined && !this.#retry.pending) this.#bind();
  }

  /** Stops accepting (the port is free when this resolves); open connections stay. */
  async stopAccepting(): Promise<void> {
    if (this.#state === 'closed') return;
    this.#setState('closed');
    this.#retry.cancel();
    const server = this.#server;
    this.#server = undefined;
    // close() releases the listening socket now; its callback would wait for
    // every accepted connection to end, which is not what we wait for here.
    if (server?.listening) {
      server.close();
      await new Promise((r) => setImmediate(r));
    }
  }

  /** Destroys every accepted socket still open, and closes the parked connections. */
  destroySockets(): void {
    this.#place?.release();
    for (const s of [...this.#sockets]) s.destroy();
  }

  /** Resolves when no accepted connection is open, or after `ms`. */
  async settled(ms: number): Promise<boolean> {
    const deadline = performance.now() + ms;
    while (this.openSockets > 0 && performance.now() < deadline) {
      await new Promise((r) => setTimeout(r, Math.min(50, Math.max(1, deadline - performance.now()))));
    }
    return this.openSockets === 0;
  }

  #bind(): void {
    const o = this.#opts;
    const server = net.createServer({ allowHalfOpen: o.allowHalfOpen, noDelay: ACCEPTS_WITH_NO_DELAY, pauseOnConnect: o.pauseOnConnect === true }, this.#onConnection);
    this.#server = server;
    const onError = (err: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      if (this.#server !== server) return;
      this.#server = undefined;
      this.#retry.failed(err, () => {
        if (this.#state !== 'closed') this.#bind();
      });
    };
    const onListening = () => {
      server.off('error', onError);
      if (this.#server !== server || this.#state === 'closed') {
        server.close();
        return;
      }
      // Accept errors (EMFILE and the like) after the bind: the server goes on.
      server.on('error', (err: NodeJS.ErrnoException) => o.log.warn({ listener: this.key, err: err.message, code: err.code }, 'accept error'));
      if (o.park !== undefined && this.#place !== undefined) this.#parkAtAccept(server, this.#place, o.park);
      this.#retry.succeeded();
      this.#setState('listening');
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen({ host: o.ip, port: o.port, exclusive: true, backlog: 1024, reusePort: o.reusePort === true });
  }

  /**
   * Connections with no byte yet are parked from their raw handle, before
   * net.Server builds a socket for them (which, made and dropped, would
   * still cost its garbage); the others are accepted as usual. The handle's
   * onconnection is not public API: without it, nothing is parked at accept.
   */
  #parkAtAccept(server: net.Server, place: ParkPlace, o: NonNullable<TcpListenerOptions['park']>): void {
    const handle = (server as unknown as { _handle?: { onconnection?: OnConnection } | null })._handle;
    const accept = handle?.onconnection;
    if (handle == null || typeof accept !== 'function') return;
    const { firstByteMs, atAccept } = o;
    handle.onconnection = function (err, client) {
      if (err === 0 && client !== undefined && atAccept() && place.parkAccepted(client, firstByteMs)) return;
      accept.call(this, err, client);
    };
  }

  readonly #onConnection = (socket: net.Socket): void => {
    let tracked = socket;
    try {
      tracked = this.#handler(socket) ?? socket;
    } catch (err) {
      this.#opts.log.error({ listener: this.key, err: (err as Error).message }, 'connection handler failed');
      socket.destroy();
      return;
    }
    if (tracked.destroyed) return;
    this.#sockets.add(tracked);
    // on, not once: 'close' comes once anyway, and once() wraps the listener
    // in a new closure per connection.
    tracked.on('close', this.#forget);
  };

  #setState(state: ListenerState): void {
    const previous = this.#state;
    if (previous === state) return;
    this.#state = state;
    this.#opts.hooks?.onStateChange?.(state, previous);
  }
}
