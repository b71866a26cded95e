// inFlightReq (Traefik) and limit-connections (ingress-nginx): at most
// `amount` requests in progress per client key; more are answered 429 (or
// the spec's status: ingress-nginx answers 503). The counts live in the
// node's shared tables (shared-limits.ts), so the proxy worker threads count
// together. The place is released in onDone, which the engine calls exactly
// once for every request whose onRequest ran.

import type { Middleware, RequestContext, SimpleResponse } from '../../../proxy/http/types.ts';
import type { InFlightReqSpec } from '../../model/middleware-spec.ts';
import { isExempt } from '../client-exempt.ts';
import { sourceKey } from '../client-source.ts';
import { allocateSharedLimits, SharedInFlightCounts } from '../shared-limits.ts';

/** Where the counts live: the node's shared tables and this limit's name in them. */
export interface InFlightStore {
  readonly counts: SharedInFlightCounts;
  readonly id: string;
}

export function inFlightReq(name: string, spec: InFlightReqSpec, store: InFlightStore = { counts: new SharedInFlightCounts(allocateSharedLimits(1, 65_536)), id: name }): Middleware {
  /** Requests holding a place, with the place's handle (the context object is the request's identity until onDone). */
  const holding = new Map<RequestContext, number>();
  const status = spec.rejectStatus ?? 429;
  const reject: SimpleResponse = { status, body: status === 429 ? 'Too Many Requests\n' : 'Service Temporarily Unavailable\n' };
  return {
    name,
    onRequest(ctx: RequestContext): SimpleResponse | undefined {
      if (isExempt(spec.exempt, ctx)) return undefined;
      const key = sourceKey(spec.source, ctx);
      const handle = store.counts.acquire(store.id, key, spec.amount);
      if (handle === -1) return reject;
      holding.set(ctx, handle);
      return undefined;
    },
    onDone(ctx: RequestContext): void {
      const handle = holding.get(ctx);
      if (handle === undefined) return;
      holding.delete(ctx);
      store.counts.release(handle);
    },
  };
}
