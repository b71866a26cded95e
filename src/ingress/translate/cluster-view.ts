// What the translators may look up besides the object they translate. Every
// lookup goes through this interface so the compiler can record it: a cached
// translation stays valid while every object it looked at is the same.

import type { V1ConfigMap, V1Secret, V1Service } from '@kubernetes/client-node';
import type { MiddlewareObject, MiddlewareTcpObject, ServersTransportObject, TlsOptionObject, TraefikServiceObject } from '../model/traefik-crd.ts';

export interface ClusterView {
  service(namespace: string, name: string): V1Service | undefined;
  secret(namespace: string, name: string): V1Secret | undefined;
  /** ConfigMaps some annotations name (custom-headers, auth-proxy-set-headers). */
  configMap(namespace: string, name: string): V1ConfigMap | undefined;
  /** The effective Middleware (traefik.io over traefik.containo.us). */
  middleware(namespace: string, name: string): MiddlewareObject | undefined;
  /** All Middleware names in the cluster as `ns/name` (for `ns-name@kubernetescrd` references). */
  middlewareKeys(): Iterable<string>;
  traefikService(namespace: string, name: string): TraefikServiceObject | undefined;
  /** The effective ServersTransport (traefik.io over traefik.containo.us). */
  serversTransport(namespace: string, name: string): ServersTransportObject | undefined;
  /** A TLSOption; namespace '*' with name 'default': Traefik's default TLSOption, from whichever namespace holds it. */
  tlsOption(namespace: string, name: string): TlsOptionObject | undefined;
  /** The effective MiddlewareTCP. */
  middlewareTcp(namespace: string, name: string): MiddlewareTcpObject | undefined;
}

/** A ClusterView over plain maps keyed `ns/name` (tests, the compiler). */
export class MapClusterView implements ClusterView {
  readonly services: Map<string, V1Service>;
  readonly secrets: Map<string, V1Secret>;
  readonly configMaps: Map<string, V1ConfigMap>;
  readonly middlewares: Map<string, MiddlewareObject>;
  readonly traefikServices: Map<string, TraefikServiceObject>;
  readonly serversTransports: Map<string, ServersTransportObject>;
  readonly tlsOptions: Map<string, TlsOptionObject>;
  readonly middlewaresTcp: Map<string, MiddlewareTcpObject>;

  constructor(init: {
    services?: Map<string, V1Service>;
    secrets?: Map<string, V1Secret>;
    configMaps?: Map<string, V1ConfigMap>;
    middlewares?: Map<string, MiddlewareObject>;
    traefikServices?: Map<string, TraefikServiceObject>;
    serversTransports?: Map<string, ServersTransportObject>;
    tlsOptions?: Map<string, TlsOptionObject>;
    middlewaresTcp?: Map<string, MiddlewareTcpObject>;
  } = {}) {
    this.services = init.services ?? new Map();
    this.secrets = init.secrets ?? new Map();
    this.configMaps = init.configMaps ?? new Map();
    this.middlewares = init.middlewares ?? new Map();
    this.traefikServices = init.traefikServices ?? new Map();
    this.serversTransports = init.serversTransports ?? new Map();
    this.tlsOptions = init.tlsOptions ?? new Map();
    this.middlewaresTcp = init.middlewaresTcp ?? new Map();
  }

  service(namespace: string, name: string): V1Service | undefined {
    return this.services.get(`${namespace}/${name}`);
  }
  secret(namespace: string, name: string): V1Secret | undefined {
    return this.secrets.get(`${namespace}/${name}`);
  }
  configMap(namespace: string, name: string): V1ConfigMap | undefined {
    return this.configMaps.get(`${namespace}/${name}`);
  }
  middleware(namespace: string, name: string): MiddlewareObject | undefined {
    return this.middlewares.get(`${namespace}/${name}`);
  }
  middlewareKeys(): Iterable<string> {
    return this.middlewares.keys();
  }
  traefikService(namespace: string, name: string): TraefikServiceObject | undefined {
    return this.traefikServices.get(`${namespace}/${name}`);
  }
  serversTransport(namespace: string, name: string): ServersTransportObject | undefined {
    return this.serversTransports.get(`${namespace}/${name}`);
  }
  tlsOption(namespace: string, name: string): TlsOptionObject | undefined {
    if (namespace === '*') return defaultTlsOption(this.tlsOptions, name);
    return this.tlsOptions.get(`${namespace}/${name}`);
  }
  middlewareTcp(namespace: string, name: string): MiddlewareTcpObject | undefined {
    return this.middlewaresTcp.get(`${namespace}/${name}`);
  }
}

/** Traefik's default TLSOption: the one named `default`, from the first namespace in order that holds one. */
export function defaultTlsOption<O>(byKey: { keys(): Iterable<string>; get(key: string): O | undefined }, name: string): O | undefined {
  let best: string | undefined;
  for (const k of byKey.keys()) if (k.endsWith(`/${name}`) && (best === undefined || k < best)) best = k;
  return best === undefined ? undefined : byKey.get(best);
}

/** The key of an object in the maps above. */
export function nsName(obj: { metadata?: { namespace?: string; name?: string } }): string {
  return `${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`;
}

/**
 * A ClusterView that remembers what it was asked and what it answered, so a
 * cached result can be reused while every answer is still the same object.
 */
export class RecordingView implements ClusterView {
  readonly base: ClusterView;
  readonly deps: Dependency[] = [];
  #sawKeys = false;

  constructor(base: ClusterView) {
    this.base = base;
  }

  service(namespace: string, name: string): V1Service | undefined {
    const v = this.base.service(namespace, name);
    this.deps.push({ kind: 'service', namespace, name, seen: v });
    return v;
  }
  secret(namespace: string, name: string): V1Secret | undefined {
    const v = this.base.secret(namespace, name);
    this.deps.push({ kind: 'secret', namespace, name, seen: v });
    return v;
  }
  configMap(namespace: string, name: string): V1ConfigMap | undefined {
    const v = this.base.configMap(namespace, name);
    this.deps.push({ kind: 'configMap', namespace, name, seen: v });
    return v;
  }
  middleware(namespace: string, name: string): MiddlewareObject | undefined {
    const v = this.base.middleware(namespace, name);
    this.deps.push({ kind: 'middleware', namespace, name, seen: v });
    return v;
  }
  middlewareKeys(): Iterable<string> {
    this.#sawKeys = true;
    return this.base.middlewareKeys();
  }
  traefikService(namespace: string, name: string): TraefikServiceObject | undefined {
    const v = this.base.traefikService(namespace, name);
    this.deps.push({ kind: 'traefikService', namespace, name, seen: v });
    return v;
  }
  serversTransport(namespace: string, name: string): ServersTransportObject | undefined {
    const v = this.base.serversTransport(namespace, name);
    this.deps.push({ kind: 'serversTransport', namespace, name, seen: v });
    return v;
  }
  tlsOption(namespace: string, name: string): TlsOptionObject | undefined {
    const v = this.base.tlsOption(namespace, name);
    this.deps.push({ kind: 'tlsOption', namespace, name, seen: v });
    return v;
  }
  middlewareTcp(namespace: string, name: string): MiddlewareTcpObject | undefined {
    const v = this.base.middlewareTcp(namespace, name);
    this.deps.push({ kind: 'middlewareTcp', namespace, name, seen: v });
    return v;
  }
  /** True when the answer depended on the whole Middleware list (any Middleware change invalidates it). */
  get sawMiddlewareKeys(): boolean {
    return this.#sawKeys;
  }
}

export interface Dependency {
  readonly kind: 'service' | 'secret' | 'configMap' | 'middleware' | 'traefikService' | 'serversTransport' | 'tlsOption' | 'middlewareTcp';
  readonly namespace: string;
  readonly name: string;
  readonly seen: unknown;
}

/** Whether every recorded answer is still the same object. */
export function dependenciesHold(deps: readonly Dependency[], view: ClusterView): boolean {
  for (const d of deps) {
    let now: unknown;
    switch (d.kind) {
      case 'service':
        now = view.service(d.namespace, d.name);
        break;
      case 'secret':
        now = view.secret(d.namespace, d.name);
        break;
      case 'configMap':
        now = view.configMap(d.namespace, d.name);
        break;
      case 'middleware':
        now = view.middleware(d.namespace, d.name);
        break;
      case 'traefikService':
        now = view.traefikService(d.namespace, d.name);
        break;
      case 'serversTransport':
        now = view.serversTransport(d.namespace, d.name);
        break;
      case 'tlsOption':
        now = view.tlsOption(d.namespace, d.name);
        break;
      case 'middlewareTcp':
        now = view.middlewareTcp(d.namespace, d.name);
        break;
    }
    if (now !== d.seen) return false;
  }
  return true;
}
