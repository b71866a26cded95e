// nginx variables filled from a request, for the templates of ingress-nginx
// annotations (translate/nginx-template.ts lists the names). Values follow
// nginx: $host is the Host header without its port, lowercased; $request_uri
// is the request target as received; $escaped_request_uri escapes it as
// ingress-nginx's set_escape_uri does (every byte but A-Z a-z 0-9 - . _ ~).

import type { RequestContext } from '../../proxy/http/types.ts';
import type { TemplatePart } from '../model/middleware-spec.ts';

/** The request URI as received, captured before any rewrite. */
export interface RequestUri {
  readonly requestUri: string;
}

function nginxVariable(name: string, ctx: RequestContext, uri: RequestUri): string {
  switch (name) {
    case 'host':
      return hostWithoutPort(ctx.host).toLowerCase();
    case 'http_host':
    case 'best_http_host':
      return ctx.host;
    case 'scheme':
    case 'pass_access_scheme':
      return ctx.tls ? 'https' : 'http';
    case 'request_uri':
      return uri.requestUri;
    case 'escaped_request_uri':
      return escapeUri(uri.requestUri);
    case 'uri':
      return ctx.path;
    case 'args':
    case 'query_string':
      return ctx.query;
    case 'is_args':
      return ctx.query === '' ? '' : '?';
    case 'request_method':
      return ctx.method;
    case 'remote_addr':
    case 'binary_remote_addr': // the address as bytes in nginx; as a key, the text does the same
      return ctx.clientIp;
    case 'server_port':
      return String(ctx.localPort);
  }
  if (name.startsWith('http_')) return ctx.header(name.slice(5).replaceAll('_', '-')) ?? '';
  if (name.startsWith('arg_')) return argOf(ctx.query, name.slice(4)) ?? '';
  if (name.startsWith('cookie_')) return cookieOf(ctx.headerValues('cookie'), name.slice(7)) ?? '';
  return '';
}

export function fillTemplate(parts: readonly TemplatePart[], ctx: RequestContext, uri: RequestUri): string {
  let out = '';
  for (const p of parts) out += 'text' in p ? p.text : nginxVariable(p.variable, ctx, uri);
  return out;
}

/** Every byte but the unreserved characters as %XX (uppercase), as set_escape_uri does. */
export function escapeUri(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-._~]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

function hostWithoutPort(host: string): string {
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    return end < 0 ? host : host.slice(0, end + 1);
  }
  const colon = host.indexOf(':');
  return colon < 0 ? host : host.slice(0, colon);
}

function argOf(query: string, name: string): string | undefined {
  for (const pair of query.split('&')) {
    const eq = pair.indexOf('=');
    const key = eq < 0 ? pair : pair.slice(0, eq);
    if (key === name) return eq < 0 ? '' : pair.slice(eq + 1);
  }
  return undefined;
}

/** A cookie's value from the Cookie fields (nginx's $cookie_<name>: the first of that name). */
function cookieOf(fields: readonly string[], name: string): string | undefined {
  for (const field of fields) {
    for (const pair of field.split(';')) {
      const eq = pair.indexOf('=');
      if (eq > 0 && pair.slice(0, eq).trim() === name) return pair.slice(eq + 1).trim();
    }
  }
  return undefined;
}
