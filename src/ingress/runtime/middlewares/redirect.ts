// redirectScheme (Traefik; ingress-nginx ssl-redirect) and redirectRegex.
// Traefik: permanent -> 301 (308 when the method is not GET/HEAD, so the
// method and body are kept), otherwise 302 (307). ingress-nginx redirects
// to HTTPS with 308 whatever the method. A request already on the target
// scheme and port is passed through (Traefik does the same).

import type { Middleware, RequestContext, SimpleResponse } from '../../../proxy/http/types.ts';
import type { RedirectRegexSpec, RedirectSchemeSpec } from '../../model/middleware-spec.ts';
import { expandGoTemplate, hostOnly } from './target-parts.ts';

function status(permanent: boolean, method: string): number {
  const safe = method === 'GET' || method === 'HEAD';
  return permanent ? (safe ? 301 : 308) : safe ? 302 : 307;
}

function answer(code: number, location: string): SimpleResponse {
  return { status: code, headers: [['location', location]], body: `${code === 308 || code === 301 ? 'Moved Permanently' : 'Found'}: ${location}\n` };
}

export function redirectScheme(name: string, spec: RedirectSchemeSpec): Middleware {
  const defaultPort = spec.scheme === 'https' ? '443' : '80';
  const port = spec.port && spec.port !== defaultPort ? `:${spec.port}` : '';
  return {
    name,
    onRequest(ctx: RequestContext): SimpleResponse | undefined {
      const current = ctx.tls ? 'https' : 'http';
      if (current === spec.scheme && (spec.port === undefined || String(ctx.localPort) === spec.port)) return undefined;
      const location = `${spec.scheme}://${hostOnly(ctx.host)}${port}${ctx.upstreamTarget}`;
      return answer(spec.style === 'nginx' ? 308 : status(spec.permanent, ctx.method), location);
    },
  };
}

export function redirectRegex(name: string, spec: RedirectRegexSpec): Middleware {
  const re = spec.regex;
  return {
    name,
    onRequest(ctx: RequestContext): SimpleResponse | undefined {
      const url = `${ctx.tls ? 'https' : 'http'}://${ctx.host}${ctx.upstreamTarget}`;
      const m = re.exec(url);
      if (m === null) return undefined;
      // Go's ReplaceAllString: every non-overlapping match is replaced.
      let location = '';
      let last = 0;
      for (const g of re.matchAll(url)) {
        location += url.slice(last, g.index!) + expandGoTemplate(spec.replacement, g as RegExpExecArray);
        last = g.index! + g[0].length;
      }
      location += url.slice(last);
      if (location === url) return undefined;
      return answer(status(spec.permanent, ctx.method), location);
    },
  };
}
