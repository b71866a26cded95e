// The request-target sent upstream, split into its path and query, and the
// host without its port: what the rewriting and redirecting middlewares
// work on.

export function splitTarget(target: string): { path: string; query: string } {
  const q = target.indexOf('?');
  return q < 0 ? { path: target, query: '' } : { path: target.slice(0, q), query: target.slice(q + 1) };
}

export function joinTarget(path: string, query: string): string {
  return query === '' ? path : `${path}?${query}`;
}

/** Host without port (IPv6 keeps its brackets). */
export function hostOnly(host: string): string {
  if (host.startsWith('[')) {
    const close = host.indexOf(']');
    return close > 0 ? host.slice(0, close + 1) : host;
  }
  const colon = host.indexOf(':');
  return colon < 0 ? host : host.slice(0, colon);
}

/**
 * A Go regexp replacement template (`$1`, `${1}`, `$name`, `${name}`,
 * `$$`) expanded for one match. Unknown groups expand to "" as in Go.
 */
export function expandGoTemplate(template: string, m: RegExpExecArray): string {
  let out = '';
  for (let i = 0; i < template.length; i++) {
    const ch = template[i]!;
    if (ch !== '$' || i + 1 >= template.length) {
      out += ch;
      continue;
    }
    const next = template[i + 1]!;
    if (next === '$') {
      out += '$';
      i++;
      continue;
    }
    let name: string;
    if (next === '{') {
      const close = template.indexOf('}', i + 2);
      if (close < 0) {
        out += ch;
        continue;
      }
      name = template.slice(i + 2, close);
      i = close;
    } else {
      const r = /^[A-Za-z0-9_]+/.exec(template.slice(i + 1));
      if (!r) {
        out += ch;
        continue;
      }
      name = r[0];
      i += name.length;
    }
    out += groupValue(m, name) ?? '';
  }
  return out;
}

function groupValue(m: RegExpExecArray, name: string): string | undefined {
  if (/^[0-9]+$/.test(name)) return m[Number(name)];
  return m.groups?.[name];
}
