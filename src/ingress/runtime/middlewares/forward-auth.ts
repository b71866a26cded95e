// Traefik's forwardAuth middleware, as Traefik documents it and its source
// (pkg/middlewares/auth/forward.go) behaves:
// - a GET to the address (the client's method with preserveRequestMethod),
//   without body (with forwardBody: the client's, read whole first; one
//   over maxBodySize is answered 401), over TLS as forwardAuth.tls says for
//   an https address; the
//   client's request fields (only those
//   of authRequestHeaders when given) minus hop-by-hop ones; then
//   X-Forwarded-For (the client's address, after the client's own list when
//   trustForwardHeader), X-Forwarded-Method, -Proto, -Host and -Uri (the
//   client's own values only when trustForwardHeader);
// - 2xx: the request goes on with each authResponseHeaders field replaced by
//   the auth response's (removed when it has none), likewise the fields
//   authResponseHeadersRegex matches; cookies named in
//   addAuthCookiesToResponse go onto the answer;
// - a 401 with authSigninURL set: a 302 to that URL;
// - anything else is returned to the client as the auth service gave it
//   (status, fields but hop-by-hop ones, body), a relative Location made
//   absolute against the address unless preserveLocationHeader;
// - an answer whose body is over maxResponseBodySize: 401;
// - an error or a timeout (Traefik's client: 30 s): 500.

import type { Middleware, RequestContext, ResponseContext, SimpleResponse } from '../../../proxy/http/types.ts';
import type { ForwardAuthSpec } from '../../model/middleware-spec.ts';
import { AuthAnswerTooLarge, askAuthService } from './auth-subrequest.ts';

/** Hop-by-hop fields (oxy's HopHeaders, which Traefik removes both ways). */
const HOP = new Set(['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'trailers', 'transfer-encoding', 'upgrade']);
/** Not copied onto the request: the engine sets framing itself; Expect is about the client's connection (and undici refuses it). */
const NOT_TO_REQUEST = new Set(['host', 'content-length', 'expect']);

export function forwardAuth(name: string, spec: ForwardAuthSpec): Middleware {
  const address = new URL(spec.address);
  const cookies = new WeakMap<RequestContext, string[]>();
  const wanted = new Set(spec.addAuthCookiesToResponse);
  const failed: SimpleResponse = { status: 500, body: '500 Internal Server Error\n' };
  // Traefik writes the status alone for these.
  const unauthorized: SimpleResponse = { status: 401, body: '' };
  const signin: SimpleResponse | undefined = spec.signinUrl === undefined ? undefined : { status: 302, headers: [['location', spec.signinUrl]], body: '' };
  return {
    name,
    async onRequest(ctx: RequestContext): Promise<SimpleResponse | undefined> {
      let body: Buffer | undefined;
      if (spec.forwardBodyMaxBytes !== undefined) {
        body = await ctx.readBody(spec.forwardBodyMaxBytes);
        if (body === undefined) return unauthorized;
      }
      let answer;
      try {
        answer = await askAuthService(address, {
          method: spec.preserveRequestMethod ? ctx.method : 'GET',
          headers: authHeaders(ctx, spec),
          connectTimeoutMs: spec.timeoutMs,
          timeoutMs: spec.timeoutMs,
          readBody: spec.maxResponseBodyBytes,
          ...(body !== undefined && body.length > 0 ? { body } : {}),
          ...(spec.tls !== undefined ? { tls: spec.tls } : {}),
        });
      } catch (e) {
        return e instanceof AuthAnswerTooLarge ? unauthorized : failed;
      }
      if (answer.status === 401 && signin !== undefined) return signin;
      if (answer.status < 200 || answer.status >= 300) {
        const headers: Array<[string, string]> = [];
        for (let i = 0; i + 1 < answer.rawHeaders.length; i += 2) {
          const field = answer.rawHeaders[i]!;
          const lower = field.toLowerCase();
          if (HOP.has(lower) || lower === 'content-length' || lower === 'date') continue;
          let value = answer.rawHeaders[i + 1]!;
          if (lower === 'location' && !spec.preserveLocationHeader) {
            try {
              value = new URL(value, address).toString();
            } catch {
              return failed;
            }
          }
          headers.push([field, value]);
        }
        return { status: answer.status, headers, body: answer.body ?? '' };
      }
      const regex = spec.authResponseHeadersRegex;
      if (regex !== undefined) {
        for (const field of Object.keys(ctx.headers)) if (regex.test(field)) ctx.removeHeader(field);
      }
      for (let i = 0; i + 1 < answer.rawHeaders.length; i += 2) {
        const field = answer.rawHeaders[i]!;
        if (regex !== undefined && regex.test(field) && !NOT_TO_REQUEST.has(field.toLowerCase())) ctx.addHeader(field, answer.rawHeaders[i + 1]!);
      }
      for (const field of spec.authResponseHeaders) {
        ctx.removeHeader(field);
        const v = answer.headers[field.toLowerCase()];
        for (const value of v === undefined ? [] : Array.isArray(v) ? v : [v]) ctx.addHeader(field, value);
      }
      if (wanted.size > 0) {
        const keep = (answer.headers['set-cookie'] ?? []).filter((c) => wanted.has(c.slice(0, c.indexOf('=')).trim()));
        if (keep.length > 0) cookies.set(ctx, keep);
      }
      return undefined;
    },
    onResponse(ctx: RequestContext, res: ResponseContext): void {
      for (const c of cookies.get(ctx) ?? []) res.addHeader('set-cookie', c);
    },
    onDone(ctx: RequestContext): void {
      cookies.delete(ctx);
    },
  };
}

function authHeaders(ctx: RequestContext, spec: ForwardAuthSpec): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  const only = spec.authRequestHeaders.length > 0 ? new Set(spec.authRequestHeaders.map((h) => h.toLowerCase())) : undefined;
  for (const [field, value] of Object.entries(ctx.headers)) {
    if (value === undefined || HOP.has(field) || NOT_TO_REQUEST.has(field)) continue;
    if (only !== undefined && !only.has(field)) continue;
    out[field] = typeof value === 'string' ? value : [...value];
  }
  const trust = spec.trustForwardHeader;
  const prior = ctx.headerValues('x-forwarded-for');
  out['x-forwarded-for'] = trust && prior.length > 0 ? `${prior.join(', ')}, ${ctx.clientIp}` : ctx.clientIp;
  const own = (field: string, value: string): void => {
    const client = ctx.header(field);
    out[field] = trust && client !== undefined && client !== '' ? client : value;
  };
  own('x-forwarded-method', ctx.method);
  own('x-forwarded-proto', ctx.tls ? 'https' : 'http');
  own('x-forwarded-host', ctx.host);
  own('x-forwarded-uri', ctx.upstreamTarget);
  return out;
}
