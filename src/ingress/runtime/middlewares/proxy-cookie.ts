// ingress-nginx proxy-cookie-domain and proxy-cookie-path (nginx's
// proxy_cookie_domain and proxy_cookie_path, one `<from> <to>` pair each):
// in each Set-Cookie of the upstream's answer, a domain attribute equal to
// `from` (case-insensitively, leading dots ignored) becomes `to` (keeping
// the attribute's own leading dot), and a
// path attribute starting with `from` (case-sensitively) gets `to` in
// place of that prefix. nginx variables are filled in both. Last on the
// route, so it sees the upstream's answers only.

import type { Middleware, RequestContext, ResponseContext } from '../../../proxy/http/types.ts';
import type { ProxyCookieSpec } from '../../model/middleware-spec.ts';
import { fillTemplate } from '../nginx-variables.ts';

const ATTRIBUTE = /;\s*(domain|path)=([^;]*)/gi;

const undot = (d: string): string => (d.startsWith('.') ? d.slice(1) : d);

export function proxyCookie(name: string, spec: ProxyCookieSpec): Middleware {
  return {
    name,
    onResponse(ctx: RequestContext, res: ResponseContext): void {
      const cookies = res.headerValues('set-cookie');
      if (cookies.length === 0) return;
      const uri = { requestUri: ctx.upstreamTarget };
      const domain = spec.domain && { from: undot(fillTemplate(spec.domain.from, ctx, uri)).toLowerCase(), to: fillTemplate(spec.domain.to, ctx, uri) };
      const path = spec.path && { from: fillTemplate(spec.path.from, ctx, uri), to: fillTemplate(spec.path.to, ctx, uri) };
      let changed = false;
      const out = cookies.map((cookie) =>
        cookie.replace(ATTRIBUTE, (whole, attr: string, value: string) => {
          const v = value.trim();
          const prefix = whole.slice(0, whole.length - value.length);
          if (attr.toLowerCase() === 'domain' && domain && undot(v).toLowerCase() === domain.from) {
            changed = true;
            // The attribute keeps its own leading dot, the replacement's is dropped (as nginx writes it).
            return `${prefix}${v.startsWith('.') ? '.' : ''}${undot(domain.to)}`;
          }
          if (attr.toLowerCase() === 'path' && path && v.startsWith(path.from)) {
            changed = true;
            return `${prefix}${path.to}${v.slice(path.from.length)}`;
          }
          return whole;
        }),
      );
      if (!changed) return;
      res.removeHeader('set-cookie');
      for (const c of out) res.addHeader('set-cookie', c);
    },
  };
}
