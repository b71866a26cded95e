// The serving side of the route tables: folds RoutesUpdates (plain data from
// the compiler, route-wire.ts) into live tables whose targets are
// materialized by the RuntimeFactory, and yields a new IngressRouter after
// each. Unchanged routes keep their materialized target, so middleware
// state (rate-limit buckets, balancer positions) survives unrelated changes.
//
// Not the compiler: translation, validation and diagnostics happened where
// the cluster view is. A spec that fails to compile here again (version
// skew only) is left out and logged by the caller.

import { compileRouteTable, type DialectOrder, type RouteSpec, type RouteTable } from '../match/route-table.ts';
import { decodeTarget, fromWire, type RouteTableChanges, type RoutesUpdate } from '../compile/route-wire.ts';
import type { RouteTarget } from '../model/route-target.ts';
import { IngressRouter } from './router.ts';
import type { RuntimeTarget } from './runtime-target.ts';

export interface RouteTablesApplied {
  readonly router: IngressRouter;
  /** Specs that could not be rebuilt: id and why. */
  readonly errors: ReadonlyArray<{ id: string; error: string }>;
}

interface LiveTable {
  table: RouteTable<RuntimeTarget>;
  readonly specs: Map<string, RouteSpec<RuntimeTarget>>;
}

export class RouteTables {
  readonly #materialize: (t: RouteTarget) => RuntimeTarget;
  readonly #dialectOrder: DialectOrder | undefined;
  readonly #web: LiveTable = { table: compileRouteTable([]), specs: new Map() };
  readonly #websecure: LiveTable = { table: compileRouteTable([]), specs: new Map() };
  #default: RuntimeTarget | undefined;

  constructor(materialize: (t: RouteTarget) => RuntimeTarget, dialectOrder?: DialectOrder) {
    this.#materialize = materialize;
    this.#dialectOrder = dialectOrder;
  }

  get router(): IngressRouter {
    return new IngressRouter(this.#web.table, this.#websecure.table);
  }

  apply(u: RoutesUpdate): RouteTablesApplied {
    const errors: Array<{ id: string; error: string }> = [];
    // The same target on both entry points (no redirect) is one runtime object, as in the compiler.
    const byText = new Map<string, RuntimeTarget>();
    const materialize = (t: RouteTarget): RuntimeTarget => {
      const text = JSON.stringify(t);
      let r = byText.get(text);
      if (r === undefined) byText.set(text, (r = this.#materialize(t)));
      return r;
    };
    const defaultChanged = u.defaultTarget !== undefined;
    if (u.defaultTarget !== undefined) this.#default = u.defaultTarget === null ? undefined : this.#materialize(decodeTarget(u.defaultTarget));
    this.#next(this.#web, u.web, defaultChanged, materialize, errors);
    this.#next(this.#websecure, u.websecure, defaultChanged, materialize, errors);
    return { router: this.router, errors };
  }

  #next(live: LiveTable, c: RouteTableChanges, rebuild: boolean, materialize: (t: RouteTarget) => RuntimeTarget, errors: Array<{ id: string; error: string }>): void {
    const specs = (list: RouteTableChanges['upsert']): RouteSpec<RuntimeTarget>[] => {
      const out: RouteSpec<RuntimeTarget>[] = [];
      for (const w of list ?? []) {
        const r = fromWire(w, materialize);
        if (r.ok) out.push(r.spec);
        else errors.push({ id: r.id, error: r.error });
      }
      return out;
    };
    if (c.reset) live.specs.clear();
    for (const id of c.remove ?? []) live.specs.delete(id);
    const upsert = specs(c.reset ?? c.upsert);
    for (const s of upsert) live.specs.set(s.id, s);
    if (c.reset || rebuild) {
      // The default backend lives in the table's options: a new one means a new table.
      live.table = compileRouteTable([...live.specs.values()], {
        ...(this.#default !== undefined ? { defaultTarget: this.#default } : {}),
        ...(this.#dialectOrder ? { dialectOrder: this.#dialectOrder } : {}),
      });
    } else if (upsert.length > 0 || (c.remove?.length ?? 0) > 0) {
      live.table = live.table.update({ upsert, remove: c.remove ?? [] });
    }
  }
}
