// ingress-nginx's custom-headers: the ConfigMap's fields set on every answer
// of the route (nginx's more_set_headers: replace the field or add it), with
// nginx variables filled from the request. The route puts it first, so the
// answers its other middlewares make (a CORS preflight, a redirect, a 401)
// carry the fields too; the proxy's own error answers (502, 504) do not.

import type { Middleware, RequestContext, ResponseContext } from '../../../proxy/http/types.ts';
import type { ResponseFieldsSpec } from '../../model/middleware-spec.ts';
import { fillTemplate } from '../nginx-variables.ts';

export function responseFields(name: string, spec: ResponseFieldsSpec): Middleware {
  /** Values without variables are joined once. */
  const fixed = spec.fields.map(([field, parts]) => [field, parts.every((p) => 'text' in p) ? parts.map((p) => ('text' in p ? p.text : '')).join('') : undefined] as const);
  if (fixed.every(([, v]) => v !== undefined)) {
    return {
      name,
      onResponse(_ctx: RequestContext, res: ResponseContext): void {
        for (const [field, value] of fixed) res.setHeader(field, value!);
      },
    };
  }
  /** The request URI as received ($request_uri), taken before any rewrite: this middleware runs first. */
  const received = new WeakMap<RequestContext, string>();
  return {
    name,
    onRequest(ctx: RequestContext): undefined {
      received.set(ctx, ctx.upstreamTarget);
      return undefined;
    },
    onResponse(ctx: RequestContext, res: ResponseContext): void {
      const uri = { requestUri: received.get(ctx) ?? ctx.upstreamTarget };
      for (let i = 0; i < fixed.length; i++) {
        const [field, value] = fixed[i]!;
        res.setHeader(field, value ?? fillTemplate(spec.fields[i]![1], ctx, uri));
      }
    },
    onDone(ctx: RequestContext): void {
      received.delete(ctx);
    },
  };
}
