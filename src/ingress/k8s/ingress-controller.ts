// The thin Kubernetes edge of the ingress: informers (from the node's shared
// cluster view) for Ingress, IngressClass, Service, Secret, ConfigMap and the Traefik
// CRDs of both groups feed the pure IngressCompiler; every change
// (coalesced over a few milliseconds) compiles, and the controller
// publishes what changed as plain data - route specs (route-wire.ts) and
// the TLS pairs the routes name - for the processes that serve to
// materialize. It also writes new diagnostics as Events and has
// status.loadBalancer.ingress of our Ingresses set to the entrypoint
// Service's addresses (ingress-status-writer.ts; never on an Ingress of
// another class).
//
// A Traefik CRD that is not installed turns that kind of that group off:
// said once in the log, probed again every `crdRetryMs` until it appears.

import type * as k8s from '@kubernetes/client-node';
import type { KubeClient } from '../../kube/api/kube-client.ts';
import type { Logger } from 'pino';
import { apiStatus, describeError, objectKey } from '../../kube/client.ts';
import type { ResilientInformer } from '../../kube/informer.ts';
import { SharedInformers, subscribe } from '../../kube/shared-informers.ts';
import type { CertificatesUpdate, TlsPem } from '../../proxy/config/proxy-config.ts';
import { checkCertificatePair } from '../../proxy/http/certificates.ts';
import { IngressCompiler, publishedRoutes, type CompiledIngress } from '../compile/ingress-compiler.ts';
import { routesUpdate, type PublishedRoutes, type RoutesUpdate } from '../compile/route-wire.ts';
import type { RuleSyntax } from '../match/traefik-rule-matchers.ts';
import type { RouteTarget } from '../model/route-target.ts';
import { TRAEFIK_GROUPS, type TraefikGroup } from '../model/traefik-crd.ts';
import type { IngressClassOptions } from '../translate/ingress-class.ts';
import { DiagnosticReporter, type EventSink } from './diagnostic-reporter.ts';
import { addressesOf, IngressStatusWriter, type IngressStatusInputs } from './ingress-status-writer.ts';

export interface IngressControllerOptions {
  /** The node's shared informers; without it the controller keeps its own. */
  readonly view?: SharedInformers;
  /** Receives what each compile changed: routes, and the TLS pairs routes name (undefined: unchanged). */
  readonly publish: (routes: RoutesUpdate | undefined, certificates: CertificatesUpdate | undefined) => void;
  readonly events?: EventSink;
  /** Read the TLS Secrets routes name and publish their pairs (default true). */
  readonly certificates?: boolean;
  /** Publish the default certificate Traefik's TLSStore `default` names (default true; false when --default-certificate sets it). */
  readonly tlsStoreDefault?: boolean;
  /** `namespace/name` of the entrypoint Service whose addresses go into Ingress status; empty: no status. */
  readonly entrypointService?: string;
  readonly classes?: IngressClassOptions;
  readonly allowCrossNamespace?: boolean;
  readonly defaultSyntax?: RuleSyntax;
  readonly httpsPort?: number;
  /** Coalescing delay between a change and the compile. Default 20 ms. */
  readonly debounceMs?: number;
  /** Probe interval for missing Traefik CRDs. Default 30 s. */
  readonly crdRetryMs?: number;
}

const TRAEFIK_KINDS = [
  { kind: 'IngressRoute', plural: 'ingressroutes' },
  { kind: 'Middleware', plural: 'middlewares' },
  { kind: 'TraefikService', plural: 'traefikservices' },
  { kind: 'ServersTransport', plural: 'serverstransports' },
  { kind: 'TLSOption', plural: 'tlsoptions' },
  { kind: 'TLSStore', plural: 'tlsstores' },
  { kind: 'IngressRouteTCP', plural: 'ingressroutetcps' },
  { kind: 'IngressRouteUDP', plural: 'ingressrouteudps' },
  { kind: 'MiddlewareTCP', plural: 'middlewaretcps' },
] as const;

type AnyInformer = ResilientInformer<k8s.KubernetesObject>;

/**
 * How long a diagnostic lasts before its Event and log line
 * (diagnostic-reporter.ts): an Ingress applied with its Secret was reported
 * missing it when the Ingress's watch event came first, which under load it
 * sometimes did. A second covers that, and is short next to how soon
 * someone reads the Events of what they just applied.
 */
const REPORT_GRACE_MS = 1000;

export class IngressController {
  readonly #log: Logger;
  readonly #opts: IngressControllerOptions;
  readonly #compiler: IngressCompiler;
  readonly #view: SharedInformers;
  readonly #ownView: boolean;
  readonly #unsubscribe: Array<() => void> = [];
  readonly #reporter: DiagnosticReporter;
  readonly #status: IngressStatusWriter;
  readonly #kube: KubeClient;
  readonly #informers: AnyInformer[] = [];
  readonly #groupsOn = new Set<TraefikGroup>();
  /** `plural.group` -> the timer of the next probe of a CRD not installed yet. */
  readonly #kindTimers = new Map<string, NodeJS.Timeout>();
  /** Secret key -> resourceVersion of the pair published (or found unusable). */
  readonly #certsLoaded = new Map<string, string>();
  /** Secret keys whose pair was published. */
  readonly #certsPublished = new Set<string>();
  /** `secretKey@resourceVersion` of the TLSStore default certificate last handled ('' for none), and whether one is published. */
  #defaultLoaded = '';
  #defaultPublished = false;
  #published: PublishedRoutes | undefined;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  #last: CompiledIngress | undefined;
  #ingresses: ResilientInformer<k8s.V1Ingress> | undefined;
  #services: ResilientInformer<k8s.V1Service> | undefined;
  #secrets: ResilientInformer<k8s.V1Secret> | undefined;
  #compiles = 0;

  constructor(kc: KubeClient, log: Logger, opts: IngressControllerOptions) {
    this.#log = log;
    this.#opts = opts;
    this.#view = opts.view ?? new SharedInformers(kc, log);
    this.#ownView = opts.view === undefined;
    this.#compiler = new IngressCompiler({
      ...(opts.classes ? { classes: opts.classes } : {}),
      allowCrossNamespace: opts.allowCrossNamespace ?? false,
      ...(opts.defaultSyntax ? { defaultSyntax: opts.defaultSyntax } : {}),
      ...(opts.httpsPort !== undefined ? { httpsPort: opts.httpsPort } : {}),
      ...(opts.entrypointService ? { entrypoint: { namespace: opts.entrypointService.split('/')[0]!, name: opts.entrypointService.split('/')[1]! } } : {}),
    });
    this.#reporter = new DiagnosticReporter(opts.events, log, REPORT_GRACE_MS);
    this.#kube = kc;
    this.#status = new IngressStatusWriter(kc, log, () => this.#statusInputs());
  }

  get compiled(): CompiledIngress | undefined {
    return this.#last;
  }

  /** Traefik API groups with at least one kind served. */
  get traefikGroups(): readonly TraefikGroup[] {
    return [...this.#groupsOn].sort();
  }

  get compiles(): number {
    return this.#compiles;
  }

  start(): void {
    const c = this.#compiler;
    const v = this.#view;
    this.#ingresses = this.#watch(v.ingresses(), (o) => c.setIngress(o), (o) => c.deleteIngress(objectKey(o)));
    this.#watch(v.ingressClasses(), (o) => c.setIngressClass(o), (o) => c.deleteIngressClass(o.metadata?.name ?? ''));
    this.#services = this.#watch(v.services(), (o) => c.setService(o), (o) => c.deleteService(objectKey(o)));
    this.#secrets = this.#watch(v.secrets(), (o) => c.setSecret(o), (o) => c.deleteSecret(objectKey(o)));
    this.#watch(v.configMaps(), (o) => c.setConfigMap(o), (o) => c.deleteConfigMap(objectKey(o)));
    for (const group of TRAEFIK_GROUPS) void this.#probeGroup(group);
  }

  /** Resolves once the core informers have listed (Traefik groups come on as they are found). */
  async synced(): Promise<void> {
    await Promise.all(this.#informers.slice(0, 5).map((i) => i.synced()));
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#status.stop();
    this.#reporter.stop();
    clearTimeout(this.#timer);
    for (const t of this.#kindTimers.values()) clearTimeout(t);
    for (const off of this.#unsubscribe.splice(0)) off();
    if (this.#ownView) await this.#view.stop();
  }


  #watch<T extends k8s.KubernetesObject>(inf: ResilientInformer<T>, set: (o: T) => void, del: (o: T) => void): ResilientInformer<T> {
    // Objects already cached (the shared view may have listed them for another component) come in first.
    if (inf.isSynced()) for (const o of inf.list()) set(o);
    this.#unsubscribe.push(
      subscribe(inf, {
        add: (o) => (set(o), this.#schedule()),
        update: (o) => (set(o), this.#schedule()),
        delete: (o) => (del(o), this.#schedule()),
        resync: () => this.#schedule(),
      }),
    );
    this.#informers.push(inf as unknown as AnyInformer);
    if (inf.isSynced()) this.#schedule();
    return inf;
  }

  async #probeGroup(group: TraefikGroup): Promise<void> {
    await Promise.all(TRAEFIK_KINDS.map((k) => this.#probeKind(group, k.kind, k.plural)));
  }

  /** Starts watching one kind of one group once its CRD answers; probes again later while it does not. */
  async #probeKind(group: TraefikGroup, kind: (typeof TRAEFIK_KINDS)[number]['kind'], plural: string): Promise<void> {
    if (this.#stopped) return;
    const key = `${plural}.${group}`;
    try {
      await this.#kube.list(`/apis/${group}/v1alpha1/${plural}`, { limit: 1 });
    } catch (err) {
      const status = apiStatus(err);
      if (status === 404) {
        if (!this.#kindTimers.has(key)) {
          this.#log.info({ crd: key }, `CRD ${key} is not installed: ${kind} objects of ${group} are not served (checked again every ${Math.round((this.#opts.crdRetryMs ?? 30_000) / 1000)} s)`);
        }
      } else {
        this.#log.warn({ crd: key, err: describeError(err) }, 'could not check for a Traefik CRD; retrying');
      }
      this.#kindTimers.set(key, setTimeout(() => void this.#probeKind(group, kind, plural), this.#opts.crdRetryMs ?? 30_000));
      return;
    }
    if (this.#stopped) return;
    this.#kindTimers.delete(key);
    this.#groupsOn.add(group);
    this.#log.info({ crd: key }, `CRD ${key} found: serving ${kind} objects of ${group}`);
    const c = this.#compiler;
    type Obj = k8s.KubernetesObject & { spec?: Record<string, unknown> };
    this.#watch<Obj>(
      this.#view.informer<Obj>(`/apis/${group}/v1alpha1/${plural}`),
      (o) => c.setTraefik(kind, withGroup(o, group, kind)),
      (o) => c.deleteTraefik(kind, group, objectKey(o)),
    );
  }

  #schedule(): void {
    if (this.#stopped || this.#timer !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      try {
        this.compileNow();
      } catch (err) {
        // A bug must not take the proxy down: the last router keeps serving.
        this.#log.error({ err: (err as Error).stack ?? String(err) }, 'ingress compile failed; the previous routes stay in force');
      }
    }, this.#opts.debounceMs ?? 20);
  }

  /** Compiles and publishes now (the informer path calls it after coalescing). */
  compileNow(): CompiledIngress {
    const started = performance.now();
    const out = this.#compiler.compile();
    this.#last = out;
    this.#compiles++;
    const routes = this.#routeChanges(out);
    const certificates = this.#certificateChanges(out);
    if (routes !== undefined || certificates !== undefined) this.#opts.publish(routes, certificates);
    this.#log.debug({ version: out.version, changed: out.changed, routes: out.specs.websecure.size, ms: Math.round((performance.now() - started) * 100) / 100 }, 'route tables compiled');
    this.#reporter.report(out.diagnostics);
    this.#status.request();
    return out;
  }

  /** What changed since the last publish, as data; undefined when nothing did. */
  #routeChanges(out: CompiledIngress): RoutesUpdate | undefined {
    const next = publishedRoutes(out);
    const update = routesUpdate(this.#published, next, out.changes);
    this.#published = next;
    return update;
  }

  /** The TLS pairs routes name, checked, as changes since the last publish. */
  #certificateChanges(out: CompiledIngress): CertificatesUpdate | undefined {
    if (this.#opts.certificates === false || this.#secrets === undefined) return undefined;
    const wanted = new Set<string>();
    const set: Record<string, TlsPem> = {};
    for (const req of out.certificates) {
      wanted.add(req.secretKey);
      const [ns, name] = req.secretKey.split('/') as [string, string];
      const secret = this.#secrets.get(name, ns);
      if (secret === undefined) continue; // reported by the translator; the default certificate serves
      const version = secret.metadata?.resourceVersion ?? '';
      if (this.#certsLoaded.get(req.secretKey) === version) continue;
      this.#certsLoaded.set(req.secretKey, version);
      const cert = secret.data?.['tls.crt'];
      const key = secret.data?.['tls.key'];
      try {
        if (!cert || !key) throw new Error('the Secret has no tls.crt/tls.key');
        const pem = { cert: Buffer.from(cert, 'base64').toString('utf8'), key: Buffer.from(key, 'base64').toString('utf8') };
        checkCertificatePair({ cert: Buffer.from(pem.cert), key: Buffer.from(pem.key) });
        set[req.secretKey] = pem;
        this.#certsPublished.add(req.secretKey);
      } catch (err) {
        this.#opts.events?.emit(
          { apiVersion: req.origin.apiVersion, kind: req.origin.kind, metadata: { name: req.origin.name, namespace: req.origin.namespace, ...(req.origin.uid ? { uid: req.origin.uid } : {}) } },
          'Warning',
          'BadCertificate',
          `Secret ${req.secretKey}: ${(err as Error).message}; the default certificate is served`,
        );
      }
    }
    const remove: string[] = [];
    for (const key of [...this.#certsLoaded.keys()]) {
      if (wanted.has(key)) continue;
      this.#certsLoaded.delete(key);
      if (this.#certsPublished.delete(key)) remove.push(key);
    }
    const def = this.#defaultChange(out);
    if (Object.keys(set).length === 0 && remove.length === 0 && def === undefined) return undefined;
    return { ...(Object.keys(set).length > 0 ? { set } : {}), ...(remove.length > 0 ? { remove } : {}), ...(def !== undefined ? { default: def } : {}) };
  }

  /** The TLSStore's default certificate as a change: a pair, null (back to the engine's own), or undefined (unchanged). */
  #defaultChange(out: CompiledIngress): TlsPem | null | undefined {
    const d = out.defaultCertificate;
    if (d !== undefined && this.#opts.tlsStoreDefault === false) {
      if (this.#defaultLoaded !== 'flag') {
        this.#defaultLoaded = 'flag';
        this.#log.warn({ tlsStore: `${d.origin.namespace}/${d.origin.name}` }, 'the TLSStore default certificate is ignored: --default-certificate sets it');
      }
      return undefined;
    }
    const secret = d === undefined ? undefined : this.#secrets?.get(d.secretKey.slice(d.secretKey.indexOf('/') + 1), d.secretKey.slice(0, d.secretKey.indexOf('/')));
    const version = d === undefined ? '' : `${d.secretKey}@${secret?.metadata?.resourceVersion ?? ''}`;
    if (version === this.#defaultLoaded) return undefined;
    this.#defaultLoaded = version;
    if (d === undefined || secret === undefined) {
      if (!this.#defaultPublished) return undefined;
      this.#defaultPublished = false;
      return null;
    }
    try {
      const cert = secret.data?.['tls.crt'];
      const key = secret.data?.['tls.key'];
      if (!cert || !key) throw new Error('the Secret has no tls.crt/tls.key');
      const pem = { cert: Buffer.from(cert, 'base64').toString('utf8'), key: Buffer.from(key, 'base64').toString('utf8') };
      checkCertificatePair({ cert: Buffer.from(pem.cert), key: Buffer.from(pem.key) });
      this.#defaultPublished = true;
      return pem;
    } catch (err) {
      const o = d.origin;
      this.#opts.events?.emit(
        { apiVersion: o.apiVersion, kind: o.kind, metadata: { name: o.name, namespace: o.namespace, ...(o.uid ? { uid: o.uid } : {}) } },
        'Warning',
        'BadCertificate',
        `Secret ${d.secretKey}: ${(err as Error).message}; the current default certificate is kept`,
      );
      return undefined;
    }
  }

  /** What a status pass reads; undefined until the informers it needs are up. */
  #statusInputs(): IngressStatusInputs | undefined {
    const svcKey = this.#opts.entrypointService;
    const out = this.#last;
    if (!svcKey || out === undefined || this.#services === undefined || this.#ingresses === undefined) return undefined;
    const [ns, name] = svcKey.split('/') as [string, string];
    return {
      ingresses: this.#ingresses.list(),
      served: new Set(out.ownIngresses.map((r) => `${r.namespace}/${r.name}`)),
      ours: addressesOf(this.#services.get(name, ns)?.status?.loadBalancer?.ingress),
    };
  }
}

/** Informer objects may lack apiVersion/kind in lists; the compiler needs both. */
function withGroup<O extends k8s.KubernetesObject>(o: O, group: TraefikGroup, kind: string): O {
  if (o.apiVersion === `${group}/v1alpha1` && o.kind === kind) return o;
  return { ...o, apiVersion: `${group}/v1alpha1`, kind };
}
