// A Router over the route-matching core for tests of the L7 engine alone:
// Ingress-style rules (host + path) straight to live Backends, no compiler,
// no API objects. The product builds its tables with src/ingress.

import { compileRouteTable, type RouteTable, type RouteSpec } from '../../src/ingress/match/route-table.ts';
import type { Backend, Middleware, RouteResult, RouteView, Router, SimpleResponse } from '../../src/proxy/http/types.ts';

export class TableRouter implements Router {
  readonly table: RouteTable<RouteResult>;

  constructor(table: RouteTable<RouteResult>) {
    this.table = table;
  }

  route(view: RouteView): RouteResult | undefined {
    return this.table.lookup(view);
  }
}

export interface SimpleIngressRule {
  /** Exact host or `*.foo.com`; empty/absent = any host. */
  readonly host?: string;
  /** Default "/". */
  readonly path?: string;
  readonly pathType?: 'Exact' | 'Prefix' | 'ImplementationSpecific';
  readonly backend: Backend;
  readonly middlewares?: readonly Middleware[];
  /** Default `host + path`. */
  readonly name?: string;
}

/** The default backend answer when no rule matches. */
export const NOT_FOUND: SimpleResponse = { status: 404, body: 'not found: no route for this host and path\n' };

/** Compiles Ingress-style rules (host + path) into a Router; unmatched requests get `fallback` (default 404). */
export function ingressRouter(rules: readonly SimpleIngressRule[], fallback: RouteResult | undefined = { routeName: 'default-backend', response: NOT_FOUND }): TableRouter {
  const specs: RouteSpec<RouteResult>[] = rules.map((r, i) => {
    const routeName = r.name ?? `${r.host ?? '*'}${r.path ?? '/'}#${i}`;
    const target: RouteResult = r.middlewares !== undefined ? { routeName, backend: r.backend, middlewares: r.middlewares } : { routeName, backend: r.backend };
    return { kind: 'ingress', id: routeName, source: 'rules', host: r.host ?? null, path: r.path ?? '/', pathType: r.pathType ?? 'Prefix', target };
  });
  const table = compileRouteTable(specs, fallback !== undefined ? { defaultTarget: fallback } : {});
  if (table.issues.length > 0) throw new Error(`invalid rules: ${table.issues.map((i) => `${i.id}: ${i.message}`).join('; ')}`);
  return new TableRouter(table);
}
