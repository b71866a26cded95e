// Per-object translation cache with "last good" memory. A translation is
// reused while the object is the same (informers hand out a new object on
// every change) and every object it looked up is the same too. When a new
// version translates with errors, the last good translation stays in use
// (design: "leaves the last good state in place") and that is said in a
// diagnostic on the object.

import { dependenciesHold, RecordingView, type ClusterView, type Dependency } from '../translate/cluster-view.ts';

export interface Translated {
  readonly ok: boolean;
}

interface Entry<R> {
  obj: object;
  result: R;
  deps: readonly Dependency[];
  sawMiddlewareKeys: boolean;
  middlewareGeneration: number;
  lastGood: R | undefined;
  lastGoodVersion: string | undefined;
}

export interface CacheAnswer<R> {
  /** What to serve: the fresh result when ok, else the last good one (if any). */
  readonly serve: R | undefined;
  /** The translation of the current object (its diagnostics are reported). */
  readonly current: R;
  /** Set when `serve` is an older version than `current`. */
  readonly keptVersion: string | undefined;
}

export class ObjectCache<O extends object, R extends Translated> {
  readonly #entries = new Map<string, Entry<R>>();
  readonly #translate: (obj: O, view: ClusterView) => R;
  readonly #version: (obj: O) => string;

  constructor(translate: (obj: O, view: ClusterView) => R, version: (obj: O) => string) {
    this.#translate = translate;
    this.#version = version;
  }

  /** `middlewareGeneration` changes whenever any Middleware changes (for `ns-name@kubernetescrd` lookups). */
  get(key: string, obj: O, view: ClusterView, middlewareGeneration: number): CacheAnswer<R> {
    let e = this.#entries.get(key);
    const fresh =
      e !== undefined &&
      e.obj === obj &&
      (!e.sawMiddlewareKeys || e.middlewareGeneration === middlewareGeneration) &&
      dependenciesHold(e.deps, view);
    if (!fresh) {
      const rec = new RecordingView(view);
      const result = this.#translate(obj, rec);
      const lastGood = result.ok ? result : e?.lastGood;
      const lastGoodVersion = result.ok ? this.#version(obj) : e?.lastGoodVersion;
      e = { obj, result, deps: rec.deps, sawMiddlewareKeys: rec.sawMiddlewareKeys, middlewareGeneration, lastGood, lastGoodVersion };
      this.#entries.set(key, e);
    }
    const entry = e!;
    if (entry.result.ok) return { serve: entry.result, current: entry.result, keptVersion: undefined };
    return { serve: entry.lastGood, current: entry.result, keptVersion: entry.lastGood ? entry.lastGoodVersion : undefined };
  }

  /** Forget objects not in `live` (deleted, or no longer ours). */
  retain(live: ReadonlySet<string>): void {
    for (const k of this.#entries.keys()) if (!live.has(k)) this.#entries.delete(k);
  }

  get size(): number {
    return this.#entries.size;
  }
}
