// `metalgate speaker`: flags in, a running speaker out, until SIGTERM; then
// a clean stop (Lease deleted, IPs handed over at once).
import type { Logger } from 'pino';
import { poolNamespacesOf, UsageError, type FlagValues } from '../common/flags.ts';
import { logOptionsOf } from '../common/log.ts';
import { runComponent } from '../common/run-component.ts';
import { loadKubeClient } from '../kube/client.ts';
import { ingressEngineFlagOptions, type IngressEngineFlagOptions } from '../ingress/k8s/ingress-flags.ts';
import { proxyFlagOptions, type ProxyFlagOptions } from '../proxy/proxy-flags.ts';
import type { KubeClient } from '../kube/api/kube-client.ts';
import { SharedInformers } from '../kube/shared-informers.ts';
import type { Proxy } from '../proxy/proxy.ts';
import type { ProxyWorkerData } from '../proxy/workers/proxy-worker.ts';
import { defaultSpeakerOptions, Speaker, type SpeakerOptions } from './speaker.ts';

function speakerOptions(f: FlagValues): SpeakerOptions {
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
    poolNamespaces: poolNamespacesOf(f),
    dataplane: f.dataplane !== false,
    announce: { refreshIntervalMs: refreshSeconds * 1000 },
    stopLingerMs: Number(f['stop-linger']) * 1000,
    handoverForward: f['handover-forward'] !== false,
  };
}

/** After the handover the neighbours send here no more: a short last drain. */
const AFTER_HANDOVER_GRACE_MS = 1000;

export async function runSpeaker(f: FlagValues, log: Logger): Promise<number> {
  const opts = speakerOptions(f);
  const px = proxyFlagOptions(f);
  const kc = loadKubeClient(typeof f.kubeconfig === 'string' ? f.kubeconfig : undefined);
  // One cluster view for the node: the speaker, the proxy and the ingress read the same informers.
  const view = new SharedInformers(kc, log);
  const speaker = new Speaker(kc, log, opts, undefined, view);
  let stopping = false;
  let speakerStarted = false;
  const proxy = px.enabled ? await startProxy(speaker, kc, view, log, opts, px, ingressEngineFlagOptions(f), f) : undefined;
  return runComponent(
    {
      name: 'speaker',
      registry: speaker.registry,
      ...(proxy?.metrics ? { metrics: proxy.metrics } : {}),
      ...(proxy?.config ? { config: proxy.config } : {}),
      // The proxy first: until it is ready the speaker does not even start.
      notReadyReason: () => proxy?.notReadyReason() ?? speaker.notReadyReason(),
      async start() {
        // Join the election only once the proxy can serve: an IP moved here
        // before its listeners are up would refuse connections meanwhile
        // (a rollout restarts every node's speaker in turn).
        if (proxy && !(await untilProxyReady(proxy, log, () => stopping))) return;
        speakerStarted = true;
        await speaker.start();
      },
      async stop(failedStart) {
        stopping = true;
        if (failedStart) {
          if (speakerStarted) await speaker.stop().catch(() => {});
          await proxy?.stop(0);
          await view.stop();
          return;
        }
        // Still the owner: let in-flight work finish (bounded), then hand the
        // IPs over (their listeners close as they go), then close what is
        // left (docs/architecture.md says why in this order).
        await proxy?.settle();
        await speaker.stop();
        await proxy?.stop(AFTER_HANDOVER_GRACE_MS);
        await view.stop();
      },
    },
    f,
    log,
  );
}

const PROXY_READY_POLL_MS = 50;
const PROXY_WAIT_LOG_MS = 10_000;

/** Resolves true once the proxy is ready, false if the component is stopping first. */
async function untilProxyReady(proxy: SpeakerProxy, log: Logger, stopping: () => boolean): Promise<boolean> {
  const since = performance.now();
  let logged = since;
  let reason = proxy.notReadyReason();
  if (reason === undefined) return true;
  log.info({ reason }, 'waiting for the proxy to be ready before joining the election');
  while ((reason = proxy.notReadyReason()) !== undefined) {
    if (stopping()) return false;
    if (performance.now() - logged > PROXY_WAIT_LOG_MS) {
      logged = performance.now();
      log.warn({ reason, waitedMs: Math.round(logged - since) }, 'still waiting for the proxy before joining the election');
    }
    await new Promise((r) => setTimeout(r, PROXY_READY_POLL_MS));
  }
  log.info({ waitedMs: Math.round(performance.now() - since) }, 'proxy ready: joining the election');
  return !stopping();
}

/** The proxy as the speaker drives it, in its own thread or in worker threads. */
interface SpeakerProxy {
  notReadyReason(): string | undefined;
  settle(): Promise<unknown>;
  stop(graceMs: number): Promise<void>;
  /** The /metrics page when part of it lives in worker threads. */
  metrics?: () => Promise<string>;
  /** The proxy configuration in force (GET /config). */
  config?: () => unknown;
}

async function startProxy(
  speaker: Speaker,
  kc: KubeClient,
  view: SharedInformers,
  log: Logger,
  opts: SpeakerOptions,
  px: ProxyFlagOptions,
  ing: IngressEngineFlagOptions,
  f: FlagValues,
): Promise<SpeakerProxy> {
  const workers = px.workers > 1;
  // The configuration is built here from the node's view; it is served here
  // (one thread) or by worker threads (docs/architecture.md).
  const { startProxyStack } = await import('./proxy-stack.ts');
  // Subscribed before the speaker starts: no ownership event is missed.
  const { proxy, ingress } = await startProxyStack(kc, log, speaker.registry, speaker, { speaker: opts, px, ing, view, serve: !workers });
  const here: SpeakerProxy = {
    config: () => proxy.config.dump(),
    notReadyReason: () => proxy.notReadyReason(),
    settle: () => proxy.settle(),
    async stop(graceMs) {
      await proxy.stop(graceMs);
      await ingress?.stop();
    },
  };
  if (!workers) {
    speaker.gateAnnouncements((ip) => proxy.whenServing(ip));
    return here;
  }
  const pool = await startWorkers(speaker, proxy, log, px, f);
  return {
    config: here.config,
    notReadyReason: () => proxy.notReadyReason() ?? pool.notReadyReason(),
    settle: pool.settle,
    async stop(graceMs) {
      await pool.stop(graceMs);
      await here.stop(0);
    },
    ...(pool.metrics ? { metrics: pool.metrics } : {}),
  };
}

/** --proxy-workers N > 1: the proxy serves in N worker threads; this thread reads the cluster, announces and decides. */
async function startWorkers(speaker: Speaker, proxy: Proxy, log: Logger, px: ProxyFlagOptions, f: FlagValues): Promise<SpeakerProxy> {
  const [{ ProxyWorkerPool }, { AggregatorRegistry }, { allocateSharedLimits }] = await Promise.all([
    import('../proxy/workers/worker-pool.ts'),
    import('../common/prom-classes.ts'),
    import('../ingress/runtime/shared-limits.ts'),
  ]);
  // The worker module next to this one (.ts from the sources, .js when built).
  const here = import.meta.url;
  const entry = new URL(`../proxy/workers/proxy-worker${here.slice(here.lastIndexOf('.'))}`, here);
  // One set of limit tables for all workers: a client is counted once per node, as nginx's workers share a zone.
  const data: ProxyWorkerData = { flags: f, log: logOptionsOf(String(f['log-level']), String(f['log-format']), 'speaker'), limits: allocateSharedLimits() };
  const pool = new ProxyWorkerPool({
    count: px.workers,
    entry,
    workerData: data,
    log: log.child({ component: 'proxy-workers' }),
    config: proxy,
    registry: speaker.registry,
    // Announcing IPs nobody here can serve would blackhole them: hand them over (the SIGTERM path) and let the pod restart.
    onGiveUp(reason) {
      log.error({ reason }, 'proxy workers keep dying: handing the IPs over and exiting');
      process.kill(process.pid, 'SIGTERM');
    },
  });
  pool.start();
  // A gained IP's listeners go out with the plan that follows its ownership
  // event; once the workers have applied that, they listen on it.
  speaker.gateAnnouncements(async (ip) => {
    await proxy.planned();
    await Promise.all([pool.applied(), proxy.whenServing(ip)]);
  });
  return {
    notReadyReason: () => pool.notReadyReason(),
    settle: () => pool.settle(px.options.drainGraceMs),
    stop: (graceMs) => pool.stop(graceMs),
    async metrics() {
      const [own, workers] = await Promise.all([speaker.registry.getMetricsAsJSON(), pool.metrics()]);
      return AggregatorRegistry.aggregate([own, ...workers]).metrics();
    },
  };
}
