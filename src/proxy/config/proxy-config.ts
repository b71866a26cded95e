// The node's proxy configuration as plain data: which sockets to hold, where
// each Service port's traffic may go, the HTTP route tables, the
// certificates. The process that holds the cluster view builds it (Proxy,
// IngressController); the processes that serve only materialize it
// (ProxyRuntime). Nothing in it is a live object, so it can be diffed,
// logged, dumped and sent over IPC.
//
// It travels as updates: each carries a version and the sections that
// changed; `reset` says it is the whole configuration (a worker's first
// message). ProxyConfigState folds updates into the current configuration.
// Pure.

import type { HostTls, PassthroughHost, RouteTableChanges, RoutesUpdate, WireRouteSpec, WireTarget } from '../../ingress/compile/route-wire.ts';
import type { EntryRoute } from '../../ingress/model/entry-route.ts';
import type { EndpointSet } from '../endpoints/endpoint-set.ts';
import type { ListenerSpec } from '../listeners/listen-plan.ts';

export type { RoutesUpdate, WireRouteSpec };

/** A certificate and its private key, PEM. */
export interface TlsPem {
  readonly cert: string;
  readonly key: string;
}

export interface CertificatesUpdate {
  /** By Secret key ("namespace/name"). */
  readonly set?: Readonly<Record<string, TlsPem>>;
  readonly remove?: readonly string[];
  /** The default certificate; null: the engine's own; absent: unchanged. */
  readonly default?: TlsPem | null;
}

/** One Service's sets by port name; null: the Service has none any more. */
export type EndpointsUpdate = Readonly<Record<string, Readonly<Record<string, EndpointSet>> | null>>;

export interface ProxyConfigUpdate {
  readonly version: number;
  /** The whole configuration: whatever it does not name is gone. */
  readonly reset?: boolean;
  /** Every listener (the whole plan, when present). */
  readonly listeners?: readonly ListenerSpec[];
  readonly endpoints?: EndpointsUpdate;
  readonly routes?: RoutesUpdate;
  readonly certificates?: CertificatesUpdate;
}

export class ProxyConfigState {
  #version = 0;
  #listeners: readonly ListenerSpec[] = [];
  readonly #endpoints = new Map<string, Readonly<Record<string, EndpointSet>>>();
  readonly #web = new Map<string, WireRouteSpec>();
  readonly #websecure = new Map<string, WireRouteSpec>();
  #defaultTarget: WireTarget | null = null;
  #passthrough: readonly PassthroughHost[] = [];
  #tcpHosts: readonly PassthroughHost[] = [];
  #hostTls: readonly HostTls[] = [];
  #entryRoutes: readonly EntryRoute[] = [];
  readonly #certificates = new Map<string, TlsPem>();
  #defaultCertificate: TlsPem | null = null;

  get version(): number {
    return this.#version;
  }

  /** The next version number, for the update being built. */
  next(): number {
    return this.#version + 1;
  }

  apply(u: ProxyConfigUpdate): void {
    if (u.reset) {
      this.#listeners = [];
      this.#endpoints.clear();
      this.#web.clear();
      this.#websecure.clear();
      this.#defaultTarget = null;
      this.#passthrough = [];
      this.#tcpHosts = [];
      this.#hostTls = [];
      this.#entryRoutes = [];
      this.#certificates.clear();
      this.#defaultCertificate = null;
    }
    this.#version = u.version;
    if (u.listeners) this.#listeners = u.listeners;
    for (const [key, sets] of Object.entries(u.endpoints ?? {})) {
      if (sets === null) this.#endpoints.delete(key);
      else this.#endpoints.set(key, sets);
    }
    if (u.routes) {
      applyTable(this.#web, u.routes.web);
      applyTable(this.#websecure, u.routes.websecure);
      if (u.routes.defaultTarget !== undefined) this.#defaultTarget = u.routes.defaultTarget;
      if (u.routes.passthrough !== undefined) this.#passthrough = u.routes.passthrough;
      if (u.routes.tcpHosts !== undefined) this.#tcpHosts = u.routes.tcpHosts;
      if (u.routes.hostTls !== undefined) this.#hostTls = u.routes.hostTls;
      if (u.routes.entryRoutes !== undefined) this.#entryRoutes = u.routes.entryRoutes;
    }
    const c = u.certificates;
    if (c) {
      for (const key of c.remove ?? []) this.#certificates.delete(key);
      for (const [key, pem] of Object.entries(c.set ?? {})) this.#certificates.set(key, pem);
      if (c.default !== undefined) this.#defaultCertificate = c.default;
    }
  }

  /** TCP and UDP routes on entry points of their own (the listener plan puts them on the entrypoint's ports). */
  get entryRoutes(): readonly EntryRoute[] {
    return this.#entryRoutes;
  }

  /** The whole configuration as one update (`reset`). */
  snapshot(): ProxyConfigUpdate {
    return {
      version: this.#version,
      reset: true,
      listeners: this.#listeners,
      endpoints: Object.fromEntries(this.#endpoints),
      routes: { web: { reset: [...this.#web.values()] }, websecure: { reset: [...this.#websecure.values()] }, defaultTarget: this.#defaultTarget, passthrough: this.#passthrough, tcpHosts: this.#tcpHosts, hostTls: this.#hostTls, entryRoutes: this.#entryRoutes },
      certificates: { set: Object.fromEntries(this.#certificates), default: this.#defaultCertificate },
    };
  }

  /** For people: the configuration with private keys left out (certificates by Secret key only). */
  dump(): Record<string, unknown> {
    return {
      version: this.#version,
      listeners: this.#listeners,
      endpoints: Object.fromEntries([...this.#endpoints].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
      // Routes may carry a client key for a backend (proxy-ssl-secret): left out too.
      routes: withoutPrivateKeys({ web: [...this.#web.values()], websecure: [...this.#websecure.values()], defaultTarget: this.#defaultTarget, passthrough: this.#passthrough, tcpHosts: this.#tcpHosts, hostTls: this.#hostTls.map((c) => c.host), entryRoutes: this.#entryRoutes }),
      certificates: { secrets: [...this.#certificates.keys()].sort(), default: this.#defaultCertificate === null ? 'built-in' : 'from Secret' },
    };
  }
}

function withoutPrivateKeys(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value, (_name, v: unknown) => (typeof v === 'string' && v.includes('PRIVATE KEY-----') ? '(private key left out)' : v)));
}

function applyTable(table: Map<string, WireRouteSpec>, c: RouteTableChanges): void {
  if (c.reset) {
    table.clear();
    for (const s of c.reset) table.set(s.id, s);
  }
  for (const id of c.remove ?? []) table.delete(id);
  for (const s of c.upsert ?? []) table.set(s.id, s);
}
