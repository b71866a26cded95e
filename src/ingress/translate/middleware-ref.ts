// An IngressRoute's middleware reference -> the Middleware's specs.
// Traefik accepts `{name, namespace}` (namespace defaults to the
// IngressRoute's) and provider-qualified names `<ns>-<name>@kubernetescrd`;
// a reference into another namespace needs allowCrossNamespace.

import type { MiddlewareSpec } from '../model/middleware-spec.ts';
import type { MiddlewareRef } from '../model/traefik-crd.ts';
import type { ClusterView } from './cluster-view.ts';
import { parseMiddleware } from './traefik-middleware.ts';

export type MiddlewareRefResult =
  | { readonly ok: true; readonly name: string; readonly specs: readonly MiddlewareSpec[]; readonly warnings: readonly string[] }
  | { readonly ok: false; readonly reason: string; readonly error: string };

const MAX_CHAIN_DEPTH = 8;

/** `<ns>-<name>` -> the Middleware key `ns/name` it can mean, or an error. */
function splitQualified(text: string, view: ClusterView): string | { error: string } {
  const candidates: string[] = [];
  for (const key of view.middlewareKeys()) {
    const slash = key.indexOf('/');
    if (`${key.slice(0, slash)}-${key.slice(slash + 1)}` === text) candidates.push(key);
  }
  if (candidates.length === 1) return candidates[0]!;
  if (candidates.length === 0) return { error: `Middleware ${text}@kubernetescrd not found` };
  return { error: `${text}@kubernetescrd is ambiguous (${candidates.sort().join(', ')})` };
}

export function resolveMiddlewareRef(ref: MiddlewareRef, namespace: string, view: ClusterView, allowCrossNamespace: boolean, depth = 0): MiddlewareRefResult {
  const rawName = typeof ref?.name === 'string' ? ref.name : '';
  if (rawName === '') return { ok: false, reason: 'MissingMiddleware', error: 'a middleware reference has no name' };
  let ns = ref.namespace || namespace;
  let name = rawName;
  const at = rawName.indexOf('@');
  if (at >= 0) {
    const provider = rawName.slice(at + 1);
    if (provider !== 'kubernetescrd') return { ok: false, reason: 'UnsupportedMiddleware', error: `${rawName}: only @kubernetescrd middlewares are available` };
    const key = splitQualified(rawName.slice(0, at), view);
    if (typeof key !== 'string') return { ok: false, reason: 'MissingMiddleware', error: key.error };
    ns = key.slice(0, key.indexOf('/'));
    name = key.slice(key.indexOf('/') + 1);
  }
  if (ns !== namespace && !allowCrossNamespace) {
    return { ok: false, reason: 'CrossNamespaceRef', error: `Middleware ${ns}/${name}: references to another namespace are disabled (allowCrossNamespace)` };
  }
  const mw = view.middleware(ns, name);
  if (mw === undefined) return { ok: false, reason: 'MissingMiddleware', error: `Middleware ${ns}/${name} not found` };
  if (depth > MAX_CHAIN_DEPTH) return { ok: false, reason: 'BadMiddleware', error: `chains nested deeper than ${MAX_CHAIN_DEPTH}` };
  const parsed = parseMiddleware(mw, view, (member) => {
    const r = resolveMiddlewareRef(member, ns, view, allowCrossNamespace, depth + 1);
    return r.ok ? [...r.specs] : r.error;
  });
  if (!parsed.ok) return { ok: false, reason: parsed.reason, error: `Middleware ${ns}/${name}: ${parsed.error}` };
  return { ok: true, name: `${ns}-${name}@kubernetescrd`, specs: parsed.specs, warnings: parsed.warnings };
}
