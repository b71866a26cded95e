// ingress-nginx proxy-redirect-from / proxy-redirect-to (nginx's
// `proxy_redirect <from> <to>`): in the upstream's Location and Refresh
// fields, a value starting with `from` (case-sensitive) gets `to` in its
// place; nginx variables are filled in both. The route puts it last, so it
// sees the upstream's answers only, as nginx's proxy module does.

import type { Middleware, RequestContext, ResponseContext } from '../../../proxy/http/types.ts';
import type { ProxyRedirectSpec } from '../../model/middleware-spec.ts';
import { fillTemplate } from '../nginx-variables.ts';

/** Refresh: `<seconds>; url=<target>`, the url part rewritten (nginx looks for "url=" in any case). */
const REFRESH_URL = /url=/i;

export function proxyRedirect(name: string, spec: ProxyRedirectSpec): Middleware {
  return {
    name,
    onResponse(ctx: RequestContext, res: ResponseContext): void {
      const location = res.header('location');
      const refresh = res.header('refresh');
      if (location === undefined && refresh === undefined) return;
      const uri = { requestUri: ctx.upstreamTarget };
      const from = fillTemplate(spec.from, ctx, uri);
      const to = fillTemplate(spec.to, ctx, uri);
      if (location !== undefined && location.startsWith(from)) res.setHeader('location', to + location.slice(from.length));
      if (refresh !== undefined) {
        const m = REFRESH_URL.exec(refresh);
        if (m !== null) {
          const at = m.index + 4;
          if (refresh.startsWith(from, at)) res.setHeader('refresh', refresh.slice(0, at) + to + refresh.slice(at + from.length));
        }
      }
    },
  };
}
