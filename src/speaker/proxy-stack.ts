// The proxy and the ingress rule engine as `metalgate speaker` runs them:
// in the speaker's process (one core), or in each proxy worker process
// (src/proxy/workers). Either way they follow an OwnershipSource: the
// Speaker itself, or the ownership the primary relays over IPC.
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { IngressEngineFlagOptions } from '../ingress/k8s/ingress-flags.ts';
import type { IngressController } from '../ingress/k8s/ingress-controller.ts';
import type { OwnershipSource } from '../proxy/listeners/manual-ownership.ts';
import type { ProxyFlagOptions } from '../proxy/proxy-flags.ts';
import type { Proxy } from '../proxy/proxy.ts';
import type { SpeakerOptions } from './speaker.ts';

export interface ProxyStackOptions {
  /** This node and the speaker's class filter (the speaker's own options fit). */
  speaker: Pick<SpeakerOptions, 'nodeName' | 'ownClassOnly' | 'className'>;
  px: ProxyFlagOptions;
  ing: IngressEngineFlagOptions;
  /** Bind with SO_REUSEPORT (several worker processes bind the same addresses). */
  reusePort: boolean;
  /** Write Events and Ingress status: one process per node does (the only one, or worker 0). */
  report: boolean;
}

export interface ProxyStack {
  readonly proxy: Proxy;
  readonly ingress: IngressController | undefined;
}

/** Builds the proxy, subscribes it to `ownership` (before the speaker starts: no event missed), attaches the rule engine. */
export async function startProxyStack(kc: KubeConfig, log: Logger, registry: Registry, ownership: OwnershipSource, o: ProxyStackOptions): Promise<ProxyStack> {
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
      reusePort: o.reusePort,
      reportEvents: o.report,
    },
    registry,
    px.http,
  );
  proxy.start(ownership);
  const ingress = px.http ? await attachIngressFor(proxy, kc, log, registry, o) : undefined;
  return { proxy, ingress };
}

/**
 * The full rule engine (Ingress with ingress-nginx annotations, Traefik CRDs)
 * replaces the proxy's minimal host+path router at its first compile; with
 * --ingress-minimal-router the proxy keeps its own.
 */
async function attachIngressFor(proxy: Proxy, kc: KubeConfig, log: Logger, registry: Registry, o: ProxyStackOptions): Promise<IngressController | undefined> {
  if (!o.ing.enabled) return undefined;
  const [{ attachIngressEngine }, { EventRecorder }, bcrypt] = await Promise.all([
    import('../ingress/k8s/attach-to-proxy.ts'),
    import('../kube/events.ts'),
    import('bcryptjs'),
  ]);
  const ingressLog = log.child({ component: 'ingress' });
  const certificates = proxy.certificates;
  return attachIngressEngine(kc, ingressLog, proxy, {
    ...o.ing.options,
    ...(o.report ? { events: new EventRecorder(kc, ingressLog, 'metalgate-ingress', o.speaker.nodeName) } : {}),
    // Empty: no Ingress status writes from this process.
    entrypointService: o.report ? o.px.options.entrypoint : '',
    classes: { className: o.px.options.ingressClass, watchWithoutClass: o.px.options.ingressWithoutClass },
    ...(certificates ? { certificates } : {}),
    ...(o.ing.flaggerMetrics ? { flaggerMetrics: registry } : {}),
    bcrypt: (password, hash) => bcrypt.default.compareSync(password, hash),
  });
}
