// rateLimit (Traefik: average per period, burst; 429) and ingress-nginx
// limit-rps (rps, burst = rps x multiplier; 503): a token bucket per client
// key, in the node's shared tables (shared-limits.ts), so every proxy worker
// thread takes from the same bucket. `id` names this limit in the tables
// (its middleware identity), so two limits never share a client's bucket.

import type { Middleware, RequestContext, SimpleResponse } from '../../../proxy/http/types.ts';
import type { RateLimitSpec } from '../../model/middleware-spec.ts';
import { isExempt } from '../client-exempt.ts';
import { sourceKey } from '../client-source.ts';
import { allocateSharedLimits, sharedNow, SharedRateBuckets } from '../shared-limits.ts';

export interface RateLimiterClock {
  now(): number;
}

/** Where the buckets live: the node's shared tables and this limit's name in them. */
export interface RateLimitStore {
  readonly buckets: SharedRateBuckets;
  readonly id: string;
}

/** Buckets of this limit alone (a limit built outside a RuntimeFactory). */
function ownStore(name: string): RateLimitStore {
  return { buckets: new SharedRateBuckets(allocateSharedLimits(65_536, 1)), id: name };
}

export function rateLimit(name: string, spec: RateLimitSpec, clock: RateLimiterClock = { now: sharedNow }, store: RateLimitStore = ownStore(name)): Middleware {
  const perMs = spec.ratePerSecond / 1000;
  return {
    name,
    onRequest(ctx: RequestContext): SimpleResponse | undefined {
      if (isExempt(spec.exempt, ctx)) return undefined;
      const { ok, tokens } = store.buckets.take(store.id, sourceKey(spec.source, ctx), spec.burst, perMs, clock.now());
      if (ok) return undefined;
      const waitS = Math.max(1, Math.ceil((1 - tokens) / perMs / 1000));
      return { status: spec.rejectStatus, headers: [['retry-after', String(waitS)]], body: spec.rejectStatus === 429 ? 'Too Many Requests\n' : 'Service Temporarily Unavailable\n' };
    },
  };
}
