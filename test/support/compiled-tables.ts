// What tests route with, from a compile's published specs:
// - tableOf: the route table the specs make (compileRouteTable with the
//   default backend), to look requests up by plain target;
// - wireRouter: the L7 engine's Router as a proxy worker builds it, from the
//   update the speaker posts (routesUpdate, structured-cloned as postMessage
//   does) through RouteTables and the runtime's materializer.
// The compiler publishes specs, not tables.

import { publishedRoutes, type CompiledIngress } from '../../src/ingress/compile/ingress-compiler.ts';
import { routesUpdate } from '../../src/ingress/compile/route-wire.ts';
import { compileRouteTable, type RouteTable } from '../../src/ingress/match/route-table.ts';
import type { RouteTarget } from '../../src/ingress/model/route-target.ts';
import { RouteTables } from '../../src/ingress/runtime/route-tables.ts';
import type { IngressRouter } from '../../src/ingress/runtime/router.ts';
import type { RuntimeTarget } from '../../src/ingress/runtime/runtime-target.ts';

const built = new WeakMap<CompiledIngress, { web?: RouteTable<RouteTarget>; websecure?: RouteTable<RouteTarget> }>();

export function tableOf(out: CompiledIngress, ep: 'web' | 'websecure'): RouteTable<RouteTarget> {
  let tables = built.get(out);
  if (tables === undefined) built.set(out, (tables = {}));
  let table = tables[ep];
  if (table === undefined) {
    table = compileRouteTable([...out.specs[ep].values()], out.defaultTarget !== undefined ? { defaultTarget: out.defaultTarget } : {});
    tables[ep] = table;
  }
  return table;
}

/** Keeps a worker's tables across compiles: each apply() sends only what changed, as the speaker does. */
export class WireRoutes {
  readonly #tables: RouteTables;
  #published: ReturnType<typeof publishedRoutes> | undefined;
  router: IngressRouter | undefined;

  constructor(materialize: (t: RouteTarget) => RuntimeTarget) {
    this.#tables = new RouteTables(materialize);
  }

  /** The router after this compile; throws if a route does not survive the trip. */
  apply(out: CompiledIngress): IngressRouter {
    const next = publishedRoutes(out);
    const update = routesUpdate(this.#published, next, out.changes);
    this.#published = next;
    if (update !== undefined || this.router === undefined) {
      const { router, errors } = this.#tables.apply(structuredClone(update ?? routesUpdate(undefined, next)!));
      if (errors.length > 0) throw new Error(`routes refused by the worker's tables: ${JSON.stringify(errors)}`);
      this.router = router;
    }
    return this.router;
  }
}

/** The Router a worker builds from one compile, from scratch. */
export function wireRouter(out: CompiledIngress, materialize: (t: RouteTarget) => RuntimeTarget): IngressRouter {
  return new WireRoutes(materialize).apply(out);
}
