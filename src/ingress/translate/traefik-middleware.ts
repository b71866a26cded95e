// A Traefik Middleware object's spec -> MiddlewareSpec (data), following
// Traefik's middleware reference (doc.traefik.io, middlewares/http/*;
// basicAuth hash formats as in go-http-auth, which Traefik uses):
// - rateLimit: average requests per `period` (default 1s), burst (default
//   1), sourceCriterion; over it: 429.
// - inFlightReq: amount, sourceCriterion; over it: 429.
// - basicAuth: `secret` (a Secret with htpasswd lines under `users`, or of
//   type kubernetes.io/basic-auth with username/password), realm (default
//   "traefik"), removeHeader, headerField. The `users` field does not exist
//   on the Kubernetes CRD. Hashes: MD5 (apr1), SHA1, BCrypt.
// - compress: excludedContentTypes / includedContentTypes (exclusive),
//   minResponseBodyBytes (default 1024), encodings (default gzip, br, zstd).
// - forwardAuth: address, trustForwardHeader, authResponseHeaders,
//   authResponseHeadersRegex, authRequestHeaders, addAuthCookiesToResponse,
//   preserveLocationHeader, preserveRequestMethod, tls (caSecret,
//   certSecret, insecureSkipVerify) (runtime/middlewares/forward-auth.ts);
//   headerField (access log only) warned; forwardBody (with maxBodySize),
//   maxResponseBodySize and authSigninURL as in Traefik 3.7.
// - grpcWeb: allowOrigins; the engine bridges gRPC-Web to the route's
//   HTTP/2 backend (proxy/http/grpc-web-codec.ts).
// - stripPrefix (prefixes, forceSlash), addPrefix (prefix), replacePath
//   (path), redirectScheme (scheme, port, permanent), redirectRegex (regex,
//   replacement, permanent), ipAllowList / ipWhiteList (sourceRange,
//   ipStrategy, rejectStatusCode), retry (attempts, initialInterval),
//   headers (custom request/response headers, CORS, security headers),
//   chain (middlewares).
// Anything else is reported and makes the Middleware unusable: a route must
// never be served without a middleware it asked for (it may be an auth).

import type { V1Secret } from '@kubernetes/client-node';
import { compileGoRegexp } from '../match/go-regexp.ts';
import { parseIpNetwork, type IpNetwork } from '../match/ip-match.ts';
import type { BasicAuthUser, DnPart, ForwardAuthSpec, HeadersSpec, MiddlewareSpec } from '../model/middleware-spec.ts';
import type { SourceCriterion } from '../model/service-node.ts';
import type { MiddlewareObject, TraefikServiceRef } from '../model/traefik-crd.ts';
import type { LeafNode } from '../model/service-node.ts';
import { resolveServiceRefs } from './traefik-service.ts';
import type { ClusterView } from './cluster-view.ts';
import { compileBreakerExpression } from '../match/breaker-expression.ts';
import { parseHtdigest } from './htdigest.ts';
import { parseHtpasswd } from './htpasswd.ts';
import { asNonNegativeInt, parseTraefikDuration } from './value-parsers.ts';

export type MiddlewareParse =
  | { readonly ok: true; readonly specs: readonly MiddlewareSpec[]; readonly warnings: readonly string[] }
  | { readonly ok: false; readonly reason: string; readonly error: string };

/** Middleware types we know Traefik has but do not implement. */
const KNOWN_UNSUPPORTED = new Set([
  'plugin',
]);

/** forwardAuth fields metalgate serves, and those it refuses (they change who gets through or what the auth service sees). */
const FORWARD_AUTH_FIELDS = new Set([
  'address',
  'trustForwardHeader',
  'authResponseHeaders',
  'authResponseHeadersRegex',
  'authRequestHeaders',
  'addAuthCookiesToResponse',
  'preserveLocationHeader',
  'preserveRequestMethod',
  'tls',
  'headerField',
  'forwardBody',
  'maxBodySize',
  'maxResponseBodySize',
  'authSigninURL',
]);
const FORWARD_AUTH_TLS_FIELDS = new Set(['caSecret', 'certSecret', 'insecureSkipVerify', 'caOptional']);
/** Traefik's forwardAuth client timeout. */
const FORWARD_AUTH_TIMEOUT_MS = 30_000;
/**
 * forwardBody without maxBodySize (Traefik: unlimited, with a warning): a
 * body read whole costs its size for each request in flight, so it is
 * bounded here besides the route's body limit; a larger one gets 401.
 */
const FORWARD_BODY_DEFAULT_MAX = 16 * 1024 * 1024;
/** maxResponseBodySize unset (Traefik: unlimited, with a warning): an auth service's refusal page, not a download. */
const AUTH_ANSWER_DEFAULT_MAX = 1024 * 1024;

class Bad extends Error {}

/** What may go into a request-target: visible ASCII (no spaces, no controls). */
const TARGET_TEXT = /^[\x21-\x7e]+$/;

function fail(message: string): never {
  throw new Bad(message);
}

function obj(v: unknown, what: string): Record<string, unknown> {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) fail(`${what} must be an object`);
  return v as Record<string, unknown>;
}

function strList(v: unknown, what: string): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) fail(`${what} must be a list of strings`);
  return v as string[];
}

function str(v: unknown, what: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') fail(`${what} must be a string`);
  return v;
}

function bool(v: unknown, what: string): boolean {
  if (v === undefined || v === null) return false;
  if (typeof v !== 'boolean') fail(`${what} must be true or false`);
  return v;
}

function num(v: unknown, what: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  const r = asNonNegativeInt(v, what);
  if (!r.ok) fail(r.error);
  return r.value;
}

function networks(list: string[], what: string): IpNetwork[] {
  return list.map((t) => parseIpNetwork(t.trim()) ?? fail(`${what}: ${JSON.stringify(t)} is not an IP address or CIDR`));
}

function sourceCriterion(v: unknown, what: string): SourceCriterion {
  const sc = obj(v, what);
  const header = str(sc.requestHeaderName, `${what}.requestHeaderName`);
  const host = bool(sc.requestHost, `${what}.requestHost`);
  const ip = obj(sc.ipStrategy, `${what}.ipStrategy`);
  return {
    depth: num(ip.depth, `${what}.ipStrategy.depth`) ?? 0,
    excluded: networks(strList(ip.excludedIPs, `${what}.ipStrategy.excludedIPs`), `${what}.ipStrategy.excludedIPs`),
    ...(header ? { header: header.toLowerCase() } : {}),
    ...(host ? { host } : {}),
  };
}

function duration(v: unknown, what: string, dflt: number): number {
  if (v === undefined || v === null || v === '') return dflt;
  const r = parseTraefikDuration(v);
  if (!r.ok) fail(`${what}: ${r.error}`);
  return r.value;
}

/** The Secret an auth middleware names (`secret`, in its namespace), or the parse failure to return. */
function authSecret(
  o: Record<string, unknown>,
  type: 'basicAuth' | 'digestAuth',
  ns: string,
  view: ClusterView,
): { ok: true; secret: V1Secret; name: string } | { ok: false; reason: string; error: string } {
  if (o.users !== undefined) fail(`${type}.users is not available on Kubernetes CRDs (as in Traefik); use ${type}.secret`);
  const name = str(o.secret, `${type}.secret`);
  if (!name) fail(`${type}.secret is required`);
  const secret = view.secret(ns, name!);
  return secret === undefined ? { ok: false, reason: 'MissingSecret', error: `${type}: Secret ${ns}/${name} not found` } : { ok: true, secret, name: name! };
}

function authHeaderField(o: Record<string, unknown>, type: 'basicAuth' | 'digestAuth'): string | undefined {
  const headerField = str(o.headerField, `${type}.headerField`);
  if (headerField !== undefined && !/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(headerField)) fail(`${type}.headerField ${JSON.stringify(headerField)} is not a header name`);
  return headerField;
}

function secretText(secret: V1Secret, key: string): string | undefined {
  const b64 = secret.data?.[key];
  if (b64 !== undefined) return Buffer.from(b64, 'base64').toString('utf8');
  return secret.stringData?.[key];
}

function basicAuthUsers(secret: V1Secret): BasicAuthUser[] {
  if (secret.type === 'kubernetes.io/basic-auth') {
    const name = secretText(secret, 'username');
    const password = secretText(secret, 'password');
    if (!name || password === undefined) fail('a kubernetes.io/basic-auth Secret needs username and password');
    // Stored in clear: compared as plain text.
    return [{ name, hash: password }];
  }
  const users = secretText(secret, 'users');
  if (users === undefined) fail('the Secret has no "users" key (htpasswd lines) and is not of type kubernetes.io/basic-auth');
  const r = parseHtpasswd(users);
  if (!r.ok) fail(r.error);
  return r.users;
}

function headersSpec(h: Record<string, unknown>): HeadersSpec {
  const pairs = (v: unknown, what: string): [string, string][] => {
    const o = obj(v, what);
    return Object.entries(o).map(([k, val]) => {
      if (typeof val !== 'string') fail(`${what}.${k} must be a string`);
      if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(k)) fail(`${what}: ${JSON.stringify(k)} is not a header name`);
      if (/[\r\n\0]/.test(val)) fail(`${what}.${k}: control characters are not allowed`);
      return [k, val];
    });
  };
  const security: [string, string][] = [];
  const stsSeconds = num(h.stsSeconds, 'headers.stsSeconds') ?? 0;
  if (stsSeconds > 0) {
    let v = `max-age=${stsSeconds}`;
    if (bool(h.stsIncludeSubdomains, 'headers.stsIncludeSubdomains')) v += '; includeSubDomains';
    if (bool(h.stsPreload, 'headers.stsPreload')) v += '; preload';
    security.push(['Strict-Transport-Security', v]);
  }
  const frame = str(h.customFrameOptionsValue, 'headers.customFrameOptionsValue');
  if (frame) security.push(['X-Frame-Options', frame]);
  else if (bool(h.frameDeny, 'headers.frameDeny')) security.push(['X-Frame-Options', 'DENY']);
  if (bool(h.contentTypeNosniff, 'headers.contentTypeNosniff')) security.push(['X-Content-Type-Options', 'nosniff']);
  const xss = str(h.customBrowserXSSValue, 'headers.customBrowserXSSValue');
  if (xss) security.push(['X-XSS-Protection', xss]);
  else if (bool(h.browserXssFilter, 'headers.browserXssFilter')) security.push(['X-XSS-Protection', '1; mode=block']);
  const csp = str(h.contentSecurityPolicy, 'headers.contentSecurityPolicy');
  if (csp) security.push(['Content-Security-Policy', csp]);
  const referrer = str(h.referrerPolicy, 'headers.referrerPolicy');
  if (referrer) security.push(['Referrer-Policy', referrer]);
  const permissions = str(h.permissionsPolicy, 'headers.permissionsPolicy');
  if (permissions) security.push(['Permissions-Policy', permissions]);
  const origins = strList(h.accessControlAllowOriginList, 'headers.accessControlAllowOriginList');
  const cors =
    origins.length > 0
      ? {
          allowOrigins: origins,
          allowMethods: strList(h.accessControlAllowMethods, 'headers.accessControlAllowMethods'),
          allowHeaders: strList(h.accessControlAllowHeaders, 'headers.accessControlAllowHeaders'),
          exposeHeaders: strList(h.accessControlExposeHeaders, 'headers.accessControlExposeHeaders'),
          allowCredentials: bool(h.accessControlAllowCredentials, 'headers.accessControlAllowCredentials'),
          ...(num(h.accessControlMaxAge, 'headers.accessControlMaxAge') !== undefined ? { maxAge: num(h.accessControlMaxAge, 'headers.accessControlMaxAge')! } : {}),
          addVaryHeader: bool(h.addVaryHeader, 'headers.addVaryHeader'),
        }
      : undefined;
  return {
    type: 'headers',
    request: pairs(h.customRequestHeaders, 'headers.customRequestHeaders'),
    response: pairs(h.customResponseHeaders, 'headers.customResponseHeaders'),
    securityResponse: security,
    ...(cors ? { cors } : {}),
    allowedHosts: strList(h.allowedHosts, 'headers.allowedHosts').map((x) => x.toLowerCase()),
  };
}

const KNOWN_HEADER_FIELDS = new Set([
  'customRequestHeaders',
  'customResponseHeaders',
  'stsSeconds',
  'stsIncludeSubdomains',
  'stsPreload',
  'forceSTSHeader',
  'customFrameOptionsValue',
  'frameDeny',
  'contentTypeNosniff',
  'customBrowserXSSValue',
  'browserXssFilter',
  'contentSecurityPolicy',
  'referrerPolicy',
  'permissionsPolicy',
  'accessControlAllowOriginList',
  'accessControlAllowMethods',
  'accessControlAllowHeaders',
  'accessControlExposeHeaders',
  'accessControlAllowCredentials',
  'accessControlMaxAge',
  'addVaryHeader',
  'allowedHosts',
]);

/**
 * Parses one Middleware. `resolveChain` resolves a chain member (same
 * namespace unless qualified) to its specs, for `chain`.
 */
export function parseMiddleware(
  mw: MiddlewareObject,
  view: ClusterView,
  resolveChain: (ref: { name?: string; namespace?: string }) => MiddlewareSpec[] | string,
): MiddlewareParse {
  const ns = mw.metadata?.namespace ?? 'default';
  const spec = mw.spec ?? {};
  const keys = Object.keys(spec).filter((k) => spec[k] !== undefined && spec[k] !== null);
  if (keys.length === 0) return { ok: false, reason: 'BadMiddleware', error: 'the Middleware declares no middleware type' };
  if (keys.length > 1) return { ok: false, reason: 'BadMiddleware', error: `the Middleware declares several types (${keys.join(', ')}); Traefik allows one` };
  const type = keys[0]!;
  const c = spec[type];
  const warnings: string[] = [];
  try {
    const o = obj(c, type);
    switch (type) {
      case 'rateLimit': {
        const average = num(o.average, 'rateLimit.average') ?? 0;
        const periodMs = duration(o.period, 'rateLimit.period', 1000);
        const burst = num(o.burst, 'rateLimit.burst') ?? 1;
        if (average === 0) return { ok: true, specs: [], warnings: ['rateLimit.average is 0: no limit (as in Traefik)'] };
        if (periodMs <= 0) fail('rateLimit.period must be positive');
        return {
          ok: true,
          specs: [{ type: 'rateLimit', ratePerSecond: (average * 1000) / periodMs, burst: Math.max(1, burst), source: sourceCriterion(o.sourceCriterion, 'rateLimit.sourceCriterion'), rejectStatus: 429 }],
          warnings,
        };
      }
      case 'inFlightReq': {
        const amount = num(o.amount, 'inFlightReq.amount') ?? 0;
        if (amount <= 0) fail('inFlightReq.amount must be a positive integer');
        return { ok: true, specs: [{ type: 'inFlightReq', amount, source: sourceCriterion(o.sourceCriterion, 'inFlightReq.sourceCriterion') }], warnings };
      }
      case 'basicAuth': {
        const found = authSecret(o, 'basicAuth', ns, view);
        if (!found.ok) return found;
        const users = basicAuthUsers(found.secret);
        if (users.length === 0) fail(`basicAuth: Secret ${ns}/${found.name} holds no users`);
        const headerField = authHeaderField(o, 'basicAuth');
        return {
          ok: true,
          specs: [{ type: 'basicAuth', users, realm: str(o.realm, 'basicAuth.realm') || 'traefik', removeHeader: bool(o.removeHeader, 'basicAuth.removeHeader'), ...(headerField ? { headerField } : {}) }],
          warnings,
        };
      }
      case 'forwardAuth': {
        for (const k of Object.keys(o)) if (!FORWARD_AUTH_FIELDS.has(k)) fail(`forwardAuth.${k} is not a forwardAuth field`);
        const address = str(o.address, 'forwardAuth.address');
        if (!address) fail('forwardAuth.address is required');
        let url: URL;
        try {
          url = new URL(address);
        } catch {
          fail(`forwardAuth.address ${JSON.stringify(address)} is not a URL`);
        }
        if (url.protocol !== 'http:' && url.protocol !== 'https:') fail(`forwardAuth.address ${JSON.stringify(address)} is not an http or https URL`);
        const fields = (what: string) => {
          const list = strList(o[what], `forwardAuth.${what}`);
          for (const f of list) if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(f)) fail(`forwardAuth.${what}: ${JSON.stringify(f)} is not a header name`);
          return list;
        };
        const regexText = str(o.authResponseHeadersRegex, 'forwardAuth.authResponseHeadersRegex');
        let regex;
        if (regexText) {
          // Traefik matches field names case-insensitively (they are canonicalized).
          const r = compileGoRegexp(`(?i)${regexText}`);
          if (!r.ok) fail(`forwardAuth.authResponseHeadersRegex: ${r.error}`);
          regex = r.regexp;
        }
        const cookies = strList(o.addAuthCookiesToResponse, 'forwardAuth.addAuthCookiesToResponse');
        const forwardBody = bool(o.forwardBody, 'forwardAuth.forwardBody');
        // Bytes, or -1 for Traefik's "no limit" (then metalgate's default bound).
        const byteLimit = (k: string): number | undefined => (o[k] === -1 ? undefined : num(o[k], `forwardAuth.${k}`));
        const maxBody = byteLimit('maxBodySize');
        const maxAnswer = byteLimit('maxResponseBodySize');
        const signin = str(o.authSigninURL, 'forwardAuth.authSigninURL');
        if (signin && /[\x00-\x20\x7f]/.test(signin)) fail(`forwardAuth.authSigninURL ${JSON.stringify(signin)} holds a space or control character`);
        // headerField only names the user in Traefik's access log.
        const headerField = str(o.headerField, 'forwardAuth.headerField');
        if (headerField) warnings.push('forwardAuth.headerField only names the user in Traefik\'s access log; metalgate\'s access log has no user field: ignored');
        let tls: ForwardAuthSpec['tls'];
        if (o.tls !== undefined && o.tls !== null) {
          const t = obj(o.tls, 'forwardAuth.tls');
          for (const k of Object.keys(t)) if (!FORWARD_AUTH_TLS_FIELDS.has(k)) fail(`forwardAuth.tls.${k} is not a forwardAuth TLS field (caSecret, certSecret, insecureSkipVerify)`);
          if (t.caOptional !== undefined) warnings.push('forwardAuth.tls.caOptional is deprecated in Traefik (client authentication is a server setting): ignored');
          const skip = bool(t.insecureSkipVerify, 'forwardAuth.tls.insecureSkipVerify');
          const read = (field: 'caSecret' | 'certSecret', keys: string[]): string[] | { reason: string; error: string } => {
            const name = str(t[field], `forwardAuth.tls.${field}`);
            if (!name) return [];
            const secret = view.secret(ns, name);
            if (secret === undefined) return { reason: 'MissingSecret', error: `forwardAuth.tls.${field}: Secret ${ns}/${name} not found` };
            const texts: string[] = [];
            for (const k of keys) {
              const text = secretText(secret, k);
              if (text !== undefined) texts.push(text);
            }
            if (texts.length === 0) return { reason: 'BadSecret', error: `forwardAuth.tls.${field}: Secret ${ns}/${name} has none of ${keys.join(', ')}` };
            return texts;
          };
          const ca = read('caSecret', ['tls.ca', 'ca.crt']);
          if (!Array.isArray(ca)) return { ok: false, ...ca };
          const pair = read('certSecret', ['tls.crt', 'tls.key']);
          if (!Array.isArray(pair)) return { ok: false, ...pair };
          if (pair.length === 1) return { ok: false, reason: 'BadSecret', error: `forwardAuth.tls.certSecret: Secret ${ns}/${str(t.certSecret, '')} needs both tls.crt and tls.key` };
          if (ca.length > 0 && !ca[0]!.includes('-----BEGIN CERTIFICATE-----')) return { ok: false, reason: 'BadSecret', error: `forwardAuth.tls.caSecret: Secret ${ns}/${str(t.caSecret, '')} holds no PEM certificate` };
          tls = { insecureSkipVerify: skip, ...(ca.length > 0 ? { ca: ca[0]! } : {}), ...(pair.length === 2 ? { cert: pair[0]!, key: pair[1]! } : {}) };
          if (url.protocol !== 'https:') warnings.push('forwardAuth.tls is set but the address is not https: it is not used');
        }
        return {
          ok: true,
          specs: [
            {
              type: 'forwardAuth',
              address,
              trustForwardHeader: bool(o.trustForwardHeader, 'forwardAuth.trustForwardHeader'),
              authResponseHeaders: fields('authResponseHeaders'),
              ...(regex ? { authResponseHeadersRegex: regex } : {}),
              authRequestHeaders: fields('authRequestHeaders'),
              addAuthCookiesToResponse: cookies,
              preserveLocationHeader: bool(o.preserveLocationHeader, 'forwardAuth.preserveLocationHeader'),
              preserveRequestMethod: bool(o.preserveRequestMethod, 'forwardAuth.preserveRequestMethod'),
              ...(tls !== undefined ? { tls } : {}),
              timeoutMs: FORWARD_AUTH_TIMEOUT_MS,
              ...(forwardBody ? { forwardBodyMaxBytes: maxBody ?? FORWARD_BODY_DEFAULT_MAX } : {}),
              maxResponseBodyBytes: maxAnswer ?? AUTH_ANSWER_DEFAULT_MAX,
              ...(signin ? { signinUrl: signin } : {}),
            },
          ],
          warnings,
        };
      }
      case 'grpcWeb': {
        for (const k of Object.keys(o)) if (k !== 'allowOrigins') fail(`grpcWeb.${k} is not a grpcWeb field`);
        const allowOrigins = strList(o.allowOrigins, 'grpcWeb.allowOrigins');
        for (const origin of allowOrigins) if (origin !== '*' && !/^[a-z][a-z0-9+.-]*:\/\/[^\s/]+$/i.test(origin)) fail(`grpcWeb.allowOrigins: ${JSON.stringify(origin)} is not an origin (scheme://host[:port]) or *`);
        if (allowOrigins.length === 0) warnings.push('grpcWeb.allowOrigins is empty: no browser origin may call (as in Traefik)');
        return { ok: true, specs: [{ type: 'grpcWeb', allowOrigins }], warnings };
      }
      case 'circuitBreaker': {
        const expression = str(o.expression, 'circuitBreaker.expression') ?? '';
        if (expression.length > 1024) fail('circuitBreaker.expression is longer than 1024 characters');
        const c = compileBreakerExpression(expression);
        if (!c.ok) fail(`circuitBreaker.expression: ${c.error}`);
        const responseCode = num(o.responseCode, 'circuitBreaker.responseCode') ?? 503;
        if (responseCode < 100 || responseCode > 599) fail(`circuitBreaker.responseCode ${responseCode} is not an HTTP status`);
        const checkPeriodMs = duration(o.checkPeriod, 'circuitBreaker.checkPeriod', 100);
        if (checkPeriodMs <= 0) fail('circuitBreaker.checkPeriod must be positive');
        return {
          ok: true,
          specs: [
            {
              type: 'circuitBreaker',
              expression,
              checkPeriodMs,
              fallbackDurationMs: duration(o.fallbackDuration, 'circuitBreaker.fallbackDuration', 10_000),
              recoveryDurationMs: Math.max(1, duration(o.recoveryDuration, 'circuitBreaker.recoveryDuration', 10_000)),
              responseCode,
            },
          ],
          warnings,
        };
      }
      case 'digestAuth': {
        const found = authSecret(o, 'digestAuth', ns, view);
        if (!found.ok) return found;
        const secretName = found.name;
        const text = secretText(found.secret, 'users');
        if (text === undefined) fail(`digestAuth: Secret ${ns}/${secretName} has no "users" key (htdigest lines)`);
        const d = parseHtdigest(text);
        if (!d.ok) fail(`digestAuth: Secret ${ns}/${secretName}: ${d.error}`);
        const realm = str(o.realm, 'digestAuth.realm') || 'traefik';
        const users = d.users.filter((u) => u.realm === realm);
        if (users.length === 0) fail(`digestAuth: Secret ${ns}/${secretName} holds no user of the realm ${JSON.stringify(realm)}`);
        const headerField = authHeaderField(o, 'digestAuth');
        return { ok: true, specs: [{ type: 'digestAuth', users, realm, removeHeader: bool(o.removeHeader, 'digestAuth.removeHeader'), ...(headerField ? { headerField } : {}) }], warnings };
      }
      case 'compress': {
        const excluded = strList(o.excludedContentTypes, 'compress.excludedContentTypes');
        const included = strList(o.includedContentTypes, 'compress.includedContentTypes');
        if (excluded.length > 0 && included.length > 0) fail('compress: excludedContentTypes and includedContentTypes are mutually exclusive');
        const encodings = strList(o.encodings, 'compress.encodings');
        for (const e of encodings) if (e !== 'gzip' && e !== 'br' && e !== 'zstd') fail(`compress.encodings: ${JSON.stringify(e)} is not gzip, br or zstd`);
        return {
          ok: true,
          specs: [
            {
              type: 'compress',
              excludedContentTypes: excluded.map((t) => t.toLowerCase()),
              includedContentTypes: included.map((t) => t.toLowerCase()),
              minResponseBodyBytes: num(o.minResponseBodyBytes, 'compress.minResponseBodyBytes') ?? 1024,
              encodings: (encodings.length > 0 ? encodings : ['gzip', 'br', 'zstd']) as ('gzip' | 'br' | 'zstd')[],
            },
          ],
          warnings,
        };
      }
      case 'stripPrefix': {
        const prefixes = strList(o.prefixes, 'stripPrefix.prefixes');
        if (prefixes.length === 0) fail('stripPrefix.prefixes is empty');
        for (const p of prefixes) if (!TARGET_TEXT.test(p)) fail(`stripPrefix.prefixes: ${JSON.stringify(p)} must be a path without spaces or control characters`);
        if (o.forceSlash !== undefined) warnings.push('stripPrefix.forceSlash is deprecated in Traefik');
        return { ok: true, specs: [{ type: 'stripPrefix', prefixes, forceSlash: o.forceSlash === undefined ? true : bool(o.forceSlash, 'stripPrefix.forceSlash') }], warnings };
      }
      case 'contentType': {
        // Traefik v3: the middleware turns sniffing on; v2's `autoDetect: false` turned it off (it was on by default there).
        if (o.autoDetect !== undefined && !bool(o.autoDetect, 'contentType.autoDetect')) return { ok: true, specs: [], warnings };
        return { ok: true, specs: [{ type: 'contentType' }], warnings };
      }
      case 'buffering': {
        // Limits only: metalgate streams bodies, so the memory thresholds mean nothing here.
        const limit = (k: string): number => {
          if (o[k] === undefined) return 0;
          const r = asNonNegativeInt(o[k], `buffering.${k}`);
          if (!r.ok) fail(r.error);
          return r.ok ? r.value : 0;
        };
        for (const k of ['memRequestBodyBytes', 'memResponseBodyBytes']) if (o[k] !== undefined) warnings.push(`buffering.${k} is ignored: bodies are streamed, not held in memory`);
        const specs: MiddlewareSpec[] = [{ type: 'buffering', requestBytes: limit('maxRequestBodyBytes'), responseBytes: limit('maxResponseBodyBytes') }];
        if (o.retryExpression !== undefined) {
          const m = /^\s*IsNetworkError\(\)\s*&&\s*Attempts\(\)\s*<\s*([0-9]+)\s*$/.exec(String(o.retryExpression));
          if (m === null) fail(`buffering.retryExpression ${JSON.stringify(o.retryExpression)}: only "IsNetworkError() && Attempts() < N" is supported`);
          specs.push({ type: 'retry', attempts: Math.max(1, Math.min(10, Number(m![1]))), initialIntervalMs: 0 });
        }
        return { ok: true, specs, warnings };
      }
      case 'errors': {
        // Traefik: status ranges ("500-599", "404"), a service (same namespace), the page path with {status} and {url}.
        const ranges = strList(o.status, 'errors.status').map((r): [number, number] => {
          const m = /^([1-5][0-9][0-9])(?:-([1-5][0-9][0-9]))?$/.exec(r.trim());
          if (m === null) fail(`errors.status: ${JSON.stringify(r)} is not a status or a range like 500-599`);
          const from = Number(m![1]);
          const to = m![2] === undefined ? from : Number(m![2]);
          if (to < from) fail(`errors.status: ${JSON.stringify(r)} is a reversed range`);
          return [from, to];
        });
        if (ranges.length === 0) fail('errors.status is empty');
        const query = str(o.query, 'errors.query') ?? '/';
        if (!TARGET_TEXT.test(query.replaceAll('{status}', '').replaceAll('{url}', ''))) fail('errors.query must be a path without spaces or control characters');
        if (o.statusRewrites !== undefined) warnings.push('errors.statusRewrites is not supported: the original status is kept');
        const ref = o.service as TraefikServiceRef | undefined;
        if (ref === undefined || ref === null || typeof ref !== 'object') fail('errors.service is required');
        const r = resolveServiceRefs([{ ...ref!, weight: undefined }], ns, view, { allowCrossNamespace: false }, `${ns}-${mw.metadata?.name ?? ''}-errors`);
        if (!r.ok) fail(`errors.service: ${r.error}`);
        if (r.ok && r.node.kind !== 'leaf') fail('errors.service must be a Service (a TraefikService is not supported here)');
        const service = (r as { node: LeafNode }).node;
        return { ok: true, specs: [{ type: 'errorPages', statuses: ranges, service, style: 'traefik', query }], warnings };
      }
      case 'passTLSClientCert': {
        const info = o.info;
        if (info !== undefined && (info === null || typeof info !== 'object' || Array.isArray(info))) fail('passTLSClientCert.info must be an object');
        const i = (info ?? {}) as Record<string, unknown>;
        // Traefik's option names -> the DN parts it writes, in its order.
        const dn = (v: unknown, what: string, fields: ReadonlyArray<readonly [string, DnPart]>): DnPart[] | undefined => {
          if (v === undefined || v === null) return undefined;
          if (typeof v !== 'object' || Array.isArray(v)) fail(`${what} must be an object`);
          const r = v as Record<string, unknown>;
          return fields.filter(([k]) => r[k] !== undefined && bool(r[k], `${what}.${k}`)).map(([, p]) => p);
        };
        const subject = dn(i.subject, 'passTLSClientCert.info.subject', [['domainComponent', 'DC'], ['country', 'C'], ['province', 'ST'], ['locality', 'L'], ['organization', 'O'], ['organizationalUnit', 'OU'], ['serialNumber', 'SN'], ['commonName', 'CN']]);
        const issuer = dn(i.issuer, 'passTLSClientCert.info.issuer', [['domainComponent', 'DC'], ['country', 'C'], ['province', 'ST'], ['locality', 'L'], ['organization', 'O'], ['serialNumber', 'SN'], ['commonName', 'CN']]);
        const flag = (k: string): boolean => (i[k] === undefined ? false : bool(i[k], `passTLSClientCert.info.${k}`));
        return {
          ok: true,
          specs: [
            {
              type: 'passTlsClientCert',
              pem: o.pem === undefined ? false : bool(o.pem, 'passTLSClientCert.pem'),
              ...(info !== undefined
                ? { info: { notAfter: flag('notAfter'), notBefore: flag('notBefore'), sans: flag('sans'), serialNumber: flag('serialNumber'), ...(subject ? { subject } : {}), ...(issuer ? { issuer } : {}) } }
                : {}),
            },
          ],
          warnings,
        };
      }
      case 'stripPrefixRegex': {
        const sources = strList(o.regex, 'stripPrefixRegex.regex');
        if (sources.length === 0) fail('stripPrefixRegex.regex is empty');
        const regexes = sources.map((src) => {
          const r = compileGoRegexp(src);
          if (!r.ok) fail(`stripPrefixRegex.regex ${JSON.stringify(src)}: ${r.error}`);
          return r.regexp;
        });
        return { ok: true, specs: [{ type: 'stripPrefixRegex', regexes }], warnings };
      }
      case 'replacePathRegex': {
        const r = compileGoRegexp(str(o.regex, 'replacePathRegex.regex') ?? '');
        if (!r.ok) fail(`replacePathRegex.regex: ${r.error}`);
        const replacement = str(o.replacement, 'replacePathRegex.replacement') ?? '';
        if (!TARGET_TEXT.test(replacement) && replacement !== '') fail('replacePathRegex.replacement must hold no spaces or control characters');
        return { ok: true, specs: [{ type: 'replacePathRegex', regex: r.regexp, replacement }], warnings };
      }
      case 'addPrefix': {
        const prefix = str(o.prefix, 'addPrefix.prefix') ?? '';
        if (!prefix.startsWith('/') || !TARGET_TEXT.test(prefix)) fail('addPrefix.prefix must start with "/" and hold no spaces or control characters');
        return { ok: true, specs: [{ type: 'addPrefix', prefix }], warnings };
      }
      case 'replacePath': {
        const path = str(o.path, 'replacePath.path') ?? '';
        if (!path.startsWith('/') || !TARGET_TEXT.test(path)) fail('replacePath.path must start with "/" and hold no spaces or control characters');
        return { ok: true, specs: [{ type: 'replacePath', path }], warnings };
      }
      case 'redirectScheme': {
        const scheme = (str(o.scheme, 'redirectScheme.scheme') ?? '').toLowerCase();
        if (scheme !== 'http' && scheme !== 'https') fail('redirectScheme.scheme must be http or https');
        const port = o.port === undefined || o.port === null ? undefined : String(o.port);
        if (port !== undefined && !/^[0-9]{1,5}$/.test(port)) fail(`redirectScheme.port ${JSON.stringify(port)} is not a port`);
        return { ok: true, specs: [{ type: 'redirectScheme', scheme, ...(port ? { port } : {}), permanent: bool(o.permanent, 'redirectScheme.permanent'), style: 'traefik' }], warnings };
      }
      case 'redirectRegex': {
        const regexText = str(o.regex, 'redirectRegex.regex') ?? '';
        const r = compileGoRegexp(regexText);
        if (!r.ok) fail(`redirectRegex.regex: ${r.error}`);
        const replacement = str(o.replacement, 'redirectRegex.replacement') ?? '';
        if (/[\x00-\x20\x7f]/.test(replacement)) fail('redirectRegex.replacement must hold no spaces or control characters');
        return { ok: true, specs: [{ type: 'redirectRegex', regex: r.regexp, replacement, permanent: bool(o.permanent, 'redirectRegex.permanent') }], warnings };
      }
      case 'ipAllowList':
      case 'ipWhiteList': {
        const ranges = networks(strList(o.sourceRange, `${type}.sourceRange`), `${type}.sourceRange`);
        if (ranges.length === 0) fail(`${type}.sourceRange is empty`);
        const reject = num(o.rejectStatusCode, `${type}.rejectStatusCode`) ?? 403;
        if (reject < 100 || reject > 599) fail(`${type}.rejectStatusCode ${reject} is not an HTTP status`);
        return { ok: true, specs: [{ type: 'ipAllowList', ranges, source: sourceCriterion({ ipStrategy: o.ipStrategy }, type), rejectStatus: reject }], warnings };
      }
      case 'retry': {
        const attempts = num(o.attempts, 'retry.attempts') ?? 0;
        if (attempts <= 0) fail('retry.attempts must be positive');
        return { ok: true, specs: [{ type: 'retry', attempts, initialIntervalMs: duration(o.initialInterval, 'retry.initialInterval', 100) }], warnings };
      }
      case 'headers': {
        for (const k of Object.keys(o)) if (!KNOWN_HEADER_FIELDS.has(k)) warnings.push(`headers.${k} is not supported and is ignored`);
        return { ok: true, specs: [headersSpec(o)], warnings };
      }
      case 'chain': {
        const members = o.middlewares;
        if (!Array.isArray(members) || members.length === 0) fail('chain.middlewares is empty');
        const specs: MiddlewareSpec[] = [];
        for (const m of members) {
          const r = resolveChain(obj(m, 'chain.middlewares[]') as { name?: string; namespace?: string });
          if (typeof r === 'string') return { ok: false, reason: 'BadMiddleware', error: `chain: ${r}` };
          specs.push(...r);
        }
        return { ok: true, specs, warnings };
      }
      default:
        if (KNOWN_UNSUPPORTED.has(type)) return { ok: false, reason: 'UnsupportedMiddleware', error: `middleware type ${type} is not supported by metalgate` };
        return { ok: false, reason: 'BadMiddleware', error: `unknown middleware type ${JSON.stringify(type)}` };
    }
  } catch (e) {
    if (e instanceof Bad) return { ok: false, reason: 'BadMiddleware', error: e.message };
    throw e;
  }
}
