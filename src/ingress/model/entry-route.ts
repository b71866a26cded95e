// A Traefik TCP or UDP route on an entry point of its own, as plain data the
// compiler publishes and the proxy's listener plan reads. Not the listener:
// the proxy puts it on the entrypoint Service's port (listen-plan.ts).

import type { ServicePortRef } from './service-node.ts';

/**
 * A Traefik TCP or UDP route on an entry point of its own (plain data): the
 * entrypoint Service's port named `entryPoint` forwards each connection (UDP
 * flow) to one of `targets`, by smooth weighted round robin.
 */
export interface EntryRoute {
  readonly entryPoint: string;
  readonly protocol: 'TCP' | 'UDP';
  readonly targets: readonly EntryRouteTarget[];
  /** IngressRouteTCP ipAllowList: who may connect (CIDRs). */
  readonly allow?: readonly string[];
  /** IngressRouteTCP inFlightConn: connections one client IP may hold open at once. */
  readonly maxConnections?: number;
  /**
   * IngressRouteTCP tls (not passthrough): the proxy terminates TLS with the
   * certificate of `secretKey` ("ns/name"; the default certificate when
   * absent or not loaded) and forwards the plaintext.
   */
  readonly tls?: { readonly secretKey?: string };
  /** "IngressRouteTCP ns/name", for logs and Events. */
  readonly origin: string;
}

export interface EntryRouteTarget {
  readonly ref: ServicePortRef;
  readonly weight: number;
}
