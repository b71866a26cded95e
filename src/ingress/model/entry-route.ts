// A Traefik TCP or UDP route on an entry point of its own, as plain data the
// compiler publishes and the proxy's listener plan reads. Not the listener:
// the proxy puts it on the entrypoint Service's port (listen-plan.ts).

import type { ServicePortRef } from './service-node.ts';

/**
 * A Traefik TCP or UDP route on an entry point of its own (plain data): the
 * entrypoint Service's port named `entryPoint` forwards each connection (UDP
 * flow) to one of `targets`, by smooth weighted round robin.
 *
 * TCP with `byName`: the ClientHello's server name is read first; a
 * connection naming one of a named route's hosts goes to that route, any
 * other to the HostSNI(`*`) route this object describes, and when it has no
 * `targets` (no such route) the connection is closed, as Traefik does.
 */
export interface EntryRoute {
  readonly entryPoint: string;
  readonly protocol: 'TCP' | 'UDP';
  /** The HostSNI(`*`) route's Services; empty when the entry point has only named routes. */
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
  /** HostSNI(`name`) routes, tried before the catch-all; each host in one of them at most. */
  readonly byName?: readonly NamedEntryRoute[];
}

/** A HostSNI(`name`, ...) route on an entry point of its own: TLS, terminated here or passed through. */
export interface NamedEntryRoute {
  /** Lowercase server names, exact (no wildcards). */
  readonly hosts: readonly string[];
  readonly targets: readonly EntryRouteTarget[];
  readonly allow?: readonly string[];
  readonly maxConnections?: number;
  /** Terminated with this certificate (the default one without `secretKey`), or passed through untouched. */
  readonly tls: { readonly secretKey?: string } | 'passthrough';
  readonly origin: string;
}

export interface EntryRouteTarget {
  readonly ref: ServicePortRef;
  readonly weight: number;
}
