// Traefik mirroring: a copy of each request (percent of them) goes to each
// mirror; its answer is read and dropped, and never delays or changes the
// client's. Done here with node:http because the L7 engine does not act on
// Middleware.mirror yet. Like Traefik with mirrorBody false, only requests
// without a body are copied (a body would have to be buffered twice); a
// bounded number of copies are in flight at once, the rest are skipped.

import http from 'node:http';
import https from 'node:https';
import type { Backend, Middleware, RequestContext } from '../../../proxy/http/types.ts';

const COPIED_HEADERS = ['user-agent', 'accept', 'accept-language', 'authorization', 'cookie', 'content-type', 'x-request-id', 'traceparent'];
const MAX_IN_FLIGHT = 256;
const TIMEOUT_MS = 10_000;

export interface MirrorTarget {
  readonly backend: Backend;
  readonly percent: number;
}

export function mirrorRequests(name: string, targets: readonly MirrorTarget[], random: () => number = Math.random): Middleware {
  let inFlight = 0;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const tlsAgent = new https.Agent({ keepAlive: true, maxSockets: 64, rejectUnauthorized: false });
  return {
    name,
    onRequest(ctx: RequestContext): undefined {
      if (ctx.header('content-length') !== undefined && ctx.header('content-length') !== '0') return undefined;
      if (ctx.header('transfer-encoding') !== undefined) return undefined;
      for (const t of targets) {
        if (inFlight >= MAX_IN_FLIGHT || random() * 100 >= t.percent) continue;
        const ep = t.backend.pick(ctx.clientIp);
        if (ep === undefined) continue;
        const headers: Record<string, string> = { host: ctx.upstreamHost, 'x-forwarded-for': ctx.clientIp };
        for (const h of COPIED_HEADERS) {
          const v = ctx.header(h);
          if (v !== undefined) headers[h] = v;
        }
        const secure = t.backend.protocol === 'https';
        inFlight++;
        let released = false;
        const release = (): void => {
          if (released) return;
          released = true;
          inFlight--;
        };
        let answered = false;
        const req = (secure ? https : http).request(
          { host: ep.ip, port: ep.port, method: ctx.method, path: ctx.upstreamTarget, headers, agent: secure ? tlsAgent : agent, timeout: TIMEOUT_MS },
          (res) => {
            answered = true;
            res.resume();
            res.on('close', release);
          },
        );
        req.on('timeout', () => req.destroy());
        req.on('error', release);
        req.on('close', () => {
          if (!answered) release();
        });
        req.end();
      }
      return undefined;
    },
  };
}
