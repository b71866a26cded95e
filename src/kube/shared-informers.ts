// The process's one view of the cluster: one list+watch per resource (and
// selector), whoever asks for it. The speaker, the proxy's configuration
// builder and the ingress compiler of a node share it, as the controller's
// parts do, so the API server sees one watch per resource type per process
// however many components read it (client-go's SharedInformerFactory, in
// our terms). Components subscribe and unsubscribe; only the owner of the
// view stops the watches.
//
// Not a cache of its own: the informers hold the objects; this only keys
// them.

import type * as k8s from '@kubernetes/client-node';
import type { KubeClient, KubeList } from './api/kube-client.ts';
import type { Logger } from 'pino';
import { startInformer, type InformerOptions, type ResilientInformer } from './informer.ts';

type Verb = 'add' | 'update' | 'delete';

export interface InformerHandlers<T extends k8s.KubernetesObject> {
  add?(obj: T): void;
  update?(obj: T): void;
  delete?(obj: T): void;
  resync?(): void;
}

/** Subscribes the handlers; returns the unsubscribe. */
export function subscribe<T extends k8s.KubernetesObject>(informer: ResilientInformer<T>, h: InformerHandlers<T>): () => void {
  const verbs: Verb[] = ['add', 'update', 'delete'];
  const bound = verbs.flatMap((v) => {
    const cb = h[v];
    if (cb === undefined) return [];
    const fn = (o: T) => cb.call(h, o);
    informer.on(v, fn);
    return [[v, fn] as const];
  });
  const resync = h.resync ? () => h.resync!() : undefined;
  if (resync) informer.onResync(resync);
  return () => {
    for (const [v, fn] of bound) informer.off(v, fn);
    if (resync) informer.offResync(resync);
  };
}

export class SharedInformers {
  readonly #kube: KubeClient;
  readonly #log: Logger;
  readonly #byKey = new Map<string, ResilientInformer<k8s.KubernetesObject>>();
  #stopped = false;

  constructor(kube: KubeClient, log: Logger) {
    this.#kube = kube;
    this.#log = log;
  }

  /**
   * The informer of `path` with these selectors, started on first use. The
   * first caller's list function is the one used; by default a GET of
   * `path` with the selectors.
   */
  informer<T extends k8s.KubernetesObject>(path: string, list?: () => Promise<KubeList<T>>, opts: InformerOptions = {}): ResilientInformer<T> {
    const key = watchKey(path, opts);
    let inf = this.#byKey.get(key);
    if (inf === undefined) {
      if (this.#stopped) throw new Error(`cluster view stopped: cannot watch ${key}`);
      inf = startInformer<T>(this.#kube, path, list, this.#log, opts) as unknown as ResilientInformer<k8s.KubernetesObject>;
      this.#byKey.set(key, inf);
    }
    return inf as unknown as ResilientInformer<T>;
  }

  services(): ResilientInformer<k8s.V1Service> {
    return this.informer('/api/v1/services');
  }

  endpointSlices(): ResilientInformer<k8s.V1EndpointSlice> {
    return this.informer('/apis/discovery.k8s.io/v1/endpointslices');
  }

  nodes(): ResilientInformer<k8s.V1Node> {
    return this.informer('/api/v1/nodes');
  }

  ingresses(): ResilientInformer<k8s.V1Ingress> {
    return this.informer('/apis/networking.k8s.io/v1/ingresses');
  }

  ingressClasses(): ResilientInformer<k8s.V1IngressClass> {
    return this.informer('/apis/networking.k8s.io/v1/ingressclasses');
  }

  /** Every Secret: the ingress reads TLS pairs, htpasswd files and CA bundles from them. */
  secrets(): ResilientInformer<k8s.V1Secret> {
    return this.informer('/api/v1/secrets');
  }

  /** Every ConfigMap: custom-headers and auth-proxy-set-headers name them. */
  configMaps(): ResilientInformer<k8s.V1ConfigMap> {
    return this.informer('/api/v1/configmaps');
  }

  /** Undefined when every informer holds a complete list; else which do not. */
  notSynced(keys?: readonly ResilientInformer<k8s.KubernetesObject>[]): string | undefined {
    const pending = (keys ?? [...this.#byKey.values()]).filter((i) => !i.isSynced());
    return pending.length === 0 ? undefined : `caches not synced: ${pending.map((i) => i.resource).join(', ')}`;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await Promise.all([...this.#byKey.values()].map((i) => i.stop()));
  }
}

function watchKey(path: string, o: InformerOptions): string {
  const q = [o.labelSelector ? `labelSelector=${o.labelSelector}` : '', o.fieldSelector ? `fieldSelector=${o.fieldSelector}` : ''].filter(Boolean).join('&');
  return q ? `${path}?${q}` : path;
}
