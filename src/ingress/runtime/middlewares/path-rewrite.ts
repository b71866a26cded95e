// Middlewares that change the request-target sent upstream:
// - stripPrefix (Traefik): removes the first matching prefix (plain string
//   prefix), keeps a leading "/", sets X-Forwarded-Prefix.
// - addPrefix: prepends a prefix.
// - replacePath: replaces the path (query kept), sets X-Replaced-Path.
// - stripPrefixRegex (Traefik): the first regex that matches at the start of
//   the path strips what it matched (a leading "/" kept), sets
//   X-Forwarded-Prefix.
// - replacePathRegex (Traefik): when the regex matches, every match in the
//   path is replaced (Go's ReplaceAllString: `$1`, `${name}`), the old path
//   goes in X-Replaced-Path.
// - rewriteTarget (ingress-nginx rewrite-target): `rewrite "(?i)<path>"
//   <target> break;` - when the path matches, the whole URI becomes the
//   target with $1.. expanded; the original query is appended (after the
//   target's own, with "&").

import type { Middleware, RequestContext } from '../../../proxy/http/types.ts';
import type { AddPrefixSpec, ReplacePathRegexSpec, ReplacePathSpec, RewriteTargetSpec, StripPrefixRegexSpec, StripPrefixSpec } from '../../model/middleware-spec.ts';
import { expandGoTemplate, joinTarget, splitTarget } from './target-parts.ts';

/** Drops `prefix` from the path (keeping a leading "/"), and says so in X-Forwarded-Prefix. */
function strip(ctx: RequestContext, path: string, query: string, prefix: string): void {
  let rest = path.slice(prefix.length);
  if (!rest.startsWith('/')) rest = `/${rest}`;
  ctx.upstreamTarget = joinTarget(rest, query);
  ctx.setHeader('X-Forwarded-Prefix', prefix);
}

export function stripPrefix(name: string, spec: StripPrefixSpec): Middleware {
  return {
    name,
    onRequest(ctx: RequestContext): undefined {
      const { path, query } = splitTarget(ctx.upstreamTarget);
      for (const prefix of spec.prefixes) {
        if (!path.startsWith(prefix)) continue;
        strip(ctx, path, query, prefix);
        return undefined;
      }
      return undefined;
    },
  };
}

export function stripPrefixRegex(name: string, spec: StripPrefixRegexSpec): Middleware {
  return {
    name,
    onRequest(ctx: RequestContext): undefined {
      const { path, query } = splitTarget(ctx.upstreamTarget);
      for (const re of spec.regexes) {
        const m = re.exec(path);
        if (m === null || m.index !== 0) continue;
        strip(ctx, path, query, m[0]);
        return undefined;
      }
      return undefined;
    },
  };
}

export function replacePathRegex(name: string, spec: ReplacePathRegexSpec): Middleware {
  return {
    name,
    onRequest(ctx: RequestContext): undefined {
      const { path, query } = splitTarget(ctx.upstreamTarget);
      let out = '';
      let last = 0;
      let matched = false;
      for (const m of spec.regex.matchAll(path)) {
        matched = true;
        const at = m.index ?? 0;
        out += path.slice(last, at) + expandGoTemplate(spec.replacement, m as RegExpExecArray);
        last = at + m[0].length;
      }
      if (!matched) return undefined;
      let replaced = out + path.slice(last);
      if (!replaced.startsWith('/')) replaced = `/${replaced}`;
      ctx.setHeader('X-Replaced-Path', path);
      ctx.upstreamTarget = joinTarget(replaced, query);
      return undefined;
    },
  };
}

export function addPrefix(name: string, spec: AddPrefixSpec): Middleware {
  return {
    name,
    onRequest(ctx: RequestContext): undefined {
      const { path, query } = splitTarget(ctx.upstreamTarget);
      const prefix = spec.prefix.endsWith('/') && path.startsWith('/') ? spec.prefix.slice(0, -1) : spec.prefix;
      ctx.upstreamTarget = joinTarget(`${prefix}${path}`, query);
      return undefined;
    },
  };
}

export function replacePath(name: string, spec: ReplacePathSpec): Middleware {
  return {
    name,
    onRequest(ctx: RequestContext): undefined {
      const { path, query } = splitTarget(ctx.upstreamTarget);
      ctx.setHeader('X-Replaced-Path', path);
      ctx.upstreamTarget = joinTarget(spec.path, query);
      return undefined;
    },
  };
}

export function rewriteTarget(name: string, spec: RewriteTargetSpec): Middleware {
  const re = spec.regex;
  return {
    name,
    onRequest(ctx: RequestContext): undefined {
      const { path, query } = splitTarget(ctx.upstreamTarget);
      const m = re.exec(path);
      if (m === null) return undefined;
      let uri = expandGoTemplate(spec.target, m);
      if (uri === '' || !uri.startsWith('/')) uri = `/${uri}`;
      if (query !== '') uri += uri.includes('?') ? `&${query}` : `?${query}`;
      ctx.upstreamTarget = uri;
      return undefined;
    },
  };
}
