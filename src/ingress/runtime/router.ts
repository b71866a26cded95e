// The Router the L7 engine calls per request: the compiled `web` table for
// plain connections, `websecure` for TLS ones; a miss is the engine's 404.
// A new IngressRouter is built for every compile and swapped in with
// HttpEntrypoint.setRouter (requests already routed keep their route).

import type { RouteResult, RouteView, Router } from '../../proxy/http/types.ts';
import type { RouteTable } from '../match/route-table.ts';
import type { RuntimeTarget } from './runtime-target.ts';

export class IngressRouter implements Router {
  readonly web: RouteTable<RuntimeTarget>;
  readonly websecure: RouteTable<RuntimeTarget>;

  constructor(web: RouteTable<RuntimeTarget>, websecure: RouteTable<RuntimeTarget>) {
    this.web = web;
    this.websecure = websecure;
  }

  route(view: RouteView): RouteResult | undefined {
    const t = (view.tls ? this.websecure : this.web).lookup(view);
    if (t === undefined) return undefined;
    return t.fixed ?? t.choose(view);
  }
}
