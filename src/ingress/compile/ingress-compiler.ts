// All three dialects -> the route specs of the two entry points (`web` and
// `websecure`), as data, with what each compile changed in them. Pure: the
// adapter feeds objects in and writes out Events, status and certificates
// from what compile() returns. It builds no route table: the proxy workers
// build theirs from the specs (runtime/route-tables.ts); a table here would
// be one more copy of every matcher in the speaker's thread (6 MiB for
// 10,000 routes) that nothing reads. A spec a table would refuse is still
// reported here (BadRoute), checked spec by spec as it changes.
//
// Incremental by construction: per-object translations are cached
// (object-cache.ts), Ingress paths are regrouped only for the Ingresses that
// changed (ingress-path-groups.ts), route specs are cached per translated
// path, and the published specs are versions of one layered map with this
// compile's changes as their delta, so one changed Ingress among thousands
// costs its own paths.
//
// Decisions across objects:
// - Ingress class: ingress-class.ts. Not ours = never read further.
// - Two Ingresses with the same host, path and pathType: the older one
//   (creationTimestamp, then namespace/name) serves it, the other is told
//   (ingress-nginx merges them the same way).
// - Canary Ingresses attach to the main Ingress path with the same host,
//   path and pathType; one canary per path (ingress-nginx's limit); a canary
//   without a main path is reported and serves nothing.
// - ssl-redirect applies on hosts some Ingress declares TLS for; neither it
//   nor force-ssl-redirect applies to paths under /.well-known/acme-challenge
//   (ingress-nginx's no-tls-redirect-locations default), so cert-manager's
//   HTTP-01 solver is answered over plain HTTP.
// - defaultBackend: the oldest Ingress declaring one serves every request
//   that matches no route; the others are told.
// - Traefik objects: traefik.io wins over traefik.containo.us for the same
//   kind, namespace and name; the shadowed one is told.

import type { V1ConfigMap, V1Ingress, V1IngressClass, V1Secret, V1Service } from '@kubernetes/client-node';
import { LayeredMap, type ReadonlyStringMap } from '../match/layered-map.ts';
import { routeSpecProblem, type RouteSpec } from '../match/route-table.ts';
import type { RuleSyntax } from '../match/traefik-rule-matchers.ts';
import { refKey, type Diagnostic, type ObjectRef } from '../model/diagnostic.ts';
import type { NamedMiddleware } from '../model/middleware-spec.ts';
import type { RouteTarget } from '../model/route-target.ts';
import type { BackendOptions, CanaryNode, ServiceNode } from '../model/service-node.ts';
import { groupOf, type IngressRouteObject, type MiddlewareObject, type IngressRouteTcpObject, type MiddlewareTcpObject, type ServersTransportObject, type TlsOptionObject, type TlsStoreObject, type TraefikGroup, type TraefikServiceObject } from '../model/traefik-crd.ts';
import { defaultTlsOption, MapClusterView, nsName, type ClusterView } from '../translate/cluster-view.ts';
import { classView, isOurIngress, type IngressClassOptions } from '../translate/ingress-class.ts';
import { creationOrder, translateIngress, type CertificateRequirement, type IngressPathEntry, type IngressTranslation } from '../translate/ingress.ts';
import { translateIngressRouteTcp } from '../translate/ingress-route-tcp.ts';
import { translateIngressRouteUdp } from '../translate/ingress-route-udp.ts';
import type { EntrypointService } from '../translate/entry-point-route.ts';
import type { EntryRoute } from '../model/entry-route.ts';
import { assignEntryPoints } from './entry-point-owners.ts';
import { translateIngressRoute, type IngressRouteTranslation, type TraefikRouteEntry } from '../translate/ingress-route.ts';
import { resolveMiddlewareRef } from '../translate/middleware-ref.ts';
import { resolveTraefikService } from '../translate/traefik-service.ts';
import { parseNginxTemplate } from '../translate/nginx-template.ts';
import { leaf } from '../translate/service-port.ts';
import { IngressPathGroups } from './ingress-path-groups.ts';
import { ObjectCache } from './object-cache.ts';
import type { HostTls, PassthroughHost, PublishedRoutes } from './route-wire.ts';

/** A route spec as the compiler publishes it: its target is plain data. */
type Spec = RouteSpec<RouteTarget>;

/** Paths never redirected to HTTPS: ACME HTTP-01 challenges are fetched over HTTP by design (RFC 8555 section 8.3). */
const ACME_CHALLENGE = '/.well-known/acme-challenge';

export interface IngressCompilerOptions {
  readonly classes?: IngressClassOptions;
  /** Traefik's allowCrossNamespace (default false, as in Traefik). */
  readonly allowCrossNamespace?: boolean;
  readonly defaultSyntax?: RuleSyntax;
  /** Port written in ssl-redirect Locations (omitted when 443). */
  readonly httpsPort?: number;
  /** The entrypoint Service: its named ports are the entry points of TCP and UDP routes of their own. */
  readonly entrypoint?: EntrypointService;
}

export interface CompiledIngress {
  /** TLS Secrets to load into the CertificateStore, by Secret key. */
  readonly certificates: readonly CertificateRequirement[];
  /** ssl-passthrough hosts and the Service port that gets their TLS connections (the oldest Ingress wins a host). */
  readonly passthrough: readonly PassthroughHost[];
  /** Hosts whose TLS connections are asked for a client certificate, with the CA that verifies it (the oldest Ingress wins a host). */
  readonly hostTls: readonly HostTls[];
  /** IngressRouteTCP hosts whose TLS is terminated here, their plaintext sent to a Service port. */
  readonly tcpHosts: readonly PassthroughHost[];
  /** TCP and UDP routes on entry points of their own (the oldest object wins an entry point). */
  readonly entryRoutes: readonly EntryRoute[];
  /** The default certificate Traefik's TLSStore `default` names (a Secret key), if any. */
  readonly defaultCertificate?: CertificateRequirement;
  /** Every current problem and note, per object. */
  readonly diagnostics: readonly Diagnostic[];
  /**
   * Ingresses of our class that are served (their status gets the
   * entrypoint's address; one withheld for its errors shows none).
   */
  readonly ownIngresses: readonly ObjectRef[];
  /** The routes of each table by id: a route's spec object stays the same while it is unchanged. */
  readonly specs: { readonly web: ReadonlyStringMap<Spec>; readonly websecure: ReadonlyStringMap<Spec> };
  /** What answers a request no route matches (the oldest Ingress defaultBackend). */
  readonly defaultTarget: RouteTarget | undefined;
  /**
   * What this compile changed in each table's specs (undefined on the first
   * compile: everything is new).
   */
  readonly changes?: { readonly web: RouteTableDelta | undefined; readonly websecure: RouteTableDelta | undefined };
  /** Incremented on every compile. */
  readonly version: number;
  /** Routes changed by this compile (upserted + removed ids, both tables). */
  readonly changed: number;
}

/** What a compile publishes to the proxy: both tables' specs, the default backend and the TLS and TCP settings. */
export function publishedRoutes(out: CompiledIngress): PublishedRoutes {
  return { web: out.specs.web, websecure: out.specs.websecure, defaultTarget: out.defaultTarget, passthrough: out.passthrough, tcpHosts: out.tcpHosts, hostTls: out.hostTls, entryRoutes: out.entryRoutes };
}

/** Routes upserted and removed by id in one table. */
export interface RouteTableDelta {
  readonly upsert: readonly Spec[];
  readonly remove: readonly string[];
}

type Kind = 'IngressRoute' | 'Middleware' | 'TraefikService' | 'ServersTransport' | 'TLSOption' | 'TLSStore' | 'IngressRouteTCP' | 'IngressRouteUDP' | 'MiddlewareTCP';

/** Traefik objects of one kind in both groups. */
class GroupedObjects<O extends { apiVersion?: string; metadata?: { namespace?: string; name?: string } }> {
  readonly io = new Map<string, O>();
  readonly containo = new Map<string, O>();
  set(obj: O): void {
    const g = groupOf(obj.apiVersion);
    (g === 'traefik.containo.us' ? this.containo : this.io).set(nsName(obj), obj);
  }
  delete(group: TraefikGroup, key: string): void {
    (group === 'traefik.containo.us' ? this.containo : this.io).delete(key);
  }
  effective(key: string): O | undefined {
    return this.io.get(key) ?? this.containo.get(key);
  }
  *keys(): Iterable<string> {
    yield* this.io.keys();
    for (const k of this.containo.keys()) if (!this.io.has(k)) yield k;
  }
  /** containo objects hidden by an io one. */
  *shadowed(): Iterable<O> {
    for (const [k, o] of this.containo) if (this.io.has(k)) yield o;
  }
}

class CompilerView implements ClusterView {
  readonly c: MapClusterView;
  readonly middlewares: GroupedObjects<MiddlewareObject>;
  readonly traefikServices: GroupedObjects<TraefikServiceObject>;
  readonly serversTransports: GroupedObjects<ServersTransportObject>;
  readonly tlsOptions: GroupedObjects<TlsOptionObject>;
  readonly middlewaresTcp = new GroupedObjects<MiddlewareTcpObject>();
  constructor(c: MapClusterView, m: GroupedObjects<MiddlewareObject>, t: GroupedObjects<TraefikServiceObject>, st: GroupedObjects<ServersTransportObject>, o: GroupedObjects<TlsOptionObject>) {
    this.c = c;
    this.middlewares = m;
    this.traefikServices = t;
    this.serversTransports = st;
    this.tlsOptions = o;
  }
  service(namespace: string, name: string): V1Service | undefined {
    return this.c.service(namespace, name);
  }
  secret(namespace: string, name: string): V1Secret | undefined {
    return this.c.secret(namespace, name);
  }
  configMap(namespace: string, name: string): V1ConfigMap | undefined {
    return this.c.configMap(namespace, name);
  }
  middleware(namespace: string, name: string): MiddlewareObject | undefined {
    return this.middlewares.effective(`${namespace}/${name}`);
  }
  middlewareKeys(): Iterable<string> {
    return this.middlewares.keys();
  }
  traefikService(namespace: string, name: string): TraefikServiceObject | undefined {
    return this.traefikServices.effective(`${namespace}/${name}`);
  }
  serversTransport(namespace: string, name: string): ServersTransportObject | undefined {
    return this.serversTransports.effective(`${namespace}/${name}`);
  }
  tlsOption(namespace: string, name: string): TlsOptionObject | undefined {
    const o = this.tlsOptions;
    if (namespace === '*') return defaultTlsOption({ keys: () => o.keys(), get: (k: string) => o.effective(k) }, name);
    return o.effective(`${namespace}/${name}`);
  }
  middlewareTcp(namespace: string, name: string): MiddlewareTcpObject | undefined {
    return this.middlewaresTcp.effective(`${namespace}/${name}`);
  }
}

interface PathSpecs {
  readonly canary: IngressPathEntry | undefined;
  readonly canaryPolicy: unknown;
  readonly redirect: boolean;
  readonly web: Spec;
  readonly websecure: Spec;
}

/** Where server-alias specs go, and where the specs of the paths they copy are found. */
interface AliasTable {
  readonly specs: Map<string, Spec>;
  /** This compile's changes to the table, not yet published. */
  readonly delta: ReadonlyMap<string, Spec | undefined>;
  readonly published: ReadonlyStringMap<Spec>;
}

interface TraefikSpecs {
  readonly web?: Spec;
  readonly websecure?: Spec;
}

function versionOf(o: { metadata?: { resourceVersion?: string; generation?: number } }): string {
  return o.metadata?.resourceVersion ?? String(o.metadata?.generation ?? '?');
}

function diag(ref: ObjectRef, severity: Diagnostic['severity'], reason: string, message: string): Diagnostic {
  return { ref, type: severity === 'info' ? 'Normal' : 'Warning', reason, message, severity };
}

export class IngressCompiler {
  readonly #opts: IngressCompilerOptions;
  readonly #ingresses = new Map<string, V1Ingress>();
  readonly #classes = new Map<string, V1IngressClass>();
  readonly #cluster = new MapClusterView();
  readonly #middlewares = new GroupedObjects<MiddlewareObject>();
  readonly #traefikServices = new GroupedObjects<TraefikServiceObject>();
  readonly #ingressRoutes = new GroupedObjects<IngressRouteObject>();
  readonly #serversTransports = new GroupedObjects<ServersTransportObject>();
  readonly #tlsOptions = new GroupedObjects<TlsOptionObject>();
  readonly #tlsStores = new GroupedObjects<TlsStoreObject>();
  readonly #tcpRoutes = new GroupedObjects<IngressRouteTcpObject>();
  readonly #udpRoutes = new GroupedObjects<IngressRouteTcpObject>();
  readonly #view = new CompilerView(this.#cluster, this.#middlewares, this.#traefikServices, this.#serversTransports, this.#tlsOptions);
  #middlewareGeneration = 0;

  readonly #ingressCache: ObjectCache<V1Ingress, IngressTranslation>;
  readonly #routeCache: ObjectCache<IngressRouteObject, IngressRouteTranslation>;
  readonly #middlewareCheck: ObjectCache<MiddlewareObject, { ok: boolean; diagnostics: Diagnostic[] }>;
  readonly #serviceCheck: ObjectCache<TraefikServiceObject, { ok: boolean; diagnostics: Diagnostic[] }>;
  readonly #pathSpecs = new WeakMap<IngressPathEntry, PathSpecs>();
  /** from-to-www-redirect routes by id, with the translation they came from. */
  readonly #wwwSpecs = new Map<string, { tr: IngressTranslation; spec: Spec }>();
  /** server-alias specs by the spec they copy, then by alias route id. */
  readonly #aliasWeb = new WeakMap<Spec, Map<string, Spec>>();
  readonly #aliasSecure = new WeakMap<Spec, Map<string, Spec>>();
  readonly #traefikSpecs = new WeakMap<TraefikRouteEntry, TraefikSpecs>();
  readonly #defaultTargets = new WeakMap<IngressTranslation, RouteTarget>();

  /** The published specs: one version per compile that changed them. */
  #webSpecs = LayeredMap.of(new Map<string, Spec>(), 'cold');
  #secureSpecs = LayeredMap.of(new Map<string, Spec>(), 'cold');
  readonly #paths = new IngressPathGroups();
  /** The specs of each path group's winner, by group key. */
  readonly #pathPublished = new Map<string, PathSpecs & { readonly id: string }>();
  /** Last compile's from-to-www and server-alias specs, and Traefik's: small, diffed whole. */
  #extraWeb = new Map<string, Spec>();
  #extraSecure = new Map<string, Spec>();
  #traefikWeb = new Map<string, Spec>();
  #traefikSecure = new Map<string, Spec>();
  /** Specs a route table would refuse, by table and id: what is wrong with each. */
  readonly #specProblems = new Map<string, { id: string; message: string }>();
  #version = 0;
  /** Set by every input change; a compile without one returns the last result. */
  #dirty = true;
  #lastResult: CompiledIngress | undefined;

  constructor(opts: IngressCompilerOptions = {}) {
    this.#opts = opts;
    const traefikOpts = { allowCrossNamespace: opts.allowCrossNamespace ?? false, ...(opts.defaultSyntax ? { defaultSyntax: opts.defaultSyntax } : {}) };
    this.#ingressCache = new ObjectCache((o, v) => translateIngress(o, v), versionOf);
    this.#routeCache = new ObjectCache((o, v) => translateIngressRoute(o, v, traefikOpts), versionOf);
    this.#middlewareCheck = new ObjectCache((o, v) => checkMiddleware(o, v, traefikOpts.allowCrossNamespace), versionOf);
    this.#serviceCheck = new ObjectCache((o, v) => checkTraefikService(o, v, traefikOpts.allowCrossNamespace), versionOf);
  }

  // ---- inputs ---------------------------------------------------------------

  setIngress(o: V1Ingress): void {
    this.#dirty = true;
    this.#ingresses.set(nsName(o), o);
  }
  deleteIngress(key: string): void {
    this.#dirty = true;
    this.#ingresses.delete(key);
  }
  setIngressClass(o: V1IngressClass): void {
    this.#dirty = true;
    this.#classes.set(o.metadata?.name ?? '', o);
  }
  deleteIngressClass(name: string): void {
    this.#dirty = true;
    this.#classes.delete(name);
  }
  setService(o: V1Service): void {
    this.#dirty = true;
    this.#cluster.services.set(nsName(o), o);
  }
  deleteService(key: string): void {
    this.#dirty = true;
    this.#cluster.services.delete(key);
  }
  setSecret(o: V1Secret): void {
    this.#dirty = true;
    this.#cluster.secrets.set(nsName(o), o);
  }
  deleteSecret(key: string): void {
    this.#dirty = true;
    this.#cluster.secrets.delete(key);
  }
  setConfigMap(o: V1ConfigMap): void {
    this.#dirty = true;
    this.#cluster.configMaps.set(nsName(o), o);
  }
  deleteConfigMap(key: string): void {
    this.#dirty = true;
    this.#cluster.configMaps.delete(key);
  }
  setTraefik(kind: Kind, o: IngressRouteObject | MiddlewareObject | TraefikServiceObject | ServersTransportObject | TlsOptionObject | TlsStoreObject | IngressRouteTcpObject | MiddlewareTcpObject): void {
    this.#dirty = true;
    if (kind === 'Middleware') {
      this.#middlewares.set(o as MiddlewareObject);
      this.#middlewareGeneration++;
    } else if (kind === 'TraefikService') this.#traefikServices.set(o as TraefikServiceObject);
    else if (kind === 'ServersTransport') this.#serversTransports.set(o as ServersTransportObject);
    else if (kind === 'TLSOption') this.#tlsOptions.set(o as TlsOptionObject);
    else if (kind === 'TLSStore') this.#tlsStores.set(o as TlsStoreObject);
    else if (kind === 'IngressRouteTCP') this.#tcpRoutes.set(o as IngressRouteTcpObject);
    else if (kind === 'IngressRouteUDP') this.#udpRoutes.set(o as IngressRouteTcpObject);
    else if (kind === 'MiddlewareTCP') this.#view.middlewaresTcp.set(o as MiddlewareTcpObject);
    else this.#ingressRoutes.set(o as IngressRouteObject);
  }
  deleteTraefik(kind: Kind, group: TraefikGroup, key: string): void {
    this.#dirty = true;
    if (kind === 'Middleware') {
      this.#middlewares.delete(group, key);
      this.#middlewareGeneration++;
    } else if (kind === 'TraefikService') this.#traefikServices.delete(group, key);
    else if (kind === 'ServersTransport') this.#serversTransports.delete(group, key);
    else if (kind === 'TLSOption') this.#tlsOptions.delete(group, key);
    else if (kind === 'TLSStore') this.#tlsStores.delete(group, key);
    else if (kind === 'IngressRouteTCP') this.#tcpRoutes.delete(group, key);
    else if (kind === 'IngressRouteUDP') this.#udpRoutes.delete(group, key);
    else if (kind === 'MiddlewareTCP') this.#view.middlewaresTcp.delete(group, key);
    else this.#ingressRoutes.delete(group, key);
  }

  /**
   * IngressRouteTCP: passthrough hosts join the ssl-passthrough ones, and
   * terminated hosts are returned; a host already taken (by an Ingress or
   * an older key) is reported and left to it. Routes on entry points of
   * their own (TCP and UDP) are returned too: the oldest object (creation
   * time, then namespace/name) takes an entry point, the others are told.
   */
  #tcpRoutesInto(diagnostics: Diagnostic[], certificates: CertificateRequirement[], passthrough: PassthroughHost[], taken: Map<string, ObjectRef>): { terminated: PassthroughHost[]; entryRoutes: EntryRoute[] } {
    const terminated: PassthroughHost[] = [];
    const candidates: Array<{ order: string; ref: ObjectRef; routes: readonly EntryRoute[] }> = [];
    const entrypoint = this.#opts.entrypoint;
    for (const key of this.#tcpRoutes.keys()) {
      const o = this.#tcpRoutes.effective(key)!;
      const t = translateIngressRouteTcp(o, this.#view, entrypoint);
      diagnostics.push(...t.diagnostics);
      if (!t.ok) {
        diagnostics.push(diag(t.ref, 'error', 'NotServed', 'the IngressRouteTCP is not served until the errors above are fixed'));
        continue;
      }
      if (t.entryRoutes.length > 0) candidates.push({ order: creationOrder(o.metadata), ref: t.ref, routes: t.entryRoutes });
      certificates.push(...t.certificates);
      for (const [list, out] of [
        [t.passthrough, passthrough],
        [t.terminated, terminated],
      ] as const) {
        for (const h of list) {
          const first = taken.get(h.host);
          if (first !== undefined) {
            diagnostics.push(diag(t.ref, 'warning', 'DuplicateTcpHost', `${h.host} ignored: ${first.kind} ${first.namespace}/${first.name} takes its TLS connections`));
            continue;
          }
          taken.set(h.host, t.ref);
          out.push(h);
        }
      }
    }
    for (const key of this.#udpRoutes.keys()) {
      const o = this.#udpRoutes.effective(key)!;
      const t = translateIngressRouteUdp(o, this.#view, entrypoint);
      diagnostics.push(...t.diagnostics);
      if (!t.ok) {
        diagnostics.push(diag(t.ref, 'error', 'NotServed', 'the IngressRouteUDP is not served until the errors above are fixed'));
        continue;
      }
      candidates.push({ order: creationOrder(o.metadata), ref: t.ref, routes: t.entryRoutes });
    }
    const entryRoutes = assignEntryPoints(candidates, diagnostics);
    return { terminated, entryRoutes };
  }

  /**
   * Traefik's TLSStore: only the one named `default` is used (the first
   * namespace in order, as Traefik takes one); its `certificates` are served
   * by their names like any route's, its `defaultCertificate` becomes the
   * default certificate. Other stores are reported as ignored.
   */
  #tlsStore(diagnostics: Diagnostic[], certificates: CertificateRequirement[]): CertificateRequirement | undefined {
    let chosen: string | undefined;
    for (const key of this.#tlsStores.keys()) if (key.endsWith('/default') && (chosen === undefined || key < chosen)) chosen = key;
    let out: CertificateRequirement | undefined;
    for (const key of this.#tlsStores.keys()) {
      const o = this.#tlsStores.effective(key)!;
      const m = o.metadata ?? {};
      const ref: ObjectRef = { kind: 'TLSStore', apiVersion: o.apiVersion ?? 'traefik.io/v1alpha1', namespace: m.namespace ?? 'default', name: m.name ?? '', ...(m.uid ? { uid: m.uid } : {}) };
      if (key !== chosen) {
        diagnostics.push(diag(ref, 'warning', 'IgnoredTlsStore', m.name === 'default' ? `ignored: TLSStore ${chosen} is the default store` : 'ignored: only the TLSStore named default is used, as in Traefik'));
        continue;
      }
      const spec = o.spec ?? {};
      const secretOf = (v: unknown, where: string): string | undefined => {
        const name = (v as { secretName?: unknown } | null | undefined)?.secretName;
        if (typeof name !== 'string' || name === '') {
          diagnostics.push(diag(ref, 'warning', 'BadTlsStore', `${where} names no secretName: ignored`));
          return undefined;
        }
        if (this.#view.secret(ref.namespace, name) === undefined) diagnostics.push(diag(ref, 'warning', 'MissingSecret', `${where}: Secret ${ref.namespace}/${name} not found`));
        return `${ref.namespace}/${name}`;
      };
      if (Array.isArray(spec.certificates)) {
        spec.certificates.forEach((c, i) => {
          const k = secretOf(c, `certificates[${i}]`);
          if (k !== undefined) certificates.push({ secretKey: k, hosts: [], origin: ref });
        });
      }
      if (spec.defaultCertificate !== undefined) {
        const k = secretOf(spec.defaultCertificate, 'defaultCertificate');
        if (k !== undefined) out = { secretKey: k, hosts: [], origin: ref };
      }
      if (spec.defaultGeneratedCert !== undefined) diagnostics.push(diag(ref, 'warning', 'IgnoredField', 'defaultGeneratedCert is not supported (no ACME resolver): ignored'));
    }
    return out;
  }

  // ---- compile --------------------------------------------------------------

  compile(): CompiledIngress {
    if (!this.#dirty && this.#lastResult !== undefined) return { ...this.#lastResult, changed: 0, changes: { web: { upsert: [], remove: [] }, websecure: { upsert: [], remove: [] } } };
    this.#dirty = false;
    const diagnostics: Diagnostic[] = [];
    const certificates: CertificateRequirement[] = [];
    // What this compile changes in each table: id -> new spec, or undefined for a removed route.
    const webDelta = new Map<string, Spec | undefined>();
    const secureDelta = new Map<string, Spec | undefined>();

    // Ingress ---------------------------------------------------------------
    const classes = classView(this.#classes.values(), this.#opts.classes);
    const own: ObjectRef[] = [];
    const served: IngressTranslation[] = [];
    const liveIngress = new Set<string>();
    for (const [key, ing] of this.#ingresses) {
      if (!isOurIngress(ing, classes, this.#opts.classes).ours) continue;
      liveIngress.add(key);
      const a = this.#ingressCache.get(key, ing, this.#view, this.#middlewareGeneration);
      diagnostics.push(...a.current.diagnostics);
      if (a.serve === undefined) {
        diagnostics.push(diag(a.current.ref, 'error', 'NotServed', 'the Ingress is not served until the errors above are fixed'));
        continue;
      }
      own.push(a.current.ref);
      if (a.keptVersion !== undefined) {
        diagnostics.push(diag(a.current.ref, 'warning', 'KeptLastGood', `this version has errors: the last good version (resourceVersion ${a.keptVersion}) is still served`));
      }
      served.push(a.serve);
      certificates.push(...a.serve.certificates);
    }
    this.#ingressCache.retain(liveIngress);
    served.sort((a, b) => (a.order < b.order ? -1 : a.order > b.order ? 1 : 0));
    this.#ingressSpecs(served, diagnostics, webDelta, secureDelta);
    const extraWeb = new Map<string, Spec>();
    const extraSecure = new Map<string, Spec>();
    this.#wwwRedirects(served, diagnostics, extraWeb, extraSecure);
    this.#serverAliases(served, diagnostics, { specs: extraWeb, delta: webDelta, published: this.#webSpecs }, { specs: extraSecure, delta: secureDelta, published: this.#secureSpecs });
    diffInto(this.#extraWeb, extraWeb, webDelta);
    diffInto(this.#extraSecure, extraSecure, secureDelta);
    this.#extraWeb = extraWeb;
    this.#extraSecure = extraSecure;
    const passthrough: PassthroughHost[] = [];
    const passedBy = new Map<string, ObjectRef>();
    for (const tr of served) {
      for (const p of tr.passthrough) {
        const first = passedBy.get(p.host);
        if (first !== undefined) {
          diagnostics.push(diag(tr.ref, 'warning', 'DuplicatePassthrough', `ssl-passthrough for ${p.host} ignored: Ingress ${first.namespace}/${first.name} (older) passes it through`));
          continue;
        }
        passedBy.set(p.host, tr.ref);
        passthrough.push(p);
      }
    }
    // A host's TLS settings come from one object: the oldest Ingress, then IngressRoutes in key order.
    const hostTls: HostTls[] = [];
    const tlsBy = new Map<string, ObjectRef>();
    const addHostTls = (ref: ObjectRef, list: readonly HostTls[]): void => {
      for (const c of list) {
        const first = tlsBy.get(c.host);
        if (first !== undefined) {
          if (first !== ref) diagnostics.push(diag(ref, 'warning', 'DuplicateHostTls', `the TLS settings for ${c.host} (client certificates, TLS options) are ignored: ${first.kind} ${first.namespace}/${first.name} sets them; each route still checks its own client certificates`));
          continue;
        }
        tlsBy.set(c.host, ref);
        hostTls.push(c);
      }
    };
    for (const tr of served) addHostTls(tr.ref, tr.hostTls);

    let defaultTarget: RouteTarget | undefined;
    let defaultOwner: IngressTranslation | undefined;
    for (const tr of served) {
      if (!tr.defaultBackend) continue;
      if (defaultOwner) {
        diagnostics.push(diag(tr.ref, 'warning', 'DuplicateDefaultBackend', `defaultBackend ignored: Ingress ${defaultOwner.ref.namespace}/${defaultOwner.ref.name} (older) provides the default backend`));
        continue;
      }
      defaultOwner = tr;
      let t = this.#defaultTargets.get(tr);
      if (t === undefined) {
        t = { routeName: `ingress:${tr.ref.namespace}/${tr.ref.name}#default`, origin: tr.ref, middlewares: tr.defaultBackend.middlewares, service: tr.defaultBackend.leaf };
        this.#defaultTargets.set(tr, t);
      }
      defaultTarget = t;
    }

    // Traefik ---------------------------------------------------------------
    for (const kind of [this.#ingressRoutes, this.#middlewares, this.#traefikServices] as const) {
      for (const o of (kind as GroupedObjects<IngressRouteObject>).shadowed()) {
        const m = o.metadata ?? {};
        diagnostics.push(
          diag(
            { kind: kindOf(o), apiVersion: o.apiVersion ?? 'traefik.containo.us/v1alpha1', namespace: m.namespace ?? 'default', name: m.name ?? '', ...(m.uid ? { uid: m.uid } : {}) },
            'warning',
            'Shadowed',
            `ignored: the traefik.io/v1alpha1 ${kindOf(o)} of the same name wins over traefik.containo.us`,
          ),
        );
      }
    }
    const liveMw = new Set<string>();
    for (const key of this.#middlewares.keys()) {
      liveMw.add(key);
      const o = this.#middlewares.effective(key)!;
      diagnostics.push(...this.#middlewareCheck.get(key, o, this.#view, this.#middlewareGeneration).current.diagnostics);
    }
    this.#middlewareCheck.retain(liveMw);
    const liveTs = new Set<string>();
    for (const key of this.#traefikServices.keys()) {
      liveTs.add(key);
      const o = this.#traefikServices.effective(key)!;
      diagnostics.push(...this.#serviceCheck.get(key, o, this.#view, this.#middlewareGeneration).current.diagnostics);
    }
    this.#serviceCheck.retain(liveTs);
    const liveIr = new Set<string>();
    const traefikWeb = new Map<string, Spec>();
    const traefikSecure = new Map<string, Spec>();
    for (const key of this.#ingressRoutes.keys()) {
      liveIr.add(key);
      const ir = this.#ingressRoutes.effective(key)!;
      const a = this.#routeCache.get(key, ir, this.#view, this.#middlewareGeneration);
      diagnostics.push(...a.current.diagnostics);
      if (a.serve === undefined) {
        diagnostics.push(diag(a.current.ref, 'error', 'NotServed', 'the IngressRoute is not served until the errors above are fixed'));
        continue;
      }
      if (a.keptVersion !== undefined) {
        diagnostics.push(diag(a.current.ref, 'warning', 'KeptLastGood', `this version has errors: the last good version (resourceVersion ${a.keptVersion}) is still served`));
      }
      certificates.push(...a.serve.certificates);
      addHostTls(a.serve.ref, a.serve.hostTls);
      for (const entry of a.serve.routes) {
        let s = this.#traefikSpecs.get(entry);
        if (s === undefined) {
          const target: RouteTarget = { routeName: entry.routeName, origin: a.serve.ref, middlewares: entry.middlewares, service: entry.service };
          const spec: Spec = { kind: 'traefik', id: entry.id, source: a.serve.ref.apiVersion, rule: entry.rule, priority: entry.priority, target };
          s = { ...(entry.entryPoints.has('web') ? { web: spec } : {}), ...(entry.entryPoints.has('websecure') ? { websecure: spec } : {}) };
          this.#traefikSpecs.set(entry, s);
        }
        if (s.web) traefikWeb.set(entry.id, s.web);
        if (s.websecure) traefikSecure.set(entry.id, s.websecure);
      }
    }
    this.#routeCache.retain(liveIr);
    diffInto(this.#traefikWeb, traefikWeb, webDelta);
    diffInto(this.#traefikSecure, traefikSecure, secureDelta);
    this.#traefikWeb = traefikWeb;
    this.#traefikSecure = traefikSecure;
    const defaultCertificate = this.#tlsStore(diagnostics, certificates);
    const { terminated: tcpHosts, entryRoutes } = this.#tcpRoutesInto(diagnostics, certificates, passthrough, passedBy);

    // Changes ---------------------------------------------------------------
    let changed = 0;
    const first = this.#lastResult === undefined;
    const deltaOf = (table: 'web' | 'websecure', delta: ReadonlyMap<string, Spec | undefined>): RouteTableDelta | undefined => {
      const upsert: Spec[] = [];
      const remove: string[] = [];
      for (const [id, spec] of delta) {
        const key = `${table} ${id}`;
        if (spec === undefined) {
          remove.push(id);
          this.#specProblems.delete(key);
          continue;
        }
        upsert.push(spec);
        // The translators validate what a table checks; this is a safety net.
        const problem = routeSpecProblem(spec);
        if (problem === undefined) this.#specProblems.delete(key);
        else this.#specProblems.set(key, { id, message: problem });
      }
      changed += upsert.length + remove.length;
      return first ? undefined : { upsert, remove };
    };
    // The same version while nothing changed: the publisher compares them by identity.
    if (webDelta.size > 0) this.#webSpecs = this.#webSpecs.with(webDelta);
    if (secureDelta.size > 0) this.#secureSpecs = this.#secureSpecs.with(secureDelta);
    const changes = { web: deltaOf('web', webDelta), websecure: deltaOf('websecure', secureDelta) };
    for (const { id, message } of this.#specProblems.values()) {
      const ref = this.#refOfRoute(id);
      if (ref) diagnostics.push(diag(ref, 'error', 'BadRoute', `route ${id}: ${message}`));
    }

    this.#lastResult = {
      certificates: dedupeCertificates(certificates),
      passthrough,
      hostTls,
      tcpHosts,
      entryRoutes,
      ...(defaultCertificate !== undefined ? { defaultCertificate } : {}),
      diagnostics: dedupeDiagnostics(diagnostics),
      ownIngresses: own,
      specs: { web: this.#webSpecs, websecure: this.#secureSpecs },
      changes,
      defaultTarget,
      version: ++this.#version,
      changed,
    };
    return this.#lastResult;
  }

  #refOfRoute(id: string): ObjectRef | undefined {
    const m = /^(ingress|traefik\.io|traefik\.containo\.us):([^/]*)\/([^#]*)#/.exec(id);
    if (!m) return undefined;
    if (m[1] === 'ingress') return { kind: 'Ingress', apiVersion: 'networking.k8s.io/v1', namespace: m[2]!, name: m[3]! };
    return { kind: 'IngressRoute', apiVersion: `${m[1]}/v1alpha1`, namespace: m[2]!, name: m[3]! };
  }

  /**
   * Ingress paths -> specs (duplicates, canary attachment, ssl-redirect),
   * for the path groups the changed Ingresses touched; the others keep
   * their specs.
   */
  #ingressSpecs(served: readonly IngressTranslation[], diagnostics: Diagnostic[], webDelta: Map<string, Spec | undefined>, secureDelta: Map<string, Spec | undefined>): void {
    const settled: Array<{ key: string; was: (PathSpecs & { readonly id: string }) | undefined; now: (PathSpecs & { readonly id: string }) | undefined }> = [];
    for (const key of this.#paths.update(served)) {
      const was = this.#pathPublished.get(key);
      const { main, canary: c } = this.#paths.winners(key);
      let s: PathSpecs | undefined;
      if (main !== undefined) {
        const { entry, tr } = main;
        const redirect = (tr.config.forceSslRedirect || (tr.config.sslRedirect && this.#paths.hostHasTls(entry.host))) && !entry.path.startsWith(ACME_CHALLENGE);
        const policy = c?.tr.config.canary;
        s = this.#pathSpecs.get(entry);
        if (s === undefined || s.canary !== c?.entry || s.canaryPolicy !== policy || s.redirect !== redirect) {
          let service: ServiceNode = entry.leaf;
          if (c && policy) {
            // The canary inherits the main path's backend settings (ingress-nginx).
            const canary: CanaryNode = {
              kind: 'canary',
              main: entry.leaf,
              canary: leaf(c.entry.leaf.ref, withoutServiceUpstream(entry.leaf.options), c.entry.leaf.labels),
              policy,
              canaryIngress: `${c.tr.ref.namespace}/${c.tr.ref.name}`,
            };
            service = canary;
          }
          const routeName = entry.id;
          const secureTarget: RouteTarget = { routeName, origin: tr.ref, middlewares: entry.middlewares, service };
          const webTarget = redirect ? this.#redirectTarget(routeName, tr.ref) : secureTarget;
          s = {
            canary: c?.entry,
            canaryPolicy: policy,
            redirect,
            websecure: this.#pathSpec(entry, secureTarget),
            web: redirect ? this.#pathSpec(entry, webTarget) : this.#pathSpec(entry, secureTarget),
          };
          this.#pathSpecs.set(entry, s);
        }
      }
      const id = main?.entry.id;
      if (was !== undefined && was.id !== id) {
        webDelta.set(was.id, undefined);
        secureDelta.set(was.id, undefined);
      }
      settled.push({ key, was, now: s !== undefined && id !== undefined ? { ...s, id } : undefined });
    }
    // Removals first: a changed Ingress's path id may leave one group and win another.
    for (const { key, was, now } of settled) {
      if (now === undefined) {
        this.#pathPublished.delete(key);
        continue;
      }
      if (was?.id !== now.id || was.web !== now.web) webDelta.set(now.id, now.web);
      if (was?.id !== now.id || was.websecure !== now.websecure) secureDelta.set(now.id, now.websecure);
      this.#pathPublished.set(key, now);
    }
    for (const d of this.#paths.diagnostics()) diagnostics.push(d); // many, in a big cluster: not as spread arguments
  }

  /**
   * server-alias, as ingress-nginx makes it: an alias name gets the routes
   * of its host (the same targets: middlewares, canary, ssl-redirect), unless
   * an Ingress serves that name itself, or an older Ingress has it as an
   * alias already.
   */
  #serverAliases(served: readonly IngressTranslation[], diagnostics: Diagnostic[], web: AliasTable, websecure: AliasTable): void {
    const owner = new Map<string, string>();
    for (const tr of served) {
      if (tr.isCanary || tr.aliasPaths.length === 0) continue;
      const key = `${tr.ref.namespace}/${tr.ref.name}`;
      const told = new Set<string>();
      for (const a of tr.aliasPaths) {
        const skip = this.#paths.servesHost(a.host) ? `${a.host} is served by an Ingress` : owner.has(a.host) && owner.get(a.host) !== key ? `${a.host} is already an alias of Ingress ${owner.get(a.host)}` : undefined;
        if (skip !== undefined) {
          if (!told.has(a.host)) diagnostics.push(diag(tr.ref, 'warning', 'ServerAliasSkipped', `server-alias: ${skip}, so it is not an alias here`));
          told.add(a.host);
          continue;
        }
        owner.set(a.host, key);
        for (const [{ specs, delta, published }, cache] of [
          [web, this.#aliasWeb],
          [websecure, this.#aliasSecure],
        ] as const) {
          // The path's spec as of this compile: changed now, or as published.
          const base = delta.has(a.aliasOf) ? delta.get(a.aliasOf) : published.get(a.aliasOf);
          if (base === undefined) continue; // the path lost to an older Ingress's
          let byId = cache.get(base);
          if (byId === undefined) cache.set(base, (byId = new Map()));
          // The same spec object while its base is the same: the published diff sees no change.
          let spec = byId.get(a.id);
          if (spec === undefined) {
            spec = base.kind === 'ingress' ? { ...base, id: a.id, host: a.host } : { kind: 'traefik', id: a.id, source: base.source, rule: a.regexRule!, target: base.target };
            byId.set(a.id, spec);
          }
          specs.set(a.id, spec);
        }
      }
    }
  }

  /**
   * from-to-www-redirect, as ingress-nginx makes it: requests for www.<host>
   * (or, for a www. host, the name without it) get a 308 to the Ingress's
   * host, same path and query, unless some Ingress serves that other name.
   */
  #wwwRedirects(served: readonly IngressTranslation[], diagnostics: Diagnostic[], webSpecs: Map<string, Spec>, secureSpecs: Map<string, Spec>): void {
    const done = new Set<string>();
    const kept = new Set<string>();
    for (const tr of served) {
      if (!tr.config.fromToWww || tr.isCanary) continue;
      for (const host of new Set(tr.paths.map((p) => p.host))) {
        if (host === '' || host.startsWith('*.')) continue;
        const other = host.startsWith('www.') ? host.slice(4) : `www.${host}`;
        if (this.#paths.servesHost(other)) {
          diagnostics.push(diag(tr.ref, 'info', 'WwwRedirectSkipped', `from-to-www-redirect: ${other} is served by an Ingress, so it is not redirected to ${host}`));
          continue;
        }
        if (done.has(other)) continue;
        done.add(other);
        const routeName = `ingress:${tr.ref.namespace}/${tr.ref.name}#from-to-www:${other}`;
        // The same spec object while the Ingress is unchanged: the published diff sees no change.
        let cached = this.#wwwSpecs.get(routeName);
        if (cached === undefined || cached.tr !== tr) {
          const location = parseNginxTemplate(`$scheme://${host}$request_uri`);
          if (!location.ok) continue;
          const target: RouteTarget = {
            routeName,
            origin: tr.ref,
            middlewares: [{ name: `${routeName}:redirect`, spec: { type: 'returnRedirect', status: 308, location: location.parts } }],
            response: { status: 404 },
          };
          cached = { tr, spec: { kind: 'ingress', id: routeName, source: 'ingress', host: other, path: '/', pathType: 'Prefix', target } };
          this.#wwwSpecs.set(routeName, cached);
        }
        kept.add(routeName);
        webSpecs.set(routeName, cached.spec);
        secureSpecs.set(routeName, cached.spec);
      }
    }
    for (const key of this.#wwwSpecs.keys()) if (!kept.has(key)) this.#wwwSpecs.delete(key);
  }

  #pathSpec(entry: IngressPathEntry, target: RouteTarget): Spec {
    if (entry.regexRule) return { kind: 'traefik', id: entry.id, source: 'ingress-regex', rule: entry.regexRule, target };
    return { kind: 'ingress', id: entry.id, source: 'ingress', host: entry.host, path: entry.path, pathType: entry.pathType, target };
  }

  #redirectTarget(routeName: string, origin: ObjectRef): RouteTarget {
    const port = this.#opts.httpsPort;
    const mw: NamedMiddleware = {
      name: `${routeName}:ssl-redirect`,
      spec: { type: 'redirectScheme', scheme: 'https', ...(port !== undefined && port !== 443 ? { port: String(port) } : {}), permanent: true, style: 'nginx' },
    };
    return { routeName, origin, middlewares: [mw], response: { status: 404 } };
  }
}

/** The main path's backend settings for its canary, but not the main Service's cluster IP (service-upstream). */
function withoutServiceUpstream(o: BackendOptions): BackendOptions {
  const { serviceUpstream: _, ...rest } = o;
  return rest;
}

function kindOf(o: { kind?: string }): 'IngressRoute' | 'Middleware' | 'TraefikService' {
  return o.kind === 'Middleware' ? 'Middleware' : o.kind === 'TraefikService' ? 'TraefikService' : 'IngressRoute';
}

function traefikRef(o: MiddlewareObject | TraefikServiceObject, kind: 'Middleware' | 'TraefikService'): ObjectRef {
  const m = o.metadata ?? {};
  return { kind, apiVersion: o.apiVersion ?? 'traefik.io/v1alpha1', namespace: m.namespace ?? 'default', name: m.name ?? '', ...(m.uid ? { uid: m.uid } : {}), ...(m.resourceVersion ? { resourceVersion: m.resourceVersion } : {}) };
}

function checkMiddleware(o: MiddlewareObject, view: ClusterView, allowCrossNamespace: boolean): { ok: boolean; diagnostics: Diagnostic[] } {
  const ref = traefikRef(o, 'Middleware');
  const r = resolveMiddlewareRef({ name: ref.name, namespace: ref.namespace }, ref.namespace, view, allowCrossNamespace);
  if (!r.ok) return { ok: false, diagnostics: [diag(ref, 'error', r.reason, r.error.replace(`Middleware ${ref.namespace}/${ref.name}: `, ''))] };
  return { ok: true, diagnostics: r.warnings.map((w) => diag(ref, 'warning', 'IgnoredField', w)) };
}

function checkTraefikService(o: TraefikServiceObject, view: ClusterView, allowCrossNamespace: boolean): { ok: boolean; diagnostics: Diagnostic[] } {
  const ref = traefikRef(o, 'TraefikService');
  const r = resolveTraefikService(o, view, { allowCrossNamespace });
  if (!r.ok) return { ok: false, diagnostics: [diag(ref, 'error', r.reason, r.error)] };
  return { ok: true, diagnostics: r.warnings.map((w) => diag(ref, 'warning', 'IgnoredField', w)) };
}

function dedupeCertificates(list: CertificateRequirement[]): CertificateRequirement[] {
  const by = new Map<string, { hosts: Set<string>; origins: ObjectRef[] }>();
  for (const c of list) {
    const e = by.get(c.secretKey);
    if (e) {
      for (const h of c.hosts) e.hosts.add(h);
      e.origins.push(c.origin);
    } else by.set(c.secretKey, { hosts: new Set(c.hosts), origins: [c.origin] });
  }
  return [...by]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([secretKey, e]) => ({ secretKey, hosts: [...e.hosts].sort(), origin: e.origins[0]!, origins: e.origins }));
}

/** Into `delta`: what changed from `prev` to `now` (a removed id maps to undefined). */
function diffInto<V>(prev: ReadonlyMap<string, V>, now: ReadonlyMap<string, V>, delta: Map<string, V | undefined>): void {
  for (const [id, v] of now) if (prev.get(id) !== v) delta.set(id, v);
  for (const id of prev.keys()) if (!now.has(id)) delta.set(id, undefined);
}

function dedupeDiagnostics(list: Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  const out: Diagnostic[] = [];
  for (const d of list) {
    const k = `${refKey(d.ref)}\u0000${d.reason}\u0000${d.message}`;
    if (seen.has(k)) continue;
    seen.add(k);
    out.push(d);
  }
  return out;
}
