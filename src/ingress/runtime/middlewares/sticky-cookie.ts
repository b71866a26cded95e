// Session affinity by cookie (ingress-nginx affinity: cookie): the cookie
// names the endpoint (Backend.affinityKeyOf); a request carrying it is sent
// there while that endpoint is ready (Backend.pick falls back to balancing
// otherwise), and the cookie is (re)set whenever the request was not pinned
// to the endpoint that answered.

import type { Middleware, RequestContext, ResponseContext } from '../../../proxy/http/types.ts';
import type { StickyCookieSpec } from '../../model/middleware-spec.ts';
import { cookieValue, setCookie } from '../cookies.ts';

export function stickyCookie(name: string, spec: StickyCookieSpec): Middleware {
  const c = spec.cookie;
  return {
    name,
    onRequest(ctx: RequestContext): undefined {
      ctx.affinityKey = cookieValue(ctx.headerValues('cookie'), c.name);
      return undefined;
    },
    onResponse(ctx: RequestContext, res: ResponseContext): void {
      const ep = ctx.endpoint;
      const backend = ctx.backend;
      if (ep === undefined || backend === undefined) return;
      const key = backend.affinityKeyOf ? backend.affinityKeyOf(ep) : `${ep.ip}:${ep.port}`;
      if (key === ctx.affinityKey) return;
      res.addHeader('set-cookie', setCookie(c, key, ctx.tls, ctx.header('user-agent')));
    },
  };
}
