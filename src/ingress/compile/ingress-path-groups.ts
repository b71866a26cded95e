// Ingress paths across Ingresses, grouped by host, path and pathType, kept
// up to date one changed Ingress at a time: which path serves each group
// (the oldest Ingress's), its canary (the oldest canary Ingress's), the
// warnings for the paths that lose, and which hosts some Ingress declares
// TLS for (ssl-redirect). Pure: no I/O, no route specs; the compiler turns
// the groups an update touched into specs.
//
// Why incremental: with 10,000 paths, regrouping every path on every change
// was half of an Ingress change's compile time (docs/benchmarks.md,
// "Ingress change"); one changed Ingress now costs its own paths, the groups
// they share, and the paths on a host whose TLS it turns on or off.

import type { Diagnostic } from '../model/diagnostic.ts';
import type { IngressPathEntry, IngressTranslation } from '../translate/ingress.ts';

/** A path that serves its group, with the Ingress it comes from. */
export interface PathWinner {
  readonly entry: IngressPathEntry;
  readonly tr: IngressTranslation;
}

interface Candidate extends PathWinner {
  /** Its index in its Ingress's paths: the first of two equal paths in one Ingress wins. */
  readonly index: number;
}

interface Group {
  readonly host: string;
  /** Oldest Ingress first. */
  readonly mains: Candidate[];
  readonly canaries: Candidate[];
  /** Whether `servedHosts` counts this group's host (it has a main path). */
  counted: boolean;
}

/** What decides a group's route: its main path, and the canary attached to it. */
export interface GroupWinners {
  readonly main: PathWinner | undefined;
  readonly canary: PathWinner | undefined;
}

export class IngressPathGroups {
  /** The translations grouped now, by namespace/name. */
  #served = new Map<string, IngressTranslation>();
  readonly #groups = new Map<string, Group>();
  /** How many TLS declarations name each exact host, and each `*.domain` (by domain). */
  readonly #exactTls = new Map<string, number>();
  readonly #wildcardTls = new Map<string, number>();
  /** Group keys by their host, and by the domain a wildcard TLS host would cover them with. */
  readonly #byHost = new Map<string, Set<string>>();
  readonly #byWildcardDomain = new Map<string, Set<string>>();
  /** Hosts with a main path, and in how many groups. */
  readonly #servedHosts = new Map<string, number>();
  /** The warnings of the groups that have some. */
  readonly #diagnostics = new Map<string, readonly Diagnostic[]>();

  /**
   * Regroups for `served` (every served Ingress translation; an unchanged
   * Ingress is the same object as last time) and returns the keys of the
   * groups whose winners or TLS may have changed, removed groups included.
   */
  update(served: Iterable<IngressTranslation>): Set<string> {
    const next = new Map<string, IngressTranslation>();
    for (const tr of served) next.set(`${tr.ref.namespace}/${tr.ref.name}`, tr);
    const touched = new Set<string>();
    for (const [key, tr] of this.#served) if (next.get(key) !== tr) this.#remove(tr, touched);
    for (const [key, tr] of next) if (this.#served.get(key) !== tr) this.#add(tr, touched);
    this.#served = next;
    for (const key of touched) this.#settle(key);
    return touched;
  }

  /** The group's main path and canary; both undefined once the group is gone. */
  winners(groupKey: string): GroupWinners {
    const g = this.#groups.get(groupKey);
    return { main: g?.mains[0], canary: g?.canaries[0] };
  }

  /** Whether some Ingress declares TLS for `host` (exactly, or by a wildcard one level up). */
  hostHasTls(host: string): boolean {
    if (host === '') return false;
    if (host.startsWith('*.')) return this.#wildcardTls.has(host.slice(2));
    if (this.#exactTls.has(host)) return true;
    const dot = host.indexOf('.');
    return dot > 0 && this.#wildcardTls.has(host.slice(dot + 1));
  }

  /** Whether some Ingress serves a main path on `host`. */
  servesHost(host: string): boolean {
    return this.#servedHosts.has(host);
  }

  /** Duplicate paths and canaries, and canaries without a main path. */
  *diagnostics(): Iterable<Diagnostic> {
    for (const list of this.#diagnostics.values()) yield* list;
  }

  #add(tr: IngressTranslation, touched: Set<string>): void {
    tr.paths.forEach((entry, index) => {
      let g = this.#groups.get(entry.groupKey);
      if (g === undefined) {
        g = { host: entry.host, mains: [], canaries: [], counted: false };
        this.#groups.set(entry.groupKey, g);
        this.#index(entry.groupKey, entry.host, true);
      }
      insertInOrder(tr.isCanary ? g.canaries : g.mains, { entry, tr, index });
      touched.add(entry.groupKey);
    });
    for (const h of tr.tlsHosts) this.#countTls(h, +1, touched);
  }

  #remove(tr: IngressTranslation, touched: Set<string>): void {
    for (const entry of tr.paths) {
      const g = this.#groups.get(entry.groupKey);
      if (g === undefined) continue;
      const list = tr.isCanary ? g.canaries : g.mains;
      for (let i = list.length - 1; i >= 0; i--) if (list[i]!.tr === tr) list.splice(i, 1);
      touched.add(entry.groupKey);
    }
    for (const h of tr.tlsHosts) this.#countTls(h, -1, touched);
  }

  /** Recomputes a touched group's warnings and whether its host counts as served; drops it when empty. */
  #settle(key: string): void {
    const g = this.#groups.get(key);
    const hasMain = g !== undefined && g.mains.length > 0;
    if (g !== undefined && g.counted !== hasMain) {
      g.counted = hasMain;
      const n = (this.#servedHosts.get(g.host) ?? 0) + (hasMain ? 1 : -1);
      if (n > 0) this.#servedHosts.set(g.host, n);
      else this.#servedHosts.delete(g.host);
    }
    if (g === undefined || (g.mains.length === 0 && g.canaries.length === 0)) {
      if (g !== undefined) {
        this.#groups.delete(key);
        this.#index(key, g.host, false);
      }
      this.#diagnostics.delete(key);
      return;
    }
    const out: Diagnostic[] = [];
    for (const [list, canary] of [
      [g.mains, false],
      [g.canaries, true],
    ] as const) {
      const first = list[0];
      if (first === undefined) continue;
      for (const c of list) {
        if (c.tr === first.tr) continue; // the same path twice in one Ingress: the first one, silently
        const what = canary ? 'canary for' : 'path';
        out.push(
          warning(c.tr, canary ? 'DuplicateCanary' : 'DuplicatePath', `${what} ${describePath(c.entry)} ignored: Ingress ${first.tr.ref.namespace}/${first.tr.ref.name} (older) already ${canary ? 'is its canary' : 'serves it'}`),
        );
      }
    }
    const canary = g.canaries[0];
    if (canary !== undefined && g.mains.length === 0) {
      out.push(warning(canary.tr, 'CanaryWithoutMain', `canary path ${describePath(canary.entry)} has no main Ingress with the same host, path and pathType: it serves nothing`));
    }
    if (out.length > 0) this.#diagnostics.set(key, out);
    else this.#diagnostics.delete(key);
  }

  #countTls(host: string, by: 1 | -1, touched: Set<string>): void {
    const wildcard = host.startsWith('*.');
    const counts = wildcard ? this.#wildcardTls : this.#exactTls;
    const name = wildcard ? host.slice(2) : host;
    const n = (counts.get(name) ?? 0) + by;
    if (n > 0) counts.set(name, n);
    else counts.delete(name);
    // Only a host's first declaration and its last one change what redirects.
    if (n !== (by > 0 ? 1 : 0)) return;
    for (const key of (wildcard ? this.#byWildcardDomain : this.#byHost).get(name) ?? []) touched.add(key);
  }

  #index(key: string, host: string, add: boolean): void {
    if (host === '') return;
    const dot = host.indexOf('.');
    const domain = host.startsWith('*.') ? host.slice(2) : dot > 0 ? host.slice(dot + 1) : undefined;
    for (const [index, name] of [
      [this.#byHost, host],
      [this.#byWildcardDomain, domain],
    ] as const) {
      if (name === undefined) continue;
      let keys = index.get(name);
      if (add) {
        if (keys === undefined) index.set(name, (keys = new Set()));
        keys.add(key);
      } else if (keys !== undefined) {
        keys.delete(key);
        if (keys.size === 0) index.delete(name);
      }
    }
  }
}

/** Oldest Ingress first (creation time, then namespace/name), then the Ingress's own path order. */
function insertInOrder(list: Candidate[], c: Candidate): void {
  let i = list.length;
  while (i > 0 && (list[i - 1]!.tr.order > c.tr.order || (list[i - 1]!.tr.order === c.tr.order && list[i - 1]!.index > c.index))) i--;
  list.splice(i, 0, c);
}

function describePath(e: IngressPathEntry): string {
  return `${e.host || '*'}${e.path} (${e.pathType})`;
}

function warning(tr: IngressTranslation, reason: string, message: string): Diagnostic {
  return { ref: tr.ref, type: 'Warning', reason, message, severity: 'warning' };
}
