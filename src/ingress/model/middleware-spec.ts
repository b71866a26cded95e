// Middlewares as data: what the translators produce from Traefik Middleware
// objects and ingress-nginx annotations. runtime/middlewares/*.ts turn each
// into a live Middleware of the L7 engine (src/proxy/http/types.ts).

import type { IpNetwork } from '../match/ip-match.ts';
import type { LeafNode, SourceCriterion, StickyCookie } from './service-node.ts';
import type { GoRegexp } from '../match/go-regexp.ts';

export interface RedirectSchemeSpec {
  readonly type: 'redirectScheme';
  readonly scheme: 'http' | 'https';
  /** Port in the Location; undefined = the scheme's default. */
  readonly port?: string;
  readonly permanent: boolean;
  /** Status codes: ingress-nginx's ssl-redirect uses 308; Traefik 301/302 (308/307 for non-GET in v3). */
  readonly style: 'traefik' | 'nginx';
}

export interface RedirectRegexSpec {
  readonly type: 'redirectRegex';
  readonly regex: GoRegexp;
  /** Go-style replacement with $1 / ${name}. */
  readonly replacement: string;
  readonly permanent: boolean;
}

export interface StripPrefixSpec {
  readonly type: 'stripPrefix';
  readonly prefixes: readonly string[];
  readonly forceSlash: boolean;
}

/** Traefik stripPrefixRegex: the first regex matching at the start of the path strips what it matched. */
export interface StripPrefixRegexSpec {
  readonly type: 'stripPrefixRegex';
  readonly regexes: readonly GoRegexp[];
}

/** Traefik replacePathRegex: every match in the path replaced (Go's ReplaceAllString, `$1`/`${name}`). */
export interface ReplacePathRegexSpec {
  readonly type: 'replacePathRegex';
  readonly regex: GoRegexp;
  readonly replacement: string;
}

/** ingress-nginx upstream-vhost and x-forwarded-prefix: the upstream request's Host, and an X-Forwarded-Prefix field. */
export interface UpstreamFieldsSpec {
  readonly type: 'upstreamFields';
  readonly host?: string;
  readonly forwardedPrefix?: string;
}

export interface AddPrefixSpec {
  readonly type: 'addPrefix';
  readonly prefix: string;
}

export interface ReplacePathSpec {
  readonly type: 'replacePath';
  readonly path: string;
}

/** ingress-nginx rewrite-target: `rewrite "(?i)<path>" <target> break;`. */
export interface RewriteTargetSpec {
  readonly type: 'rewriteTarget';
  readonly regex: GoRegexp;
  readonly target: string;
}

export interface HeadersSpec {
  readonly type: 'headers';
  /** Empty value = remove the field. */
  readonly request: readonly (readonly [string, string])[];
  readonly response: readonly (readonly [string, string])[];
  /** Security and CORS response fields, precomputed. */
  readonly securityResponse: readonly (readonly [string, string])[];
  readonly cors?: {
    readonly allowOrigins: readonly string[];
    readonly allowMethods: readonly string[];
    readonly allowHeaders: readonly string[];
    readonly exposeHeaders: readonly string[];
    readonly allowCredentials: boolean;
    readonly maxAge?: number;
    readonly addVaryHeader: boolean;
  };
  /** allowedHosts: other hosts get 400 (Traefik's secure middleware). */
  readonly allowedHosts: readonly string[];
}

/**
 * ingress-nginx's custom-headers (nginx's more_set_headers): fields set on
 * every answer of the route, the upstream's and those middlewares make,
 * replacing a field of the same name; values may hold nginx variables.
 */
export interface ResponseFieldsSpec {
  readonly type: 'responseFields';
  readonly fields: readonly (readonly [string, readonly TemplatePart[]])[];
}

/**
 * ingress-nginx `satisfy: any` (nginx's `satisfy any`): the access phase
 * passes when its allow/deny lines allow the client (deny lines first, then
 * allow lines, then `deny all` when there are allow lines) or when one of
 * the auths accepts the request; else 401 if an auth said 401, else 403.
 */
export interface SatisfyAnySpec {
  readonly type: 'satisfyAny';
  readonly deny: readonly IpNetwork[];
  /** Undefined: no allow lines (a client the deny lines miss is not allowed by them either). */
  readonly allow?: readonly IpNetwork[];
  readonly auths: readonly (BasicAuthSpec | DigestAuthSpec | ExternalAuthSpec)[];
}

export interface IpAllowListSpec {
  readonly type: 'ipAllowList';
  readonly ranges: readonly IpNetwork[];
  readonly source: SourceCriterion;
  /** 403 by default. */
  readonly rejectStatus: number;
  /** The ranges are a deny-list (ingress-nginx denylist-source-range): those inside are rejected. */
  readonly deny?: boolean;
}

export interface RateLimitSpec {
  readonly type: 'rateLimit';
  /** Tokens per second. */
  readonly ratePerSecond: number;
  /** Bucket size. */
  readonly burst: number;
  readonly source: SourceCriterion;
  /** Traefik 429, ingress-nginx limit-req-status-code default 503. */
  readonly rejectStatus: number;
  /** Clients never limited (ingress-nginx limit-whitelist). */
  readonly exempt?: readonly IpNetwork[];
}

/**
 * ingress-nginx global-rate-limit: at most `limit` requests per key in a
 * sliding window of `windowMs` (the previous fixed window's count weighed
 * by how much of it the sliding window still covers, as
 * lua-resty-global-throttle estimates it); refused requests are not counted.
 */
export interface GlobalRateLimitSpec {
  readonly type: 'globalRateLimit';
  readonly limit: number;
  readonly windowMs: number;
  /** global-rate-limit-key: nginx variables; an empty value counts under the client address. */
  readonly key: readonly TemplatePart[];
  /** global-rate-limit-ignored-cidrs: clients never counted. */
  readonly exempt?: readonly IpNetwork[];
  /** ingress-nginx's global-rate-limit-status-code default. */
  readonly rejectStatus: number;
}

export interface InFlightReqSpec {
  readonly type: 'inFlightReq';
  readonly amount: number;
  readonly source: SourceCriterion;
  /** Traefik 429 (the default), ingress-nginx limit-conn-status-code default 503. */
  readonly rejectStatus?: number;
  /** Clients never limited (ingress-nginx limit-whitelist). */
  readonly exempt?: readonly IpNetwork[];
}

export interface BasicAuthUser {
  readonly name: string;
  /** htpasswd hash (`{SHA}`, `$apr1$`, `$1$`, bcrypt) or plain text. */
  readonly hash: string;
}

export interface BasicAuthSpec {
  readonly type: 'basicAuth';
  readonly users: readonly BasicAuthUser[];
  readonly realm: string;
  readonly removeHeader: boolean;
  /** Forward the authenticated user name in this request header. */
  readonly headerField?: string;
}

/** A piece of an nginx-style value template: text, or a variable (`$host`, `$http_x_foo`). */
export type TemplatePart = { readonly text: string } | { readonly variable: string };

/**
 * ingress-nginx's external auth (auth-url and its family): a GET subrequest
 * per request to an auth service; 2xx lets the request through, 401 and 403
 * are answered to the client (401 as a redirect to the sign-in URL when one
 * is set), anything else, a timeout or an error answers 500.
 */
export interface ExternalAuthSpec {
  readonly type: 'externalAuth';
  /** The auth service's URL, with nginx variables. */
  readonly url: readonly TemplatePart[];
  /** auth-method; undefined: GET (an nginx subrequest's method). */
  readonly method?: string;
  /** auth-signin, with nginx variables: 401 becomes a 302 there. */
  readonly signin?: readonly TemplatePart[];
  /** The query parameter carrying the original URL on the sign-in redirect (auth-signin-redirect-param, default rd). */
  readonly signinRedirectParam: string;
  /** auth-response-headers: copied from the auth response into the upstream request (removed when the auth response lacks them). */
  readonly responseHeaders: readonly string[];
  /** auth-request-redirect: X-Auth-Request-Redirect sent to the auth service (default: the request URI). */
  readonly requestRedirect?: readonly TemplatePart[];
  /** auth-always-set-cookie: the auth response's Set-Cookie on every answer, not only on success. */
  readonly alwaysSetCookie: boolean;
  /** auth-proxy-set-headers: fields set on the auth request (nginx variables filled; an empty value removes the field). */
  readonly proxySetHeaders?: readonly (readonly [string, readonly TemplatePart[]])[];
  readonly connectTimeoutMs: number;
  /** Until the auth response's head has arrived. */
  readonly timeoutMs: number;
}

/** Traefik grpcWeb: gRPC-Web bridged to the route's HTTP/2 backend; CORS for these origins (`*`: any). */
export interface GrpcWebSpec {
  readonly type: 'grpcWeb';
  readonly allowOrigins: readonly string[];
}

/** ingress-nginx limit-rate (+ limit-rate-after): response bodies paced per request. */
export interface LimitRateSpec {
  readonly type: 'limitRate';
  readonly bytesPerSecond: number;
  readonly afterBytes: number;
}

/** ingress-nginx mirror-target (+ mirror-host, mirror-request-body): a copy of each request to a URL, its answer dropped. */
export interface MirrorUrlSpec {
  readonly type: 'mirrorUrl';
  /** `scheme://host[:port]`. */
  readonly origin: string;
  /** With variables: the copy's request-target as they expand; without: a path the request's arguments are added to. */
  readonly path: readonly TemplatePart[];
  readonly pathHasVariables: boolean;
  readonly host: readonly TemplatePart[];
  readonly body: boolean;
}

/** ingress-nginx proxy-redirect-from/-to (nginx's proxy_redirect): Location and Refresh prefixes rewritten. */
export interface ProxyRedirectSpec {
  readonly type: 'proxyRedirect';
  readonly from: readonly TemplatePart[];
  readonly to: readonly TemplatePart[];
}

/** ingress-nginx proxy-cookie-domain / proxy-cookie-path: `from to` pairs applied to the upstream's Set-Cookie. */
export interface ProxyCookieSpec {
  readonly type: 'proxyCookie';
  readonly domain?: { readonly from: readonly TemplatePart[]; readonly to: readonly TemplatePart[] };
  readonly path?: { readonly from: readonly TemplatePart[]; readonly to: readonly TemplatePart[] };
}

/** TLS to an auth service. */
export interface AuthTls {
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
  readonly insecureSkipVerify: boolean;
}

/**
 * Traefik's forwardAuth: a GET to `address` per request; 2xx lets the
 * request through (authResponseHeaders copied onto it), any other answer is
 * returned to the client as the auth service gave it.
 */
export interface ForwardAuthSpec {
  readonly type: 'forwardAuth';
  readonly address: string;
  /** Keep the client's X-Forwarded-* instead of setting them. */
  readonly trustForwardHeader: boolean;
  readonly authResponseHeaders: readonly string[];
  /** Request fields matching it are removed, then the auth response's matching fields copied. */
  readonly authResponseHeadersRegex?: GoRegexp;
  /** Only these request fields go to the auth service (empty: all). */
  readonly authRequestHeaders: readonly string[];
  /** Cookies (by name) of the auth response added to the answer. */
  readonly addAuthCookiesToResponse: readonly string[];
  /** Leave a relative Location of the auth answer relative (default: made absolute against the address). */
  readonly preserveLocationHeader: boolean;
  /** The auth request has the client's method (default GET). */
  readonly preserveRequestMethod: boolean;
  /** TLS to an https address: CA bundle (PEM; default the system roots), client certificate, or no verification. */
  readonly tls?: AuthTls;
  readonly timeoutMs: number;
  /** forwardBody: the client's body goes to the auth service too, read whole first; a larger one is answered 401 (maxBodySize). */
  readonly forwardBodyMaxBytes?: number;
  /** An auth answer whose body is larger is answered 401 (maxResponseBodySize). */
  readonly maxResponseBodyBytes: number;
  /** authSigninURL: the auth service's 401 is answered as a 302 to this URL. */
  readonly signinUrl?: string;
}

/**
 * ingress-nginx's CORS (enable-cors and cors-*): a matching Origin gets the
 * Access-Control-* fields on every answer; a matching OPTIONS request is
 * answered 204 by the proxy (the preflight), before any access check.
 */
export interface NginxCorsSpec {
  readonly type: 'nginxCors';
  /** Undefined: every origin (`*`). Else regex sources matched case-insensitively against Origin, anchored at the end (nginx's `~* (...)$`). */
  readonly origins?: readonly string[];
  readonly allowCredentials: boolean;
  readonly allowMethods: string;
  readonly allowHeaders: string;
  readonly exposeHeaders?: string;
  readonly maxAge: number;
}

/** An nginx `return <code> <url>` (permanent-redirect, temporal-redirect, app-root), the URL with nginx variables. */
export interface ReturnRedirectSpec {
  readonly type: 'returnRedirect';
  readonly status: number;
  readonly location: readonly TemplatePart[];
  /** Only for this exact path (app-root: `/`). */
  readonly onlyPath?: string;
}

/** An htdigest line: `user:realm:HA1`, HA1 = MD5(user:realm:password) in hex. */
export interface DigestUser {
  readonly name: string;
  readonly realm: string;
  readonly ha1: string;
}

/** HTTP Digest auth (RFC 7616, MD5, qop=auth): ingress-nginx auth-type: digest and Traefik digestAuth. */
export interface DigestAuthSpec {
  readonly type: 'digestAuth';
  readonly users: readonly DigestUser[];
  readonly realm: string;
  readonly removeHeader: boolean;
  readonly headerField?: string;
}

/** Traefik circuitBreaker: the expression (checked at translation), its timings and the fallback status. */
export interface CircuitBreakerSpec {
  readonly type: 'circuitBreaker';
  readonly expression: string;
  readonly checkPeriodMs: number;
  readonly fallbackDurationMs: number;
  readonly recoveryDurationMs: number;
  readonly responseCode: number;
}

/** ingress-nginx auth-tls-*: what a client certificate must be for the request to go on, and what the upstream is told of it. */
export interface ClientCertSpec {
  readonly type: 'clientCert';
  /** auth-tls-verify-client (TLSOption clientAuthType maps onto these; require_any: present, verified or not). */
  readonly verify: 'on' | 'optional' | 'optional_no_ca' | 'off' | 'require_any';
  /** auth-tls-verify-depth: intermediates allowed above the client's certificate; absent: no limit (Traefik). */
  readonly depth?: number;
  /** Set ingress-nginx's ssl-client-* request fields (Traefik's clientAuth sets none). */
  readonly fields: boolean;
  /** caDigest of the CA this route trusts: a certificate the handshake verified against another host's CA does not count. */
  readonly caDigest?: string;
  /** auth-tls-error-page: a failed check redirects here instead of answering 400. */
  readonly errorPage?: string;
  /** auth-tls-pass-certificate-to-upstream: the ssl-client-cert field. */
  readonly passCertificate: boolean;
  /** auth-tls-match-cn: the subject DN must match, else 403. */
  readonly matchCn?: GoRegexp;
}

/**
 * Error pages: answers with these statuses are replaced by a page from
 * `service` (ingress-nginx custom-http-errors with default-backend; Traefik
 * errors).
 * - nginx: the page request carries X-Code, X-Format, X-Original-URI,
 *   X-Namespace, X-Ingress-Name, X-Service-Name, X-Service-Port,
 *   X-Request-ID; the client gets the error backend's own status.
 * - traefik: the page is `query` ({status}, {url} filled) with the
 *   request's fields; the client gets the original status.
 */
export interface ErrorPagesSpec {
  readonly type: 'errorPages';
  readonly statuses: readonly (readonly [number, number])[];
  readonly service: LeafNode;
  readonly style: 'nginx' | 'traefik';
  readonly query?: string;
  readonly origin?: { readonly namespace: string; readonly ingress: string; readonly service: string; readonly port: string };
}

/** ingress-nginx default-backend: requests to a Service without ready endpoints go to `service`. */
export interface FallbackBackendSpec {
  readonly type: 'fallbackBackend';
  readonly service: LeafNode;
}

/** ingress-nginx upstream-hash-by: the request's balance key, filled from nginx variables. */
export interface BalanceKeySpec {
  readonly type: 'balanceKey';
  readonly parts: readonly TemplatePart[];
}

/** Traefik passTLSClientCert: the client certificate, or fields of it, in X-Forwarded-Tls-Client-Cert(-Info). */
export interface PassTlsClientCertSpec {
  readonly type: 'passTlsClientCert';
  readonly pem: boolean;
  readonly info?: {
    readonly notAfter: boolean;
    readonly notBefore: boolean;
    readonly sans: boolean;
    readonly serialNumber: boolean;
    /** Subject / issuer DN parts: C, ST, L, O, OU (subject only), SN, CN, DC. */
    readonly subject?: readonly DnPart[];
    readonly issuer?: readonly DnPart[];
  };
}

export type DnPart = 'C' | 'ST' | 'L' | 'O' | 'OU' | 'SN' | 'CN' | 'DC';

export interface CompressSpec {
  readonly type: 'compress';
  readonly excludedContentTypes: readonly string[];
  readonly includedContentTypes: readonly string[];
  readonly minResponseBodyBytes: number;
  /** In server preference order: gzip, br, zstd. */
  readonly encodings: readonly ('gzip' | 'br' | 'zstd')[];
}

export interface RetrySpec {
  readonly type: 'retry';
  readonly attempts: number;
  readonly initialIntervalMs: number;
  /** ingress-nginx proxy-next-upstream (see RetryPolicy.when); absent: Traefik's retry. */
  readonly when?: { readonly error: boolean; readonly timeout: boolean; readonly statuses: readonly number[]; readonly nonIdempotent: boolean };
  readonly budgetMs?: number;
}

export interface BodyLimitSpec {
  readonly type: 'bodyLimit';
  readonly maxBytes: number;
}

/** Traefik contentType: sniff the media type of responses that come without one. */
export interface ContentTypeSpec {
  readonly type: 'contentType';
}

/** Traefik buffering's limits (0: none); metalgate streams bodies rather than buffering them. */
export interface BufferingSpec {
  readonly type: 'buffering';
  readonly requestBytes: number;
  readonly responseBytes: number;
}

/** ingress-nginx affinity: cookie (and Traefik weighted sticky): pins a client to an endpoint. */
export interface StickyCookieSpec {
  readonly type: 'stickyCookie';
  readonly cookie: StickyCookie;
}

export type MiddlewareSpec =
  | RedirectSchemeSpec
  | RedirectRegexSpec
  | StripPrefixSpec
  | StripPrefixRegexSpec
  | ReplacePathRegexSpec
  | UpstreamFieldsSpec
  | AddPrefixSpec
  | ReplacePathSpec
  | RewriteTargetSpec
  | HeadersSpec
  | ResponseFieldsSpec
  | GrpcWebSpec
  | SatisfyAnySpec
  | LimitRateSpec
  | MirrorUrlSpec
  | ProxyRedirectSpec
  | ProxyCookieSpec
  | IpAllowListSpec
  | RateLimitSpec
  | GlobalRateLimitSpec
  | InFlightReqSpec
  | BasicAuthSpec
  | DigestAuthSpec
  | CircuitBreakerSpec
  | ClientCertSpec
  | PassTlsClientCertSpec
  | BalanceKeySpec
  | ErrorPagesSpec
  | FallbackBackendSpec
  | ExternalAuthSpec
  | ForwardAuthSpec
  | NginxCorsSpec
  | ReturnRedirectSpec
  | CompressSpec
  | RetrySpec
  | BodyLimitSpec
  | BufferingSpec
  | ContentTypeSpec
  | StickyCookieSpec;

/** A middleware with its identity: state (rate limiter buckets, counters) survives a rebuild while the key is the same. */
export interface NamedMiddleware {
  /** For logs, e.g. `ns-name@kubernetescrd` or `ingress ns/name: limit-rps`. */
  readonly name: string;
  readonly spec: MiddlewareSpec;
}
