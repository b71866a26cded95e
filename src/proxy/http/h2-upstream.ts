// HTTP/2 to backends (gRPC: ingress-nginx backend-protocol GRPC/GRPCS,
// Traefik scheme h2c): one client session per endpoint, shared by every
// stream to it, kept while it lives and closed after idleMs without a
// stream. node:http2 does the framing and flow control; this only keeps
// the sessions. Not the HTTP/1.1 pool (upstream.ts): no socket reuse
// rules, no per-request connection.

import type { ClientHttp2Session } from 'node:http2';
import { http2 } from '../../common/builtins.ts';
import type { Backend, Endpoint } from './types.ts';
import { upstreamTlsKey, upstreamTlsOptions } from './upstream-tls.ts';

export class H2UpstreamSessions {
  readonly #sessions = new Map<string, ClientHttp2Session>();
  readonly #idleMs: number;
  #closed = false;

  constructor(idleMs: number) {
    this.#idleMs = idleMs;
  }

  /** The live session to the endpoint, or a new one (connecting: streams opened now wait for it). */
  session(ep: Endpoint, backend: Backend): ClientHttp2Session {
    if (this.#closed) throw new Error('the entrypoint is closed');
    const secure = backend.protocol === 'h2';
    const t = backend.tls;
    const key = `${secure ? 'h2' : 'h2c'} ${ep.ip} ${ep.port} ${secure ? upstreamTlsKey(t) : ''}`;
    const known = this.#sessions.get(key);
    if (known !== undefined && !known.closed && !known.destroyed) return known;
    const host = ep.ip.includes(':') ? `[${ep.ip}]` : ep.ip;
    const session = http2().connect(
      `${secure ? 'https' : 'http'}://${host}:${ep.port}`,
      secure ? upstreamTlsOptions(t, ['h2']) : {},
    );
    // Errors reach the streams; the session only has to leave the map.
    session.on('error', () => {});
    const forget = (): void => {
      if (this.#sessions.get(key) === session) this.#sessions.delete(key);
    };
    session.once('close', forget);
    session.once('goaway', forget);
    // 'timeout' fires after idleMs without activity on the session.
    session.setTimeout(this.#idleMs, () => {
      forget();
      session.close();
    });
    this.#sessions.set(key, session);
    return session;
  }

  get size(): number {
    return this.#sessions.size;
  }

  close(): void {
    this.#closed = true;
    for (const s of this.#sessions.values()) s.close();
    this.#sessions.clear();
  }
}

/** A session still connecting after `ms` (the caller's connect timeout) is ended: its streams fail with "connect timeout". */
export function boundConnect(session: ClientHttp2Session, ms: number): void {
  if (!session.connecting) return;
  const timer = setTimeout(() => {
    if (session.connecting) session.destroy(new Error('connect timeout'));
  }, ms);
  session.once('connect', () => clearTimeout(timer));
  session.once('close', () => clearTimeout(timer));
}
