// Plugs the rule engine into the proxy of `metalgate speaker`: the proxy's
// per-port Backends become the runtime's ServiceBackendSource, and every
// compile hands the new Router to both HTTP entrypoints (the proxy's
// minimal Ingress router stops at the first call). Certificates of Ingress
// TLS sections stay with the proxy's own Secret sync; pass the engine's
// `certificates` store to have IngressRoute tls.secretName Secrets loaded
// into it too (only those no Ingress names, so the two never unload each
// other's).

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
    certificatesFrom: 'ingressroutes',
    ...opts,
    backends: { backend: (ref: ServicePortRef) => proxy.backends.get(ref) },
    onRouter: (router) => proxy.setRouters({ web: router, websecure: router }),
  });
  controller.start();
  return controller;
}
