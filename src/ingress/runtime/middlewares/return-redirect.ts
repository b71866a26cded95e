// nginx's `return <code> <url>` as ingress-nginx writes it for
// permanent-redirect, temporal-redirect and app-root: the request is answered
// here with that status and Location (nginx variables filled), the backend
// never sees it. app-root applies only to the path `/`.

import type { Middleware, RequestContext, SimpleResponse } from '../../../proxy/http/types.ts';
import type { ReturnRedirectSpec } from '../../model/middleware-spec.ts';
import { fillTemplate } from '../nginx-variables.ts';

export function returnRedirect(name: string, spec: ReturnRedirectSpec): Middleware {
  return {
    name,
    onRequest(ctx: RequestContext): SimpleResponse | undefined {
      if (spec.onlyPath !== undefined && ctx.path !== spec.onlyPath) return undefined;
      const location = fillTemplate(spec.location, ctx, { requestUri: ctx.upstreamTarget });
      return { status: spec.status, headers: [['location', location]], body: '' };
    },
  };
}
