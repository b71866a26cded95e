// Error pages from a Service (ingress-nginx custom-http-errors with
// default-backend; Traefik errors) and ingress-nginx's default-backend for a
// Service without endpoints. The engine asks `intercepts` at the upstream's
// response head and, before any byte went to the client, answers with what
// `fetch` gets instead (proxy-request.ts interceptError).
// - nginx (the template's error_page ... @custom_ location): GET the
//   original URI from the error backend with X-Code, X-Format (the Accept
//   field, text/html by default), X-Original-URI, X-Namespace,
//   X-Ingress-Name, X-Service-Name, X-Service-Port, X-Request-ID; its status
//   and body go to the client.
// - traefik: GET `query` with {status} and {url} (query-escaped) filled,
//   with the request's own fields; the original status goes to the client
//   with the page's body and Content-Type.
// Pages are read whole, up to 1 MiB; the request to the error backend has
// 10 s (a page that does not come answers the status with the engine's text).

import type { Backend, Middleware, RequestContext, SimpleResponse } from '../../../proxy/http/types.ts';
import type { ErrorPagesSpec, FallbackBackendSpec } from '../../model/middleware-spec.ts';
import { askAuthService } from './auth-subrequest.ts';
import { queryEscape } from './pass-tls-client-cert.ts';

const MAX_PAGE_BYTES = 1024 * 1024;
const PAGE_TIMEOUT_MS = 10_000;
const CONNECT_TIMEOUT_MS = 5_000;
/** Request fields not copied to a Traefik page request (connection-specific or framing). */
const NOT_COPIED = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'upgrade', 'te', 'expect', 'host']);

export function errorPages(name: string, spec: ErrorPagesSpec, backend: Backend): Middleware {
  const intercepts = (status: number): boolean => spec.statuses.some(([from, to]) => status >= from && status <= to);
  const fetch = async (ctx: RequestContext, status: number): Promise<SimpleResponse> => {
    const ep = backend.pick(ctx.clientIp);
    if (ep === undefined) throw new Error(`no ready endpoint for the error pages of ${spec.service.ref.namespace}/${spec.service.ref.service}`);
    const host = ep.ip.includes(':') ? `[${ep.ip}]` : ep.ip;
    const headers: Record<string, string> = {};
    let path: string;
    if (spec.style === 'nginx') {
      path = ctx.upstreamTarget;
      const o = spec.origin;
      Object.assign(headers, {
        host: ctx.host,
        'x-code': String(status),
        'x-format': ctx.header('accept') || 'text/html',
        'x-original-uri': ctx.upstreamTarget,
        ...(o ? { 'x-namespace': o.namespace, 'x-ingress-name': o.ingress, 'x-service-name': o.service, 'x-service-port': o.port } : {}),
        ...(ctx.header('x-request-id') ? { 'x-request-id': ctx.header('x-request-id')! } : {}),
      });
    } else {
      const url = `${ctx.tls ? 'https' : 'http'}://${ctx.host}${ctx.upstreamTarget}`;
      path = (spec.query ?? '/').replaceAll('{status}', String(status)).replaceAll('{url}', queryEscape(url));
      if (!path.startsWith('/')) path = `/${path}`;
      for (const [k, v] of Object.entries(ctx.headers)) if (v !== undefined && !NOT_COPIED.has(k)) headers[k] = Array.isArray(v) ? v.join(', ') : (v as string);
      headers.host = ctx.host;
    }
    const answer = await askAuthService(new URL(`http://${host}:${ep.port}${path}`), { method: 'GET', headers, connectTimeoutMs: CONNECT_TIMEOUT_MS, timeoutMs: PAGE_TIMEOUT_MS, readBody: MAX_PAGE_BYTES });
    const type = answer.headers['content-type'];
    return {
      status: spec.style === 'nginx' ? answer.status : status,
      headers: typeof type === 'string' ? [['content-type', type]] : [],
      body: answer.body ?? Buffer.alloc(0),
    };
  };
  return { name, errorPages: { intercepts, fetch } };
}

export function fallbackBackend(name: string, _spec: FallbackBackendSpec, backend: Backend): Middleware {
  return { name, fallback: backend };
}
