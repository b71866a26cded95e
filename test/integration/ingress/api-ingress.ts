// The ingress as the speaker runs it, against the real API server of a test:
// the proxy with its HTTP engine, the entrypoint Service's VIP owned here,
// the ingress controller attached (Events recorded), and small HTTP "pods"
// on addresses of the test range. One setup and one teardown for the tests
// that apply Ingresses and Traefik objects with the API and request the VIP.
import http from 'node:http';
import type * as k8s from '@kubernetes/client-node';
import { attachIngressEngine } from '../../../src/ingress/k8s/attach-to-proxy.ts';
import type { IngressController } from '../../../src/ingress/k8s/ingress-controller.ts';
import type { IngressClassOptions } from '../../../src/ingress/translate/ingress-class.ts';
import { EventRecorder } from '../../../src/kube/events.ts';
import { createHttpEngine } from '../../../src/proxy/k8s/http-engine.ts';
import type { Proxy } from '../../../src/proxy/proxy.ts';
import { ensureNamespace } from '../helpers/cluster.ts';
import { testLogger } from '../speaker/helpers.ts';
import { createLbService, dialAddress, startProxy, waitListening, type SvcPort } from '../proxy/k8s-helpers.ts';
import { productClient } from '../../support/kube-config.ts';

export interface ApiIngress {
  readonly proxy: Proxy;
  readonly engine: IngressController;
  /** An HTTP server standing for a pod at `ip:port`. */
  pod(ip: string, port: number, handler: http.RequestListener): Promise<http.Server>;
  stop(): Promise<void>;
}

export async function startApiIngress(
  kc: k8s.KubeConfig,
  core: k8s.CoreV1Api,
  o: { namespace: string; vip: string; classes?: IngressClassOptions; crdRetryMs?: number; entrypointPorts?: SvcPort[] },
): Promise<ApiIngress> {
  const { proxy, ownership } = await startProxy(kc, {}, (registry) => createHttpEngine({ log: testLogger().child({ component: 'http' }), registry, accessLogSampleRate: 0 }));
  await ensureNamespace(core, o.namespace);
  // Port 80 is the HTTP entry point; other named ports are entry points of TCP and UDP routes.
  await createLbService(core, 'metalgate-system', 'metalgate-ingress', [{ name: 'web', port: 80 }, ...(o.entrypointPorts ?? [])], o.vip);
  ownership.own(o.vip);
  await waitListening(proxy, `TCP ${o.vip}:80`);
  const engine = attachIngressEngine(productClient(kc), testLogger().child({ component: 'ingress' }), proxy, {
    events: new EventRecorder(productClient(kc), testLogger(), 'metalgate-ingress'),
    entrypointService: 'metalgate-system/metalgate-ingress',
    ...(o.classes ? { classes: o.classes } : {}),
    ...(o.crdRetryMs !== undefined ? { crdRetryMs: o.crdRetryMs } : {}),
  });
  const servers: http.Server[] = [];
  return {
    proxy,
    engine,
    async pod(ip, port, handler) {
      const s = http.createServer(handler);
      servers.push(s);
      await new Promise<void>((r) => s.listen(port, dialAddress(ip), r));
      return s;
    },
    async stop() {
      await engine.stop();
      await proxy.stop(1000);
      for (const s of servers) {
        s.closeAllConnections();
        s.close();
      }
    },
  };
}
