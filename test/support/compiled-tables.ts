// The route tables a compile's specs make, as a proxy worker makes them
// (compileRouteTable over the published specs, with the default backend):
// what tests look requests up in and serve from, since the compiler
// publishes specs, not tables. One table per compile result and entry point.

import type { CompiledIngress } from '../../src/ingress/compile/ingress-compiler.ts';
import { compileRouteTable, type RouteTable } from '../../src/ingress/match/route-table.ts';
import { IngressRouter } from '../../src/ingress/runtime/router.ts';
import type { RuntimeTarget } from '../../src/ingress/runtime/runtime-target.ts';

const built = new WeakMap<object, { web?: RouteTable<unknown>; websecure?: RouteTable<unknown> }>();

export function tableOf<T>(out: CompiledIngress<T>, ep: 'web' | 'websecure'): RouteTable<T> {
  let tables = built.get(out);
  if (tables === undefined) built.set(out, (tables = {}));
  let table = tables[ep] as RouteTable<T> | undefined;
  if (table === undefined) {
    table = compileRouteTable([...out.specs[ep].values()], out.defaultTarget !== undefined ? { defaultTarget: out.defaultTarget } : {});
    tables[ep] = table as RouteTable<unknown>;
  }
  return table;
}

/** The L7 engine's Router over both tables of a compile whose targets are the runtime's. */
export function routerOf(out: CompiledIngress<RuntimeTarget>): IngressRouter {
  return new IngressRouter(tableOf(out, 'web'), tableOf(out, 'websecure'));
}
