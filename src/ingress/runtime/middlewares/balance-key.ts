// ingress-nginx's upstream-hash-by: the request's key for consistent
// hashing over the backend's endpoints (ConfiguredBackend.pick), filled
// from nginx variables before any rewrite ($request_uri as received).

import type { Middleware, RequestContext } from '../../../proxy/http/types.ts';
import type { BalanceKeySpec } from '../../model/middleware-spec.ts';
import { fillTemplate } from '../nginx-variables.ts';

export function balanceKey(name: string, spec: BalanceKeySpec): Middleware {
  return {
    name,
    onRequest(ctx: RequestContext): undefined {
      ctx.balanceKey = fillTemplate(spec.parts, ctx, { requestUri: ctx.upstreamTarget });
      return undefined;
    },
  };
}
