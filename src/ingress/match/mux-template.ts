// Traefik v2 rule values with gorilla/mux templates: `{name}` or
// `{name:regexp}` inside a literal, e.g. `{sub:[a-z]+}.example.com` or
// `/articles/{id:[0-9]+}`. A template without a pattern takes the default
// for its place: one host label, one path segment, or any query value.

import { compileGoRegexp, quoteRegexp, type GoRegexp } from './go-regexp.ts';

export type TemplateKind = 'host' | 'path' | 'pathPrefix' | 'queryValue';

const DEFAULT_PATTERN: Readonly<Record<TemplateKind, string>> = {
  host: '[^.]+',
  path: '[^/]+',
  pathPrefix: '[^/]+',
  queryValue: '.*',
};

export type TemplateResult = { readonly ok: true; readonly regexp: GoRegexp } | { readonly ok: false; readonly error: string };

export function hasTemplate(value: string): boolean {
  return value.includes('{');
}

export function compileMuxTemplate(template: string, kind: TemplateKind): TemplateResult {
  // Brace pairs at nesting level 0; patterns may hold braces ({2}).
  const spans: [number, number][] = [];
  let level = 0;
  let open = 0;
  for (let i = 0; i < template.length; i++) {
    const c = template[i];
    if (c === '{') {
      if (level++ === 0) open = i;
    } else if (c === '}') {
      if (--level === 0) spans.push([open, i + 1]);
      else if (level < 0) return { ok: false, error: 'unbalanced braces' };
    }
  }
  if (level !== 0) return { ok: false, error: 'unbalanced braces' };

  // Hosts compare lowercased, so the literal parts do too.
  const literal = (s: string): string => quoteRegexp(kind === 'host' ? s.toLowerCase() : s);
  let source = '^';
  let end = 0;
  for (const [start, stop] of spans) {
    source += literal(template.slice(end, start));
    const raw = template.slice(start + 1, stop - 1);
    const colon = raw.indexOf(':');
    const name = colon < 0 ? raw : raw.slice(0, colon);
    const pattern = colon < 0 ? DEFAULT_PATTERN[kind] : raw.slice(colon + 1);
    if (name === '' || pattern === '') {
      return { ok: false, error: `missing name or pattern in ${template.slice(start, stop)}` };
    }
    // Each fragment alone first, so an error names the template it is in.
    const fragment = compileGoRegexp(pattern);
    if (!fragment.ok) return { ok: false, error: `${fragment.error} in ${template.slice(start, stop)}` };
    // In RE2 a flag group such as (?i) reaches the end of its enclosing group: this one.
    source += `(?:${pattern})`;
    end = stop;
  }
  source += literal(template.slice(end));
  if (kind !== 'pathPrefix') source += '$';
  const whole = compileGoRegexp(source);
  return whole.ok ? whole : { ok: false, error: whole.error };
}
