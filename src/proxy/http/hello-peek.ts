// Reads a connection's first bytes until they make a ClientHello (or plainly
// do not), then hands them over with the server name it asked for, the
// socket paused and nothing consumed but what is handed over: the caller
// sends the bytes on (passthrough) or gives them back to the socket
// (`unshift`) for a TLS server or another reader. Used where the server name
// decides before any TLS: ssl-passthrough on websecure, HostSNI routes on an
// entry point of their own.

import type net from 'node:net';
import { MAX_HELLO_BYTES, readClientHello } from './client-hello.ts';

/** A client that sends no complete ClientHello in this time is handed over with what it sent (the TLS handshake timeout, or the catch-all route, then applies). */
const HELLO_WAIT_MS = 5_000;

export interface PeekedHello {
  /** Every byte read so far. */
  readonly bytes: Buffer;
  /** The ClientHello's server name, lowercased; undefined when it has none or the bytes are not one. */
  readonly sni: string | undefined;
}

/** Calls `done` once; a socket that fails before is destroyed and `done` is not called. */
export function peekClientHello(socket: net.Socket, done: (hello: PeekedHello) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  const finish = (sni: string | undefined): void => {
    clearTimeout(timer);
    socket.removeListener('data', onData);
    socket.removeListener('error', onError);
    socket.pause();
    done({ bytes: Buffer.concat(chunks, size), sni });
  };
  const onData = (c: Buffer): void => {
    chunks.push(c);
    size += c.length;
    const verdict = readClientHello(size === c.length ? c : Buffer.concat(chunks, size));
    if (verdict.kind === 'more' && size < MAX_HELLO_BYTES) return;
    finish(verdict.kind === 'hello' ? verdict.sni : undefined);
  };
  const onError = (): void => {
    clearTimeout(timer);
    socket.destroy();
  };
  const timer = setTimeout(() => finish(undefined), HELLO_WAIT_MS);
  socket.on('data', onData);
  socket.on('error', onError);
  socket.resume();
}
