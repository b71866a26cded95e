// Plugs the rule engine into the proxy of `metalgate speaker`: the
// controller reads the proxy's shared cluster view, and every compile's
// routes and certificates go into the proxy's configuration, which the
// serving processes materialize. The Ingresses whose certificates are
// loaded are exactly the Ingresses routed, by one IngressClass rule.

import type { KubeClient } from '../../kube/api/kube-client.ts';
import type { Logger } from 'pino';
import type { SharedInformers } from '../../kube/shared-informers.ts';
import type { CertificatesUpdate, RoutesUpdate } from '../../proxy/config/proxy-config.ts';
import { IngressController, type IngressControllerOptions } from './ingress-controller.ts';

/** What the engine needs of the proxy (src/proxy/proxy.ts has it). */
export interface ProxyHooks {
  readonly view: SharedInformers;
  expectRoutes(): void;
  publishRoutes(routes: RoutesUpdate | undefined, certificates: CertificatesUpdate | undefined): void;
}

export function attachIngressEngine(kc: KubeClient, log: Logger, proxy: ProxyHooks, opts: Omit<IngressControllerOptions, 'publish' | 'view'> = {}): IngressController {
  proxy.expectRoutes();
  const controller = new IngressController(kc, log, {
    ...opts,
    view: proxy.view,
    publish: (routes, certificates) => proxy.publishRoutes(routes, certificates),
  });
  controller.start();
  return controller;
}
