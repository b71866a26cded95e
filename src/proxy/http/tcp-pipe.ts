// One TCP connection handed to a backend endpoint byte for byte: the
// ssl-passthrough connection (with the ClientHello already read), or the
// plaintext of a TLS connection terminated for an IngressRouteTCP. Either
// side closing or failing ends both.

import net from 'node:net';
import type { Logger } from 'pino';
import type { TcpTarget } from './types.ts';

/** What a pipe needs of its target: a name for logs, an endpoint per client, an optional admission. */
export interface TcpPipeTarget {
  readonly backend: { readonly name: string; pick(clientIp: string): { readonly ip: string; readonly port: number } | undefined };
  readonly guard?: TcpTarget['guard'];
}

const CONNECT_TIMEOUT_MS = 5_000;

/** Opens the connection to an endpoint (default: net.connect with TCP_NODELAY). */
export type TcpDial = (endpoint: { readonly ip: string; readonly port: number }) => net.Socket;

const dialDirect: TcpDial = (e) => net.connect({ host: e.ip, port: e.port, noDelay: true });

export function pipeToBackend(client: net.Socket, first: Buffer | undefined, target: TcpPipeTarget, log: Logger, what: string, dial: TcpDial = dialDirect): void {
  const { backend, guard } = target;
  const release = guard === undefined ? () => {} : guard.admit(client.remoteAddress);
  if (release === undefined) {
    log.debug({ backend: backend.name, client: client.remoteAddress }, `${what}: refused by the route's ipAllowList or inFlightConn`);
    client.destroy();
    return;
  }
  const endpoint = backend.pick(client.remoteAddress ?? '');
  if (endpoint === undefined) {
    log.warn({ backend: backend.name }, `${what}: no ready endpoint; connection closed`);
    release();
    client.destroy();
    return;
  }
  const up = dial(endpoint);
  const connectTimer = setTimeout(() => up.destroy(new Error('connect timeout')), CONNECT_TIMEOUT_MS);
  const end = (): void => {
    release();
    clearTimeout(connectTimer);
    client.destroy();
    up.destroy();
  };
  up.once('connect', () => {
    clearTimeout(connectTimer);
    if (first !== undefined && first.length > 0) up.write(first);
    client.pipe(up);
    up.pipe(client);
    client.resume();
  });
  up.on('error', (err) => {
    log.debug({ backend: backend.name, endpoint: `${endpoint.ip}:${endpoint.port}`, err: err.message }, `${what}: backend connection failed`);
    end();
  });
  client.on('error', end);
  up.on('close', end);
  client.on('close', end);
}
