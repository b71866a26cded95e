// The Traefik CRD shapes we read (traefik.io/v1alpha1 and its older
// spelling traefik.containo.us/v1alpha1; same schema). Only the fields we
// honour or report are typed; everything arrives as untrusted JSON, so the
// translators check types at run time.

export const TRAEFIK_GROUPS = ['traefik.io', 'traefik.containo.us'] as const;
export type TraefikGroup = (typeof TRAEFIK_GROUPS)[number];

export interface CrdMetadata {
  name?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string | Date;
  annotations?: Record<string, string>;
}

export interface CrdObject<S> {
  apiVersion?: string;
  kind?: string;
  metadata?: CrdMetadata;
  spec?: S;
}

export interface TraefikServiceRef {
  name?: string;
  namespace?: string;
  /** `Service` (default) or `TraefikService`. */
  kind?: string;
  port?: number | string;
  weight?: number;
  scheme?: string;
  passHostHeader?: boolean;
  /** Mirroring mirrors only. */
  percent?: number;
  [other: string]: unknown;
}

export interface MiddlewareRef {
  name?: string;
  namespace?: string;
}

export interface IngressRouteRoute {
  kind?: string;
  match?: string;
  priority?: number;
  /** Traefik v3 `syntax` (router ruleSyntax): v2 or v3. */
  syntax?: string;
  services?: TraefikServiceRef[];
  middlewares?: MiddlewareRef[];
  [other: string]: unknown;
}

export interface IngressRouteSpec {
  entryPoints?: string[];
  routes?: IngressRouteRoute[];
  tls?: { secretName?: string; options?: unknown; certResolver?: string; domains?: unknown; store?: unknown };
}

export interface TraefikServiceSpec {
  weighted?: {
    services?: TraefikServiceRef[];
    sticky?: { cookie?: { name?: string; secure?: boolean; httpOnly?: boolean; sameSite?: string; maxAge?: number; path?: string } };
  };
  mirroring?: TraefikServiceRef & { mirrors?: TraefikServiceRef[]; maxBodySize?: number; mirrorBody?: boolean };
}

/** How Traefik talks to a Service's pods over TLS (a service reference's `serversTransport`). */
export interface ServersTransportSpec {
  serverName?: unknown;
  insecureSkipVerify?: unknown;
  rootCAs?: unknown;
  rootCAsSecrets?: unknown;
  certificatesSecrets?: unknown;
  forwardingTimeouts?: unknown;
  [other: string]: unknown;
}

/** Traefik TLSOption: what TLS connections to the routes that name it (or all, for `default`) accept. */
export interface TlsOptionSpec {
  minVersion?: unknown;
  maxVersion?: unknown;
  cipherSuites?: unknown;
  curvePreferences?: unknown;
  clientAuth?: unknown;
  sniStrict?: unknown;
  [other: string]: unknown;
}

/** Exactly one key is expected; the value is the middleware's options. */
export type MiddlewareSpecJson = Record<string, unknown>;

export type IngressRouteObject = CrdObject<IngressRouteSpec>;
export type TraefikServiceObject = CrdObject<TraefikServiceSpec>;
export type MiddlewareObject = CrdObject<MiddlewareSpecJson>;
export type ServersTransportObject = CrdObject<ServersTransportSpec>;
export type TlsOptionObject = CrdObject<TlsOptionSpec>;
/** Traefik IngressRouteTCP (and IngressRouteUDP, whose spec has no tls): TCP routes by TLS server name or on entry points of their own. */
export interface IngressRouteTcpSpec {
  entryPoints?: unknown;
  routes?: unknown;
  tls?: { secretName?: unknown; passthrough?: unknown; options?: unknown; certResolver?: unknown; domains?: unknown; store?: unknown } | null;
}
export type IngressRouteTcpObject = CrdObject<IngressRouteTcpSpec>;
/** Traefik MiddlewareTCP (ipAllowList, ipWhiteList, inFlightConn): one key, its options. */
export type MiddlewareTcpObject = CrdObject<Record<string, unknown>>;

/** Traefik TLSStore: the default certificate and extra certificates (only the store named `default` is used). */
export type TlsStoreObject = CrdObject<{ defaultCertificate?: unknown; certificates?: unknown; defaultGeneratedCert?: unknown; [other: string]: unknown }>;

/** The group of an object from its apiVersion (`traefik.io/v1alpha1` -> `traefik.io`). */
export function groupOf(apiVersion: string | undefined): TraefikGroup | undefined {
  const g = (apiVersion ?? '').split('/')[0];
  return g === 'traefik.io' || g === 'traefik.containo.us' ? g : undefined;
}
