// ingress-nginx's upstream-vhost (`proxy_set_header Host <value>`) and
// x-forwarded-prefix (`proxy_set_header X-Forwarded-Prefix <value>`): fields
// of the request sent upstream, set whatever the client sent.

import type { Middleware, RequestContext } from '../../../proxy/http/types.ts';
import type { UpstreamFieldsSpec } from '../../model/middleware-spec.ts';

export function upstreamFields(name: string, spec: UpstreamFieldsSpec): Middleware {
  return {
    name,
    onRequest(ctx: RequestContext): undefined {
      if (spec.host !== undefined) ctx.upstreamHost = spec.host;
      if (spec.forwardedPrefix !== undefined) ctx.setHeader('X-Forwarded-Prefix', spec.forwardedPrefix);
      return undefined;
    },
  };
}
