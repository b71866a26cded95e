// What one Service port can be forwarded to right now: an immutable value,
// built from the Service and its EndpointSlices (service-endpoints.ts) and
// swapped whole into an EndpointSlot when they change. A connection picks
// from the set it sees at accept time; nothing in a set ever changes, so an
// update cannot disturb a connection in flight.

import type { Endpoint } from '../l4/endpoint.ts';

export interface BackendEndpoint extends Endpoint {
  /** "ip:port" ("[v6]:port"): identity across updates (affinity, logs). */
  readonly key: string;
  readonly nodeName: string | undefined;
  /** The Pod behind it (targetRef), for logs. */
  readonly podName: string | undefined;
  readonly ready: boolean;
  readonly serving: boolean;
  readonly terminating: boolean;
}

export interface EndpointSet {
  /** "namespace/name". */
  readonly service: string;
  /** The Service port's name ("" for a single unnamed port). */
  readonly portName: string;
  readonly protocol: string;
  /** Endpoints that get new connections, in a stable order. */
  readonly active: readonly BackendEndpoint[];
  /**
   * Serving and terminating: they get no new connections (unless `fallback`)
   * but keep the ones they hold.
   */
  readonly draining: readonly BackendEndpoint[];
  /**
   * No endpoint is ready, so `active` holds the serving-and-terminating ones
   * (kube-proxy's rule since 1.28): better than refusing the connection.
   */
  readonly fallback: boolean;
  /** externalTrafficPolicy: Local - only endpoints on this node. */
  readonly localOnly: boolean;
  /** sessionAffinity: ClientIP - how long a client sticks to its endpoint. */
  readonly affinityTimeoutMs: number | undefined;
}

export function emptyEndpointSet(service: string, portName: string, protocol = 'TCP'): EndpointSet {
  return { service, portName, protocol, active: [], draining: [], fallback: false, localOnly: false, affinityTimeoutMs: undefined };
}

/**
 * A stable holder of one Service port's current set: listeners keep the
 * slot, updates replace `current` in one assignment.
 */
export interface EndpointSlot {
  current: EndpointSet;
  /** Bumped on every swap (tests, logs). */
  version: number;
}

export function endpointKey(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}
