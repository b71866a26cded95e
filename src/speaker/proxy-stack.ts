// The proxy and the ingress rule engine as `metalgate speaker` runs them in
// the speaker's thread: both read the node's one cluster view and build
// the proxy configuration, which is served on this thread (one core) or
// by the proxy worker threads (src/proxy/workers) it is sent to. Either
// way they follow the Speaker's ownership.
import type { KubeClient } from '../kube/api/kube-client.ts';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { IngressEngineFlagOptions } from '../ingress/k8s/ingress-flags.ts';
import type { IngressController } from '../ingress/k8s/ingress-controller.ts';
import type { SharedInformers } from '../kube/shared-informers.ts';
import type { OwnershipSource } from '../proxy/listeners/manual-ownership.ts';
import type { ProxyFlagOptions } from '../proxy/proxy-flags.ts';
import type { Proxy } from '../proxy/proxy.ts';
import type { SpeakerOptions } from './speaker.ts';

export interface ProxyStackOptions {
  /** This node and the speaker's class filter (the speaker's own options fit). */
  speaker: Pick<SpeakerOptions, 'nodeName' | 'ownClassOnly' | 'className'>;
  px: ProxyFlagOptions;
  ing: IngressEngineFlagOptions;
  /** The node's shared informers (the speaker reads the same). */
  view: SharedInformers;
  /** Serve here; false: worker threads serve the configuration. */
  serve: boolean;
}

export interface ProxyStack {
  readonly proxy: Proxy;
  readonly ingress: IngressController | undefined;
}

/** Builds the proxy, subscribes it to `ownership` (before the speaker starts: no event missed), attaches the rule engine. */
export async function startProxyStack(kc: KubeClient, log: Logger, registry: Registry, ownership: OwnershipSource, o: ProxyStackOptions): Promise<ProxyStack> {
  const { createProxy, defaultProxyOptions } = await import('../proxy/proxy.ts');
  const px = o.px;
  const proxy = createProxy(
    kc,
    log.child({ component: 'proxy' }),
    {
      ...defaultProxyOptions,
      ...px.options,
      ...(px.defaultCertificate !== undefined ? { defaultCertificate: px.defaultCertificate } : {}),
      nodeName: o.speaker.nodeName,
      ownClassOnly: o.speaker.ownClassOnly,
      className: o.speaker.className,
      serve: o.serve,
      ...(o.ing.flaggerMetrics ? { flaggerMetrics: registry } : {}),
    },
    registry,
    px.http,
    o.view,
  );
  proxy.start(ownership);
  const ingress = px.http ? await attachIngressFor(proxy, kc, log, o) : undefined;
  return { proxy, ingress };
}

/** The rule engine (Ingress with ingress-nginx annotations, Traefik CRDs) feeds the proxy's configuration its routes. */
async function attachIngressFor(proxy: Proxy, kc: KubeClient, log: Logger, o: ProxyStackOptions): Promise<IngressController> {
  const [{ attachIngressEngine }, { EventRecorder }] = await Promise.all([import('../ingress/k8s/attach-to-proxy.ts'), import('../kube/events.ts')]);
  const ingressLog = log.child({ component: 'ingress' });
  return attachIngressEngine(kc, ingressLog, proxy, {
    ...o.ing.options,
    events: new EventRecorder(kc, ingressLog, 'metalgate-ingress', o.speaker.nodeName),
    entrypointService: o.px.options.entrypoint,
    // --default-certificate wins over a TLSStore's.
    tlsStoreDefault: o.px.defaultCertificate === undefined,
    classes: { className: o.px.options.ingressClass, watchWithoutClass: o.px.options.ingressWithoutClass },
  });
}
