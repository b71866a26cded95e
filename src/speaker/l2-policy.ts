// The speaker's reading of MetalLB's IPAddressPool and L2Advertisement
// objects: which pools the objects define (resolved as the controller
// resolves them) and which advertisements are valid. A thin adapter: two
// optional watches in (the CRDs may not be installed), the pure
// AnnounceRules out (announce-rules.ts), a log line and a Warning Event for
// an advertisement that cannot be read. Not the election.
//
// Without the L2Advertisement kind (its CRD missing, or RBAC not granting
// it), no rule applies: every pool is announced as the ConfigMap's are.
// Only with the kind readable does "no advertisement" mean "not announced".

import type * as k8s from '@kubernetes/client-node';
import type { KubeClient } from '../kube/api/kube-client.ts';
import type { Logger } from 'pino';
import { l2AdvertisementOf, type L2Advertisement, type L2AdvertisementObject } from '../config/metallb-l2.ts';
import { DEFAULT_POOL_NAMESPACES, METALLB_GROUP, resolvePools, type IPAddressPoolObject } from '../config/metallb-pools.ts';
import type { AddressPool } from '../config/types.ts';
import type { ResilientInformer } from '../kube/informer.ts';
import type { Labels } from '../kube/label-selector.ts';
import { OptionalInformer } from '../kube/optional-informer.ts';
import { subscribe, type SharedInformers } from '../kube/shared-informers.ts';
import { AnnounceRules } from './announce-rules.ts';

type PoolObject = IPAddressPoolObject & k8s.KubernetesObject;
type AdObject = L2AdvertisementObject & k8s.KubernetesObject;

export interface L2PolicyOptions {
  /** Namespaces whose IPAddressPool and L2Advertisement objects count. */
  namespaces?: readonly string[];
  /** How often to look for a missing CRD. */
  crdRetryMs?: number;
}

/** An advertisement that cannot be read: what to report, and where. */
export interface AdProblem {
  object: AdObject;
  message: string;
}

interface ObjectsRead {
  pools: AddressPool[];
  poolLabels: Map<string, Labels | undefined>;
  ads: L2Advertisement[];
}

export class L2Policy {
  readonly #log: Logger;
  readonly #namespaces: ReadonlySet<string>;
  readonly #pools: OptionalInformer<PoolObject>;
  readonly #ads: OptionalInformer<AdObject>;
  readonly #unsubscribe: Array<() => void> = [];
  /** resolvePools' `good`, fed back so an object's broken edit keeps its last good version (as in the controller). */
  #good = new Map<string, AddressPool>();
  /** "uid generation" of the advertisements already reported. */
  readonly #reported = new Set<string>();
  /** The objects read since the last change of either kind (undefined: read again). */
  #read: ObjectsRead | undefined;

  constructor(kc: KubeClient, log: Logger, view: SharedInformers, opts: L2PolicyOptions = {}) {
    this.#log = log;
    this.#namespaces = new Set(opts.namespaces ?? DEFAULT_POOL_NAMESPACES);
    const start = <T extends k8s.KubernetesObject>(path: string, list: () => Promise<k8s.KubernetesListObject<T>>) => view.informer<T>(path, list);
    this.#pools = new OptionalInformer<PoolObject>(kc, log, { group: METALLB_GROUP, version: 'v1beta1', plural: 'ipaddresspools' }, start, opts.crdRetryMs);
    this.#ads = new OptionalInformer<AdObject>(kc, log, { group: METALLB_GROUP, version: 'v1beta1', plural: 'l2advertisements' }, start, opts.crdRetryMs);
  }

  /** Starts both watches; `changed` runs on every change of either kind. */
  start(changed: () => void): void {
    const onChange = () => {
      this.#read = undefined;
      changed();
    };
    const follow = (inf: ResilientInformer<k8s.KubernetesObject>) => {
      this.#unsubscribe.push(subscribe(inf, { add: onChange, update: onChange, delete: onChange, resync: onChange }));
      onChange();
    };
    this.#pools.start(follow);
    this.#ads.start(follow);
  }

  /** Resolves once each CRD is known to be missing, or its objects are listed. */
  async settled(): Promise<void> {
    await Promise.all([this.#pools.settled(), this.#ads.settled()]);
  }

  stop(): void {
    this.#pools.stop();
    this.#ads.stop();
    for (const off of this.#unsubscribe.splice(0)) off();
  }

  /**
   * The announce rules for these nodes, and the advertisements newly found
   * unreadable (each reported once per generation).
   */
  rules(nodes: ReadonlyArray<{ name: string; labels: Labels | undefined }>): { rules: AnnounceRules; problems: AdProblem[] } {
    const problems: AdProblem[] = [];
    this.#read ??= this.#readObjects(problems);
    return { rules: new AnnounceRules({ ...this.#read, nodes }), problems };
  }

  #readObjects(problems: AdProblem[]): ObjectsRead {
    // Without the L2Advertisement kind (CRD missing, or not granted) there is
    // nothing to say "not announced" with: every pool is announced as before.
    if (this.#ads.informer === undefined) return { pools: [], poolLabels: new Map(), ads: [] };
    const poolObjects = (this.#pools.informer?.list() ?? []).filter((o) => this.#namespaces.has(o.metadata?.namespace ?? ''));
    const resolved = resolvePools([], poolObjects, { namespaces: [...this.#namespaces], lastGood: this.#good });
    this.#good = resolved.good;
    const poolLabels = new Map<string, Labels | undefined>();
    for (const o of poolObjects) if (o.metadata?.name !== undefined) poolLabels.set(o.metadata.name, o.metadata.labels);

    const ads: L2Advertisement[] = [];
    for (const object of this.#ads.informer?.list() ?? []) {
      if (!this.#namespaces.has(object.metadata?.namespace ?? '')) continue;
      const parsed = l2AdvertisementOf(object);
      if (parsed.ok) {
        ads.push(parsed.value);
        continue;
      }
      const seen = `${object.metadata?.uid ?? ''} ${object.metadata?.generation ?? ''}`;
      if (this.#reported.has(seen)) continue;
      this.#reported.add(seen);
      if (this.#reported.size > 4096) this.#reported.clear();
      const message = `not used: ${parsed.message}`;
      this.#log.warn({ l2advertisement: `${object.metadata?.namespace}/${object.metadata?.name}` }, `L2Advertisement ${message}`);
      problems.push({ object, message });
    }
    return { pools: resolved.pools, poolLabels, ads };
  }

  /** The watches still pending (for readiness), by resource. */
  pending(): string[] {
    return [this.#pools.informer, this.#ads.informer].filter((i) => i !== undefined && !i.isSynced()).map((i) => i!.resource);
  }
}
