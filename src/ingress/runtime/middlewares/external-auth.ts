// External auth as ingress-nginx does it (auth-url and its family): before
// the request goes upstream, a subrequest to the auth service, built as
// ingress-nginx's auth location builds it; measured against Debian's nginx
// with the same auth_request configuration (test/integration/ingress/
// external-auth.test.ts):
// - method GET (nginx subrequests are GET) unless auth-method; no body;
//   the client's request fields as received, but Host (the auth URL's),
//   Content-Length and X-Forwarded-Proto, and hop-by-hop fields; then
//   X-Original-URL, X-Original-Method, X-Sent-From, X-Real-IP,
//   X-Forwarded-For, X-Auth-Request-Redirect, X-Request-ID (and with
//   auth-method X-Original-URI, X-Scheme); then auth-proxy-set-headers'
//   fields as extra proxy_set_header lines (see authHeaders);
// - 2xx: the request goes on, each auth-response-headers field set from the
//   auth response (or removed when it has none: a client cannot forge it),
//   the auth response's Set-Cookie added to the answer when its status is
//   one nginx's add_header applies to (or always, with auth-always-set-cookie);
// - 401: the client gets 401 with the auth response's WWW-Authenticate, or
//   with auth-signin a 302 to the sign-in URL (its rd parameter built at
//   translation); 403: 403; any other status, an error or a timeout: 500.
// Fail closed: nothing but a 2xx from the auth service lets a request through.

import { randomBytes } from 'node:crypto';
import type { OutgoingHttpHeaders } from 'node:http';
import { http } from '../../../common/builtins.ts';
import type { Middleware, RequestContext, ResponseContext, SimpleResponse } from '../../../proxy/http/types.ts';
import type { ExternalAuthSpec } from '../../model/middleware-spec.ts';
import { fillTemplate, type RequestUri } from '../nginx-variables.ts';
import { askAuthService, type AuthAnswer } from './auth-subrequest.ts';

/** 32 hex digits as ingress-nginx's $req_id, unique per process: a random half and a counter (a random draw per request cost 2% of the CPU). */
const ID_PREFIX = randomBytes(8).toString('hex');
let idCounter = 0;
function requestId(): string {
  idCounter = (idCounter + 1) % 0x100000000;
  return `${ID_PREFIX}${Date.now().toString(16).slice(-8).padStart(8, '0')}${idCounter.toString(16).padStart(8, '0')}`;
}

/** Not passed to the auth service: its own Host, no body, hop-by-hop. */
const NOT_FORWARDED = new Set(['host', 'content-length', 'transfer-encoding', 'x-forwarded-proto', 'connection', 'keep-alive', 'proxy-connection', 'te', 'upgrade', 'expect', 'trailer']);
/** The statuses nginx's add_header (without `always`) applies to. */
const ADD_HEADER_STATUSES = new Set([200, 201, 204, 206, 301, 302, 303, 304, 307, 308]);

export function externalAuth(name: string, spec: ExternalAuthSpec): Middleware {
  /** A URL without variables is parsed once. */
  const fixedUrl = spec.url.every((p) => 'text' in p) ? new URL(spec.url.map((p) => ('text' in p ? p.text : '')).join('')) : undefined;
  /** The auth response's cookies, per request, for onResponse. */
  const cookies = new WeakMap<RequestContext, string[]>();
  const setByLocation = spec.proxySetHeaders ? new Set(spec.proxySetHeaders.map(([n]) => n.toLowerCase())) : undefined;
  const failed = (status: number, extra: Array<[string, string]> = [], cookie: string[] = []): SimpleResponse => {
    const headers: Array<[string, string]> = [...extra];
    if (spec.alwaysSetCookie) for (const c of cookie) headers.push(['set-cookie', c]);
    return { status, headers, body: `${status} ${http.STATUS_CODES[status] ?? ''}\n` };
  };
  return {
    name,
    async onRequest(ctx: RequestContext): Promise<SimpleResponse | undefined> {
      // The first middleware on the route: the target is still as received.
      const uri: RequestUri = { requestUri: ctx.upstreamTarget };
      let url: URL;
      try {
        url = fixedUrl ?? new URL(fillTemplate(spec.url, ctx, uri));
      } catch {
        return failed(500);
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') return failed(500);
      let answer: AuthAnswer;
      try {
        answer = await askAuthService(url, { method: spec.method ?? 'GET', headers: authHeaders(ctx, spec, url, uri, setByLocation), connectTimeoutMs: spec.connectTimeoutMs, timeoutMs: spec.timeoutMs });
      } catch {
        return failed(500);
      }
      const setCookie = answer.headers['set-cookie'] ?? [];
      if (answer.status >= 200 && answer.status < 300) {
        for (const field of spec.responseHeaders) {
          const v = answer.headers[field.toLowerCase()];
          const value = Array.isArray(v) ? v.join(', ') : v;
          if (value === undefined || value === '') ctx.removeHeader(field);
          else ctx.setHeader(field, value);
        }
        if (setCookie.length > 0) cookies.set(ctx, setCookie);
        return undefined;
      }
      if (answer.status === 401 && spec.signin !== undefined) {
        const location = fillTemplate(spec.signin, ctx, uri);
        // The sign-in location answers with add_header Set-Cookie: 302 is in its list.
        return { status: 302, headers: [['location', location], ...setCookie.map((c): [string, string] => ['set-cookie', c])], body: '302 Found\n' };
      }
      if (answer.status === 401) {
        const challenge = answer.headers['www-authenticate'];
        return failed(401, challenge === undefined ? [] : [['www-authenticate', challenge]], setCookie);
      }
      if (answer.status === 403) return failed(403, [], setCookie);
      return failed(500, [], setCookie);
    },
    onResponse(ctx: RequestContext, res: ResponseContext): void {
      const c = cookies.get(ctx);
      if (c === undefined) return;
      if (!spec.alwaysSetCookie && !ADD_HEADER_STATUSES.has(res.status)) return;
      for (const cookie of c) res.addHeader('set-cookie', cookie);
    },
    onDone(ctx: RequestContext): void {
      cookies.delete(ctx);
    },
  };
}

/** `setByLocation`: the lowercased names of auth-proxy-set-headers' fields. */
function authHeaders(ctx: RequestContext, spec: ExternalAuthSpec, url: URL, uri: RequestUri, setByLocation: ReadonlySet<string> | undefined): OutgoingHttpHeaders {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(ctx.headers)) {
    if (value === undefined || NOT_FORWARDED.has(name) || setByLocation?.has(name)) continue;
    out[name] = typeof value === 'string' ? value : [...value];
  }
  const scheme = ctx.tls ? 'https' : 'http';
  out.host = url.host;
  out['x-original-url'] = `${scheme}://${ctx.host}${uri.requestUri}`;
  out['x-original-method'] = ctx.method;
  out['x-sent-from'] = 'nginx-ingress-controller';
  out['x-real-ip'] = ctx.clientIp;
  out['x-forwarded-for'] = ctx.clientIp;
  out['x-auth-request-redirect'] = spec.requestRedirect === undefined ? uri.requestUri : fillTemplate(spec.requestRedirect, ctx, uri);
  out['x-request-id'] = ctx.header('x-request-id') ?? requestId();
  if (spec.method !== undefined) {
    out['x-original-uri'] = uri.requestUri;
    out['x-scheme'] = scheme;
  }
  // auth-proxy-set-headers: more proxy_set_header lines in the auth location, after the fixed ones. As nginx
  // (checked side by side): the client's field of that name never passes, a fixed field of that name is sent
  // as well (a second line), an empty value sends nothing.
  for (const [name, parts] of spec.proxySetHeaders ?? []) {
    const value = fillTemplate(parts, ctx, uri);
    if (value === '') continue;
    const lower = name.toLowerCase();
    const prev = out[lower];
    out[lower] = prev === undefined ? value : [...(typeof prev === 'string' ? [prev] : prev), value];
  }
  return out;
}
