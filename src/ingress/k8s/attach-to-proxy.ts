// Plugs the rule engine into the proxy of `metalgate speaker`: the proxy's
// per-port Backends become the runtime's ServiceBackendSource, and every
// compile hands the new Router to both HTTP entrypoints (the proxy's
// minimal Ingress router stops at the first call). Pass the engine's
// `certificates` store to have the engine load every certificate its routes
// name (Ingress TLS sections and IngressRoute tls.secretName): the Ingresses
// whose certificates are loaded are then exactly the Ingresses routed, by
// one IngressClass rule (the proxy's own Secret sync stops at the first
// call, with the minimal router).

import type * as k8s from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { Backend, Router } from '../../proxy/http/types.ts';
import type { ServicePortRef } from '../model/service-node.ts';
import { IngressController, type IngressControllerOptions } from './ingress-controller.ts';

/** What the engine needs of the proxy (src/proxy/proxy.ts has both). */
export interface ProxyHooks {
  readonly backends: { get(target: { namespace: string; service: string; portName: string }): Backend };
  setRouters(routers: { web: Router; websecure: Router }): void;
}

export function attachIngressEngine(
  kc: k8s.KubeConfig,
  log: Logger,
  proxy: ProxyHooks,
  opts: Omit<IngressControllerOptions, 'backends' | 'onRouter'> = {},
): IngressController {
  const controller = new IngressController(kc, log, {
    ...opts,
    backends: { backend: (ref: ServicePortRef) => proxy.backends.get(ref) },
    onRouter: (router) => proxy.setRouters({ web: router, websecure: router }),
  });
  controller.start();
  return controller;
}
