// ssl-passthrough (ingress-nginx): a TLS connection whose ClientHello names
// a passthrough host goes, undecrypted, to an endpoint of that host's
// backend, which terminates TLS itself (its own certificate, its own client
// certificate checks); every other TLS connection is terminated here as
// usual. The ClientHello is read from the first bytes (client-hello.ts) and
// handed on untouched: to the backend, or back to the socket for the TLS
// server, which reads what the socket already holds.

import type net from 'node:net';
import type { Logger } from 'pino';
import { MAX_HELLO_BYTES, readClientHello } from './client-hello.ts';
import type { TcpTarget } from './types.ts';
import { pipeToBackend } from './tcp-pipe.ts';

/** A client that sends no complete ClientHello in this time is terminated as usual (the TLS handshake timeout then applies). */
const HELLO_WAIT_MS = 5_000;

export class TlsPassthrough {
  #hosts: ReadonlyMap<string, TcpTarget> = new Map();
  readonly #log: Logger;

  constructor(log: Logger) {
    this.#log = log;
  }

  /** Replaces the passthrough hosts (lowercase SNI -> backend). */
  set(hosts: ReadonlyMap<string, TcpTarget>): void {
    this.#hosts = hosts;
  }

  get active(): boolean {
    return this.#hosts.size > 0;
  }

  /**
   * Reads the ClientHello of `socket`; passes the connection through when it
   * names a passthrough host, else gives it back (bytes unread) to
   * `terminate`, with the server name it asked for.
   */
  route(socket: net.Socket, terminate: (socket: net.Socket, sni: string | undefined) => void): void {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (): Buffer => {
      clearTimeout(timer);
      socket.removeListener('data', onData);
      socket.removeListener('error', onError);
      socket.pause();
      return Buffer.concat(chunks, size);
    };
    let sni: string | undefined;
    const giveBack = (): void => {
      const buf = done();
      if (buf.length > 0) socket.unshift(buf);
      terminate(socket, sni);
    };
    const onData = (c: Buffer): void => {
      chunks.push(c);
      size += c.length;
      const verdict = readClientHello(size === c.length ? c : Buffer.concat(chunks, size));
      if (verdict.kind === 'more' && size < MAX_HELLO_BYTES) return;
      if (verdict.kind === 'hello') sni = verdict.sni;
      const backend = sni !== undefined ? this.#hosts.get(sni) : undefined;
      if (backend === undefined) return giveBack();
      this.#forward(socket, done(), backend, verdict.kind === 'hello' ? verdict.sni! : '');
    };
    const onError = (): void => {
      clearTimeout(timer);
      socket.destroy();
    };
    const timer = setTimeout(giveBack, HELLO_WAIT_MS);
    socket.on('data', onData);
    socket.on('error', onError);
  }

  #forward(client: net.Socket, hello: Buffer, target: TcpTarget, host: string): void {
    pipeToBackend(client, hello, target, this.#log.child({ host }), 'ssl-passthrough');
  }
}
