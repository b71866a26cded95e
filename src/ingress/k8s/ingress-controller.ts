// The thin Kubernetes edge of the ingress: informers for Ingress,
// IngressClass, Service, Secret and the Traefik CRDs of both groups feed the
// pure IngressCompiler; every change (coalesced over a few milliseconds)
// compiles new tables, builds a new IngressRouter and hands it to the
// proxy (HttpEntrypoint.setRouter), writes new diagnostics as Events,
// loads the TLS Secrets the routes need into the CertificateStore, and sets
// status.loadBalancer.ingress on our Ingresses to the entrypoint Service's
// addresses (never on an Ingress of another class).
//
// A Traefik CRD that is not installed turns that kind of that group off:
// said once in the log, probed again every `crdRetryMs` until it appears.

import * as k8s from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { apiStatus, describeError, mergePatch, objectKey } from '../../kube/client.ts';
import { startInformer, type ResilientInformer } from '../../kube/informer.ts';
import type { CertificateStoreApi } from '../../proxy/http/types.ts';
import { IngressCompiler, type CompiledIngress } from '../compile/ingress-compiler.ts';
import type { RuleSyntax } from '../match/traefik-rule-matchers.ts';
import { TRAEFIK_GROUPS, type TraefikGroup } from '../model/traefik-crd.ts';
import type { ServiceBackendSource } from '../runtime/backends.ts';
import { FlaggerMetrics } from '../runtime/flagger-metrics.ts';
import type { BcryptVerifier } from '../runtime/middlewares/htpasswd-verify.ts';
import { IngressRouter } from '../runtime/router.ts';
import { RuntimeFactory, type RuntimeTarget } from '../runtime/runtime-target.ts';
import type { IngressClassOptions } from '../translate/ingress-class.ts';
import { DiagnosticReporter, type EventSink } from './diagnostic-reporter.ts';

export interface IngressControllerOptions {
  /** Live endpoints per Service port (the proxy's EndpointSlice side). */
  readonly backends: ServiceBackendSource;
  /** Receives every new router (HttpEntrypoint.setRouter). */
  readonly onRouter: (router: IngressRouter, compiled: CompiledIngress<RuntimeTarget>) => void;
  readonly events?: EventSink;
  /** TLS Secrets named by routes are loaded here when given. */
  readonly certificates?: CertificateStoreApi;
  /**
   * Which TLS Secrets to load: every one routes name (default), or only those
   * named by IngressRoutes alone - when the proxy's own sync already loads
   * the Secrets of Ingress TLS sections into the same store.
   */
  readonly certificatesFrom?: 'all' | 'ingressroutes';
  /** `namespace/name` of the entrypoint Service whose addresses go into Ingress status; empty: no status. */
  readonly entrypointService?: string;
  readonly classes?: IngressClassOptions;
  readonly allowCrossNamespace?: boolean;
  readonly defaultSyntax?: RuleSyntax;
  readonly httpsPort?: number;
  /** Register the Flagger-compatible series (traefik_*, nginx_ingress_controller_*) here. */
  readonly flaggerMetrics?: Registry;
  readonly bcrypt?: BcryptVerifier;
  /** Coalescing delay between a change and the compile. Default 20 ms. */
  readonly debounceMs?: number;
  /** Probe interval for missing Traefik CRDs. Default 30 s. */
  readonly crdRetryMs?: number;
}

const TRAEFIK_KINDS = [
  { kind: 'IngressRoute', plural: 'ingressroutes' },
  { kind: 'Middleware', plural: 'middlewares' },
  { kind: 'TraefikService', plural: 'traefikservices' },
] as const;

type AnyInformer = ResilientInformer<k8s.KubernetesObject>;

export class IngressController {
  readonly #kc: k8s.KubeConfig;
  readonly #log: Logger;
  readonly #opts: IngressControllerOptions;
  readonly #compiler: IngressCompiler<RuntimeTarget>;
  readonly #reporter: DiagnosticReporter;
  readonly #networking: k8s.NetworkingV1Api;
  readonly #custom: k8s.CustomObjectsApi;
  readonly #core: k8s.CoreV1Api;
  readonly #informers: AnyInformer[] = [];
  readonly #groupsOn = new Set<TraefikGroup>();
  /** `plural.group` -> the timer of the next probe of a CRD not installed yet. */
  readonly #kindTimers = new Map<string, NodeJS.Timeout>();
  readonly #certsLoaded = new Map<string, string>();
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  #last: CompiledIngress<RuntimeTarget> | undefined;
  #router: IngressRouter | undefined;
  #ingresses: ResilientInformer<k8s.V1Ingress> | undefined;
  #services: ResilientInformer<k8s.V1Service> | undefined;
  #secrets: ResilientInformer<k8s.V1Secret> | undefined;
  #compiles = 0;

  constructor(kc: k8s.KubeConfig, log: Logger, opts: IngressControllerOptions) {
    this.#kc = kc;
    this.#log = log;
    this.#opts = opts;
    const runtime = new RuntimeFactory(opts.backends, {
      ...(opts.bcrypt ? { bcrypt: opts.bcrypt } : {}),
      ...(opts.flaggerMetrics ? { flaggerMetrics: new FlaggerMetrics(opts.flaggerMetrics) } : {}),
    });
    this.#compiler = new IngressCompiler<RuntimeTarget>({
      materialize: runtime.materialize,
      ...(opts.classes ? { classes: opts.classes } : {}),
      allowCrossNamespace: opts.allowCrossNamespace ?? false,
      ...(opts.defaultSyntax ? { defaultSyntax: opts.defaultSyntax } : {}),
      ...(opts.httpsPort !== undefined ? { httpsPort: opts.httpsPort } : {}),
    });
    this.#reporter = new DiagnosticReporter(opts.events, log);
    this.#networking = kc.makeApiClient(k8s.NetworkingV1Api);
    this.#custom = kc.makeApiClient(k8s.CustomObjectsApi);
    this.#core = kc.makeApiClient(k8s.CoreV1Api);
  }

  /** The router of the last compile (undefined before the first one). */
  get router(): IngressRouter | undefined {
    return this.#router;
  }

  get compiled(): CompiledIngress<RuntimeTarget> | undefined {
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
    this.#ingresses = this.#watch<k8s.V1Ingress>('/apis/networking.k8s.io/v1/ingresses', () => this.#networking.listIngressForAllNamespaces(), (o) => c.setIngress(o), (o) => c.deleteIngress(objectKey(o)));
    this.#watch<k8s.V1IngressClass>('/apis/networking.k8s.io/v1/ingressclasses', () => this.#networking.listIngressClass(), (o) => c.setIngressClass(o), (o) => c.deleteIngressClass(o.metadata?.name ?? ''));
    this.#services = this.#watch<k8s.V1Service>('/api/v1/services', () => this.#core.listServiceForAllNamespaces(), (o) => c.setService(o), (o) => c.deleteService(objectKey(o)));
    this.#secrets = this.#watch<k8s.V1Secret>('/api/v1/secrets', () => this.#core.listSecretForAllNamespaces(), (o) => c.setSecret(o), (o) => c.deleteSecret(objectKey(o)));
    for (const group of TRAEFIK_GROUPS) void this.#probeGroup(group);
  }

  /** Resolves once the core informers have listed (Traefik groups come on as they are found). */
  async synced(): Promise<void> {
    await Promise.all(this.#informers.slice(0, 4).map((i) => i.synced()));
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    for (const t of this.#kindTimers.values()) clearTimeout(t);
    await Promise.all(this.#informers.map((i) => i.stop()));
  }

  #watch<T extends k8s.KubernetesObject>(path: string, list: () => Promise<k8s.KubernetesListObject<T>>, set: (o: T) => void, del: (o: T) => void): ResilientInformer<T> {
    const inf = startInformer<T>(this.#kc, path, list, this.#log);
    inf.on('add', (o) => {
      set(o);
      this.#schedule();
    });
    inf.on('update', (o) => {
      set(o);
      this.#schedule();
    });
    inf.on('delete', (o) => {
      del(o);
      this.#schedule();
    });
    inf.onResync(() => this.#schedule());
    this.#informers.push(inf as unknown as AnyInformer);
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
      await this.#custom.listClusterCustomObject({ group, version: 'v1alpha1', plural, limit: 1 });
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
      `/apis/${group}/v1alpha1/${plural}`,
      async () => (await this.#custom.listClusterCustomObject({ group, version: 'v1alpha1', plural })) as k8s.KubernetesListObject<Obj>,
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
  compileNow(): CompiledIngress<RuntimeTarget> {
    const started = performance.now();
    const out = this.#compiler.compile();
    this.#last = out;
    this.#compiles++;
    this.#router = new IngressRouter(out.web, out.websecure);
    this.#opts.onRouter(this.#router, out);
    this.#log.debug({ version: out.version, changed: out.changed, routes: out.websecure.size, ms: Math.round((performance.now() - started) * 100) / 100 }, 'route tables compiled');
    this.#reporter.report(out.diagnostics);
    this.#loadCertificates(out);
    void this.#writeStatus(out);
    return out;
  }

  #loadCertificates(out: CompiledIngress<RuntimeTarget>): void {
    const store = this.#opts.certificates;
    if (store === undefined || this.#secrets === undefined) return;
    const wanted = new Set<string>();
    for (const req of out.certificates) {
      if (this.#opts.certificatesFrom === 'ingressroutes' && (req.origins ?? [req.origin]).some((o) => o.kind === 'Ingress')) continue;
      wanted.add(req.secretKey);
      const [ns, name] = req.secretKey.split('/') as [string, string];
      const secret = this.#secrets.get(name, ns);
      if (secret === undefined) continue; // reported by the translator; the default certificate serves
      const version = secret.metadata?.resourceVersion ?? '';
      if (this.#certsLoaded.get(req.secretKey) === version) continue;
      const cert = secret.data?.['tls.crt'];
      const key = secret.data?.['tls.key'];
      try {
        if (!cert || !key) throw new Error('the Secret has no tls.crt/tls.key');
        store.set(req.secretKey, { cert: Buffer.from(cert, 'base64'), key: Buffer.from(key, 'base64') });
        this.#certsLoaded.set(req.secretKey, version);
      } catch (err) {
        this.#opts.events?.emit(
          { apiVersion: req.origin.apiVersion, kind: req.origin.kind, metadata: { name: req.origin.name, namespace: req.origin.namespace, ...(req.origin.uid ? { uid: req.origin.uid } : {}) } },
          'Warning',
          'BadCertificate',
          `Secret ${req.secretKey}: ${(err as Error).message}; the default certificate is served`,
        );
        this.#certsLoaded.set(req.secretKey, version);
      }
    }
    for (const key of [...this.#certsLoaded.keys()]) {
      if (wanted.has(key)) continue;
      store.delete(key);
      this.#certsLoaded.delete(key);
    }
  }

  /**
   * Level-based, from the Ingresses as the informer holds them now: a served
   * Ingress shows the entrypoint's address; one that is not served (withheld
   * for errors, moved to another class) loses the address if it shows ours,
   * and is left alone otherwise (another controller may own its status). A
   * deleted and re-created Ingress is a new object here, so it gets its
   * address again.
   */
  async #writeStatus(out: CompiledIngress<RuntimeTarget>): Promise<void> {
    const svcKey = this.#opts.entrypointService;
    if (!svcKey || this.#services === undefined || this.#ingresses === undefined) return;
    const [ns, name] = svcKey.split('/') as [string, string];
    const ours = addressesOf(this.#services.get(name, ns)?.status?.loadBalancer?.ingress);
    if (ours.length === 0) return; // no address yet: leave status alone
    const oursText = JSON.stringify(ours);
    const served = new Set(out.ownIngresses.map((r) => `${r.namespace}/${r.name}`));
    for (const ing of this.#ingresses.list()) {
      const key = objectKey(ing);
      const shown = JSON.stringify(addressesOf(ing.status?.loadBalancer?.ingress));
      const want = served.has(key) ? ours : shown === oursText ? [] : undefined;
      if (want === undefined || JSON.stringify(want) === shown) continue;
      try {
        await this.#networking.patchNamespacedIngressStatus(
          { name: ing.metadata?.name ?? '', namespace: ing.metadata?.namespace ?? '', body: { status: { loadBalancer: { ingress: want.length > 0 ? want : null } } } },
          mergePatch,
        );
      } catch (err) {
        if (apiStatus(err) !== 404) this.#log.warn({ ingress: key, err: describeError(err) }, 'could not write Ingress status');
      }
    }
  }
}

type LoadBalancerAddress = { ip: string } | { hostname: string };

/** The addresses of a status.loadBalancer.ingress list, in a form that compares as text. */
function addressesOf(list: ReadonlyArray<{ ip?: string; hostname?: string }> | undefined): LoadBalancerAddress[] {
  return (list ?? []).map((i) => (i.ip ? { ip: i.ip } : i.hostname ? { hostname: i.hostname } : undefined)).filter((x): x is LoadBalancerAddress => x !== undefined);
}

/** Informer objects may lack apiVersion/kind in lists; the compiler needs both. */
function withGroup<O extends k8s.KubernetesObject>(o: O, group: TraefikGroup, kind: string): O {
  if (o.apiVersion === `${group}/v1alpha1` && o.kind === kind) return o;
  return { ...o, apiVersion: `${group}/v1alpha1`, kind };
}
