// The route table: every HTTP route of the ingress entrypoint, from either
// dialect, compiled into one immutable structure that answers
// `lookup(request) -> target` without allocating.
//
// Routes come in two dialects:
// - ingress: Kubernetes Ingress host pattern + path + pathType (plus an
//   optional extra condition, e.g. a canary header), ordered by Kubernetes
//   precedence: longest path first, Exact before Prefix on a tie;
// - traefik: a compiled Traefik rule + priority (default: rule length),
//   ordered by priority, highest first.
//
// Ordering (decided here, deterministic for any input order):
// 1. Host tier first. A request's host is tried against
//      a. routes for exactly that host (Ingress `foo.bar.com`, Traefik rules
//         whose Host() set contains it),
//      b. then Ingress wildcard routes for its parent domain (`*.bar.com`),
//      c. then host-less routes (Ingress without host, Traefik rules that
//         are not indexable by host, e.g. PathPrefix-only or HostRegexp).
//    A more specific tier always wins, whatever the priorities: this is the
//    Kubernetes reading (and nginx's server_name order). It differs from
//    Traefik, where one global priority order spans all hosts: a host-less
//    Traefik rule with a huge priority does not beat a host-specific route
//    here. A request whose tier has no matching route falls through to the
//    next tier (as in Traefik; ingress-nginx would answer 404 from the
//    host's server block instead).
// 2. Within a tier, Traefik routes before Ingress routes (option
//    `dialectOrder`): a Traefik rule states a priority and may carry
//    conditions beyond host and path, so it is the more deliberate claim;
//    Ingress has no priority to compare with.
// 3. Ties (same priority, or same path length and type) break by id, in
//    code-unit order; for Ingress, routes with a condition come before the
//    same path without one.
// No match: `defaultTarget` (the default backend), or undefined.
//
// Index: Map by exact host, SuffixMap by wildcard suffix (queried at an
// offset into the host, no slicing), one catch-all list; each bucket is a
// pre-sorted array scanned in order. Path checks compare by offset
// (startsWith + one char), never split.
//
// `update()` returns a new table that shares every bucket it did not touch
// (the maps are LayeredMaps), so changing one route costs the size of its
// buckets and O(√n) of map, not a copy of the table; the wildcard SuffixMap is
// rebuilt only when a wildcard bucket changes.

import { normalizeRequestHost, parseIngressHost } from './host.ts';
import { compileIngressPath, type IngressPathType } from './ingress-path.ts';
import { LayeredMap } from './layered-map.ts';
import { EMPTY_REQUEST, RequestView, type HttpRequestInfo } from './request-view.ts';
import { SuffixMap } from './suffix-map.ts';
import type { CompiledTraefikRule } from './traefik-rule-compiler.ts';
import type { RequestTest } from './traefik-rule-matchers.ts';

export type RouteDialect = 'ingress' | 'traefik';

export interface IngressRouteSpec<T> {
  readonly kind: 'ingress';
  /** Unique in the table, stable across rebuilds (e.g. `ns/name#rule/path`). */
  readonly id: string;
  /** Where it came from, for logs (e.g. `ingress`, `ingress-nginx-canary`). */
  readonly source: string;
  /** `foo.bar.com`, `*.bar.com`, or empty/absent for any host. */
  readonly host?: string | null;
  /** Absent or empty means `/`. */
  readonly path?: string | null;
  /** Absent means ImplementationSpecific (read as Prefix). */
  readonly pathType?: IngressPathType | null;
  /** Extra condition checked after host and path (e.g. a canary header). */
  readonly condition?: CompiledTraefikRule | null;
  readonly target: T;
}

export interface TraefikRouteSpec<T> {
  readonly kind: 'traefik';
  readonly id: string;
  readonly source: string;
  readonly rule: CompiledTraefikRule;
  /** Router priority; absent or 0 means the rule's default (its length). */
  readonly priority?: number | null;
  readonly target: T;
}

export type RouteSpec<T> = IngressRouteSpec<T> | TraefikRouteSpec<T>;

/** The route that answered a lookup. */
export interface RouteMatch<T> {
  readonly id: string;
  readonly source: string;
  readonly dialect: RouteDialect;
  readonly target: T;
}

/** A route that was left out of the table, and why. */
export interface RouteIssue {
  readonly id: string;
  readonly source: string;
  readonly message: string;
}

export type DialectOrder = 'traefik-first' | 'ingress-first';

export interface RouteTableOptions<T> {
  /** Answer when nothing matches (the default backend). */
  readonly defaultTarget?: T;
  /** Which dialect goes first within a host tier; default traefik-first. */
  readonly dialectOrder?: DialectOrder;
}

export interface RouteChanges<T> {
  /** Added or replaced (by id). */
  readonly upsert?: readonly RouteSpec<T>[];
  readonly remove?: readonly string[];
}

export interface RouteTable<T> {
  /** Routes in the table (rejected ones excluded). */
  readonly size: number;
  readonly issues: readonly RouteIssue[];
  readonly defaultTarget: T | undefined;
  /** The target of the first matching route, else defaultTarget. */
  lookup(req: HttpRequestInfo): T | undefined;
  /** The first matching route, else undefined. */
  match(req: HttpRequestInfo): RouteMatch<T> | undefined;
  /** The routes a request for this host would try, in order. */
  candidates(host: string): readonly RouteMatch<T>[];
  /** A new table with the changes applied; this one is unchanged. */
  update(changes: RouteChanges<T>): RouteTable<T>;
}

const INGRESS = 0;
const TRAEFIK = 1;

const HOST_ANY = 0;
const HOST_EXACT = 1;
const HOST_WILDCARD = 2;

const SLASH = 47;

class RouteEntry<T> implements RouteMatch<T> {
  readonly id: string;
  readonly source: string;
  readonly dialect: RouteDialect;
  readonly target: T;
  readonly kind: number;
  readonly exact: boolean;
  /** Ingress: the normalized path. Traefik: the rule's path guard. */
  readonly path: string;
  readonly pathLength: number;
  readonly priority: number;
  readonly test: RequestTest | null;
  readonly hostKind: number;
  /** Exact hosts, or the wildcard suffix; empty for any host. */
  readonly hostKeys: readonly string[];

  constructor(
    spec: RouteSpec<T>,
    kind: number,
    exact: boolean,
    path: string,
    priority: number,
    test: RequestTest | null,
    hostKind: number,
    hostKeys: readonly string[],
  ) {
    this.id = spec.id;
    this.source = spec.source;
    this.dialect = spec.kind;
    this.target = spec.target;
    this.kind = kind;
    this.exact = exact;
    this.path = path;
    this.pathLength = path.length;
    this.priority = priority;
    this.test = test;
    this.hostKind = hostKind;
    this.hostKeys = Object.freeze(hostKeys);
    Object.freeze(this);
  }
}

type Bucket<T> = readonly RouteEntry<T>[];

/** Why `spec` cannot be a route (what a table reports as its issue), or undefined: checked without building a table. */
export function routeSpecProblem<T>(spec: RouteSpec<T>): string | undefined {
  const entry = makeEntry(spec);
  return typeof entry === 'string' ? entry : undefined;
}

function makeEntry<T>(spec: RouteSpec<T>): RouteEntry<T> | string {
  if (typeof spec.id !== 'string' || spec.id === '') return 'route id must be a non-empty string';
  if (spec.kind === 'ingress') {
    const host = parseIngressHost(spec.host);
    if (!host.ok) return host.error;
    const path = compileIngressPath(spec.path, spec.pathType);
    if (!path.ok) return path.error;
    const h = host.host;
    const hostKind = h.kind === 'exact' ? HOST_EXACT : h.kind === 'wildcard' ? HOST_WILDCARD : HOST_ANY;
    const keys = h.kind === 'exact' ? [h.host] : h.kind === 'wildcard' ? [h.suffix] : [];
    const p = path.path;
    return new RouteEntry(spec, INGRESS, p.exact, p.path, 0, spec.condition?.test ?? null, hostKind, keys);
  }
  if (spec.kind === 'traefik') {
    const rule = spec.rule;
    let priority = spec.priority ?? 0;
    if (!Number.isSafeInteger(priority)) return `priority must be an integer, got ${String(spec.priority)}`;
    if (priority === 0) priority = rule.defaultPriority;
    if (rule.hosts !== null && rule.hosts.length === 0) {
      return `rule ${JSON.stringify(rule.source)} can never match: its Host matchers exclude each other`;
    }
    const hostKind = rule.hosts === null ? HOST_ANY : HOST_EXACT;
    // `path` holds the rule's path guard: scan() checks it before the tree.
    return new RouteEntry(spec, TRAEFIK, false, rule.pathGuard, priority, rule.test, hostKind, rule.hosts ?? []);
  }
  return `unknown route kind ${JSON.stringify((spec as { kind: unknown }).kind)}`;
}

function comparator<T>(order: DialectOrder): (a: RouteEntry<T>, b: RouteEntry<T>) => number {
  const firstKind = order === 'traefik-first' ? TRAEFIK : INGRESS;
  return (a, b) => {
    if (a.kind !== b.kind) return a.kind === firstKind ? -1 : 1;
    if (a.kind === TRAEFIK) {
      if (a.priority !== b.priority) return b.priority - a.priority;
    } else {
      if (a.pathLength !== b.pathLength) return b.pathLength - a.pathLength;
      if (a.exact !== b.exact) return a.exact ? -1 : 1;
      const ac = a.test !== null;
      if (ac !== (b.test !== null)) return ac ? -1 : 1;
    }
    return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
  };
}

/** First entry of a bucket that matches; the hot loop of every lookup. */
function scan<T>(bucket: Bucket<T>, view: RequestView, path: string): RouteEntry<T> | undefined {
  for (let i = 0; i < bucket.length; i++) {
    const e = bucket[i]!;
    if (e.kind === INGRESS) {
      const r = e.path;
      if (e.exact) {
        if (path !== r) continue;
      } else if (!(path.startsWith(r) && (path.length === r.length || path.charCodeAt(r.length) === SLASH))) {
        continue;
      }
      if (e.test === null || e.test(view)) return e;
    } else if (path.startsWith(e.path) && e.test!(view)) {
      return e;
    }
  }
  return undefined;
}

/** One view for all lookups: lookups are synchronous and never nest. */
const view = new RequestView();

interface Index<T> {
  byId: LayeredMap<RouteEntry<T>>;
  exact: LayeredMap<Bucket<T>>;
  wildcard: LayeredMap<Bucket<T>>;
  /** `wildcard`, for lookups by suffix. */
  wildcardLookup: SuffixMap<Bucket<T>>;
  any: Bucket<T>;
  issues: readonly RouteIssue[];
}

function sortedBucket<T>(entries: RouteEntry<T>[], compare: (a: RouteEntry<T>, b: RouteEntry<T>) => number): Bucket<T> {
  entries.sort(compare);
  return Object.freeze(entries);
}

class CompiledRouteTable<T> implements RouteTable<T> {
  readonly size: number;
  readonly issues: readonly RouteIssue[];
  readonly defaultTarget: T | undefined;
  readonly #order: DialectOrder;
  readonly #index: Index<T>;
  readonly #exact: LayeredMap<Bucket<T>>;
  readonly #wildcard: SuffixMap<Bucket<T>>;
  readonly #hasWildcard: boolean;
  readonly #any: Bucket<T>;

  constructor(index: Index<T>, options: RouteTableOptions<T>) {
    this.#index = index;
    this.#order = options.dialectOrder ?? 'traefik-first';
    this.defaultTarget = options.defaultTarget;
    this.size = index.byId.size;
    this.issues = Object.freeze(index.issues);
    this.#exact = index.exact;
    this.#wildcard = index.wildcardLookup;
    this.#hasWildcard = this.#wildcard.size > 0;
    this.#any = index.any;
    Object.freeze(this);
  }

  match(req: HttpRequestInfo): RouteMatch<T> | undefined {
    // Exact-host keys are canonical, so a raw Host that is a key is
    // canonical too: the common case skips normalization altogether.
    let host = req.host;
    let exact = this.#exact.get(host);
    if (exact === undefined) {
      const canonical = normalizeRequestHost(host);
      if (canonical !== host) exact = this.#exact.get(canonical);
      host = canonical;
    }
    view.reset(req, host);
    const path = req.path.length === 0 ? '/' : req.path;
    let found: RouteEntry<T> | undefined;
    if (exact !== undefined) found = scan(exact, view, path);
    if (found === undefined && this.#hasWildcard) {
      const dot = host.indexOf('.');
      if (dot > 0) {
        const wild = this.#wildcard.get(host, dot + 1);
        if (wild !== undefined) found = scan(wild, view, path);
      }
    }
    if (found === undefined && this.#any.length > 0) found = scan(this.#any, view, path);
    // Do not keep the last request alive through the shared view.
    view.req = EMPTY_REQUEST;
    return found;
  }

  lookup(req: HttpRequestInfo): T | undefined {
    const m = this.match(req);
    return m === undefined ? this.defaultTarget : m.target;
  }

  candidates(rawHost: string): readonly RouteMatch<T>[] {
    const probe = new RequestView({ ...EMPTY_REQUEST, host: rawHost });
    const host = probe.host();
    const out: RouteEntry<T>[] = [...(this.#exact.get(host) ?? [])];
    const dot = host.indexOf('.');
    if (dot > 0) out.push(...(this.#wildcard.get(host, dot + 1) ?? []));
    out.push(...this.#any);
    return out;
  }

  update(changes: RouteChanges<T>): RouteTable<T> {
    const options: RouteTableOptions<T> = { defaultTarget: this.defaultTarget, dialectOrder: this.#order };
    return new CompiledRouteTable(applyChanges(this.#index, changes, comparator<T>(this.#order)), options);
  }
}

function bucketsOf<T>(entries: Iterable<RouteEntry<T>>): {
  exact: Map<string, RouteEntry<T>[]>;
  wildcard: Map<string, RouteEntry<T>[]>;
  any: RouteEntry<T>[];
} {
  const exact = new Map<string, RouteEntry<T>[]>();
  const wildcard = new Map<string, RouteEntry<T>[]>();
  const any: RouteEntry<T>[] = [];
  for (const e of entries) {
    if (e.hostKind === HOST_ANY) {
      any.push(e);
      continue;
    }
    const map = e.hostKind === HOST_EXACT ? exact : wildcard;
    for (const key of e.hostKeys) {
      const list = map.get(key);
      if (list) list.push(e);
      else map.set(key, [e]);
    }
  }
  return { exact, wildcard, any };
}

function buildIndex<T>(routes: readonly RouteSpec<T>[], compare: (a: RouteEntry<T>, b: RouteEntry<T>) => number): Index<T> {
  const byId = new Map<string, RouteEntry<T>>();
  const issues: RouteIssue[] = [];
  for (const spec of routes) {
    if (byId.has(spec.id)) {
      issues.push({ id: spec.id, source: spec.source, message: `duplicate route id ${JSON.stringify(spec.id)}; the first one is kept` });
      continue;
    }
    const entry = makeEntry(spec);
    if (typeof entry === 'string') issues.push({ id: spec.id, source: spec.source, message: entry });
    else byId.set(spec.id, entry);
  }
  const b = bucketsOf(byId.values());
  const exact = new Map<string, Bucket<T>>();
  for (const [k, list] of b.exact) exact.set(k, sortedBucket(list, compare));
  const wildcard = new Map<string, Bucket<T>>();
  for (const [k, list] of b.wildcard) wildcard.set(k, sortedBucket(list, compare));
  return {
    byId: LayeredMap.of(byId, 'cold'),
    exact: LayeredMap.of(exact),
    wildcard: LayeredMap.of(wildcard),
    wildcardLookup: new SuffixMap(wildcard),
    any: sortedBucket(b.any, compare),
    issues,
  };
}

function applyChanges<T>(old: Index<T>, changes: RouteChanges<T>, compare: (a: RouteEntry<T>, b: RouteEntry<T>) => number): Index<T> {
  const changed = new Set<string>(changes.remove ?? []);
  const issues: RouteIssue[] = [];
  const added: RouteEntry<T>[] = [];
  const seen = new Set<string>();
  for (const spec of changes.upsert ?? []) {
    if (seen.has(spec.id)) {
      issues.push({ id: spec.id, source: spec.source, message: `duplicate route id ${JSON.stringify(spec.id)}; the first one is kept` });
      continue;
    }
    seen.add(spec.id);
    changed.add(spec.id);
    const entry = makeEntry(spec);
    if (typeof entry === 'string') issues.push({ id: spec.id, source: spec.source, message: entry });
    else added.push(entry);
  }

  // Buckets touched: those of the replaced/removed entries and of the new ones.
  const removed: RouteEntry<T>[] = [];
  const byIdChanges = new Map<string, RouteEntry<T> | undefined>();
  for (const id of changed) {
    const e = old.byId.get(id);
    if (e !== undefined) {
      removed.push(e);
      byIdChanges.set(id, undefined);
    }
  }
  for (const e of added) byIdChanges.set(e.id, e);
  const fresh = bucketsOf(added);
  const touched = bucketsOf(removed);

  const rebuild = (oldBucket: Bucket<T> | undefined, extra: RouteEntry<T>[] | undefined): Bucket<T> | undefined => {
    const list = (oldBucket ?? []).filter((e) => !changed.has(e.id));
    if (extra) list.push(...extra);
    return list.length === 0 ? undefined : sortedBucket(list, compare);
  };
  const patch = (map: LayeredMap<Bucket<T>>, freshMap: Map<string, RouteEntry<T>[]>, touchedMap: Map<string, RouteEntry<T>[]>): LayeredMap<Bucket<T>> => {
    if (freshMap.size === 0 && touchedMap.size === 0) return map;
    const buckets: Array<[string, Bucket<T> | undefined]> = [];
    for (const key of new Set([...freshMap.keys(), ...touchedMap.keys()])) buckets.push([key, rebuild(map.get(key), freshMap.get(key))]);
    return map.with(buckets);
  };
  const anyTouched = fresh.any.length > 0 || touched.any.length > 0;
  const wildcard = patch(old.wildcard, fresh.wildcard, touched.wildcard);
  return {
    byId: old.byId.with(byIdChanges),
    exact: patch(old.exact, fresh.exact, touched.exact),
    wildcard,
    wildcardLookup: wildcard === old.wildcard ? old.wildcardLookup : new SuffixMap(wildcard),
    any: anyTouched ? (rebuild(old.any, fresh.any) ?? Object.freeze([])) : old.any,
    issues: [...old.issues.filter((i) => !changed.has(i.id)), ...issues],
  };
}

export function compileRouteTable<T>(routes: readonly RouteSpec<T>[], options: RouteTableOptions<T> = {}): RouteTable<T> {
  return new CompiledRouteTable(buildIndex(routes, comparator<T>(options.dialectOrder ?? 'traefik-first')), options);
}
