// Where a route sends traffic, as data: a tree whose leaves are Service
// ports and whose inner nodes split (Traefik weighted services, ingress-nginx
// canaries) or copy (Traefik mirroring) the traffic. Built by the
// translators, turned into live Backend objects by the runtime.

import type { IpNetwork } from '../match/ip-match.ts';
import type { GoRegexp } from '../match/go-regexp.ts';

/** One port of one Service: what an EndpointSlice port set is keyed by. */
export interface ServicePortRef {
  readonly namespace: string;
  readonly service: string;
  /** The Service port's name ("" for a single unnamed port): EndpointSlice ports carry the same name. */
  readonly portName: string;
  /** The Service port's number. */
  readonly port: number;
}

/** A sticky-session cookie (ingress-nginx `affinity: cookie`, Traefik `sticky.cookie`). */
export interface StickyCookie {
  readonly name: string;
  /** Cookie Path; undefined = the route's path (ingress-nginx) or "/" (Traefik). */
  readonly path?: string;
  readonly domain?: string;
  readonly maxAgeSeconds?: number;
  /** Seconds from now for Expires (ingress-nginx session-cookie-expires). */
  readonly expiresSeconds?: number;
  readonly sameSite?: 'None' | 'Lax' | 'Strict';
  /** SameSite=None left out for browsers that would drop the cookie (ingress-nginx session-cookie-conditional-samesite-none). */
  readonly conditionalSameSiteNone?: boolean;
  readonly secure: boolean;
  readonly httpOnly: boolean;
  /** ingress-nginx affinity-mode: balanced (default) or persistent. Both keep a client on its endpoint here. */
  readonly mode?: 'balanced' | 'persistent';
  /** Re-pin when the pinned endpoint fails (session-cookie-change-on-failure). */
  readonly changeOnFailure?: boolean;
}

/** TLS to the pods (ingress-nginx proxy-ssl-*, Traefik ServersTransport): plain data, PEM strings. */
export interface BackendTls {
  /** SNI sent; none by default (pods are addressed by IP). */
  readonly servername?: string;
  /** Verify the pod's certificate against `ca` (and `checkName`); default: not verified. */
  readonly verify?: boolean;
  readonly ca?: string;
  readonly checkName?: string;
  readonly verifyDepth?: number;
  /** Client certificate and key shown to the pod. */
  readonly cert?: string;
  readonly key?: string;
  readonly minVersion?: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';
  readonly maxVersion?: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';
  readonly ciphers?: string;
}

export interface BackendOptions {
  /** HTTP/1.1 (http, https) or HTTP/2 (h2c, h2: gRPC backends). */
  readonly protocol: 'http' | 'https' | 'h2c' | 'h2';
  /** How TLS to the pods is made (https, h2). */
  readonly tls?: BackendTls;
  /** ingress-nginx load-balance: round_robin (default) or ewma. */
  readonly balance?: 'round_robin' | 'ewma';
  /** upstream-hash-by-subset: a balance key picks a subset of this many endpoints, then one at random. */
  readonly hashSubsetSize?: number;
  readonly connectTimeoutMs?: number;
  readonly readTimeoutMs?: number;
  readonly sendTimeoutMs?: number;
  /** Request body limit in bytes (0 = unlimited); undefined = the entrypoint default. */
  readonly maxBodyBytes?: number;
  /** ingress-nginx service-upstream: send to the Service's cluster IP and port (kube-proxy balances), not to its endpoints. */
  readonly serviceUpstream?: { readonly ip: string; readonly port: number };
}

/** Names a backend goes by in metrics. */
export interface BackendLabels {
  /** `ns/svc:port` - our own low-cardinality name. */
  readonly name: string;
  /** Traefik's service name, e.g. `ns-svc-80@kubernetescrd` (Flagger's traefik provider matches it). */
  readonly traefikService: string;
  /** ingress-nginx's `service` label (the Service name). */
  readonly nginxService: string;
}

export interface LeafNode {
  readonly kind: 'leaf';
  readonly ref: ServicePortRef;
  readonly options: BackendOptions;
  readonly labels: BackendLabels;
}

export interface WeightedNode {
  readonly kind: 'weighted';
  readonly name: string;
  readonly children: readonly { readonly node: ServiceNode; readonly weight: number }[];
  /** Traefik weighted `sticky.cookie`: keeps a client on the child it got. */
  readonly sticky?: StickyCookie;
}

export interface MirrorNode {
  readonly kind: 'mirror';
  readonly name: string;
  readonly main: ServiceNode;
  readonly mirrors: readonly { readonly node: ServiceNode; readonly percent: number }[];
  /** Traefik mirrorBody (default true): the copies carry the request body. */
  readonly body: boolean;
  /** Traefik maxBodySize: a request whose body may be larger is not copied; undefined: no limit. */
  readonly maxBodySize?: number;
}

/**
 * ingress-nginx's canary decision (see runtime/canary-choice.ts). Precedence:
 * header (value, then pattern, then always/never), cookie (always/never),
 * then weight out of weightTotal.
 */
export interface CanaryPolicy {
  /** Request header name, lowercase. */
  readonly header?: string;
  readonly headerValue?: string;
  readonly headerPattern?: GoRegexp;
  readonly cookie?: string;
  readonly weight: number;
  readonly weightTotal: number;
}

export interface CanaryNode {
  readonly kind: 'canary';
  readonly main: ServiceNode;
  readonly canary: ServiceNode;
  readonly policy: CanaryPolicy;
  /** `ns/name` of the canary Ingress (metrics `canary` label, logs). */
  readonly canaryIngress: string;
}

export type ServiceNode = LeafNode | WeightedNode | MirrorNode | CanaryNode;

/** Sources a client address is taken from (Traefik sourceCriterion / ipStrategy). */
export interface SourceCriterion {
  /** X-Forwarded-For depth from the right (Traefik ipStrategy.depth); 0 = the peer address. */
  readonly depth: number;
  /** Addresses skipped from the right of X-Forwarded-For (ipStrategy.excludedIPs). */
  readonly excluded: readonly IpNetwork[];
  /** Use this request header's value instead (requestHeaderName). */
  readonly header?: string;
  /** Use the request host (requestHost). */
  readonly host?: boolean;
}
