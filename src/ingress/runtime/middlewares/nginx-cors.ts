// CORS as ingress-nginx's template writes it (its "CORS" block): when the
// request's Origin matches (or every origin is allowed), the answer carries
// Access-Control-Allow-Origin (the Origin itself, or `*`), -Allow-Credentials
// (when enabled), -Allow-Methods, -Allow-Headers, -Expose-Headers (when set)
// and -Max-Age, replacing what the backend sent; an OPTIONS request that
// matches is answered 204 here with the same fields, before any access check
// (nginx's rewrite phase runs before allow/deny and auth). No match: no
// field, and OPTIONS goes to the backend.

import type { Middleware, RequestContext, ResponseContext, SimpleResponse } from '../../../proxy/http/types.ts';
import type { NginxCorsSpec } from '../../model/middleware-spec.ts';

export function nginxCors(name: string, spec: NginxCorsSpec): Middleware {
  const patterns = spec.origins?.map((source) => new RegExp(`(${source})$`, 'i'));
  const fields = (origin: string): Array<[string, string]> => {
    const out: Array<[string, string]> = [['access-control-allow-origin', origin]];
    if (spec.allowCredentials) out.push(['access-control-allow-credentials', 'true']);
    out.push(['access-control-allow-methods', spec.allowMethods], ['access-control-allow-headers', spec.allowHeaders]);
    if (spec.exposeHeaders !== undefined) out.push(['access-control-expose-headers', spec.exposeHeaders]);
    out.push(['access-control-max-age', String(spec.maxAge)]);
    return out;
  };
  const allowed = new WeakMap<RequestContext, string>();
  return {
    name,
    onRequest(ctx: RequestContext): SimpleResponse | undefined {
      let origin: string | undefined;
      if (patterns === undefined) origin = '*';
      else {
        const sent = ctx.header('origin');
        if (sent !== undefined && patterns.some((p) => p.test(sent))) origin = sent;
      }
      if (origin === undefined) return undefined;
      if (ctx.method === 'OPTIONS') return { status: 204, headers: [...fields(origin), ['content-type', 'text/plain charset=UTF-8']], body: '' };
      allowed.set(ctx, origin);
      return undefined;
    },
    onResponse(ctx: RequestContext, res: ResponseContext): void {
      const origin = allowed.get(ctx);
      if (origin === undefined) return;
      for (const [field, value] of fields(origin)) res.setHeader(field, value);
    },
    onDone(ctx: RequestContext): void {
      allowed.delete(ctx);
    },
  };
}
