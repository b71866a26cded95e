// ingress-nginx mirror-target: a copy of each request that reaches the
// backend goes to a URL, and its answer is dropped (the engine's mirror,
// src/proxy/http/mirror.ts). The copy's request-target and Host follow what
// nginx's generated `mirror` location sends, checked against nginx:
// - a URL with variables: its path and query as they expand, as is
//   (`https://m.example.com/$request_uri` sends `//a/b?x=1`, as nginx does);
// - without: its path (`/` when none), then "?" and the request's
//   arguments, even after a query of its own (`/copy?a=1?x=1`, as nginx);
// - Host: mirror-host, else the URL's host and port;
// - the body when mirror-request-body is on (the default). Off, the copy
//   has no body and no Content-Length (nginx keeps the field and stalls the
//   mirror waiting for a body that never comes).
// Computed when the request passes here (before any rewrite: $request_uri
// is the request as received), used when the engine starts the copy.

import type { Middleware, RequestContext } from '../../../proxy/http/types.ts';
import type { MirrorUrlSpec } from '../../model/middleware-spec.ts';
import { fillTemplate } from '../nginx-variables.ts';
import { urlBackend } from '../url-backend.ts';

/** A request line and Host field take visible ASCII only; anything else skips the copy. */
const VISIBLE = /^[\x21-\x7e]+$/;

export function mirrorUrl(name: string, spec: MirrorUrlSpec): Middleware {
  const backend = urlBackend(new URL(spec.origin));
  /** Per request (an HTTP/1 connection reuses its context: each request sets it again). */
  const copies = new WeakMap<RequestContext, { target: string; host: string } | null>();
  return {
    name,
    onRequest(ctx: RequestContext): undefined {
      const uri = { requestUri: ctx.upstreamTarget };
      let target = fillTemplate(spec.path, ctx, uri);
      if (!spec.pathHasVariables) {
        if (target === '' || target.startsWith('?')) target = `/${target}`;
        // nginx adds "?" and the arguments even to a target that has a query already (checked).
        if (ctx.query !== '') target += `?${ctx.query}`;
      } else if (target === '') target = '/';
      const host = fillTemplate(spec.host, ctx, uri);
      copies.set(ctx, VISIBLE.test(target) && VISIBLE.test(host) ? { target, host } : null);
      return undefined;
    },
    mirror: [{ backend, percent: 100, body: spec.body, retarget: (ctx) => copies.get(ctx) ?? null }],
  };
}
