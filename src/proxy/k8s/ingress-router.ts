// The minimal Router: Ingress host + path rules (src/ingress/match semantics:
// exact and wildcard hosts, Exact/Prefix paths, longest first) compiled into
// one immutable route table whose targets are live Backends. A change builds
// a new Router that the entrypoint swaps in whole; requests already routed
// keep the Backend they got. The full rule engine (src/ingress) replaces this
// behind the same Router interface.

import { compileRouteTable, type RouteSpec } from '../../ingress/match/route-table.ts';
import type { BackendRoute, Router } from '../http/types.ts';
import type { IngressReading } from './ingress-routes.ts';
import type { ServiceBackends } from './service-backends.ts';

export interface BuiltRouter {
  readonly router: Router;
  readonly routes: number;
  /** Routes the table refused (bad host or path), with the reason. */
  readonly issues: ReadonlyArray<{ readonly id: string; readonly message: string }>;
}

export function buildIngressRouter(reading: IngressReading, backends: ServiceBackends): BuiltRouter {
  const specs: RouteSpec<BackendRoute>[] = reading.routes.map((r) => ({
    kind: 'ingress',
    id: r.id,
    source: 'ingress',
    host: r.host ?? null,
    path: r.path ?? null,
    pathType: r.pathType ?? null,
    target: { routeName: `ingress/${r.id}`, backend: backends.get(r.target) },
  }));
  const d = reading.defaultBackend;
  const table = compileRouteTable<BackendRoute>(specs, d === undefined ? {} : { defaultTarget: { routeName: 'ingress/default-backend', backend: backends.get(d) } });
  return {
    router: { route: (view) => table.lookup(view) },
    routes: table.size,
    issues: table.issues.map((i) => ({ id: i.id, message: i.message })),
  };
}
