// ingress-nginx annotations (`nginx.ingress.kubernetes.io/<name>`) -> one
// config value per Ingress. Semantics follow ingress-nginx's documentation
// (kubernetes.github.io/ingress-nginx: user-guide/nginx-configuration/
// annotations, user-guide/tls for the 308 redirect, user-guide/ingress-path-
// matching for regex paths, examples/rewrite, examples/affinity/cookie):
// - canary*: see nginx-canary.ts; only read with `canary: "true"`; on a
//   canary Ingress every other annotation is ignored (the main Ingress's
//   settings apply) except those of session affinity.
// - ssl-redirect: default true when the Ingress has TLS for the host;
//   force-ssl-redirect: redirect even without TLS. Redirect status 308 (the
//   default of ingress-nginx's http-redirect-code).
// - rewrite-target with capture groups `$1`..; the path is then read as a
//   case-insensitive regex anchored at the start, as with use-regex.
// - allowlist-source-range (or its older name whitelist-source-range):
//   comma-separated CIDRs; others get 403. Both names with different values
//   is an error: which list the owner meant is not ours to guess.
// - proxy-body-size: nginx size (`8m`), "0" = unlimited; over it: 413.
// - backend-protocol: HTTP, HTTPS, GRPC (HTTP/2 in clear to the pods),
//   GRPCS (HTTP/2 over TLS); FCGI and AUTO_HTTP are not supported and
//   reported.
// - affinity: cookie, with session-cookie-* (name default INGRESSCOOKIE).
// - proxy-connect/read/send-timeout: integer seconds.
// - limit-rps / limit-rpm: requests per second / minute per client IP;
//   burst = the rate's number x limit-burst-multiplier (default 5); over it:
//   503 (limit-req-status-code's default). limit-connections: requests in
//   progress per client IP; over it: 503. limit-whitelist (or
//   limit-allowlist): CIDRs these limits never apply to.
// - global-rate-limit (+ -window, -key, -ignored-cidrs): a sliding-window
//   limit per key over the whole Ingress, 429 over it; see
//   runtime/middlewares/global-rate-limit.ts for why no memcached.
// - denylist-source-range (or blacklist-source-range): those CIDRs get 403,
//   whatever the allow-list says (nginx's deny lines come first).
// - auth-url (+ auth-method, auth-signin, auth-signin-redirect-param,
//   auth-response-headers, auth-request-redirect, auth-always-set-cookie):
//   external auth, see runtime/middlewares/external-auth.ts. The URLs may
//   hold nginx variables (nginx-template.ts); the sign-in URL gets its
//   `rd=$pass_access_scheme://$http_host$escaped_request_uri` parameter as
//   ingress-nginx's buildAuthSignURL adds it. auth-cache-* and
//   auth-keepalive* only tune performance: ignored with a warning (every
//   request is checked). auth-proxy-set-headers names a ConfigMap of fields
//   set on the auth request (header-configmap.ts).
// - custom-headers names a ConfigMap of fields set on every answer
//   (header-configmap.ts).
// - limit-rate (KB/s) and limit-rate-after (KB): response bodies paced as
//   nginx's limit_rate, only with proxy-buffering: "on" (nginx does not pace
//   an unbuffered proxied response; measured against nginx); else warned.
// - proxy-redirect-from / proxy-redirect-to: nginx's proxy_redirect on the
//   upstream's Location and Refresh (runtime/middlewares/proxy-redirect.ts).
// - proxy-cookie-domain / proxy-cookie-path: nginx's proxy_cookie_domain
//   and proxy_cookie_path on the upstream's Set-Cookie
//   (runtime/middlewares/proxy-cookie.ts).
// - ssl-ciphers: the hosts' TLS 1.2 cipher list (their handshakes go to a
//   TLS server with it; a list OpenSSL refuses fails those handshakes).
// - server-alias: more names for the rule hosts; the compiler gives them the
//   hosts' routes unless an Ingress serves such a name itself (then the
//   alias is skipped, as ingress-nginx does).
// - satisfy: all (default) or any, nginx's directive over the access phase:
//   with any, a request passes when the allow/deny lines allow it or one
//   auth (basic, digest, auth-url) accepts it (runtime/middlewares/
//   satisfy-any.ts).
// - auth-type: basic or digest with auth-secret (a Secret of the Ingress's
//   namespace, as ingress-nginx requires by default), auth-secret-type
//   (auth-file: the htpasswd, or for digest htdigest, lines under key `auth`;
//   auth-map, basic only: one key per user, its value the hash) and
//   auth-realm (default empty; digest users must be of that realm).
//   auth-secret without auth-type is an error, not "no auth".
// - enable-cors with cors-allow-origin (default `*`; a list, `*.` wildcard
//   subdomains), cors-allow-methods, cors-allow-headers,
//   cors-expose-headers, cors-allow-credentials (default true),
//   cors-max-age (default 1728000), with ingress-nginx's defaults and origin
//   patterns. Where ingress-nginx silently skips an invalid origin or falls
//   back to a default (an origin list left empty then matches every origin),
//   metalgate reports an error: CORS is what keeps other sites' scripts out.
// - permanent-redirect (+ permanent-redirect-code, 300-308, default 301),
//   temporal-redirect (+ temporal-redirect-code, 300-307, default 302; it
//   wins when both are set), app-root (302 from `/` to the path). The URLs may
//   hold nginx variables.
// Values are parsed strictly: a bad value is an error on the Ingress (left
// out, or its last good version kept) instead of a silent default.
// Fail closed: an annotation we do not implement that limits who reaches
// the backend (auth, client certificates, deny lists, connection and rate
// limits, WAF, snippets) is an error, so the Ingress is not served (or its
// last good version stays) instead of being served with less protection
// than its owner wrote. Every other annotation under the prefix is reported
// as unsupported and ignored.

import type { IpNetwork } from '../match/ip-match.ts';
import { parseIpNetwork } from '../match/ip-match.ts';
import { compileGoRegexp, type GoRegexp } from '../match/go-regexp.ts';
import type { DiagnosticSink } from '../model/diagnostic.ts';
import type { ClientCertSpec, ExternalAuthSpec, GlobalRateLimitSpec, NginxCorsSpec, ReturnRedirectSpec, TemplatePart } from '../model/middleware-spec.ts';
import { parseNginxTemplate, sampleOf } from './nginx-template.ts';
import type { StickyCookie } from '../model/service-node.ts';
import { parseGoBool, parseInteger, parseNginxSize, parseTraefikDuration, type Parsed } from './value-parsers.ts';

const NGINX_PREFIX = 'nginx.ingress.kubernetes.io/';

export interface NginxCanaryConfig {
  readonly header?: string;
  readonly headerValue?: string;
  readonly headerPattern?: GoRegexp;
  readonly cookie?: string;
  readonly weight: number;
  readonly weightTotal: number;
}

export interface NginxConfig {
  /** Set when `canary: "true"`. */
  readonly canary?: NginxCanaryConfig;
  readonly sslRedirect: boolean;
  readonly forceSslRedirect: boolean;
  readonly rewriteTarget?: string;
  /** Paths are case-insensitive regexes (use-regex, or implied by rewrite-target). */
  readonly regexPaths: boolean;
  readonly allowRanges?: readonly IpNetwork[];
  readonly maxBodyBytes?: number;
  readonly protocol: 'http' | 'https' | 'h2c' | 'h2';
  readonly affinity?: StickyCookie;
  readonly connectTimeoutMs?: number;
  readonly readTimeoutMs?: number;
  readonly sendTimeoutMs?: number;
  readonly limitRps?: { readonly rps: number; readonly burst: number };
  readonly limitRpm?: { readonly rpm: number; readonly burst: number };
  readonly limitConnections?: number;
  /** limit-whitelist: clients the limits above never apply to. */
  readonly limitExempt?: readonly IpNetwork[];
  /** global-rate-limit (+ -window, -key, -ignored-cidrs). */
  readonly globalRateLimit?: GlobalRateLimitSpec;
  readonly denyRanges?: readonly IpNetwork[];
  /** service-upstream: backends are reached through the Service's cluster IP. */
  readonly serviceUpstream?: boolean;
  /** from-to-www-redirect: www.<host> (or <host> without www.) redirects here with 308. */
  readonly fromToWww?: boolean;
  /** ssl-passthrough: the hosts' TLS connections go undecrypted to their "/" backend. */
  readonly sslPassthrough?: boolean;
  /** upstream-vhost: the Host sent upstream. */
  readonly upstreamHost?: string;
  /** x-forwarded-prefix: sent upstream as X-Forwarded-Prefix. */
  readonly forwardedPrefix?: string;
  /** upstream-hash-by: the key (nginx variables) for consistent hashing over the endpoints. */
  readonly upstreamHashBy?: readonly TemplatePart[];
  /** upstream-hash-by-subset(-size): the key picks a subset of this many endpoints. */
  readonly hashSubsetSize?: number;
  readonly loadBalance?: 'round_robin' | 'ewma';
  /** proxy-next-upstream(-tries, -timeout): when a request moves to another endpoint. */
  readonly nextUpstream?: { readonly tries: number; readonly timeoutMs: number; readonly error: boolean; readonly timeout: boolean; readonly statuses: readonly number[]; readonly nonIdempotent: boolean };
  /** custom-http-errors: upstream statuses answered by the default-backend Service. */
  readonly customHttpErrors?: readonly number[];
  /** default-backend: a Service of the Ingress's namespace (its first port). */
  readonly defaultBackend?: string;
  readonly externalAuth?: ExternalAuthSpec;
  /** auth-proxy-set-headers: a ConfigMap (`name` or `namespace/name`) of fields for the auth request, resolved by the Ingress translator. */
  readonly authProxySetHeaders?: string;
  /** proxy-redirect-from/-to: Location and Refresh prefixes rewritten (nginx variables in both). */
  readonly proxyRedirect?: { readonly from: readonly TemplatePart[]; readonly to: readonly TemplatePart[] };
  /** proxy-cookie-domain / proxy-cookie-path: `from to` rewrites of the upstream's Set-Cookie attributes. */
  readonly proxyCookie?: { readonly domain?: { readonly from: readonly TemplatePart[]; readonly to: readonly TemplatePart[] }; readonly path?: { readonly from: readonly TemplatePart[]; readonly to: readonly TemplatePart[] } };
  /** ssl-ciphers: the OpenSSL cipher list (TLS 1.2 and below) of the Ingress's hosts' handshakes. */
  readonly sslCiphers?: string;
  /** server-alias: more names for the Ingress's hosts (lowercase; `*.` wildcards allowed). */
  readonly serverAliases?: readonly string[];
  /** limit-rate (+ -after), in bytes: response bodies paced (only with proxy-buffering: on, as nginx). */
  readonly limitRate?: { readonly bytesPerSecond: number; readonly afterBytes: number };
  /** mirror-target (+ mirror-host, mirror-request-body): a copy of each request to a URL. */
  readonly mirror?: NginxMirror;
  /** satisfy: any lets a request through when the IP lists or one auth allow it (nginx's `satisfy any`); default all. */
  readonly satisfyAny?: boolean;
  /** custom-headers: a ConfigMap (`name` or `namespace/name`) of response fields, resolved by the Ingress translator. */
  readonly customHeaders?: string;
  readonly basicAuth?: NginxBasicAuth;
  readonly clientAuth?: NginxClientAuth;
  readonly proxySsl?: NginxProxySsl;
  readonly cors?: NginxCorsSpec;
  readonly redirect?: ReturnRedirectSpec;
  readonly appRoot?: ReturnRedirectSpec;
}

/** proxy-ssl-*: TLS to HTTPS/GRPCS backends; the Secret is resolved by the Ingress translator. */
export interface NginxProxySsl {
  readonly secretName?: string;
  readonly verify: boolean;
  readonly depth: number;
  /** proxy-ssl-name: the name checked and, with serverName, sent as SNI. */
  readonly name?: string;
  readonly serverName: boolean;
  readonly minVersion?: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';
  readonly maxVersion?: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';
  readonly ciphers?: string;
}

/** auth-tls-*: the CA Secret (resolved by the Ingress translator) and the checks. */
export interface NginxClientAuth {
  readonly secretName: string;
  readonly check: Omit<ClientCertSpec, 'type'>;
}

/** auth-type: basic or digest, resolved against the Secret by the Ingress translator. */
export interface NginxBasicAuth {
  readonly type: 'basic' | 'digest';
  readonly secretName: string;
  readonly secretType: 'auth-file' | 'auth-map';
  readonly realm: string;
}

const CANARY = new Set(['canary', 'canary-weight', 'canary-weight-total', 'canary-by-header', 'canary-by-header-value', 'canary-by-header-pattern', 'canary-by-cookie']);
const AFFINITY = new Set([
  'affinity',
  'affinity-mode',
  'affinity-canary-behavior',
  'session-cookie-name',
  'session-cookie-path',
  'session-cookie-domain',
  'session-cookie-max-age',
  'session-cookie-expires',
  'session-cookie-samesite',
  'session-cookie-secure',
  'session-cookie-change-on-failure',
  'session-cookie-conditional-samesite-none',
]);
const OTHERS = new Set([
  'ssl-redirect',
  'force-ssl-redirect',
  'rewrite-target',
  'use-regex',
  'whitelist-source-range',
  'allowlist-source-range',
  'proxy-body-size',
  'backend-protocol',
  'proxy-connect-timeout',
  'proxy-read-timeout',
  'proxy-send-timeout',
  'upstream-vhost',
  'x-forwarded-prefix',
  'ssl-passthrough',
  'from-to-www-redirect',
  'service-upstream',
  'limit-rps',
  'limit-rpm',
  'limit-connections',
  'limit-burst-multiplier',
  'limit-whitelist',
  'limit-allowlist',
  'denylist-source-range',
  'blacklist-source-range',
  'custom-http-errors',
  'default-backend',
  'proxy-next-upstream',
  'proxy-next-upstream-tries',
  'proxy-next-upstream-timeout',
  'upstream-hash-by',
  'upstream-hash-by-subset',
  'upstream-hash-by-subset-size',
  'load-balance',
  'custom-headers',
  'satisfy',
  'limit-rate',
  'limit-rate-after',
  'proxy-buffering',
  'server-alias',
  'proxy-redirect-from',
  'proxy-redirect-to',
  'proxy-cookie-domain',
  'proxy-cookie-path',
  'ssl-ciphers',
  'mirror-target',
  'mirror-host',
  'mirror-request-body',
]);

/**
 * ingress-nginx annotations that restrict who reaches the backend (or how
 * the backend is reached securely) and that metalgate does not implement.
 * Each one on an Ingress withholds it. Prefix families are matched by
 * prefix (`auth-tls-*`, `auth-cache-*`, ...).
 */
const EXTERNAL_AUTH = new Set([
  'auth-url',
  'auth-method',
  'auth-signin',
  'auth-signin-redirect-param',
  'auth-response-headers',
  'auth-request-redirect',
  'auth-always-set-cookie',
  'auth-proxy-set-headers',
]);
/** Performance settings of external auth: without them every request is checked, which is never less protection. */
const EXTERNAL_AUTH_TUNING = new Set(['auth-cache-key', 'auth-cache-duration', 'auth-keepalive', 'auth-keepalive-requests', 'auth-keepalive-timeout', 'auth-keepalive-share-vars']);
const BASIC_AUTH = new Set(['auth-type', 'auth-secret', 'auth-secret-type', 'auth-realm']);
const CORS = new Set(['enable-cors', 'cors-allow-origin', 'cors-allow-methods', 'cors-allow-headers', 'cors-expose-headers', 'cors-allow-credentials', 'cors-max-age']);
const REDIRECTS = new Set(['permanent-redirect', 'permanent-redirect-code', 'temporal-redirect', 'temporal-redirect-code', 'app-root']);
const ACCESS_CONTROL_EXACT = new Set([
  'enable-modsecurity',
  'enable-owasp-core-rules',
  'modsecurity-transaction-id',
]);
const GLOBAL_RATE_LIMIT = new Set(['global-rate-limit', 'global-rate-limit-window', 'global-rate-limit-key', 'global-rate-limit-ignored-cidrs']);
const PROXY_SSL = new Set(['proxy-ssl-secret', 'proxy-ssl-verify', 'proxy-ssl-verify-depth', 'proxy-ssl-name', 'proxy-ssl-server-name', 'proxy-ssl-protocols', 'proxy-ssl-ciphers']);
const AUTH_TLS = new Set(['auth-tls-secret', 'auth-tls-verify-client', 'auth-tls-verify-depth', 'auth-tls-error-page', 'auth-tls-pass-certificate-to-upstream', 'auth-tls-match-cn']);
/** Raw nginx configuration: never run, whatever it says (the 2025 "IngressNightmare" CVEs came through them). */
const SNIPPET = /(^|-)snippet$/;

function accessControlReason(name: string): string | undefined {
  if (SNIPPET.test(name)) return 'is raw nginx configuration, which metalgate never runs; it may hold access rules, so the Ingress is not served rather than served without them';
  if (ACCESS_CONTROL_EXACT.has(name)) {
    return 'limits who reaches the backend and is not implemented by metalgate: the Ingress is not served rather than served with less protection than it asks for';
  }
  return undefined;
}

/** Every annotation name (without prefix) we honour. */
const SUPPORTED_NGINX_ANNOTATIONS: ReadonlySet<string> = new Set([...CANARY, ...AFFINITY, ...OTHERS, ...EXTERNAL_AUTH, ...BASIC_AUTH, ...CORS, ...REDIRECTS, ...AUTH_TLS, ...PROXY_SSL, ...GLOBAL_RATE_LIMIT]);

export function parseNginxAnnotations(annotations: Readonly<Record<string, string>> | undefined, sink: DiagnosticSink): NginxConfig {
  const a = new Map<string, string>();
  for (const [k, v] of Object.entries(annotations ?? {})) {
    if (k.startsWith(NGINX_PREFIX)) a.set(k.slice(NGINX_PREFIX.length), v);
  }
  const bad = (name: string, error: string): void => sink.error('BadAnnotation', `${NGINX_PREFIX}${name}: ${error}`);
  const get = <T>(name: string, parse: (text: string) => Parsed<T>): T | undefined => {
    const text = a.get(name);
    if (text === undefined) return undefined;
    const r = parse(text);
    if (!r.ok) {
      bad(name, r.error);
      return undefined;
    }
    return r.value;
  };

  for (const name of [...a.keys()].sort()) {
    if (SUPPORTED_NGINX_ANNOTATIONS.has(name)) continue;
    if (EXTERNAL_AUTH_TUNING.has(name)) {
      sink.warn('IgnoredAnnotation', `${NGINX_PREFIX}${name} only tunes performance and is not implemented: every request is checked with the auth service`);
      continue;
    }
    const refused = accessControlReason(name);
    if (refused !== undefined) sink.error('UnsupportedSecurityAnnotation', `${NGINX_PREFIX}${name} ${refused}`);
    else sink.warn('UnsupportedAnnotation', `${NGINX_PREFIX}${name} is not supported by metalgate and is ignored`);
  }

  const isCanary = get('canary', parseGoBool) === true;
  let canary: NginxCanaryConfig | undefined;
  if (isCanary) {
    canary = parseCanary(a, get, bad);
    for (const name of [...a.keys()].sort()) {
      if (EXTERNAL_AUTH.has(name) || BASIC_AUTH.has(name) || AUTH_TLS.has(name)) {
        // ingress-nginx ignores it here (the main Ingress's auth applies): the canary's traffic would not be checked by it.
        sink.error('UnsupportedSecurityAnnotation', `${NGINX_PREFIX}${name} on a canary Ingress is ignored by ingress-nginx (the main Ingress's auth applies to the canary): set it on the main Ingress; the canary is not served rather than served without the auth it names`);
      } else if (OTHERS.has(name) || CORS.has(name) || REDIRECTS.has(name) || PROXY_SSL.has(name)) {
        sink.warn('IgnoredAnnotation', `${NGINX_PREFIX}${name} is ignored on a canary Ingress: the main Ingress's setting applies`);
      }
    }
  } else {
    for (const name of [...a.keys()].sort()) {
      if (CANARY.has(name) && name !== 'canary') {
        sink.warn('IgnoredAnnotation', `${NGINX_PREFIX}${name} has no effect without ${NGINX_PREFIX}canary: "true"`);
      }
    }
  }

  const affinity = parseAffinity(a, get, bad);
  if (isCanary) return { canary, sslRedirect: true, forceSslRedirect: false, regexPaths: false, protocol: 'http', affinity };

  let rewriteTarget = a.get('rewrite-target');
  if (rewriteTarget !== undefined && !/^[\x21-\x7e]+$/.test(rewriteTarget)) {
    bad('rewrite-target', `${JSON.stringify(rewriteTarget)} must be a path without spaces or control characters`);
    rewriteTarget = undefined;
  }
  const useRegex = get('use-regex', parseGoBool) ?? false;
  /** A CIDR list under its current name or its older one; both with different lists is an error. */
  const ranges = (name: string, older: string): IpNetwork[] | undefined => {
    const which = a.has(name) ? name : older;
    const text = a.get(which);
    if (a.has(name) && a.has(older) && a.get(older)!.trim() !== text!.trim()) {
      bad(name, `and ${NGINX_PREFIX}${older} (its older name) are both set, to different lists`);
    }
    if (text === undefined) return undefined;
    return parseCidrList(text, (t) => bad(which, `${JSON.stringify(t)} is not an IP address or CIDR`));
  };
  const allowRanges = ranges('allowlist-source-range', 'whitelist-source-range');
  const denyRanges = ranges('denylist-source-range', 'blacklist-source-range');
  const limitExempt = ranges('limit-allowlist', 'limit-whitelist');
  const protocolText = a.get('backend-protocol');
  let protocol: NginxConfig['protocol'] = 'http';
  if (protocolText !== undefined) {
    const p = protocolText.trim().toUpperCase();
    if (p === 'HTTP') protocol = 'http';
    else if (p === 'HTTPS') protocol = 'https';
    else if (p === 'GRPC') protocol = 'h2c';
    else if (p === 'GRPCS') protocol = 'h2';
    else if (['AUTO_HTTP', 'FCGI'].includes(p)) bad('backend-protocol', `${protocolText} is not supported by metalgate (HTTP, HTTPS, GRPC or GRPCS)`);
    else bad('backend-protocol', `${JSON.stringify(protocolText)} is not a backend protocol (HTTP, HTTPS, GRPC or GRPCS)`);
  }
  const seconds = (name: string): number | undefined => {
    const s = get(name, (t) => parseInteger(t, 0, 86_400));
    return s === undefined ? undefined : s * 1000;
  };
  const externalAuth = parseExternalAuth(a, get, bad, sink);
  const basicAuth = parseBasicAuth(a, bad, sink);
  const clientAuth = parseClientAuth(a, get, bad);
  const proxySsl = parseProxySsl(a, get, bad);
  const cors = parseCors(a, get, bad, sink);
  const redirect = parseRedirect(a, get, bad, sink);
  const appRoot = parseAppRoot(a, bad);
  const rps = get('limit-rps', (t) => parseInteger(t, 1, 1_000_000));
  const fieldValue = (name: string, pattern: RegExp, what: string): string | undefined => {
    const text = a.get(name)?.trim();
    if (text === undefined || text === '') return undefined;
    if (!pattern.test(text)) {
      bad(name, `${JSON.stringify(text)} is not ${what}`);
      return undefined;
    }
    return text;
  };
  // nginx variables are not filled here: a literal host name (with an optional port) or prefix.
  const upstreamHost = fieldValue('upstream-vhost', /^[A-Za-z0-9.-]+(:[0-9]{1,5})?$/, 'a host name (with an optional port)');
  const forwardedPrefix = fieldValue('x-forwarded-prefix', /^[\x21-\x7e]+$/, 'a prefix without spaces or control characters');
  // upstream-hash-by: ingress-nginx's consistent hashing (chash) by the value of nginx variables.
  let upstreamHashBy: TemplatePart[] | undefined;
  const hashText = a.get('upstream-hash-by')?.trim();
  if (hashText) {
    const t = parseNginxTemplate(hashText);
    if (!t.ok) bad('upstream-hash-by', t.error);
    else if (!t.parts.some((p) => 'variable' in p)) bad('upstream-hash-by', `${JSON.stringify(hashText)} names no nginx variable: every request would hash alike`);
    else upstreamHashBy = t.parts;
  }
  // upstream-hash-by-subset (+ -size, default 3): the key picks a subset of endpoints, then one at random.
  let hashSubsetSize: number | undefined;
  if (get('upstream-hash-by-subset', parseGoBool) === true) {
    const size = get('upstream-hash-by-subset-size', (t) => parseInteger(t, 1, 1000)) ?? 3;
    if (upstreamHashBy === undefined) sink.warn('IgnoredAnnotation', `${NGINX_PREFIX}upstream-hash-by-subset has no effect without ${NGINX_PREFIX}upstream-hash-by`);
    else hashSubsetSize = size;
  } else if (a.has('upstream-hash-by-subset-size')) {
    sink.warn('IgnoredAnnotation', `${NGINX_PREFIX}upstream-hash-by-subset-size has no effect without ${NGINX_PREFIX}upstream-hash-by-subset: "true"`);
  }
  const lbText = a.get('load-balance')?.trim();
  let loadBalance: 'round_robin' | 'ewma' | undefined;
  if (lbText !== undefined) {
    if (lbText === 'round_robin' || lbText === 'ewma') loadBalance = lbText;
    else bad('load-balance', `${JSON.stringify(lbText)} is not round_robin or ewma`);
  }
  // proxy-next-upstream: nginx's tokens; ingress-nginx's defaults "error timeout", 3 tries, no time limit.
  let nextUpstream: NginxConfig['nextUpstream'];
  if (a.has('proxy-next-upstream') || a.has('proxy-next-upstream-tries') || a.has('proxy-next-upstream-timeout')) {
    const tokens = (a.get('proxy-next-upstream') ?? 'error timeout').trim().split(/\s+/);
    const known = /^(error|timeout|invalid_header|http_(500|502|503|504|403|404|429)|non_idempotent|off)$/;
    const unknown = tokens.find((t) => !known.test(t));
    const tries = get('proxy-next-upstream-tries', (t) => parseInteger(t, 0, 100)) ?? 3;
    const timeoutS = get('proxy-next-upstream-timeout', (t) => parseInteger(t, 0, 86_400)) ?? 0;
    if (unknown !== undefined) bad('proxy-next-upstream', `${JSON.stringify(unknown)} is not one of error, timeout, invalid_header, http_500, http_502, http_503, http_504, http_403, http_404, http_429, non_idempotent, off`);
    else {
      const off = tokens.includes('off');
      nextUpstream = {
        // nginx: 0 tries means no limit; a request still stops when the endpoints run out (bounded here at 10).
        tries: off ? 1 : tries === 0 ? 10 : tries,
        timeoutMs: timeoutS * 1000,
        error: !off && (tokens.includes('error') || tokens.includes('invalid_header')),
        timeout: !off && tokens.includes('timeout'),
        statuses: off ? [] : tokens.filter((t) => t.startsWith('http_')).map((t) => Number(t.slice(5))),
        nonIdempotent: !off && tokens.includes('non_idempotent'),
      };
    }
  }
  let customHttpErrors: number[] | undefined;
  const errorsText = a.get('custom-http-errors')?.trim();
  if (errorsText) {
    const codes = errorsText.split(',').map((c) => c.trim());
    const badCode = codes.find((c) => !/^[45][0-9][0-9]$/.test(c));
    if (badCode !== undefined) bad('custom-http-errors', `${JSON.stringify(badCode)} is not an HTTP status from 400 to 599`);
    else customHttpErrors = [...new Set(codes.map(Number))].sort((x, y) => x - y);
  }
  // limit-rate: KB/s, after limit-rate-after KB; nginx paces only a buffered proxied response (checked against nginx).
  let limitRate: NginxConfig['limitRate'];
  const rateKb = get('limit-rate', (t) => parseInteger(t, 0, 10_000_000));
  const afterKb = get('limit-rate-after', (t) => parseInteger(t, 0, 100_000_000)) ?? 0;
  const buffering = a.get('proxy-buffering')?.trim();
  if (buffering !== undefined && buffering !== 'on' && buffering !== 'off') bad('proxy-buffering', `${JSON.stringify(buffering)} is not on or off`);
  if (buffering === 'on') sink.warn('IgnoredAnnotation', `${NGINX_PREFIX}proxy-buffering: metalgate streams responses instead of buffering them; only its effect on limit-rate is kept`);
  else if (buffering === 'off') sink.warn('IgnoredAnnotation', `${NGINX_PREFIX}proxy-buffering: off is what metalgate does anyway (responses are streamed)`);
  if (rateKb !== undefined && rateKb > 0) {
    if (buffering === 'on') limitRate = { bytesPerSecond: rateKb * 1024, afterBytes: afterKb * 1024 };
    else sink.warn('IgnoredAnnotation', `${NGINX_PREFIX}limit-rate has no effect without ${NGINX_PREFIX}proxy-buffering: "on", as in ingress-nginx (nginx does not pace an unbuffered proxied response)`);
  } else if (a.has('limit-rate-after') && rateKb === undefined) {
    sink.warn('IgnoredAnnotation', `${NGINX_PREFIX}limit-rate-after has no effect without ${NGINX_PREFIX}limit-rate`);
  }
  const mirror = parseMirror(a, bad, (name) => sink.warn('IgnoredAnnotation', `${NGINX_PREFIX}${name} has no effect without ${NGINX_PREFIX}mirror-target`));
  // proxy-redirect-from/-to: nginx's proxy_redirect; "off" (ingress-nginx's default) does nothing.
  let proxyRedirect: NginxConfig['proxyRedirect'];
  const redirectFrom = a.get('proxy-redirect-from')?.trim();
  const redirectTo = a.get('proxy-redirect-to')?.trim();
  if (redirectFrom !== undefined && redirectFrom !== 'off' && redirectFrom !== '') {
    if (redirectFrom === 'default') sink.warn('IgnoredAnnotation', `${NGINX_PREFIX}proxy-redirect-from: default rewrites nginx's own proxy_pass URL, which metalgate does not have: ignored`);
    else if (redirectTo === undefined || redirectTo === '') bad('proxy-redirect-to', `is required with ${NGINX_PREFIX}proxy-redirect-from`);
    else {
      const from = parseNginxTemplate(redirectFrom);
      const to = parseNginxTemplate(redirectTo);
      if (!from.ok) bad('proxy-redirect-from', from.error);
      else if (!to.ok) bad('proxy-redirect-to', to.error);
      else if (!/^[\x21-\x7e]+$/.test(redirectFrom) || !/^[\x21-\x7e]+$/.test(redirectTo)) bad('proxy-redirect-from', 'the values must not hold spaces or control characters');
      else proxyRedirect = { from: from.parts, to: to.parts };
    }
  } else if (redirectTo !== undefined && redirectFrom === undefined) {
    sink.warn('IgnoredAnnotation', `${NGINX_PREFIX}proxy-redirect-to has no effect without ${NGINX_PREFIX}proxy-redirect-from`);
  }
  // proxy-cookie-domain / proxy-cookie-path: "<from> <to>" (nginx's proxy_cookie_*); "off" (the default) does nothing.
  const cookiePair = (name: string): { from: TemplatePart[]; to: TemplatePart[] } | undefined => {
    const text = a.get(name)?.trim();
    if (text === undefined || text === '' || text === 'off') return undefined;
    const words = text.split(/\s+/);
    if (words.length !== 2 || !words.every((w) => /^[\x21-\x3a\x3c-\x7e]+$/.test(w))) {
      bad(name, `${JSON.stringify(text)} is not "<from> <to>" (two words without ";")`);
      return undefined;
    }
    const from = parseNginxTemplate(words[0]!);
    const to = parseNginxTemplate(words[1]!);
    if (!from.ok || !to.ok) {
      bad(name, !from.ok ? from.error : (to as { error: string }).error);
      return undefined;
    }
    return { from: from.parts, to: to.parts };
  };
  const cookieDomain = cookiePair('proxy-cookie-domain');
  const cookiePath = cookiePair('proxy-cookie-path');
  // ssl-ciphers: nginx's ssl_ciphers for the hosts' server blocks (OpenSSL syntax; OpenSSL itself judges the names).
  const sslCiphers = fieldValue('ssl-ciphers', /^[A-Za-z0-9!:+@._=-]+$/, 'an OpenSSL cipher list');
  // server-alias: names that get the same routes as the rule hosts, unless an Ingress serves them itself.
  let serverAliases: string[] | undefined;
  const aliasText = a.get('server-alias');
  if (aliasText !== undefined) {
    const names = aliasText.split(',').map((n) => n.trim().toLowerCase()).filter((n) => n !== '');
    const badName = names.find((n) => !/^(\*\.)?([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)*[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(n));
    if (badName !== undefined) bad('server-alias', `${JSON.stringify(badName)} is not a host name`);
    else if (names.length > 0) serverAliases = [...new Set(names)];
  }
  const satisfyText = a.get('satisfy')?.trim();
  if (satisfyText !== undefined && satisfyText !== 'all' && satisfyText !== 'any') bad('satisfy', `${JSON.stringify(satisfyText)} is not all or any`);
  const configMapRef = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?(\/[a-z0-9]([-a-z0-9.]*[a-z0-9])?)?$/;
  const customHeaders = fieldValue('custom-headers', configMapRef, 'a ConfigMap name (or namespace/name)');
  const authProxySetHeaders = externalAuth ? fieldValue('auth-proxy-set-headers', configMapRef, 'a ConfigMap name (or namespace/name)') : undefined;
  const defaultBackend = fieldValue('default-backend', /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, 'a Service name');
  if (customHttpErrors !== undefined && defaultBackend === undefined && !a.has('default-backend')) {
    sink.warn('IgnoredAnnotation', `${NGINX_PREFIX}custom-http-errors needs ${NGINX_PREFIX}default-backend here (metalgate has no controller-wide default backend): the backend's own error pages are served`);
  }
  const rpm = get('limit-rpm', (t) => parseInteger(t, 1, 60_000_000));
  const connections = get('limit-connections', (t) => parseInteger(t, 1, 1_000_000));
  const multiplier = get('limit-burst-multiplier', (t) => parseInteger(t, 1, 1_000_000)) ?? 5;
  const globalRateLimit = parseGlobalRateLimit(a, bad, sink);

  return {
    sslRedirect: get('ssl-redirect', parseGoBool) ?? true,
    forceSslRedirect: get('force-ssl-redirect', parseGoBool) ?? false,
    ...(rewriteTarget !== undefined ? { rewriteTarget } : {}),
    regexPaths: useRegex || rewriteTarget !== undefined,
    ...(allowRanges ? { allowRanges } : {}),
    ...optional('maxBodyBytes', get('proxy-body-size', parseNginxSize)),
    protocol,
    ...(affinity ? { affinity } : {}),
    ...optional('connectTimeoutMs', seconds('proxy-connect-timeout')),
    ...optional('readTimeoutMs', seconds('proxy-read-timeout')),
    ...optional('sendTimeoutMs', seconds('proxy-send-timeout')),
    ...(rps !== undefined ? { limitRps: { rps, burst: rps * multiplier } } : {}),
    ...(rpm !== undefined ? { limitRpm: { rpm, burst: rpm * multiplier } } : {}),
    ...(connections !== undefined ? { limitConnections: connections } : {}),
    ...(limitExempt && limitExempt.length > 0 ? { limitExempt } : {}),
    ...(globalRateLimit ? { globalRateLimit } : {}),
    ...(denyRanges ? { denyRanges } : {}),
    ...(upstreamHost !== undefined ? { upstreamHost } : {}),
    ...(get('ssl-passthrough', parseGoBool) === true ? { sslPassthrough: true } : {}),
    ...(get('from-to-www-redirect', parseGoBool) === true ? { fromToWww: true } : {}),
    ...(get('service-upstream', parseGoBool) === true ? { serviceUpstream: true } : {}),
    ...(forwardedPrefix !== undefined ? { forwardedPrefix } : {}),
    ...(upstreamHashBy !== undefined ? { upstreamHashBy } : {}),
    ...(hashSubsetSize !== undefined ? { hashSubsetSize } : {}),
    ...(loadBalance !== undefined ? { loadBalance } : {}),
    ...(customHttpErrors !== undefined ? { customHttpErrors } : {}),
    ...(nextUpstream !== undefined ? { nextUpstream } : {}),
    ...(defaultBackend !== undefined ? { defaultBackend } : {}),
    ...(externalAuth ? { externalAuth } : {}),
    ...(authProxySetHeaders !== undefined ? { authProxySetHeaders } : {}),
    ...(customHeaders !== undefined ? { customHeaders } : {}),
    ...(satisfyText === 'any' ? { satisfyAny: true } : {}),
    ...(limitRate !== undefined ? { limitRate } : {}),
    ...(mirror !== undefined ? { mirror } : {}),
    ...(serverAliases !== undefined ? { serverAliases } : {}),
    ...(sslCiphers !== undefined ? { sslCiphers } : {}),
    ...(proxyRedirect !== undefined ? { proxyRedirect } : {}),
    ...(cookieDomain !== undefined || cookiePath !== undefined ? { proxyCookie: { ...(cookieDomain ? { domain: cookieDomain } : {}), ...(cookiePath ? { path: cookiePath } : {}) } } : {}),
    ...(basicAuth ? { basicAuth } : {}),
    ...(clientAuth ? { clientAuth } : {}),
    ...(proxySsl ? { proxySsl } : {}),
    ...(cors ? { cors } : {}),
    ...(redirect ? { redirect } : {}),
    ...(appRoot ? { appRoot } : {}),
  };
}

const CORS_ORIGIN = /^([a-z]+:\/\/(\*\.)?[A-Za-z0-9\-.]*(:\d+)?|\*|null)$/;
// One token each, separated by commas and blanks (ingress-nginx's patterns,
// checked token by token: its nested quantifiers backtrack exponentially).
const CORS_METHODS = /^[A-Za-z]+$/;
const CORS_HEADERS = /^[A-Za-z0-9\-_]+$/;
const CORS_EXPOSE = /^([A-Za-z0-9\-_]+|\*)$/;

/** ingress-nginx's buildOriginRegex: the origin quoted, its first `*` as one DNS label. */
export function corsOriginPattern(origin: string): string {
  return origin.replace(/[.*+?^${}()|[\]\\\-]/g, '\\$&').replace('\\*', '[A-Za-z0-9\\-]+');
}

function parseCors(a: Map<string, string>, get: Getter, bad: (name: string, error: string) => void, sink: DiagnosticSink): NginxCorsSpec | undefined {
  if (get('enable-cors', parseGoBool) !== true) {
    for (const name of CORS) if (name !== 'enable-cors' && a.has(name)) sink.warn('IgnoredAnnotation', `${NGINX_PREFIX}${name} has no effect without ${NGINX_PREFIX}enable-cors: "true"`);
    return undefined;
  }
  let origins: string[] | undefined;
  const originText = a.get('cors-allow-origin');
  if (originText !== undefined) {
    const list = originText.split(',').map((o) => o.trim()).filter((o) => o !== '');
    for (const o of list) {
      if (!CORS_ORIGIN.test(o)) {
        bad('cors-allow-origin', `${JSON.stringify(o)} is not an origin (scheme://host[:port], with an optional leading *. label, or * or null)`);
        return undefined;
      }
    }
    if (list.length === 0) {
      bad('cors-allow-origin', 'lists no origin');
      return undefined;
    }
    if (!list.includes('*')) origins = list.map(corsOriginPattern);
  }
  const listed = (name: string, pattern: RegExp, dflt: string | undefined): string | undefined | null => {
    const text = a.get(name);
    if (text === undefined) return dflt;
    const tokens = text.split(/[\s,]+/).filter((t) => t !== '');
    if (tokens.length === 0 || !tokens.every((t) => pattern.test(t)) || /[^\x20-\x7e]/.test(text)) {
      bad(name, `${JSON.stringify(text)} is not a comma-separated list of ${name === 'cors-allow-methods' ? 'methods' : 'header names'}`);
      return null;
    }
    return text;
  };
  const allowMethods = listed('cors-allow-methods', CORS_METHODS, 'GET, PUT, POST, DELETE, PATCH, OPTIONS');
  const allowHeaders = listed('cors-allow-headers', CORS_HEADERS, 'DNT,Keep-Alive,User-Agent,X-Requested-With,If-Modified-Since,Cache-Control,Content-Type,Range,Authorization');
  const exposeHeaders = listed('cors-expose-headers', CORS_EXPOSE, undefined);
  if (allowMethods === null || allowHeaders === null || exposeHeaders === null) return undefined;
  return {
    type: 'nginxCors',
    ...(origins !== undefined ? { origins } : {}),
    allowCredentials: get('cors-allow-credentials', parseGoBool) ?? true,
    allowMethods: allowMethods!,
    allowHeaders: allowHeaders!,
    ...(exposeHeaders !== undefined ? { exposeHeaders } : {}),
    maxAge: get('cors-max-age', (t) => parseInteger(t, 0, 2_147_483_647)) ?? 1728000,
  };
}

/** An annotation holding an http(s) URL with nginx variables -> its parts, or undefined after reporting why not. */
function urlTemplate(name: string, text: string, bad: (name: string, error: string) => void): TemplatePart[] | undefined {
  const r = parseNginxTemplate(text);
  if (!r.ok) {
    bad(name, r.error);
    return undefined;
  }
  let sample: URL;
  try {
    sample = new URL(sampleOf(r.parts));
  } catch {
    bad(name, `${JSON.stringify(text)} is not a URL`);
    return undefined;
  }
  if ((sample.protocol !== 'http:' && sample.protocol !== 'https:') || /[\x00-\x20\x7f]/.test(text)) {
    bad(name, `${JSON.stringify(text)} is not an http or https URL`);
    return undefined;
  }
  return r.parts;
}

function parseRedirect(a: Map<string, string>, get: Getter, bad: (name: string, error: string) => void, sink: DiagnosticSink): ReturnRedirectSpec | undefined {
  const pick = (name: string, codeName: string, dflt: number, max: number): ReturnRedirectSpec | undefined => {
    const text = a.get(name)?.trim();
    if (!text) return undefined;
    const location = urlTemplate(name, text, bad);
    if (location === undefined) return undefined;
    let status = get(codeName, (t) => parseInteger(t, 0, 999)) ?? dflt;
    if (status < 300 || status > max) {
      sink.warn('BadAnnotation', `${NGINX_PREFIX}${codeName}: ${status} is not between 300 and ${max}; ${dflt} is used, as ingress-nginx does`);
      status = dflt;
    }
    return { type: 'returnRedirect', status, location };
  };
  const temporal = pick('temporal-redirect', 'temporal-redirect-code', 302, 307);
  if (temporal !== undefined) {
    if (a.has('permanent-redirect')) sink.warn('IgnoredAnnotation', `${NGINX_PREFIX}permanent-redirect is ignored: ${NGINX_PREFIX}temporal-redirect wins, as in ingress-nginx`);
    return temporal;
  }
  return pick('permanent-redirect', 'permanent-redirect-code', 301, 308);
}

function parseAppRoot(a: Map<string, string>, bad: (name: string, error: string) => void): ReturnRedirectSpec | undefined {
  const text = a.get('app-root')?.trim();
  if (text === undefined || text === '') return undefined;
  if (!text.startsWith('/') || !/^[\x21-\x7e]+$/.test(text) || text.includes('$')) {
    bad('app-root', `${JSON.stringify(text)} must be a path starting with "/" (no scheme, host, spaces or variables)`);
    return undefined;
  }
  const r = parseNginxTemplate(`$scheme://$http_host${text}`);
  return r.ok ? { type: 'returnRedirect', status: 302, location: r.parts, onlyPath: '/' } : undefined;
}

const TLS_VERSIONS = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'] as const;


/** A comma-separated list of addresses and CIDRs; each entry that is neither goes to `invalid` and is left out. */
function parseCidrList(text: string, invalid: (entry: string) => void): IpNetwork[] {
  const out: IpNetwork[] = [];
  for (const part of text.split(',')) {
    const t = part.trim();
    if (t === '') continue;
    const net = parseIpNetwork(t);
    if (net === null) invalid(t);
    else out.push(net);
  }
  return out;
}

/** ingress-nginx's global-rate-limit-status-code default. */
const GLOBAL_RATE_LIMIT_STATUS = 429;

/**
 * global-rate-limit, read as ingress-nginx reads it: a limit and a window
 * (a Go duration, counted in whole seconds); either missing, or 0, turns it
 * off there, so here too, with a warning. A window that is not a duration
 * is an error (ingress-nginx denies the location). The key is nginx
 * variables ($remote_addr by default; an empty value falls back to the
 * client address); clients in ignored-cidrs are never counted.
 */
function parseGlobalRateLimit(a: Map<string, string>, bad: (name: string, error: string) => void, sink: DiagnosticSink): GlobalRateLimitSpec | undefined {
  if (![...GLOBAL_RATE_LIMIT].some((k) => a.has(k))) return undefined;
  let limit = 0;
  const limitText = a.get('global-rate-limit')?.trim() ?? '';
  if (limitText !== '') {
    const p = parseInteger(limitText, 0, 1_000_000_000);
    if (!p.ok) return void bad('global-rate-limit', p.error);
    limit = p.value;
  }
  let seconds = 0;
  const windowText = a.get('global-rate-limit-window')?.trim() ?? '';
  if (windowText !== '') {
    // Go's time.ParseDuration wants a unit on anything but 0.
    if (/^[0-9.]+$/.test(windowText) && Number(windowText) !== 0) return void bad('global-rate-limit-window', `${JSON.stringify(windowText)} needs a unit (a Go duration such as 30s or 1m)`);
    const d = parseTraefikDuration(windowText);
    if (!d.ok) return void bad('global-rate-limit-window', d.error);
    seconds = Math.trunc(d.value / 1000);
  }
  const keyText = a.get('global-rate-limit-key')?.trim() || '$remote_addr';
  const key = parseNginxTemplate(keyText);
  if (!key.ok) return void bad('global-rate-limit-key', key.error);
  let badCidr = false;
  const exempt = parseCidrList(a.get('global-rate-limit-ignored-cidrs') ?? '', (t) => {
    badCidr = true;
    bad('global-rate-limit-ignored-cidrs', `${JSON.stringify(t)} is not an IP address or CIDR`);
  });
  if (badCidr) return undefined;
  if (limit === 0 || seconds === 0) {
    sink.warn('IgnoredAnnotation', `${NGINX_PREFIX}global-rate-limit needs a limit above 0 and ${NGINX_PREFIX}global-rate-limit-window of at least a second (ingress-nginx counts whole seconds): without both, ingress-nginx does not limit either`);
    return undefined;
  }
  return { type: 'globalRateLimit', limit, windowMs: seconds * 1000, key: key.parts, ...(exempt.length > 0 ? { exempt } : {}), rejectStatus: GLOBAL_RATE_LIMIT_STATUS };
}

/** nginx's on/off (ingress-nginx accepts nothing else for these). */
function parseOnOff(text: string): Parsed<boolean> {
  const t = text.trim();
  if (t === 'on' || t === 'off') return { ok: true, value: t === 'on' };
  return { ok: false, error: `${JSON.stringify(text)} is not on or off` };
}

function parseProxySsl(a: Map<string, string>, get: Getter, bad: (name: string, error: string) => void): NginxProxySsl | undefined {
  if (![...PROXY_SSL].some((n) => a.has(n))) return undefined;
  const secretName = a.get('proxy-ssl-secret')?.trim();
  const name = a.get('proxy-ssl-name')?.trim();
  if (name !== undefined && name !== '' && !/^[A-Za-z0-9*]([A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(name)) {
    bad('proxy-ssl-name', `${JSON.stringify(name)} is not a host name`);
    return undefined;
  }
  let minVersion: NginxProxySsl['minVersion'];
  let maxVersion: NginxProxySsl['maxVersion'];
  const protocols = a.get('proxy-ssl-protocols')?.trim();
  if (protocols) {
    const listed = protocols.split(/\s+/);
    const unknown = listed.filter((p) => !(TLS_VERSIONS as readonly string[]).includes(p));
    if (unknown.length > 0) {
      bad('proxy-ssl-protocols', `${unknown.map((u) => JSON.stringify(u)).join(', ')}: not a protocol metalgate speaks (TLSv1, TLSv1.1, TLSv1.2, TLSv1.3)`);
      return undefined;
    }
    const idx = listed.map((p) => (TLS_VERSIONS as readonly string[]).indexOf(p));
    minVersion = TLS_VERSIONS[Math.min(...idx)];
    maxVersion = TLS_VERSIONS[Math.max(...idx)];
  }
  const ciphers = a.get('proxy-ssl-ciphers')?.trim();
  if (ciphers !== undefined && !/^[A-Za-z0-9!:+@._=-]+$/.test(ciphers)) {
    bad('proxy-ssl-ciphers', `${JSON.stringify(ciphers)} is not an OpenSSL cipher list`);
    return undefined;
  }
  const verify = get('proxy-ssl-verify', parseOnOff) ?? false;
  if (verify && !secretName) {
    bad('proxy-ssl-verify', `on needs ${NGINX_PREFIX}proxy-ssl-secret (its ca.crt verifies the backend)`);
    return undefined;
  }
  return {
    ...(secretName ? { secretName } : {}),
    verify,
    depth: get('proxy-ssl-verify-depth', (t) => parseInteger(t, 0, 100)) ?? 1,
    ...(name ? { name } : {}),
    serverName: get('proxy-ssl-server-name', parseOnOff) ?? false,
    ...(minVersion !== undefined ? { minVersion, maxVersion } : {}),
    ...(ciphers ? { ciphers } : {}),
  };
}

function parseClientAuth(a: Map<string, string>, get: Getter, bad: (name: string, error: string) => void): NginxClientAuth | undefined {
  const secretName = a.get('auth-tls-secret')?.trim();
  if (!secretName) {
    // Without the CA the others would check nothing: the owner asked for a check that cannot happen.
    for (const name of AUTH_TLS) if (name !== 'auth-tls-secret' && a.has(name)) bad(name, `needs ${NGINX_PREFIX}auth-tls-secret (the CA to verify client certificates with)`);
    return undefined;
  }
  const verifyText = a.get('auth-tls-verify-client')?.trim() ?? 'on';
  if (verifyText !== 'on' && verifyText !== 'off' && verifyText !== 'optional' && verifyText !== 'optional_no_ca') {
    bad('auth-tls-verify-client', `${JSON.stringify(verifyText)} is not on, off, optional or optional_no_ca`);
    return undefined;
  }
  let errorPage: string | undefined;
  const pageText = a.get('auth-tls-error-page')?.trim();
  if (pageText) {
    let url: URL | undefined;
    try {
      url = new URL(pageText);
    } catch {
      url = undefined;
    }
    if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:') || /[\x00-\x20\x7f]/.test(pageText)) {
      bad('auth-tls-error-page', `${JSON.stringify(pageText)} is not an http or https URL`);
      return undefined;
    }
    errorPage = pageText;
  }
  let matchCn: GoRegexp | undefined;
  const cnText = a.get('auth-tls-match-cn');
  if (cnText !== undefined && cnText !== '') {
    const r = compileGoRegexp(cnText);
    if (!r.ok) {
      bad('auth-tls-match-cn', r.error);
      return undefined;
    }
    matchCn = r.regexp;
  }
  return {
    secretName,
    check: {
      verify: verifyText,
      depth: get('auth-tls-verify-depth', (t) => parseInteger(t, 0, 16)) ?? 1,
      fields: true,
      ...(errorPage !== undefined ? { errorPage } : {}),
      passCertificate: get('auth-tls-pass-certificate-to-upstream', parseGoBool) ?? false,
      ...(matchCn !== undefined ? { matchCn } : {}),
    },
  };
}

function parseBasicAuth(a: Map<string, string>, bad: (name: string, error: string) => void, sink: DiagnosticSink): NginxBasicAuth | undefined {
  const type = a.get('auth-type')?.trim();
  if (type === undefined) {
    for (const name of BASIC_AUTH) {
      if (a.has(name) && name !== 'auth-realm') bad(name, `needs ${NGINX_PREFIX}auth-type: basic; without it ingress-nginx serves the Ingress without auth, which is not what this annotation asks for`);
    }
    return undefined;
  }
  if (type !== 'basic' && type !== 'digest') {
    bad('auth-type', `${JSON.stringify(type)} is not basic or digest`);
    return undefined;
  }
  const secret = a.get('auth-secret')?.trim();
  if (!secret) {
    bad('auth-secret', `is required with ${NGINX_PREFIX}auth-type: basic`);
    return undefined;
  }
  const secretType = a.get('auth-secret-type')?.trim() || 'auth-file';
  if (secretType !== 'auth-file' && secretType !== 'auth-map') {
    bad('auth-secret-type', `${JSON.stringify(secretType)} is not auth-file or auth-map`);
    return undefined;
  }
  if (type === 'digest' && secretType === 'auth-map') {
    bad('auth-secret-type', 'auth-map is for basic auth; digest auth reads htdigest lines (auth-file)');
    return undefined;
  }
  return { type, secretName: secret, secretType, realm: a.get('auth-realm') ?? '' };
}

const AUTH_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE']);
const FIELD_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** nginx's defaults for the auth location (ingress-nginx's proxy-connect-timeout and proxy-read-timeout). */
const AUTH_CONNECT_TIMEOUT_MS = 5_000;
const AUTH_READ_TIMEOUT_MS = 60_000;

function parseExternalAuth(a: Map<string, string>, get: Getter, bad: (name: string, error: string) => void, sink: DiagnosticSink): ExternalAuthSpec | undefined {
  const urlText = a.get('auth-url')?.trim();
  if (urlText === undefined) {
    for (const name of EXTERNAL_AUTH) if (a.has(name)) sink.warn('IgnoredAnnotation', `${NGINX_PREFIX}${name} has no effect without ${NGINX_PREFIX}auth-url`);
    return undefined;
  }
  const template = (name: string, text: string) => urlTemplate(name, text, bad);
  const url = template('auth-url', urlText);
  if (url === undefined) return undefined;

  const methodText = a.get('auth-method')?.trim();
  if (methodText !== undefined && !AUTH_METHODS.has(methodText)) {
    bad('auth-method', `${JSON.stringify(methodText)} is not one of ${[...AUTH_METHODS].join(', ')}`);
    return undefined;
  }
  const responseHeaders: string[] = [];
  for (const part of (a.get('auth-response-headers') ?? '').split(',')) {
    const h = part.trim();
    if (h === '') continue;
    if (!FIELD_NAME.test(h)) {
      bad('auth-response-headers', `${JSON.stringify(h)} is not a header name`);
      return undefined;
    }
    responseHeaders.push(h);
  }
  const param = a.get('auth-signin-redirect-param')?.trim() || 'rd';
  if (!/^[A-Za-z0-9_.\-]+$/.test(param)) {
    bad('auth-signin-redirect-param', `${JSON.stringify(param)} is not a query parameter name`);
    return undefined;
  }
  let signin: ExternalAuthSpec['signin'];
  const signinText = a.get('auth-signin')?.trim();
  if (signinText !== undefined && signinText !== '') {
    signin = template('auth-signin', signinUrl(signinText, param));
    if (signin === undefined) return undefined;
  }
  let requestRedirect: ExternalAuthSpec['requestRedirect'];
  const redirectText = a.get('auth-request-redirect');
  if (redirectText !== undefined && redirectText.trim() !== '') {
    const r = parseNginxTemplate(redirectText.trim());
    if (!r.ok || !/^[\x21-\x7e]+$/.test(redirectText.trim())) {
      bad('auth-request-redirect', r.ok ? `${JSON.stringify(redirectText)} must not hold spaces or control characters` : r.error);
      return undefined;
    }
    requestRedirect = r.parts;
  }
  return {
    type: 'externalAuth',
    url,
    ...(methodText !== undefined ? { method: methodText } : {}),
    ...(signin !== undefined ? { signin } : {}),
    signinRedirectParam: param,
    responseHeaders,
    ...(requestRedirect !== undefined ? { requestRedirect } : {}),
    alwaysSetCookie: get('auth-always-set-cookie', parseGoBool) ?? false,
    connectTimeoutMs: AUTH_CONNECT_TIMEOUT_MS,
    timeoutMs: AUTH_READ_TIMEOUT_MS,
  };
}

/**
 * The sign-in URL as ingress-nginx's buildAuthSignURL makes it: the original
 * URL added as `param` unless the query already has it.
 */
export function signinUrl(text: string, param: string): string {
  const q = text.indexOf('?');
  const back = `${param}=$pass_access_scheme://$http_host$escaped_request_uri`;
  if (q < 0) return `${text}?${back}`;
  const query = new URLSearchParams(text.slice(q + 1).split('#')[0]);
  if ((query.get(param) ?? '') !== '') return text;
  return `${text}&${back}`;
}

function optional<K extends string, V>(key: K, value: V | undefined): { [k in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [k in K]?: V };
}

type Getter = <T>(name: string, parse: (text: string) => Parsed<T>) => T | undefined;

function parseCanary(a: Map<string, string>, get: Getter, bad: (name: string, error: string) => void): NginxCanaryConfig | undefined {
  const weightTotal = get('canary-weight-total', (t) => parseInteger(t, 1, 1_000_000_000)) ?? 100;
  const weight = get('canary-weight', (t) => parseInteger(t, 0, 1_000_000_000)) ?? 0;
  if (weight > weightTotal) {
    bad('canary-weight', `${weight} exceeds canary-weight-total ${weightTotal}`);
    return undefined;
  }
  const header = a.get('canary-by-header')?.trim();
  if (header !== undefined && !/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(header)) {
    bad('canary-by-header', `${JSON.stringify(header)} is not a header name`);
    return undefined;
  }
  const headerValue = a.get('canary-by-header-value');
  let headerPattern: GoRegexp | undefined;
  const patternText = a.get('canary-by-header-pattern');
  if (patternText !== undefined && patternText !== '') {
    const r = compileGoRegexp(patternText);
    if (!r.ok) {
      bad('canary-by-header-pattern', r.error);
      return undefined;
    }
    headerPattern = r.regexp;
  }
  if ((headerValue !== undefined || headerPattern !== undefined) && !header) {
    bad(headerValue !== undefined ? 'canary-by-header-value' : 'canary-by-header-pattern', 'needs canary-by-header');
    return undefined;
  }
  const cookie = a.get('canary-by-cookie')?.trim();
  return {
    ...(header ? { header: header.toLowerCase() } : {}),
    ...(headerValue !== undefined && headerValue !== '' ? { headerValue } : {}),
    // ingress-nginx ignores the pattern when a value is set.
    ...(headerPattern !== undefined && !headerValue ? { headerPattern } : {}),
    ...(cookie ? { cookie } : {}),
    weight,
    weightTotal,
  };
}

/** ingress-nginx mirror-target, as its template and nginx's proxy_pass use it (checked against nginx). */
export interface NginxMirror {
  /** `scheme://host[:port]`: where the copies go (variables are not allowed there: the backend is chosen once). */
  readonly origin: string;
  /** The URL's path and query: with variables, the copy's request-target as they expand; without, the path the request's arguments are added to. */
  readonly path: readonly TemplatePart[];
  readonly pathHasVariables: boolean;
  /** The copy's Host (mirror-host; default the URL's host and port). */
  readonly host: readonly TemplatePart[];
  /** mirror-request-body (default on). */
  readonly body: boolean;
}

function parseMirror(a: Map<string, string>, bad: (name: string, error: string) => void, idle: (name: string) => void): NginxMirror | undefined {
  const text = a.get('mirror-target')?.trim();
  const bodyText = a.get('mirror-request-body')?.trim();
  if (bodyText !== undefined && bodyText !== 'on' && bodyText !== 'off') bad('mirror-request-body', `${JSON.stringify(bodyText)} is not on or off`);
  if (text === undefined || text === '') {
    for (const name of ['mirror-host', 'mirror-request-body']) if (a.has(name)) idle(name);
    return undefined;
  }
  const m = /^(https?):\/\/([^/?#$]+)([/?$][^#]*)?$/i.exec(text);
  if (m === null || !/^[\x21-\x7e]+$/.test(text)) {
    bad('mirror-target', `${JSON.stringify(text)} is not an http:// or https:// URL with its host written out (variables only after it)`);
    return undefined;
  }
  let origin: URL;
  try {
    origin = new URL(`${m[1]!.toLowerCase()}://${m[2]}`);
  } catch {
    bad('mirror-target', `${JSON.stringify(m[2])} is not a host`);
    return undefined;
  }
  const path = parseNginxTemplate(m[3] ?? '');
  if (!path.ok) {
    bad('mirror-target', path.error);
    return undefined;
  }
  const hostText = a.get('mirror-host')?.trim() || origin.host;
  const host = parseNginxTemplate(hostText);
  if (!host.ok || !/^[\x21-\x7e]+$/.test(hostText)) {
    bad('mirror-host', host.ok ? `${JSON.stringify(hostText)} holds spaces or control characters` : host.error);
    return undefined;
  }
  return { origin: origin.origin, path: path.parts, pathHasVariables: path.parts.some((p) => 'variable' in p), host: host.parts, body: bodyText !== 'off' };
}

function parseAffinity(a: Map<string, string>, get: Getter, bad: (name: string, error: string) => void): StickyCookie | undefined {
  const kind = a.get('affinity');
  if (kind === undefined) {
    for (const name of AFFINITY) if (name !== 'affinity' && a.has(name)) bad(name, `needs ${NGINX_PREFIX}affinity: cookie`);
    return undefined;
  }
  if (kind.trim() !== 'cookie') {
    bad('affinity', `${JSON.stringify(kind)} is not supported (only "cookie")`);
    return undefined;
  }
  const name = a.get('session-cookie-name')?.trim() || 'INGRESSCOOKIE';
  if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name)) {
    bad('session-cookie-name', `${JSON.stringify(name)} is not a cookie name`);
    return undefined;
  }
  const sameSiteText = a.get('session-cookie-samesite');
  let sameSite: StickyCookie['sameSite'];
  if (sameSiteText !== undefined) {
    const s = sameSiteText.trim().toLowerCase();
    if (s === 'none') sameSite = 'None';
    else if (s === 'lax') sameSite = 'Lax';
    else if (s === 'strict') sameSite = 'Strict';
    else bad('session-cookie-samesite', `${JSON.stringify(sameSiteText)} is not None, Lax or Strict`);
  }
  const mode = a.get('affinity-mode')?.trim();
  if (mode !== undefined && mode !== 'balanced' && mode !== 'persistent') bad('affinity-mode', `${JSON.stringify(mode)} is not balanced or persistent`);
  const behavior = a.get('affinity-canary-behavior')?.trim();
  if (behavior !== undefined && behavior !== 'sticky' && behavior !== 'legacy') bad('affinity-canary-behavior', `${JSON.stringify(behavior)} is not sticky or legacy`);
  const maxAge = get('session-cookie-max-age', (t) => parseInteger(t, 0));
  const expires = get('session-cookie-expires', (t) => parseInteger(t, 0));
  const path = a.get('session-cookie-path')?.trim();
  const domain = a.get('session-cookie-domain')?.trim();
  return {
    name,
    ...(path ? { path } : {}),
    ...(domain ? { domain } : {}),
    ...(maxAge !== undefined ? { maxAgeSeconds: maxAge } : {}),
    ...(expires !== undefined ? { expiresSeconds: expires } : {}),
    ...(sameSite ? { sameSite } : {}),
    ...(get('session-cookie-conditional-samesite-none', parseGoBool) === true ? { conditionalSameSiteNone: true } : {}),
    secure: get('session-cookie-secure', parseGoBool) ?? false,
    httpOnly: true,
    mode: mode === 'persistent' ? 'persistent' : 'balanced',
    changeOnFailure: get('session-cookie-change-on-failure', parseGoBool) ?? false,
  };
}
