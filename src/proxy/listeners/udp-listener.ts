// One UDP socket bound to IP:port, retrying the bind with backoff like the
// TCP listener. The forwarder reads from it and answers through it, so
// closing it ends every flow of the listener (UDP has no connection to let
// finish: replies could not leave through a closed socket anyway).

import dgram from 'node:dgram';
import net from 'node:net';
import type { Logger } from 'pino';
import type { BindBackoff } from './bind-backoff.ts';
import { BindRetry } from './bind-retry.ts';
import type { ListenerState, SocketListenerHooks } from './tcp-listener.ts';

export interface UdpListenerOptions {
  readonly ip: string;
  readonly port: number;
  readonly key: string;
  readonly backoff: BindBackoff;
  readonly log: Logger;
  readonly hooks?: SocketListenerHooks;
  /** SO_REUSEPORT (proxy worker threads): the kernel keeps each flow (4-tuple) on one socket. */
  readonly reusePort?: boolean;
  /** Called with the bound socket (attach the forwarder here). */
  readonly onBound: (socket: dgram.Socket) => void;
}

export class UdpListener {
  readonly key: string;
  #state: ListenerState = 'waiting';
  readonly #opts: UdpListenerOptions;
  #socket: dgram.Socket | undefined;
  readonly #retry: BindRetry;

  constructor(opts: UdpListenerOptions) {
    this.key = opts.key;
    this.#opts = opts;
    this.#retry = new BindRetry(opts.key, opts.log, opts.backoff, (code) => opts.hooks?.onBindError?.(code));
  }

  get state(): ListenerState {
    return this.#state;
  }

  /** The bound socket, once listening. */
  get socket(): dgram.Socket | undefined {
    return this.#state === 'listening' ? this.#socket : undefined;
  }

  start(): void {
    if (this.#state === 'waiting' && this.#socket === undefined && !this.#retry.pending) this.#bind();
  }

  close(): void {
    if (this.#state === 'closed') return;
    this.#setState('closed');
    this.#retry.cancel();
    const s = this.#socket;
    this.#socket = undefined;
    if (s !== undefined) {
      s.on('error', () => {});
      try {
        s.close();
      } catch {
        // not bound yet, or closed
      }
    }
  }

  #bind(): void {
    const o = this.#opts;
    const socket = dgram.createSocket({ type: net.isIPv6(o.ip) ? 'udp6' : 'udp4', reuseAddr: false, reusePort: o.reusePort === true });
    this.#socket = socket;
    const onError = (err: NodeJS.ErrnoException) => {
      socket.off('listening', onListening);
      socket.on('error', () => {});
      try {
        socket.close();
      } catch {
        // never bound
      }
      if (this.#socket !== socket) return;
      this.#socket = undefined;
      this.#retry.failed(err, () => {
        if (this.#state !== 'closed') this.#bind();
      });
    };
    const onListening = () => {
      socket.off('error', onError);
      if (this.#socket !== socket || this.#state === 'closed') {
        socket.close();
        return;
      }
      socket.on('error', (err: Error) => o.log.warn({ listener: this.key, err: err.message }, 'UDP socket error'));
      this.#retry.succeeded();
      this.#setState('listening');
      o.onBound(socket);
    };
    socket.once('error', onError);
    socket.once('listening', onListening);
    socket.bind({ address: o.ip, port: o.port, exclusive: true });
  }

  #setState(state: ListenerState): void {
    const previous = this.#state;
    if (previous === state) return;
    this.#state = state;
    this.#opts.hooks?.onStateChange?.(state, previous);
  }
}
