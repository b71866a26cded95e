// `metalgate speaker`: flags in, a running speaker out, until SIGTERM; then
// a clean stop (Lease deleted, IPs handed over at once).
import type { Logger } from 'pino';
import { UsageError, type FlagValues } from '../common/flags.ts';
import { runComponent } from '../common/run-component.ts';
import { loadKubeConfig } from '../kube/client.ts';
import { ingressEngineFlagOptions, type IngressEngineFlagOptions } from '../ingress/k8s/ingress-flags.ts';
import type { IngressController } from '../ingress/k8s/ingress-controller.ts';
import type { Proxy } from '../proxy/proxy.ts';
import { proxyFlagOptions, type ProxyFlagOptions } from '../proxy/proxy-flags.ts';
import type { KubeConfig } from '@kubernetes/client-node';
import { defaultSpeakerOptions, Speaker, type SpeakerOptions } from './speaker.ts';

export function speakerOptions(f: FlagValues): SpeakerOptions {
  const nodeName = typeof f['node-name'] === 'string' ? f['node-name'].trim() : '';
  if (!nodeName) throw new UsageError('--node-name (or NODE_NAME) is required: the speaker announces for its node');
  const renewIntervalMs = Number(f['lease-renew-interval']) * 1000;
  const leaseDurationSeconds = Number(f['lease-duration']);
  if (!(renewIntervalMs > 0)) throw new UsageError('--lease-renew-interval must be positive');
  if (!(Number.isInteger(leaseDurationSeconds) && leaseDurationSeconds >= 1)) {
    throw new UsageError('--lease-duration must be a whole number of seconds, at least 1');
  }
  if (renewIntervalMs >= leaseDurationSeconds * 1000) {
    throw new UsageError('--lease-renew-interval must be shorter than --lease-duration');
  }
  const refreshSeconds = Number(f['announce-refresh']);
  if (!(refreshSeconds >= 1)) throw new UsageError('--announce-refresh must be at least 1 second');
  const iface = typeof f.interface === 'string' && f.interface.trim() ? f.interface.trim() : undefined;
  return {
    ...defaultSpeakerOptions,
    nodeName,
    namespace: String(f.namespace),
    ownClassOnly: f['own-class-only'] === true,
    className: String(f['lb-class']),
    renewIntervalMs,
    leaseDurationSeconds,
    holderDevice: String(f['holder-device']),
    interface: iface,
    dataplane: f.dataplane !== false,
    announce: { refreshIntervalMs: refreshSeconds * 1000 },
    stopLingerMs: Number(f['stop-linger']) * 1000,
  };
}

/** After the handover the neighbours send here no more: a short last drain. */
const AFTER_HANDOVER_GRACE_MS = 1000;

export async function runSpeaker(f: FlagValues, log: Logger): Promise<number> {
  const opts = speakerOptions(f);
  const px = proxyFlagOptions(f);
  const kc = loadKubeConfig(typeof f.kubeconfig === 'string' ? f.kubeconfig : undefined);
  const speaker = new Speaker(kc, log, opts);
  // The proxy shares the process and the registry (docs/architecture.md).
  const proxy = px.enabled ? await startProxyFor(speaker, kc, log, opts, px) : undefined;
  const ingress = proxy && px.http ? await attachIngressFor(proxy, speaker, kc, log, opts, px, ingressEngineFlagOptions(f)) : undefined;
  return runComponent(
    {
      name: 'speaker',
      registry: speaker.registry,
      notReadyReason: () => speaker.notReadyReason() ?? proxy?.notReadyReason(),
      start: () => speaker.start(),
      async stop(failedStart) {
        if (failedStart) {
          await ingress?.stop().catch(() => {});
          await speaker.stop().catch(() => {});
          await proxy?.stop(0);
          return;
        }
        // Still the owner: let in-flight work finish (bounded), then hand the
        // IPs over (their listeners close as they go), then close what is
        // left (docs/architecture.md says why in this order).
        await proxy?.settle();
        await speaker.stop();
        await proxy?.stop(AFTER_HANDOVER_GRACE_MS);
        await ingress?.stop();
      },
    },
    f,
    log,
  );
}

async function startProxyFor(speaker: Speaker, kc: KubeConfig, log: Logger, opts: SpeakerOptions, px: ProxyFlagOptions) {
  const { createProxy, defaultProxyOptions } = await import('../proxy/proxy.ts');
  const proxy = createProxy(
    kc,
    log.child({ component: 'proxy' }),
    {
      ...defaultProxyOptions,
      ...px.options,
      ...(px.defaultCertificate !== undefined ? { defaultCertificate: px.defaultCertificate } : {}),
      nodeName: opts.nodeName,
      ownClassOnly: opts.ownClassOnly,
      className: opts.className,
    },
    speaker.registry,
    px.http,
  );
  // Subscribed before the speaker starts: no ownership event is missed.
  proxy.start(speaker);
  return proxy;
}

/**
 * The full rule engine (Ingress with ingress-nginx annotations, Traefik CRDs)
 * replaces the proxy's minimal host+path router at its first compile; with
 * --ingress-minimal-router the proxy keeps its own.
 */
async function attachIngressFor(
  proxy: Proxy,
  speaker: Speaker,
  kc: KubeConfig,
  log: Logger,
  opts: SpeakerOptions,
  px: ProxyFlagOptions,
  ing: IngressEngineFlagOptions,
): Promise<IngressController | undefined> {
  if (!ing.enabled) return undefined;
  const [{ attachIngressEngine }, { EventRecorder }, bcrypt] = await Promise.all([
    import('../ingress/k8s/attach-to-proxy.ts'),
    import('../kube/events.ts'),
    import('bcryptjs'),
  ]);
  const ingressLog = log.child({ component: 'ingress' });
  const certificates = proxy.certificates;
  return attachIngressEngine(kc, ingressLog, proxy, {
    ...ing.options,
    events: new EventRecorder(kc, ingressLog, 'metalgate-ingress', opts.nodeName),
    entrypointService: px.options.entrypoint,
    classes: { className: px.options.ingressClass, watchWithoutClass: px.options.ingressWithoutClass },
    ...(certificates ? { certificates } : {}),
    ...(ing.flaggerMetrics ? { flaggerMetrics: speaker.registry } : {}),
    bcrypt: (password, hash) => bcrypt.default.compareSync(password, hash),
  });
}
