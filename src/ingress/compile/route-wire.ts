// Route specs as plain data: what the node's configuration carries from the
// compiler (in the speaker's process) to the processes that serve. A
// compiled rule travels as its text and syntax, a Go regexp as its pattern,
// an IP network's words as numbers; the receiving side compiles them again
// (route-tables.ts). Everything else in a RouteTarget is data already.
//
// Pure. JSON-safe both ways: the result of toWire survives JSON.stringify
// and the cluster IPC channel unchanged.

import { compileGoRegexp, GoRegexp } from '../match/go-regexp.ts';
import type { ReadonlyStringMap } from '../match/layered-map.ts';
import type { IngressRouteSpec, RouteSpec, TraefikRouteSpec } from '../match/route-table.ts';
import { compileTraefikRule, type CompiledTraefikRule } from '../match/traefik-rule-compiler.ts';
import type { RuleSyntax } from '../match/traefik-rule-matchers.ts';
import type { RouteTarget } from '../model/route-target.ts';
import type { EntryRoute, EntryRouteTarget } from '../model/entry-route.ts';
import type { ServicePortRef } from '../model/service-node.ts';

/** A Traefik rule as text. */
export interface WireRule {
  readonly source: string;
  readonly syntax: RuleSyntax;
}

/** A RouteTarget with its regexps and networks as tagged data. */
export type WireTarget = unknown;

export type WireRouteSpec =
  | (Omit<IngressRouteSpec<never>, 'condition' | 'target'> & { readonly condition?: WireRule | null; readonly target: WireTarget })
  | (Omit<TraefikRouteSpec<never>, 'rule' | 'target'> & { readonly rule: WireRule; readonly target: WireTarget });

const REGEXP_TAG = '$goRegexp';
const WORDS_TAG = '$u32';

const encoded = new WeakMap<object, WireTarget>();

function ruleOf(r: CompiledTraefikRule | WireRule): WireRule {
  return { source: r.source, syntax: r.syntax };
}

/** The spec as data (targets shared between specs are encoded once). */
function toWire(spec: RouteSpec<RouteTarget>): WireRouteSpec {
  const target = encodeTarget(spec.target);
  if (spec.kind === 'traefik') return { kind: 'traefik', id: spec.id, source: spec.source, rule: ruleOf(spec.rule), ...(spec.priority != null ? { priority: spec.priority } : {}), target };
  return {
    kind: 'ingress',
    id: spec.id,
    source: spec.source,
    ...(spec.host != null ? { host: spec.host } : {}),
    ...(spec.path != null ? { path: spec.path } : {}),
    ...(spec.pathType != null ? { pathType: spec.pathType } : {}),
    ...(spec.condition != null ? { condition: ruleOf(spec.condition) } : {}),
    target,
  };
}

export function encodeTarget(target: RouteTarget): WireTarget {
  let e = encoded.get(target);
  if (e === undefined) encoded.set(target, (e = encodeValue(target)));
  return e;
}

function encodeValue(v: unknown): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (v instanceof GoRegexp) return { [REGEXP_TAG]: v.source };
  if (v instanceof Uint32Array) return { [WORDS_TAG]: [...v] };
  if (Array.isArray(v)) return v.map(encodeValue);
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) if (x !== undefined) out[k] = encodeValue(x);
  return out;
}

export type FromWire<T> = { ok: true; spec: RouteSpec<T> } | { ok: false; id: string; error: string };

/**
 * The spec back, with its target materialized by `materialize` from the
 * decoded RouteTarget. A rule or regexp that no longer compiles (it did in
 * the compiler: only a version skew could cause this) is an error.
 */
export function fromWire<T>(w: WireRouteSpec, materialize: (t: RouteTarget) => T): FromWire<T> {
  try {
    const target = materialize(decodeTarget(w.target));
    if (w.kind === 'traefik') {
      const rule = compileRule(w.rule);
      return { ok: true, spec: { kind: 'traefik', id: w.id, source: w.source, rule, priority: w.priority ?? null, target } };
    }
    const condition = w.condition ? compileRule(w.condition) : null;
    return { ok: true, spec: { kind: 'ingress', id: w.id, source: w.source, host: w.host ?? null, path: w.path ?? null, pathType: w.pathType ?? null, condition, target } };
  } catch (err) {
    return { ok: false, id: w.id, error: (err as Error).message };
  }
}

function compileRule(r: WireRule): CompiledTraefikRule {
  const c = compileTraefikRule(r.source, { syntax: r.syntax });
  if (!c.ok) throw new Error(`rule ${JSON.stringify(r.source)}: ${c.error.message}`);
  return c.rule;
}

export function decodeTarget(w: WireTarget): RouteTarget {
  return decodeValue(w) as RouteTarget;
}

function decodeValue(v: unknown): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map(decodeValue);
  const o = v as Record<string, unknown>;
  const re = o[REGEXP_TAG];
  if (typeof re === 'string') {
    const c = compileGoRegexp(re);
    if (!c.ok) throw new Error(`regexp ${JSON.stringify(re)}: ${c.error}`);
    return c.regexp;
  }
  const words = o[WORDS_TAG];
  if (Array.isArray(words)) return Uint32Array.from(words as number[]);
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(o)) out[k] = decodeValue(x);
  return out;
}

/** What changed in one route table: everything (`reset`), or routes upserted and removed by id. */
export interface RouteTableChanges {
  readonly reset?: readonly WireRouteSpec[];
  readonly upsert?: readonly WireRouteSpec[];
  readonly remove?: readonly string[];
}

/** An ssl-passthrough host and the Service port that gets its TLS connections (plain data). */
export interface PassthroughHost {
  readonly host: string;
  readonly ref: ServicePortRef;
  /** Several Services: each connection to one of them by weight (`ref` is the first one that can be chosen). */
  readonly weighted?: readonly EntryRouteTarget[];
  /** IngressRouteTCP middlewares: who may connect (CIDRs or addresses), and how many at once. */
  readonly allow?: readonly string[];
  readonly maxConnections?: number;
}

/**
 * TLS settings of one host (exact, or `*.` wildcard) on the websecure entry
 * point: `ca` (PEM) asks its clients for a certificate and verifies it
 * (auth-tls, TLSOption clientAuth); the rest narrows its handshakes
 * (TLSOption): versions, TLS 1.2 ciphers (OpenSSL names), curves, and
 * sniStrict (no certificate of its own for the name: refused).
 */
export interface HostTls {
  readonly host: string;
  readonly ca?: string;
  readonly minVersion?: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';
  readonly maxVersion?: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';
  readonly ciphers?: string;
  readonly ecdhCurve?: string;
  readonly sniStrict?: boolean;
  readonly requireClientCert?: boolean;
}

/** One compile's effect on both entry points' tables. */
export interface RoutesUpdate {
  readonly web: RouteTableChanges;
  readonly websecure: RouteTableChanges;
  /** The default backend's target; null: none; absent: unchanged. */
  readonly defaultTarget?: WireTarget | null;
  /** Every ssl-passthrough host; absent: unchanged. */
  readonly passthrough?: readonly PassthroughHost[];
  /** Every host whose TLS is terminated and its plaintext sent to a Service port (IngressRouteTCP); absent: unchanged. */
  readonly tcpHosts?: readonly PassthroughHost[];
  /** Every host asking for client certificates; absent: unchanged. */
  readonly hostTls?: readonly HostTls[];
  /** Every TCP and UDP route on an entry point of its own; absent: unchanged. */
  readonly entryRoutes?: readonly EntryRoute[];
}

/**
 * The changes from one set of specs to the next, by identity (the compiler
 * keeps a spec object while its route is unchanged); a reset when `prev` is
 * undefined or most routes changed.
 */
export function diffRouteSpecs(prev: ReadonlyStringMap<RouteSpec<RouteTarget>> | undefined, next: ReadonlyStringMap<RouteSpec<RouteTarget>>): RouteTableChanges {
  if (prev === undefined) return { reset: [...next.values()].map(toWire) };
  const upsert: WireRouteSpec[] = [];
  const remove: string[] = [];
  for (const [id, spec] of next) if (prev.get(id) !== spec) upsert.push(toWire(spec));
  for (const id of prev.keys()) if (!next.has(id)) remove.push(id);
  if (upsert.length + remove.length > next.size / 2 && next.size > 16) return { reset: [...next.values()].map(toWire) };
  return { ...(upsert.length > 0 ? { upsert } : {}), ...(remove.length > 0 ? { remove } : {}) };
}

/** What one compile published: both tables' specs by id and the default backend's target. */
export interface PublishedRoutes {
  readonly web: ReadonlyStringMap<RouteSpec<RouteTarget>>;
  readonly websecure: ReadonlyStringMap<RouteSpec<RouteTarget>>;
  readonly defaultTarget: RouteTarget | undefined;
  readonly passthrough: readonly PassthroughHost[];
  readonly tcpHosts: readonly PassthroughHost[];
  readonly hostTls: readonly HostTls[];
  readonly entryRoutes: readonly EntryRoute[];
}

/**
 * The update from one compile's routes to the next; undefined when nothing
 * changed. `deltas`: what the compiler found changed in each table, when
 * `next` directly follows `prev` (saves diffing the tables again).
 */
export function routesUpdate(
  prev: PublishedRoutes | undefined,
  next: PublishedRoutes,
  deltas?: { readonly web: { readonly upsert: readonly RouteSpec<RouteTarget>[]; readonly remove: readonly string[] } | undefined; readonly websecure: { readonly upsert: readonly RouteSpec<RouteTarget>[]; readonly remove: readonly string[] } | undefined },
): RoutesUpdate | undefined {
  // By content: a re-translated Ingress yields a new but equal default target, and a new default rebuilds every table.
  const text = (t: RouteTarget | undefined) => (t === undefined ? '' : JSON.stringify(encodeTarget(t)));
  const defaultChanged = prev === undefined || (prev.defaultTarget !== next.defaultTarget && text(prev.defaultTarget) !== text(next.defaultTarget));
  const passthroughChanged = prev === undefined || JSON.stringify(prev.passthrough) !== JSON.stringify(next.passthrough);
  const tcpChanged = prev === undefined || JSON.stringify(prev.tcpHosts) !== JSON.stringify(next.tcpHosts);
  const hostTlsChanged = prev === undefined || JSON.stringify(prev.hostTls) !== JSON.stringify(next.hostTls);
  const entryChanged = prev === undefined || JSON.stringify(prev.entryRoutes) !== JSON.stringify(next.entryRoutes);
  if (prev !== undefined && !defaultChanged && !passthroughChanged && !tcpChanged && !hostTlsChanged && !entryChanged && prev.web === next.web && prev.websecure === next.websecure) return undefined;
  const changes = (p: ReadonlyStringMap<RouteSpec<RouteTarget>> | undefined, n: ReadonlyStringMap<RouteSpec<RouteTarget>>, d: { readonly upsert: readonly RouteSpec<RouteTarget>[]; readonly remove: readonly string[] } | undefined): RouteTableChanges => {
    if (p === undefined || d === undefined || d.upsert.length + d.remove.length > n.size / 2) return diffRouteSpecs(p, n);
    return { ...(d.upsert.length > 0 ? { upsert: d.upsert.map(toWire) } : {}), ...(d.remove.length > 0 ? { remove: [...d.remove] } : {}) };
  };
  const web = changes(prev?.web, next.web, deltas?.web);
  const websecure = changes(prev?.websecure, next.websecure, deltas?.websecure);
  const empty = (c: RouteTableChanges) => !c.reset && !c.upsert?.length && !c.remove?.length;
  if (!defaultChanged && !passthroughChanged && !tcpChanged && !hostTlsChanged && !entryChanged && empty(web) && empty(websecure)) return undefined;
  return {
    web,
    websecure,
    ...(defaultChanged ? { defaultTarget: next.defaultTarget === undefined ? null : encodeTarget(next.defaultTarget) } : {}),
    ...(passthroughChanged ? { passthrough: next.passthrough } : {}),
    ...(tcpChanged ? { tcpHosts: next.tcpHosts } : {}),
    ...(hostTlsChanged ? { hostTls: next.hostTls } : {}),
    ...(entryChanged ? { entryRoutes: next.entryRoutes } : {}),
  };
}
