// The HostSNI(`name`) routes of one entry point, made ready to serve: per
// route a weighted picker over its Services' endpoints and its guard
// (ipAllowList, inFlightConn), found by the ClientHello's server name. Built
// when the listener binds or its route changes, released with it (the
// endpoint slots it holds). Not the dispatch: the listener manager reads
// the ClientHello (hello-peek.ts) and hands the connection on.

import { EndpointPicker } from '../endpoints/endpoint-picker.ts';
import type { EndpointSource } from '../endpoints/endpoint-slots.ts';
import { WeightedPicker, type ConnectionPicker } from '../endpoints/weighted-picker.ts';
import { TcpGuard } from '../http/tcp-guard.ts';
import type { SharedInFlightCounts } from '../../ingress/runtime/shared-limits.ts';
import type { ListenerNamedRoute } from './listen-plan.ts';

export interface ServedNamedRoute {
  readonly route: ListenerNamedRoute;
  readonly picker: ConnectionPicker;
  /** ipAllowList and inFlightConn; undefined: anyone, any number. */
  readonly guard: TcpGuard | undefined;
}

export class SniRoutes {
  readonly #byHost = new Map<string, ServedNamedRoute>();
  readonly #slots: Array<readonly [service: string, portName: string]> = [];
  readonly #endpoints: EndpointSource;

  /**
   * `listenerKey` names the guards' counts in `counts` (the node's shared
   * tables), so every worker counts a route's clients in one place.
   */
  constructor(routes: readonly ListenerNamedRoute[], endpoints: EndpointSource, listenerKey: string, counts?: SharedInFlightCounts) {
    this.#endpoints = endpoints;
    for (const route of routes) {
      const pickers = route.targets.map((t) => {
        this.#slots.push([t.service, t.portName]);
        return new EndpointPicker(endpoints.slot(t.service, t.portName));
      });
      const picker = new WeightedPicker(pickers, route.targets.map((t) => t.weight));
      const limited = route.allow !== undefined || route.maxConnections !== undefined;
      const id = `${listenerKey}\u0000${route.hosts.join(',')}\u0000${route.maxConnections ?? 0}`;
      const guard = limited
        ? new TcpGuard({ ...(route.allow ? { allow: route.allow } : {}), ...(route.maxConnections ? { maxConnections: route.maxConnections } : {}) }, counts ? { counts, id } : undefined)
        : undefined;
      const served = { route, picker, guard };
      for (const host of route.hosts) if (!this.#byHost.has(host)) this.#byHost.set(host, served);
    }
  }

  /** The route of a lowercase server name. */
  get(host: string): ServedNamedRoute | undefined {
    return this.#byHost.get(host);
  }

  /** Gives back the endpoint slots; the object is not used after. */
  release(): void {
    for (const [service, portName] of this.#slots.splice(0)) this.#endpoints.releaseSlot(service, portName);
    this.#byHost.clear();
  }
}
