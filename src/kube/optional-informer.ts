// A watch of a custom resource whose CRD may not be installed (MetalLB's
// metallb.io kinds are optional: the ConfigMap alone still works). The
// resource is looked for every retryMs until the API server serves it, then
// watched through the caller's starter (a SharedInformers view, or a plain
// informer), and `onAvailable` is told once. Not a cache of its own.

import type * as k8s from '@kubernetes/client-node';
import type { KubeClient, KubeList } from './api/kube-client.ts';
import type { Logger } from 'pino';
import { apiStatus, describeError } from './client.ts';
import type { ResilientInformer } from './informer.ts';

export interface CustomResource {
  group: string;
  version: string;
  plural: string;
}

export type InformerStarter<T extends k8s.KubernetesObject> = (path: string, list: () => Promise<KubeList<T>>) => ResilientInformer<T>;

export class OptionalInformer<T extends k8s.KubernetesObject> {
  readonly #log: Logger;
  readonly #resource: CustomResource;
  readonly #kube: KubeClient;
  readonly #start: InformerStarter<T>;
  readonly #retryMs: number;
  readonly #what: string;
  #informer: ResilientInformer<T> | undefined;
  #onAvailable: ((informer: ResilientInformer<T>) => void) | undefined;
  #timer: NodeJS.Timeout | undefined;
  #settle!: () => void;
  readonly #settled = new Promise<void>((r) => (this.#settle = r));
  #stopped = false;

  constructor(kube: KubeClient, log: Logger, resource: CustomResource, start: InformerStarter<T>, retryMs = 30_000) {
    this.#log = log;
    this.#resource = resource;
    this.#kube = kube;
    this.#start = start;
    this.#retryMs = retryMs;
    this.#what = `${resource.plural}.${resource.group}`;
  }

  /** Starts looking; `onAvailable` runs once the objects are listed (after settled()). */
  start(onAvailable: (informer: ResilientInformer<T>) => void): void {
    this.#onAvailable = onAvailable;
    void this.#probe();
  }

  /** Resolves once the CRD is known to be missing, or its objects are listed. */
  settled(): Promise<void> {
    return this.#settled;
  }

  /** The informer, once the CRD is found. */
  get informer(): ResilientInformer<T> | undefined {
    return this.#informer;
  }

  /** Stops looking (the informer belongs to whoever the starter gave it to). */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#settle();
  }

  async #probe(): Promise<void> {
    if (this.#stopped) return;
    const { group, version, plural } = this.#resource;
    try {
      await this.#kube.list(`/apis/${group}/${version}/${plural}`, { limit: 1 });
    } catch (err) {
      const status = apiStatus(err);
      if (status === 404) {
        if (this.#timer === undefined) this.#log.info(`CRD ${this.#what} is not installed (checked again every ${Math.round(this.#retryMs / 1000)} s)`);
        this.#settle();
      } else if (status === 403) {
        // Installed but not granted (an older RBAC): a settled answer too, said loudly.
        if (this.#timer === undefined) this.#log.warn({ err: describeError(err) }, `not allowed to list ${this.#what}: its objects are ignored until RBAC grants list and watch`);
        this.#settle();
      } else {
        this.#log.warn({ err: describeError(err) }, `could not check for the ${this.#what} CRD; retrying`);
        // An error is no answer, but must not hold the caller back forever.
        setTimeout(() => this.#settle(), this.#retryMs).unref();
      }
      this.#timer = setTimeout(() => void this.#probe(), this.#retryMs);
      return;
    }
    if (this.#stopped) return;
    this.#log.info(`CRD ${this.#what} found: watching its objects`);
    const path = `/apis/${group}/${version}/${plural}`;
    const informer = this.#start(path, () => this.#kube.list<T>(path));
    this.#informer = informer;
    await informer.synced();
    this.#settle();
    if (!this.#stopped) this.#onAvailable?.(informer);
  }
}
