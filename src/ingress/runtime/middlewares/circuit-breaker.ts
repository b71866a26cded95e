// Traefik's circuitBreaker, as its documentation describes it:
// - Standby: requests go through; every checkPeriod the expression is
//   evaluated over the last 10 seconds (breaker-window.ts); true trips it.
// - Tripped: for fallbackDuration every request is answered with
//   responseCode (503 by default), none reaches the backend.
// - Recovering: for recoveryDuration a growing share of requests (from 0 to
//   all, linearly) goes through, the rest get the fallback; the expression
//   true again trips it; at the end, Standby.
// Entering Tripped clears the statistics, so recovery is judged on new
// requests only. The clock is injectable for tests; no timers are kept.

import type { Middleware, RequestContext, RequestOutcome, SimpleResponse } from '../../../proxy/http/types.ts';
import type { CircuitBreakerSpec } from '../../model/middleware-spec.ts';
import { compileBreakerExpression } from '../../match/breaker-expression.ts';
import { BreakerWindow } from '../breaker-window.ts';

type State = { kind: 'standby' } | { kind: 'tripped'; until: number } | { kind: 'recovering'; since: number };

export function circuitBreaker(name: string, spec: CircuitBreakerSpec, now: () => number = () => performance.now(), random: () => number = Math.random): Middleware {
  const compiled = compileBreakerExpression(spec.expression);
  // Validated at translation; a failure here would be a bug: never trip then.
  const predicate = compiled.ok ? compiled.predicate : () => false;
  const window = new BreakerWindow(now());
  let state: State = { kind: 'standby' };
  let lastCheck = -Infinity;
  const fallback: SimpleResponse = { status: spec.responseCode, body: `${spec.responseCode === 503 ? 'Service Unavailable' : 'Circuit breaker open'}\n` };
  const through = new WeakSet<RequestContext>();
  const trip = (t: number): void => {
    state = { kind: 'tripped', until: t + spec.fallbackDurationMs };
    window.reset();
  };
  return {
    name,
    onRequest(ctx: RequestContext): SimpleResponse | undefined {
      const t = now();
      if (state.kind === 'tripped') {
        if (t < state.until) return fallback;
        state = { kind: 'recovering', since: t };
      }
      if (t - lastCheck >= spec.checkPeriodMs) {
        lastCheck = t;
        if (predicate(window.at(t))) {
          trip(t);
          return fallback;
        }
      }
      if (state.kind === 'recovering') {
        const share = (t - state.since) / spec.recoveryDurationMs;
        if (share >= 1) state = { kind: 'standby' };
        else if (random() >= share) return fallback;
      }
      through.add(ctx);
      return undefined;
    },
    onDone(ctx: RequestContext, outcome: RequestOutcome): void {
      if (!through.delete(ctx)) return;
      window.record(now(), outcome.status, outcome.durationMs, outcome.error !== undefined && outcome.status >= 500);
    },
  };
}
