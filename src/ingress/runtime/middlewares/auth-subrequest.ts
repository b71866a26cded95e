// The request an auth middleware sends to its auth service (ingress-nginx's
// auth-url, Traefik's forwardAuth): one HTTP(S) request (with a body only
// for Traefik's forwardBody), bounded in time, over kept-alive connections; the answer's status, fields
// and (when asked for) a bounded body. Any failure rejects: the callers
// answer 500, never let the request through.
//
// undici's client, not node:http's: with auth-url on every request the
// subrequest is most of the proxy's work, and undici's took the benchmark
// chain from 0.37-0.45x nginx's rate to 0.50-0.61x (docs/dependencies.md).
// No AbortSignal per request: undici's own timeouts bound it.
//
// undici is loaded at the first auth request, not with the proxy: a proxy
// worker without auth routes then starts 4-5 MiB smaller (RSS after
// importing dist/proxy/workers/proxy-worker.js: 77-78 MiB eager, 73 lazy).

import { createHash } from 'node:crypto';
import type http from 'node:http';
import type { Agent } from 'undici';
import type { AuthTls } from '../../model/middleware-spec.ts';

let undici: Promise<typeof import('undici')> | undefined;
const agents = new Map<string, Agent>();
/** Pools kept for TLS settings (each forwardAuth with its own CA or certificate has one); past this the oldest is closed. */
const MAX_AGENTS = 64;

/** One pool per connect timeout (a handful of values: the specs' constants) and TLS setting. */
function agentFor(AgentClass: typeof Agent, connectTimeoutMs: number, tls: AuthTls | undefined): Agent {
  const key = tls === undefined ? String(connectTimeoutMs) : `${connectTimeoutMs} ${createHash('sha256').update(JSON.stringify(tls)).digest('hex')}`;
  let a = agents.get(key);
  if (a === undefined) {
    const connect = {
      timeout: connectTimeoutMs,
      ...(tls?.ca !== undefined ? { ca: tls.ca } : {}),
      ...(tls?.cert !== undefined ? { cert: tls.cert, key: tls.key } : {}),
      ...(tls?.insecureSkipVerify ? { rejectUnauthorized: false } : {}),
    };
    a = new AgentClass({ keepAliveTimeout: 30_000, connections: 256, pipelining: 1, connect });
    if (agents.size >= MAX_AGENTS) {
      const [oldest, agent] = agents.entries().next().value!;
      agents.delete(oldest);
      void agent.close();
    }
    agents.set(key, a);
  }
  return a;
}

export interface AuthAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** Field lines as received (name, value, name, value...). */
  rawHeaders: string[];
  /** Only with readBody. */
  body?: Buffer;
}

export interface AuthRequest {
  method: string;
  headers: http.OutgoingHttpHeaders;
  connectTimeoutMs: number;
  /** Until the whole answer (with readBody) or its head has arrived. */
  timeoutMs: number;
  /** Keep the body, up to this many bytes (more rejects with AuthAnswerTooLarge). */
  readBody?: number;
  /** The request's body (sent with its Content-Length). */
  body?: Buffer;
  /** TLS settings for an https URL (default: verified against the system roots). */
  tls?: AuthTls;
}

/** The answer's body was larger than AuthRequest.readBody. */
export class AuthAnswerTooLarge extends Error {}

export async function askAuthService(url: URL, r: AuthRequest): Promise<AuthAnswer> {
  const headers: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(r.headers)) if (v !== undefined) headers[k] = typeof v === 'number' ? String(v) : v;
  const { Agent: AgentClass } = await (undici ??= import('undici'));
  const res = await agentFor(AgentClass, r.connectTimeoutMs, r.tls).request({
    origin: url.origin,
    path: `${url.pathname}${url.search}`,
    method: r.method as 'GET',
    headers,
    ...(r.body !== undefined ? { body: r.body } : {}),
    // From the request sent until the answer's head, then between body chunks.
    headersTimeout: r.timeoutMs,
    bodyTimeout: r.timeoutMs,
  });
  const raw: string[] = [];
  const out: http.IncomingHttpHeaders = {};
  for (const [name, value] of Object.entries(res.headers)) {
    if (value === undefined) continue;
    const lower = name.toLowerCase();
    for (const v of Array.isArray(value) ? value : [value]) raw.push(name, v);
    if (lower === 'set-cookie') out['set-cookie'] = Array.isArray(value) ? value : [value];
    else out[lower] = Array.isArray(value) ? value.join(', ') : value;
  }
  if (r.readBody === undefined) {
    // Not used; read so the connection can be reused.
    await res.body.dump();
    return { status: res.statusCode, headers: out, rawHeaders: raw };
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of res.body) {
    size += (c as Buffer).length;
    if (size > r.readBody) {
      res.body.destroy();
      throw new AuthAnswerTooLarge(`auth service answer larger than ${r.readBody} bytes`);
    }
    chunks.push(c as Buffer);
  }
  return { status: res.statusCode, headers: out, rawHeaders: raw, body: Buffer.concat(chunks) };
}
