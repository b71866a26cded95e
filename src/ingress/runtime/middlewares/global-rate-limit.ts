// ingress-nginx global-rate-limit: a sliding-window limit per key (nginx
// variables, $remote_addr by default), counted in the node's shared tables
// (shared-limits.ts SharedWindowCounts) under the Ingress's identity, so
// every path of the Ingress and every proxy worker thread count together.
//
// Why the node's tables stand in for ingress-nginx's memcached: ingress-nginx
// runs several controller replicas behind one address and needs a store they
// all reach; in L2 mode one node serves the entrypoint's IP at a time, so the
// count on that node is the count for the whole address. It starts over when
// the IP moves to another node, and a dual-stack entrypoint whose two IPs
// land on two nodes counts each family on its own node.

import type { Middleware, RequestContext, SimpleResponse } from '../../../proxy/http/types.ts';
import type { GlobalRateLimitSpec } from '../../model/middleware-spec.ts';
import { isExempt } from '../client-exempt.ts';
import { fillTemplate } from '../nginx-variables.ts';
import { allocateSharedLimits, SharedWindowCounts } from '../shared-limits.ts';

/** Where the counts live: the node's shared tables and this limit's name in them. */
export interface WindowStore {
  readonly windows: SharedWindowCounts;
  readonly id: string;
}

export function globalRateLimit(name: string, spec: GlobalRateLimitSpec, store: WindowStore = { windows: new SharedWindowCounts(allocateSharedLimits(65_536, 1)), id: name }, now: () => number = Date.now): Middleware {
  return {
    name,
    onRequest(ctx: RequestContext): SimpleResponse | undefined {
      if (isExempt(spec.exempt, ctx)) return undefined;
      const key = fillTemplate(spec.key, ctx, { requestUri: ctx.upstreamTarget }) || ctx.clientIp;
      const { ok } = store.windows.hit(store.id, key, spec.limit, spec.windowMs, now());
      if (ok) return undefined;
      return { status: spec.rejectStatus, body: spec.rejectStatus === 429 ? 'Too Many Requests\n' : 'Service Temporarily Unavailable\n' };
    },
  };
}
