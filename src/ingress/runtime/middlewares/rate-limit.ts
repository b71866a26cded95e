// rateLimit (Traefik: average per period, burst; 429) and ingress-nginx
// limit-rps (rps, burst = rps x multiplier; 503): a token bucket per client
// key. Buckets are kept in insertion order and the oldest dropped past a
// bound, so a flood of distinct clients cannot grow memory without limit.

import type { Middleware, RequestContext, SimpleResponse } from '../../../proxy/http/types.ts';
import type { RateLimitSpec } from '../../model/middleware-spec.ts';
import { isExempt } from '../client-exempt.ts';
import { sourceKey } from '../client-source.ts';

const MAX_BUCKETS = 65_536;

interface Bucket {
  tokens: number;
  at: number;
}

export interface RateLimiterClock {
  now(): number;
}

export function rateLimit(name: string, spec: RateLimitSpec, clock: RateLimiterClock = { now: () => performance.now() }): Middleware {
  const buckets = new Map<string, Bucket>();
  const perMs = spec.ratePerSecond / 1000;
  return {
    name,
    onRequest(ctx: RequestContext): SimpleResponse | undefined {
      if (isExempt(spec.exempt, ctx)) return undefined;
      const key = sourceKey(spec.source, ctx);
      const now = clock.now();
      let b = buckets.get(key);
      if (b === undefined) {
        if (buckets.size >= MAX_BUCKETS) buckets.delete(buckets.keys().next().value!);
        b = { tokens: spec.burst, at: now };
        buckets.set(key, b);
      } else {
        b.tokens = Math.min(spec.burst, b.tokens + (now - b.at) * perMs);
        b.at = now;
      }
      if (b.tokens >= 1) {
        b.tokens -= 1;
        return undefined;
      }
      const waitS = Math.max(1, Math.ceil((1 - b.tokens) / perMs / 1000));
      return { status: spec.rejectStatus, headers: [['retry-after', String(waitS)]], body: spec.rejectStatus === 429 ? 'Too Many Requests\n' : 'Service Temporarily Unavailable\n' };
    },
  };
}
