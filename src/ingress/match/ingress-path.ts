// Kubernetes Ingress path matching (networking.k8s.io/v1 HTTPIngressPath).
//
// - Exact: the request path equals the path, case-sensitively.
// - Prefix: element-wise prefix over "/"-separated elements, trailing slash
//   ignored: `/foo` (or `/foo/`) matches `/foo`, `/foo/`, `/foo/bar`, not
//   `/foobar`. Implemented as "starts with the path without its trailing
//   slashes, followed by the end or a /", which is the same relation and
//   needs no split.
// - ImplementationSpecific: treated as Prefix. Controllers differ here
//   (ingress-nginx reads it as a regex when use-regex is set); Prefix is the
//   reading that never widens what a plain path matches.
//
// Precedence among paths matching a request: the longest path wins; on a
// tie Exact beats Prefix. "Length" of a Prefix path is without its trailing
// slash, so Exact `/foo` beats Prefix `/foo/` for `/foo`.

export type IngressPathType = 'Exact' | 'Prefix' | 'ImplementationSpecific';

export interface IngressPath {
  /** As declared on the Ingress. */
  readonly pathType: IngressPathType;
  /** Effective semantics. */
  readonly exact: boolean;
  /** Exact: the path. Prefix: without trailing slashes (`/` becomes ``). */
  readonly path: string;
  /** Precedence length (= path.length). */
  readonly length: number;
}

export type IngressPathResult = { readonly ok: true; readonly path: IngressPath } | { readonly ok: false; readonly error: string };

/**
 * Validates and normalizes an Ingress path. An absent or empty path means
 * `/` (only ImplementationSpecific may omit it in the API).
 */
export function compileIngressPath(path: string | undefined | null, pathType: IngressPathType | undefined | null): IngressPathResult {
  const type = pathType ?? 'ImplementationSpecific';
  if (type !== 'Exact' && type !== 'Prefix' && type !== 'ImplementationSpecific') {
    return { ok: false, error: `unknown pathType ${JSON.stringify(type)} (Exact, Prefix or ImplementationSpecific)` };
  }
  const p = path === undefined || path === null || path === '' ? '/' : path;
  if (!p.startsWith('/')) return { ok: false, error: `path ${JSON.stringify(p)} must be absolute (start with "/")` };
  const exact = type === 'Exact';
  let end = p.length;
  if (!exact) while (end > 0 && p.charCodeAt(end - 1) === 47) end--;
  const normalized = end === p.length ? p : p.slice(0, end);
  return { ok: true, path: Object.freeze({ pathType: type, exact, path: normalized, length: normalized.length }) };
}

/** Whether a request path matches. An empty request path reads as `/`. */
export function ingressPathMatches(rule: IngressPath, requestPath: string): boolean {
  const p = requestPath.length === 0 ? '/' : requestPath;
  const r = rule.path;
  if (rule.exact) return p === r;
  return p.startsWith(r) && (p.length === r.length || p.charCodeAt(r.length) === 47);
}

/** Orders paths by precedence: negative when `a` must be tried before `b`. */
export function compareIngressPaths(a: IngressPath, b: IngressPath): number {
  if (a.length !== b.length) return b.length - a.length;
  if (a.exact !== b.exact) return a.exact ? -1 : 1;
  return 0;
}
