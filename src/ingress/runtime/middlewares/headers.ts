// headers (Traefik): custom request/response header fields (an empty value
// removes the field), security response fields (STS only over TLS), CORS
// (a preflight from an allowed origin is answered here with 200; simple
// requests get Access-Control-Allow-Origin added) and allowedHosts (other
// hosts: 400).

import type { Middleware, RequestContext, ResponseContext, SimpleResponse } from '../../../proxy/http/types.ts';
import type { HeadersSpec } from '../../model/middleware-spec.ts';
import { hostOnly } from './target-parts.ts';

export function headers(name: string, spec: HeadersSpec): Middleware {
  const cors = spec.cors;
  const anyOrigin = cors?.allowOrigins.includes('*') ?? false;
  const allowed = (origin: string | undefined): boolean => origin !== undefined && cors !== undefined && (anyOrigin || cors.allowOrigins.includes(origin));
  const allowedHosts = new Set(spec.allowedHosts);
  const mw: Middleware = {
    name,
    onRequest(ctx: RequestContext): SimpleResponse | undefined {
      if (allowedHosts.size > 0 && !allowedHosts.has(hostOnly(ctx.host).toLowerCase())) return { status: 400, body: 'Bad Host\n' };
      if (cors && ctx.method === 'OPTIONS') {
        const origin = ctx.header('origin');
        const requested = ctx.header('access-control-request-method');
        if (requested !== undefined && allowed(origin)) {
          const h: [string, string][] = [['access-control-allow-origin', anyOrigin && !cors.allowCredentials ? '*' : origin!]];
          if (cors.allowCredentials) h.push(['access-control-allow-credentials', 'true']);
          if (cors.allowMethods.length > 0) h.push(['access-control-allow-methods', cors.allowMethods.join(',')]);
          if (cors.allowHeaders.length > 0) h.push(['access-control-allow-headers', cors.allowHeaders.join(',')]);
          if (cors.maxAge !== undefined) h.push(['access-control-max-age', String(cors.maxAge)]);
          if (cors.addVaryHeader) h.push(['vary', 'Origin']);
          return { status: 200, headers: h };
        }
      }
      for (const [k, v] of spec.request) {
        if (v === '') ctx.removeHeader(k);
        else ctx.setHeader(k, v);
      }
      return undefined;
    },
    onResponse(ctx: RequestContext, res: ResponseContext): void {
      for (const [k, v] of spec.securityResponse) {
        if (k === 'Strict-Transport-Security' && !ctx.tls) continue;
        res.setHeader(k, v);
      }
      if (cors) {
        const origin = ctx.header('origin');
        if (allowed(origin)) {
          res.setHeader('access-control-allow-origin', anyOrigin && !cors.allowCredentials ? '*' : origin!);
          if (cors.allowCredentials) res.setHeader('access-control-allow-credentials', 'true');
          if (cors.exposeHeaders.length > 0) res.setHeader('access-control-expose-headers', cors.exposeHeaders.join(','));
          if (cors.addVaryHeader) res.addHeader('vary', 'Origin');
        }
      }
      for (const [k, v] of spec.response) {
        if (v === '') res.removeHeader(k);
        else res.setHeader(k, v);
      }
    },
  };
  return mw;
}
