// The Kubernetes API over HTTPS: JSON requests and watch streams, nothing
// more. A thin adapter: it knows paths, verbs, content types and status
// codes, not resources (callers write the REST path, as kubectl --raw does).
//
// Why not @kubernetes/client-node: importing it loads every generated model
// and API class at once and takes a process from 41 to 130 MiB before it
// holds a single object; the product needs a dozen verbs on eight resource
// types (docs/dependencies.md).
import type { Agent, ClientRequest, OutgoingHttpHeaders, RequestOptions as HttpRequestOptions } from 'node:http';
import { fs, http } from '../../common/builtins.ts';
import https from 'node:https';
import { createSecureContext, type SecureContext } from 'node:tls';
import type { ClusterAccess } from './kubeconfig.ts';

/** An answer of the API server with an error status. `body` is its Status object when it sent one. */
export class ApiError extends Error {
  readonly code: number;
  readonly body: unknown;
  constructor(code: number, body: unknown, method: string, path: string) {
    const reason = body && typeof body === 'object' && typeof (body as { message?: unknown }).message === 'string' ? (body as { message: string }).message : '';
    super(`${method} ${path}: HTTP ${code}${reason ? `: ${reason}` : ''}`);
    this.code = code;
    this.body = body;
  }
}

export type Query = Record<string, string | number | boolean | undefined>;

export interface RequestOptions {
  readonly query?: Query;
  readonly body?: unknown;
  /** Default application/json; merge patches send application/merge-patch+json. */
  readonly contentType?: string;
  /** Abort after this long (default REQUEST_TIMEOUT_MS). */
  readonly timeoutMs?: number;
}

export interface KubeList<T> {
  readonly metadata?: { resourceVersion?: string; continue?: string };
  readonly items: T[];
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export interface WatchHandle {
  abort(): void;
}

/** A call that the API server does not answer within this long fails (a half-open connection must not stall a caller for minutes). */
const REQUEST_TIMEOUT_MS = 60_000;
/** A list of a whole resource type can be large (every Secret of a big cluster): it gets longer. */
const LIST_TIMEOUT_MS = 300_000;
/** A token file is read again after this long: the kubelet rotates bound ServiceAccount tokens well before they expire (client-go rereads every minute). */
const TOKEN_REREAD_MS = 60_000;
const MERGE_PATCH = 'application/merge-patch+json';
/**
 * A watch that brings no byte for this long is taken for a dead connection
 * and ended (the informer resumes it from its last resourceVersion). The API
 * server sends a bookmark at least once a minute on a watch that asks for
 * them, so a live watch is never this quiet; a connection that died without
 * a reset (an API server's address moved, a NAT forgot the flow) is, and TCP
 * keepalive would take some 11 minutes to notice. client-go pings its HTTP/2
 * connections for the same reason.
 */
const WATCH_IDLE_MS = 150_000;

export interface KubeClientOptions {
  /** See WATCH_IDLE_MS. */
  readonly watchIdleMs?: number;
  /** At most this many requests, and connections, at once; more requests wait for one to end (default: no limit). Not for watches. */
  readonly maxConnections?: number;
  /** The TLS context of the client this one is made from (queued()): the CA and client certificate parsed once. */
  readonly secureContext?: SecureContext;
}

/**
 * The connections of queued(): Events are written in bursts (a node taking
 * 1,000 IPs writes an Event per Service), and with no limit each Event of a
 * burst opened a TLS connection of its own, about a tenth of the takeover's
 * CPU in its profile, hundreds of which were then kept open idle.
 */
const QUEUED_CONNECTIONS = 4;

/**
 * Kept-alive connections kept idle per client (Node's default: 256). An
 * idle TLS connection holds its OpenSSL buffers and state, about 100 KiB
 * of C heap: a burst of 1,000 writes once left the speaker 100 of them and
 * 12 MiB. A burst now leaves at most 4; the requests that come steadily
 * (Lease renewals, probes) find one warm.
 */
const IDLE_CONNECTIONS = 4;

/** An answer's body: parsed JSON, its text when it is not JSON, undefined when empty. */
function bodyOf(chunks: Buffer[]): unknown {
  const text = Buffer.concat(chunks).toString('utf8');
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export class KubeClient {
  readonly server: string;
  readonly #access: ClusterAccess;
  readonly #url: URL;
  readonly #agent: Agent;
  readonly #https: boolean;
  #token: { value: string; readAt: number; mtimeMs: number } | undefined;
  readonly #watchIdleMs: number;
  readonly #secureContext: SecureContext | undefined;
  #queued: KubeClient | undefined;
  /** maxConnections: requests running, and those waiting for one of them to end. */
  readonly #limit: number | undefined;
  #running = 0;
  readonly #waiting: Array<() => void> = [];

  constructor(access: ClusterAccess, o: KubeClientOptions = {}) {
    this.#access = access;
    this.#watchIdleMs = o.watchIdleMs ?? WATCH_IDLE_MS;
    this.server = access.server;
    this.#url = new URL(access.server);
    this.#https = this.#url.protocol === 'https:';
    // One TLS context for every connection: given the CA and certificate
    // instead, Node parses them again for each new connection.
    this.#secureContext = this.#https
      ? (o.secureContext ??
        createSecureContext({ ...(access.ca ? { ca: access.ca } : {}), ...(access.cert ? { cert: access.cert } : {}), ...(access.key ? { key: access.key } : {}) }))
      : undefined;
    this.#limit = o.maxConnections;
    const limit = { maxFreeSockets: IDLE_CONNECTIONS, ...(o.maxConnections !== undefined ? { maxSockets: o.maxConnections } : {}) };
    // One pool of kept-alive connections: a GET on a warm connection took 1.1 ms, with a new TLS handshake 7 ms.
    this.#agent = this.#https
      ? new https.Agent({
          keepAlive: true,
          ...limit,
          secureContext: this.#secureContext,
          rejectUnauthorized: access.insecureSkipTlsVerify !== true,
          ...(access.tlsServerName ? { servername: access.tlsServerName } : {}),
        })
      : new http.Agent({ keepAlive: true, ...limit });
  }

  /**
   * A client on the same server that runs at most 4 requests at once, on
   * as many connections, the others waiting their turn: for writes that may
   * wait (Events), so that a burst of them neither opens a connection per
   * request nor holds up what may not wait (Lease renewals), which keeps
   * this client's pool. Not for watches.
   */
  queued(): KubeClient {
    this.#queued ??= new KubeClient(this.#access, { watchIdleMs: this.#watchIdleMs, maxConnections: QUEUED_CONNECTIONS, ...(this.#secureContext ? { secureContext: this.#secureContext } : {}) });
    return this.#queued;
  }

  get<T>(path: string, query?: Query, timeoutMs?: number): Promise<T> {
    return this.request<T>('GET', path, { ...(query ? { query } : {}), ...(timeoutMs ? { timeoutMs } : {}) });
  }

  list<T>(path: string, query?: Query): Promise<KubeList<T>> {
    return this.request<KubeList<T>>('GET', path, { ...(query ? { query } : {}), timeoutMs: LIST_TIMEOUT_MS });
  }

  create<T>(path: string, body: unknown, timeoutMs?: number): Promise<T> {
    return this.request<T>('POST', path, { body, ...(timeoutMs ? { timeoutMs } : {}) });
  }

  replace<T>(path: string, body: unknown, timeoutMs?: number): Promise<T> {
    return this.request<T>('PUT', path, { body, ...(timeoutMs ? { timeoutMs } : {}) });
  }

  mergePatch<T>(path: string, body: unknown, timeoutMs?: number): Promise<T> {
    return this.request<T>('PATCH', path, { body, contentType: MERGE_PATCH, ...(timeoutMs ? { timeoutMs } : {}) });
  }

  delete<T = unknown>(path: string, timeoutMs?: number): Promise<T> {
    return this.request<T>('DELETE', path, timeoutMs ? { timeoutMs } : {});
  }

  /** One request; resolves with the parsed answer, rejects with ApiError (a status) or the transport's error. */
  async request<T>(method: string, path: string, o: RequestOptions = {}): Promise<T> {
    if (this.#limit === undefined) return this.#requestNow<T>(method, path, o);
    // A request waits for a slot before it is made: queued in the agent
    // instead, 1,000 Events held 1,000 requests with their heads and bodies
    // (the controller 5 MiB larger once they had gone).
    if (this.#running < this.#limit) this.#running++;
    else await new Promise<void>((slot) => this.#waiting.push(slot));
    try {
      return await this.#requestNow<T>(method, path, o);
    } finally {
      // The slot goes to the next waiting request, if any.
      const next = this.#waiting.shift();
      if (next) next();
      else this.#running--;
    }
  }

  #requestNow<T>(method: string, path: string, o: RequestOptions): Promise<T> {
    const payload = o.body === undefined ? undefined : Buffer.from(JSON.stringify(o.body));
    return new Promise<T>((resolve, reject) => {
      const req = this.#send(method, path, o.query, payload, o.contentType);
      const timer = setTimeout(() => req.destroy(new Error(`${method} ${path}: no answer within ${o.timeoutMs ?? REQUEST_TIMEOUT_MS} ms`)), o.timeoutMs ?? REQUEST_TIMEOUT_MS);
      req.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      req.once('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.once('error', (err) => {
          clearTimeout(timer);
          reject(err);
        });
        res.once('end', () => {
          clearTimeout(timer);
          const body = bodyOf(chunks);
          const code = res.statusCode ?? 0;
          if (code >= 200 && code < 300) resolve(body as T);
          else reject(new ApiError(code, body, method, path));
        });
      });
      req.end(payload);
    });
  }

  /**
   * A watch stream: one callback per event, in order, then `done` once (null
   * when the server ended the stream, as it does after timeoutSeconds, or
   * when it brought nothing for watchIdleMs). An HTTP error status (410 Gone
   * when the resourceVersion is too old) comes to `done` as an ApiError.
   */
  watch(path: string, query: Query, onEvent: (type: WatchEventType, object: unknown) => void, done: (err: unknown) => void): WatchHandle {
    let finished = false;
    const finish = (err: unknown) => {
      if (finished) return;
      finished = true;
      clearTimeout(idle);
      done(err);
    };
    const req = this.#send('GET', path, { ...query, watch: true }, undefined, undefined);
    // Reset by every byte; see WATCH_IDLE_MS.
    const idle = setTimeout(() => {
      req.destroy();
      finish(null);
    }, this.#watchIdleMs);
    const alive = () => idle.refresh();
    req.once('error', (err) => finish(err));
    req.once('response', (res) => {
      const code = res.statusCode ?? 0;
      if (code < 200 || code >= 300) {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.once('end', () => finish(new ApiError(code, bodyOf(chunks), 'WATCH', path)));
        res.once('error', (err) => finish(err));
        return;
      }
      res.socket?.setKeepAlive(true, 15_000);
      let rest = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        alive();
        rest += chunk;
        let nl: number;
        while ((nl = rest.indexOf('\n')) >= 0) {
          const line = rest.slice(0, nl);
          rest = rest.slice(nl + 1);
          if (line.trim() === '' || finished) continue;
          let ev: { type?: WatchEventType; object?: unknown };
          try {
            ev = JSON.parse(line) as typeof ev;
          } catch (err) {
            req.destroy();
            finish(new Error(`${path}: watch event is not JSON: ${(err as Error).message}`));
            return;
          }
          if (ev.type) onEvent(ev.type, ev.object);
        }
      });
      res.once('end', () => finish(null));
      res.once('error', (err) => finish(err));
      res.once('aborted', () => finish(new Error(`${path}: watch stream aborted`)));
    });
    req.end();
    return {
      abort: () => {
        if (finished) return;
        finished = true;
        clearTimeout(idle);
        req.destroy();
      },
    };
  }

  #send(method: string, path: string, query: Query | undefined, payload: Buffer | undefined, contentType: string | undefined): ClientRequest {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) qs.set(k, String(v));
    const q = qs.toString();
    const headers: OutgoingHttpHeaders = { accept: 'application/json' };
    if (payload !== undefined) {
      headers['content-type'] = contentType ?? 'application/json';
      headers['content-length'] = payload.length;
    }
    const auth = this.#authorization();
    if (auth) headers.authorization = auth;
    const options: HttpRequestOptions = {
      method,
      host: this.#url.hostname.replace(/^\[|\]$/g, ''),
      port: this.#url.port || (this.#https ? 443 : 80),
      path: `${this.#url.pathname.replace(/\/$/, '')}${path}${q ? `?${q}` : ''}`,
      headers,
      agent: this.#agent,
    };
    return (this.#https ? https : http).request(options);
  }

  #authorization(): string | undefined {
    const a = this.#access;
    if (a.tokenFile) {
      const now = Date.now();
      if (this.#token === undefined || now - this.#token.readAt > TOKEN_REREAD_MS) {
        try {
          const mtimeMs = fs.statSync(a.tokenFile).mtimeMs;
          const value = this.#token && this.#token.mtimeMs === mtimeMs ? this.#token.value : fs.readFileSync(a.tokenFile, 'utf8').trim();
          this.#token = { value, readAt: now, mtimeMs };
        } catch {
          // keep the last token read; the request's 401 will say the rest
        }
      }
      if (this.#token) return `Bearer ${this.#token.value}`;
    }
    if (a.token) return `Bearer ${a.token}`;
    if (a.username !== undefined && a.password !== undefined) return `Basic ${Buffer.from(`${a.username}:${a.password}`).toString('base64')}`;
    return undefined;
  }

  /** Ends the kept-alive connections, the queued client's too (open watches are the callers' to abort). */
  close(): void {
    this.#agent.destroy();
    this.#queued?.close();
  }
}
