// What one compiled route does with a request, as data (the route table's
// target before runtime/ turns it into live middlewares and backends).

import type { NamedMiddleware } from './middleware-spec.ts';
import type { ObjectRef } from './diagnostic.ts';
import type { ServiceNode } from './service-node.ts';

export type EntryPointName = 'web' | 'websecure';

export interface RouteTarget {
  /** Route name for logs and metrics (e.g. `ingress:ns/name#0/1`, `ns-name-0@kubernetescrd`). */
  readonly routeName: string;
  /** The object the route comes from. */
  readonly origin: ObjectRef;
  /** Applied in order before the request goes upstream. */
  readonly middlewares: readonly NamedMiddleware[];
  /** Where it goes; undefined with `response`. */
  readonly service?: ServiceNode;
  /** A fixed answer (e.g. a redirect-only route); the middlewares still run first. */
  readonly response?: { readonly status: number; readonly body?: string };
}
