// Values with nginx variables, as ingress-nginx annotations carry them
// (`auth-url: https://$host/oauth2/auth`, `auth-signin:
// https://$host/oauth2/start?rd=$escaped_request_uri`): text -> parts, the
// variable names checked against those metalgate can fill. Pure.
//
// Only the variables such annotations use are known; any other name is an
// error (the Ingress is not served) rather than an empty string nginx would
// put there, because a URL built with a hole may send the auth request or the
// sign-in redirect somewhere its owner never meant.

import type { TemplatePart } from '../model/middleware-spec.ts';

/** Variables filled from the request (see runtime/nginx-variables.ts). */
const NGINX_VARIABLES: ReadonlySet<string> = new Set([
  'host',
  'http_host',
  'best_http_host',
  'scheme',
  'pass_access_scheme',
  'request_uri',
  'escaped_request_uri',
  'uri',
  'args',
  'query_string',
  'is_args',
  'request_method',
  'remote_addr',
  'binary_remote_addr',
  'server_port',
]);

/** `$http_<name>`: a request header, dashes as underscores. */
const HEADER_VARIABLE = /^http_[a-z0-9_]+$/;
/** `$arg_<name>`: a query parameter. */
const ARG_VARIABLE = /^arg_[A-Za-z0-9_]+$/;
/** `$cookie_<name>`: a request cookie. */
const COOKIE_VARIABLE = /^cookie_[A-Za-z0-9_]+$/;

function isKnownNginxVariable(name: string): boolean {
  return NGINX_VARIABLES.has(name) || HEADER_VARIABLE.test(name) || ARG_VARIABLE.test(name) || COOKIE_VARIABLE.test(name);
}

/** Text with `$name` or `${name}` -> parts; an error names the first unknown variable. */
export function parseNginxTemplate(text: string): { ok: true; parts: TemplatePart[] } | { ok: false; error: string } {
  const parts: TemplatePart[] = [];
  let literal = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c !== '$') {
      literal += c;
      i++;
      continue;
    }
    let name: string;
    if (text[i + 1] === '{') {
      const end = text.indexOf('}', i + 2);
      if (end < 0) return { ok: false, error: `unclosed \${ at offset ${i}` };
      name = text.slice(i + 2, end);
      i = end + 1;
    } else {
      const m = /^[A-Za-z0-9_]+/.exec(text.slice(i + 1));
      if (!m) return { ok: false, error: `a "$" at offset ${i} starts no variable name` };
      name = m[0];
      i += 1 + name.length;
    }
    if (!isKnownNginxVariable(name)) return { ok: false, error: `variable $${name} is not one metalgate fills (${[...NGINX_VARIABLES].map((v) => `$${v}`).join(', ')}, $http_<header>, $arg_<name>)` };
    if (literal !== '') parts.push({ text: literal });
    literal = '';
    parts.push({ variable: name });
  }
  if (literal !== '') parts.push({ text: literal });
  return { ok: true, parts };
}

/** The template's text with a sample for every variable: to check it makes a URL at all. */
export function sampleOf(parts: readonly TemplatePart[]): string {
  return parts.map((p) => ('text' in p ? p.text : p.variable === 'host' || p.variable.endsWith('_host') ? 'example.test' : 'x')).join('');
}
