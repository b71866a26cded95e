// inFlightReq (Traefik) and limit-connections (ingress-nginx): at most
// `amount` requests in progress per client key; more are answered 429 (or
// the spec's status: ingress-nginx answers 503). The slot is released in onDone, which the
// engine calls exactly once for every request whose onRequest ran.

import type { Middleware, RequestContext, SimpleResponse } from '../../../proxy/http/types.ts';
import type { InFlightReqSpec } from '../../model/middleware-spec.ts';
import { isExempt } from '../client-exempt.ts';
import { sourceKey } from '../client-source.ts';

export function inFlightReq(name: string, spec: InFlightReqSpec): Middleware {
  const counts = new Map<string, number>();
  /** Requests holding a slot, with their key (the context object is the request's identity until onDone). */
  const holding = new Map<RequestContext, string>();
  const status = spec.rejectStatus ?? 429;
  const reject: SimpleResponse = { status, body: status === 429 ? 'Too Many Requests\n' : 'Service Temporarily Unavailable\n' };
  return {
    name,
    onRequest(ctx: RequestContext): SimpleResponse | undefined {
      if (isExempt(spec.exempt, ctx)) return undefined;
      const key = sourceKey(spec.source, ctx);
      const n = counts.get(key) ?? 0;
      if (n >= spec.amount) return reject;
      counts.set(key, n + 1);
      holding.set(ctx, key);
      return undefined;
    },
    onDone(ctx: RequestContext): void {
      const key = holding.get(ctx);
      if (key === undefined) return;
      holding.delete(ctx);
      const n = (counts.get(key) ?? 1) - 1;
      if (n <= 0) counts.delete(key);
      else counts.set(key, n);
    },
  };
}
