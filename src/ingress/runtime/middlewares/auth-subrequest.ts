// The request an auth middleware sends to its auth service (ingress-nginx's
// auth-url, Traefik's forwardAuth): one HTTP(S) request without a body,
// bounded in time, over kept-alive connections; the answer's status, fields
// and (when asked for) a bounded body. Any failure rejects: the callers
// answer 500, never let the request through.

import http from 'node:http';
import https from 'node:https';

const httpAgent = new http.Agent({ keepAlive: true, maxSockets: 256 });
const httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 256 });

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
  /** Keep the body, up to this many bytes (more rejects). */
  readBody?: number;
}

export function askAuthService(url: URL, r: AuthRequest): Promise<AuthAnswer> {
  return new Promise((resolve, reject) => {
    const secure = url.protocol === 'https:';
    const req = (secure ? https : http).request(url, { method: r.method, headers: r.headers, agent: secure ? httpsAgent : httpAgent, ...(secure ? { servername: url.hostname } : {}) });
    const timer = setTimeout(() => req.destroy(new Error(`auth service timed out after ${r.timeoutMs} ms`)), r.timeoutMs);
    req.once('socket', (socket) => {
      if (!socket.connecting) return;
      const connectTimer = setTimeout(() => req.destroy(new Error(`auth service connect timed out after ${r.connectTimeoutMs} ms`)), r.connectTimeoutMs);
      socket.once('connect', () => clearTimeout(connectTimer));
      socket.once('close', () => clearTimeout(connectTimer));
    });
    req.once('response', (res) => {
      const head = { status: res.statusCode ?? 500, headers: res.headers, rawHeaders: res.rawHeaders };
      if (r.readBody === undefined) {
        clearTimeout(timer);
        // Not used; read so the connection can be reused.
        res.resume();
        resolve(head);
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > r.readBody!) req.destroy(new Error(`auth service answer larger than ${r.readBody} bytes`));
        else chunks.push(c);
      });
      res.once('end', () => {
        clearTimeout(timer);
        resolve({ ...head, body: Buffer.concat(chunks) });
      });
      res.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
    req.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    req.end();
  });
}
