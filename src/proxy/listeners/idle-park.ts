// Idle client connections of one thread, parked in the kernel until they
// send something (the native IdlePark, native/src/idle_park.cc). A parked
// connection holds no Node socket: an epoll registration and 16 bytes of
// table instead of about 3 KB of libuv handle, stream state and V8 objects
// (docs/benchmarks.md: a client that has sent nothing costs less than it
// does in nginx).
//
// Two kinds wait here: a connection accepted with no byte yet (parked from
// its raw handle, before Node builds a socket for it), and a kept-alive
// HTTP/1 connection between requests (parked from its socket by the
// connection itself). When bytes arrive, the descriptor comes back as a new
// net.Socket and goes to its listener's handler as if just accepted.
//
// Only for protocols whose client speaks first (HTTP, TLS); an L4 Service
// may have a server that speaks first, so its listeners never park.

import { fs } from '../../common/builtins.ts';
import net from 'node:net';
import type { Logger } from 'pino';
import { loadNativeAddon, type NativeIdlePark } from '../../native/addon.ts';
import type { SocketParking } from '../http/types.ts';

/** What a parked connection's listener does with it once it has bytes. */
export type ParkWake = (socket: net.Socket) => void;

/** A raw accepted handle (tcp_wrap's TCP), as net.Server's onconnection receives it. */
export interface AcceptedHandle {
  readonly fd?: number;
  close(): void;
}

export class IdlePark {
  readonly #native: NativeIdlePark;
  readonly #wakes = new Map<number, ParkWake>();
  #nextTag = 1;

  private constructor(native: (onReady: (fd: number, tag: number) => void) => NativeIdlePark) {
    this.#native = native(this.#ready);
  }

  /** This thread's park; undefined (connections are then never parked) when the native addon cannot be loaded. */
  static open(log: Logger): IdlePark | undefined {
    try {
      const { IdlePark: Native } = loadNativeAddon();
      return new IdlePark((onReady) => new Native(onReady));
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'idle connections will not be parked: the native addon is missing');
      return undefined;
    }
  }

  /** A listener's place in the park: its parked connections come back to `wake`. */
  place(wake: ParkWake): ParkPlace {
    const tag = this.#nextTag++;
    this.#wakes.set(tag, wake);
    return new ParkPlace(this.#native, tag, () => this.#wakes.delete(tag));
  }

  /** Connections parked now, every listener's. */
  get size(): number {
    return this.#native.countOf();
  }

  close(): void {
    this.#wakes.clear();
    this.#native.close();
  }

  readonly #ready = (fd: number, tag: number): void => {
    let socket: net.Socket;
    try {
      socket = new net.Socket({ fd, readable: true, writable: true, allowHalfOpen: true });
    } catch {
      // Not a socket Node can wrap any more: the connection is dropped, the thread goes on.
      closeQuietly(fd);
      return;
    }
    const wake = this.#wakes.get(tag);
    if (wake === undefined) {
      socket.destroy();
      return;
    }
    // As the listener's accept does (ACCEPTS_WITH_NO_DELAY); a connection
    // parked at accept never had it.
    socket.setNoDelay(true);
    wake(socket);
  };
}

/** One listener's parked connections. */
export class ParkPlace implements SocketParking {
  readonly #native: NativeIdlePark;
  readonly #tag: number;
  readonly #forget: () => void;
  #released = false;

  constructor(native: NativeIdlePark, tag: number, forget: () => void) {
    this.#native = native;
    this.#tag = tag;
    this.#forget = forget;
  }

  /**
   * A just-accepted connection with no byte waiting: parked for up to
   * `timeoutMs`, and its handle closed. False (the handle untouched) when
   * bytes are there already, or when it cannot be parked.
   */
  parkAccepted(handle: AcceptedHandle, timeoutMs: number): boolean {
    if (!this.#park(handle.fd, timeoutMs)) return false;
    handle.close();
    return true;
  }

  /**
   * An idle connection's socket (nothing to write, nothing read and not
   * handled): parked for up to `timeoutMs`, and the socket destroyed, which
   * sends nothing to the client. False (the socket untouched) when bytes are
   * waiting or it cannot be parked.
   */
  parkSocket(socket: net.Socket, timeoutMs: number): boolean {
    const handle = (socket as unknown as { _handle?: { fd?: number } | null })._handle;
    if (socket.writableLength > 0 || !this.#park(handle?.fd, timeoutMs)) return false;
    socket.destroy();
    return true;
  }

  /** Parked now. */
  get count(): number {
    return this.#released ? 0 : this.#native.countOf(this.#tag);
  }

  /** Closes every connection parked here (its listener stopped) and leaves the park. */
  release(): number {
    if (this.#released) return 0;
    this.#released = true;
    this.#forget();
    return this.#native.closeTag(this.#tag);
  }

  #park(fd: number | undefined, timeoutMs: number): boolean {
    if (this.#released || fd === undefined || fd < 0) return false;
    try {
      return this.#native.park(fd, this.#tag, Math.max(0, timeoutMs), true) >= 0;
    } catch {
      // EMFILE and the like: the connection is served as it is.
      return false;
    }
  }
}

function closeQuietly(fd: number): void {
  try {
    fs.closeSync(fd);
  } catch {
    // already closed
  }
}
