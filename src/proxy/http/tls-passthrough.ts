// ssl-passthrough (ingress-nginx): a TLS connection whose ClientHello names
// a passthrough host goes, undecrypted, to an endpoint of that host's
// backend, which terminates TLS itself (its own certificate, its own client
// certificate checks); every other TLS connection is terminated here as
// usual. The ClientHello is read from the first bytes (hello-peek.ts) and
// handed on untouched: to the backend, or back to the socket for the TLS
// server, which reads what the socket already holds.

import type net from 'node:net';
import type { Logger } from 'pino';
import { peekClientHello } from './hello-peek.ts';
import type { TcpTarget } from './types.ts';
import { pipeToBackend } from './tcp-pipe.ts';

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
    peekClientHello(socket, ({ bytes, sni }) => {
      const backend = sni !== undefined ? this.#hosts.get(sni) : undefined;
      if (backend !== undefined) return this.#forward(socket, bytes, backend, sni!);
      if (bytes.length > 0) socket.unshift(bytes);
      terminate(socket, sni);
    });
  }

  #forward(client: net.Socket, hello: Buffer, target: TcpTarget, host: string): void {
    pipeToBackend(client, hello, target, this.#log.child({ host }), 'ssl-passthrough');
  }
}
