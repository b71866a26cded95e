// ingress-nginx's canary decision for one request (its Lua balancer's
// route_to_alternative_balancer; the annotations are documented under
// "Canary" in user-guide/nginx-configuration/annotations), in this order:
// 1. canary-by-header: with canary-by-header-value, equal -> canary; with
//    canary-by-header-pattern, a match -> canary; otherwise "always" ->
//    canary, "never" -> main. Any other value falls through.
// 2. canary-by-cookie: "always" -> canary, "never" -> main; other values
//    fall through.
// 3. weight: canary when a uniform draw in 1..weightTotal is <= weight.

import type { CanaryPolicy } from '../model/service-node.ts';
import { cookieValue } from './cookies.ts';

export type HeaderRecord = Readonly<Record<string, string | readonly string[] | undefined>>;

function first(v: string | readonly string[] | undefined): string | undefined {
  return typeof v === 'string' ? v : v?.[0];
}

/** True when the request goes to the canary. `random` returns [0, 1). */
export function chooseCanary(policy: CanaryPolicy, headers: HeaderRecord, random: () => number = Math.random): boolean {
  if (policy.header !== undefined) {
    const value = first(headers[policy.header]);
    if (value !== undefined) {
      if (policy.headerValue !== undefined) {
        if (value === policy.headerValue) return true;
      } else if (policy.headerPattern !== undefined) {
        if (policy.headerPattern.test(value)) return true;
      } else if (value === 'always') {
        return true;
      } else if (value === 'never') {
        return false;
      }
    }
  }
  if (policy.cookie !== undefined) {
    const value = cookieValue(headers.cookie, policy.cookie);
    if (value === 'always') return true;
    if (value === 'never') return false;
  }
  if (policy.weight <= 0) return false;
  return Math.floor(random() * policy.weightTotal) + 1 <= policy.weight;
}
