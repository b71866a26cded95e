// MiddlewareSpec (data) -> live Middleware of the L7 engine. Stateful
// middlewares (rate limit buckets, in-flight counters) are kept across
// table rebuilds while their route, name and configuration stay the same.

import type { Backend, Middleware } from '../../proxy/http/types.ts';
import type { MiddlewareSpec, NamedMiddleware } from '../model/middleware-spec.ts';
import type { LeafNode } from '../model/service-node.ts';
import { errorPages, fallbackBackend } from './middlewares/error-pages.ts';
import { basicAuth } from './middlewares/basic-auth.ts';
import { compress } from './middlewares/compress.ts';
import { contentType } from './middlewares/content-type.ts';
import { circuitBreaker } from './middlewares/circuit-breaker.ts';
import { balanceKey } from './middlewares/balance-key.ts';
import { clientCert } from './middlewares/client-cert.ts';
import { passTlsClientCert } from './middlewares/pass-tls-client-cert.ts';
import { digestAuth } from './middlewares/digest-auth.ts';
import { externalAuth } from './middlewares/external-auth.ts';
import { forwardAuth } from './middlewares/forward-auth.ts';
import { nginxCors } from './middlewares/nginx-cors.ts';
import { returnRedirect } from './middlewares/return-redirect.ts';
import { headers } from './middlewares/headers.ts';
import { responseFields } from './middlewares/response-fields.ts';
import { grpcWeb } from './middlewares/grpc-web.ts';
import { satisfyAny } from './middlewares/satisfy-any.ts';
import { limitRate } from './middlewares/limit-rate.ts';
import { proxyRedirect } from './middlewares/proxy-redirect.ts';
import { mirrorUrl } from './middlewares/mirror-url.ts';
import { proxyCookie } from './middlewares/proxy-cookie.ts';
import { globalRateLimit } from './middlewares/global-rate-limit.ts';
import { inFlightReq } from './middlewares/in-flight.ts';
import { ipAllowList } from './middlewares/ip-allow-list.ts';
import { addPrefix, replacePath, replacePathRegex, rewriteTarget, stripPrefix, stripPrefixRegex } from './middlewares/path-rewrite.ts';
import { upstreamFields } from './middlewares/upstream-fields.ts';
import { rateLimit } from './middlewares/rate-limit.ts';
import { redirectRegex, redirectScheme } from './middlewares/redirect.ts';
import { stickyCookie } from './middlewares/sticky-cookie.ts';
import { GoRegexp } from '../match/go-regexp.ts';
import { allocateSharedLimits, sharedLimitsOf, type SharedLimits } from './shared-limits.ts';

/** `backendOf` materializes the Services a middleware sends requests to (error pages, default backend). */
/** The node's shared limit tables and the identity a stateful middleware counts under in them. */
export interface LimitScope {
  readonly limits: SharedLimits;
  readonly id: string;
}

export function createMiddleware(m: NamedMiddleware, backendOf?: (leaf: LeafNode) => Backend, scope?: LimitScope): Middleware | undefined {
  const s: MiddlewareSpec = m.spec;
  switch (s.type) {
    case 'errorPages':
      return backendOf ? errorPages(m.name, s, backendOf(s.service)) : undefined;
    case 'fallbackBackend':
      return backendOf ? fallbackBackend(m.name, s, backendOf(s.service)) : undefined;
    case 'redirectScheme':
      return redirectScheme(m.name, s);
    case 'redirectRegex':
      return redirectRegex(m.name, s);
    case 'stripPrefix':
      return stripPrefix(m.name, s);
    case 'addPrefix':
      return addPrefix(m.name, s);
    case 'replacePath':
      return replacePath(m.name, s);
    case 'rewriteTarget':
      return rewriteTarget(m.name, s);
    case 'headers':
      return headers(m.name, s);
    case 'responseFields':
      return responseFields(m.name, s);
    case 'grpcWeb':
      return grpcWeb(m.name, s);
    case 'proxyCookie':
      return proxyCookie(m.name, s);
    case 'proxyRedirect':
      return proxyRedirect(m.name, s);
    case 'limitRate':
      return limitRate(m.name, s);
    case 'mirrorUrl':
      return mirrorUrl(m.name, s);
    case 'satisfyAny':
      return satisfyAny(
        m.name,
        s,
        s.auths.map((spec, i) => createMiddleware({ name: `${m.name}/${spec.type}-${i}`, spec }, backendOf)!),
      );
    case 'ipAllowList':
      return ipAllowList(m.name, s);
    case 'rateLimit':
      return scope ? rateLimit(m.name, s, undefined, { buckets: scope.limits.rate, id: scope.id }) : rateLimit(m.name, s);
    case 'globalRateLimit':
      return scope ? globalRateLimit(m.name, s, { windows: scope.limits.windows, id: scope.id }) : globalRateLimit(m.name, s);
    case 'inFlightReq':
      return scope ? inFlightReq(m.name, s, { counts: scope.limits.inFlight, id: scope.id }) : inFlightReq(m.name, s);
    case 'basicAuth':
      return basicAuth(m.name, s);
    case 'clientCert':
      return clientCert(m.name, s);
    case 'passTlsClientCert':
      return passTlsClientCert(m.name, s);
    case 'circuitBreaker':
      return circuitBreaker(m.name, s);
    case 'digestAuth':
      return digestAuth(m.name, s);
    case 'externalAuth':
      return externalAuth(m.name, s);
    case 'forwardAuth':
      return forwardAuth(m.name, s);
    case 'stripPrefixRegex':
      return stripPrefixRegex(m.name, s);
    case 'replacePathRegex':
      return replacePathRegex(m.name, s);
    case 'upstreamFields':
      return upstreamFields(m.name, s);
    case 'balanceKey':
      return balanceKey(m.name, s);
    case 'nginxCors':
      return nginxCors(m.name, s);
    case 'returnRedirect':
      return returnRedirect(m.name, s);
    case 'compress':
      return compress(m.name, s);
    case 'retry':
      return { name: m.name, retry: { attempts: s.attempts, initialIntervalMs: s.initialIntervalMs, ...(s.when ? { when: s.when } : {}), ...(s.budgetMs ? { budgetMs: s.budgetMs } : {}) } };
    case 'stickyCookie':
      return stickyCookie(m.name, s);
    case 'bodyLimit':
      return undefined; // carried by the Backend's limits
    case 'contentType':
      return contentType(m.name);
    case 'buffering':
      return { name: m.name, bodyLimits: { requestBytes: s.requestBytes, responseBytes: s.responseBytes } };
  }
}

/** A stable text for a spec (regexps and typed arrays included), to recognise an unchanged middleware. */
function specFingerprint(spec: MiddlewareSpec): string {
  return JSON.stringify(spec, (_k, v: unknown) => {
    if (v instanceof GoRegexp) return `re2:${v.source}`;
    if (ArrayBuffer.isView(v)) return Array.from(v as Uint32Array);
    return v;
  });
}

const STATEFUL = new Set<MiddlewareSpec['type']>(['rateLimit', 'globalRateLimit', 'inFlightReq', 'circuitBreaker']);

/**
 * Builds middlewares, reusing stateful instances with the same identity
 * (a route re-materialized because its canary weight moved keeps its rate
 * limiter). Identities of changed configurations linger until the bound,
 * then the registry starts over (state loss, never wrong limits).
 */
export class MiddlewareRegistry {
  readonly #instances = new Map<string, Middleware>();
  readonly #max: number;
  readonly #limits: SharedLimits;

  /** `limits`: the tables the rate and in-flight limits count in (shared by the node's workers). */
  constructor(limits: SharedLimits = sharedLimitsOf(allocateSharedLimits()), max = 10_000) {
    this.#limits = limits;
    this.#max = max;
  }

  get(routeName: string, m: NamedMiddleware, backendOf?: (leaf: LeafNode) => Backend): Middleware | undefined {
    if (!STATEFUL.has(m.spec.type)) return createMiddleware(m, backendOf);
    // ingress-nginx limits are per Ingress (one zone); Traefik's per router.
    const scope = m.name.startsWith('ingress:') ? '' : routeName;
    const key = `${scope}\u0000${m.name}\u0000${specFingerprint(m.spec)}`;
    let mw = this.#instances.get(key);
    if (mw === undefined) {
      if (this.#instances.size >= this.#max) this.#instances.clear();
      // The identity is the same in every worker: they count in the same slots.
      mw = createMiddleware(m, undefined, { limits: this.#limits, id: key })!;
      this.#instances.set(key, mw);
    }
    return mw;
  }
}
