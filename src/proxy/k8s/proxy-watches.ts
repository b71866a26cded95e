// The proxy's view of the API: resilient informers on Services and
// EndpointSlices (every namespace), and, when the HTTP engine runs, on
// Ingresses and on Secrets of type kubernetes.io/tls only (a field selector:
// the proxy never caches other Secrets). Thin: it forwards object events.
//
// The speaker in the same process watches Services and EndpointSlices too;
// sharing one cache would save a watch each, at the price of coupling the two
// components' start and stop (noted in docs/architecture.md).

import * as k8s from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { startInformer, type ResilientInformer } from '../../kube/informer.ts';
import { TLS_SECRET_TYPE } from './tls-secret.ts';

export type WatchKind = 'service' | 'slice' | 'ingress' | 'secret';

export interface ProxyWatchHandlers {
  onService(svc: k8s.V1Service, deleted: boolean): void;
  onSlice(slice: k8s.V1EndpointSlice, deleted: boolean): void;
  onIngress(): void;
  onSecret(): void;
  /** After a (re)list of `kind`: the cache is complete again. */
  onResync(kind: WatchKind): void;
}

export class ProxyWatches {
  readonly services: ResilientInformer<k8s.V1Service>;
  readonly slices: ResilientInformer<k8s.V1EndpointSlice>;
  readonly ingresses: ResilientInformer<k8s.V1Ingress> | undefined;
  readonly secrets: ResilientInformer<k8s.V1Secret> | undefined;

  constructor(kc: k8s.KubeConfig, log: Logger, withHttp: boolean, h: ProxyWatchHandlers) {
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const discovery = kc.makeApiClient(k8s.DiscoveryV1Api);
    const networking = kc.makeApiClient(k8s.NetworkingV1Api);
    this.services = startInformer<k8s.V1Service>(kc, '/api/v1/services', () => core.listServiceForAllNamespaces(), log);
    this.slices = startInformer<k8s.V1EndpointSlice>(kc, '/apis/discovery.k8s.io/v1/endpointslices', () => discovery.listEndpointSliceForAllNamespaces(), log);
    this.services.on('add', (o) => h.onService(o, false));
    this.services.on('update', (o) => h.onService(o, false));
    this.services.on('delete', (o) => h.onService(o, true));
    this.services.onResync(() => h.onResync('service'));
    this.slices.on('add', (o) => h.onSlice(o, false));
    this.slices.on('update', (o) => h.onSlice(o, false));
    this.slices.on('delete', (o) => h.onSlice(o, true));
    this.slices.onResync(() => h.onResync('slice'));
    if (withHttp) {
      const fieldSelector = `type=${TLS_SECRET_TYPE}`;
      this.ingresses = startInformer<k8s.V1Ingress>(kc, '/apis/networking.k8s.io/v1/ingresses', () => networking.listIngressForAllNamespaces(), log);
      this.secrets = startInformer<k8s.V1Secret>(kc, '/api/v1/secrets', () => core.listSecretForAllNamespaces({ fieldSelector }), log, { fieldSelector });
      for (const verb of ['add', 'update', 'delete'] as const) {
        this.ingresses.on(verb, () => h.onIngress());
        this.secrets.on(verb, () => h.onSecret());
      }
      this.ingresses.onResync(() => h.onResync('ingress'));
      this.secrets.onResync(() => h.onResync('secret'));
    }
  }

  all(): Array<ResilientInformer<k8s.KubernetesObject>> {
    return [this.services, this.slices, this.ingresses, this.secrets].filter((i) => i !== undefined) as Array<ResilientInformer<k8s.KubernetesObject>>;
  }

  /** Undefined when every cache holds a complete list; else which do not. */
  notSynced(): string | undefined {
    const pending = this.all().filter((i) => !i.isSynced());
    return pending.length === 0 ? undefined : `caches not synced: ${pending.map((i) => i.resource).join(', ')}`;
  }

  async synced(): Promise<void> {
    await Promise.all(this.all().map((i) => i.synced()));
  }

  async stop(): Promise<void> {
    await Promise.all(this.all().map((i) => i.stop()));
  }
}
