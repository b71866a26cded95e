// A proxy worker process of `metalgate speaker` (--proxy-workers > 1): the
// same proxy and rule engine as in-process, following the ownership its
// primary relays. It binds the owned IP:ports with SO_REUSEPORT beside its
// siblings, reports readiness, drains when told, and exits when the primary
// is gone (a kill -9 of the primary must not leave orphans serving).
import cluster from 'node:cluster';
import type { Logger } from 'pino';
import { AggregatorRegistry, Registry } from 'prom-client';
import type { FlagValues } from '../common/flags.ts';
import { ingressEngineFlagOptions } from '../ingress/k8s/ingress-flags.ts';
import { loadKubeConfig } from '../kube/client.ts';
import { ManualOwnership } from '../proxy/listeners/manual-ownership.ts';
import { proxyFlagOptions } from '../proxy/proxy-flags.ts';
import { isToWorker, type FromWorker, type ToWorker } from '../proxy/workers/messages.ts';
import { speakerOptions } from './main.ts';
import { startProxyStack } from './proxy-stack.ts';

const READY_POLL_MS = 250;

function send(m: FromWorker): void {
  if (process.connected) process.send?.(m);
}

export async function runProxyWorker(f: FlagValues, log: Logger): Promise<number> {
  // A Ctrl-C reaches the whole process group: the primary orders the stop.
  process.on('SIGINT', () => {});
  process.on('SIGTERM', () => {});
  // node:cluster exits a worker (code 0) on its own when the channel closes;
  // the worker's 'disconnect' event comes first, so the reason gets logged
  // and the exit code says it was not asked for.
  let stopping = false;
  cluster.worker?.once('disconnect', () => {
    if (stopping) return;
    log.warn('the speaker process is gone: proxy worker exiting');
    process.exit(1);
  });
  // One handler from the first moment: an ownership change that arrives
  // while the proxy is still loading is applied, not lost; requests wait
  // for the proxy.
  const ownership = new ManualOwnership();
  const pending: ToWorker[] = [];
  let serve: ((m: ToWorker) => void) | undefined;
  let gotInit: ((m: Extract<ToWorker, { mg: 'init' }>) => void) | undefined;
  const init = new Promise<Extract<ToWorker, { mg: 'init' }>>((resolve) => (gotInit = resolve));
  process.on('message', (m: unknown) => {
    if (!isToWorker(m)) return;
    if (m.mg === 'init') {
      for (const ip of m.owned) ownership.own(ip);
      gotInit?.(m);
    } else if (m.mg === 'ownership') {
      if (m.owned) ownership.own(m.ip);
      else ownership.release(m.ip);
      // The proxy binds in the same tick (listen's address lookup of an IP
      // literal completes on the next tick): after setImmediate it listens.
      const id = m.id;
      if (id !== undefined) setImmediate(() => send({ mg: 'applied', id }));
    } else if (serve) serve(m);
    else pending.push(m);
  });
  const { index, report } = await init;
  const wlog = log.child({ worker: index });
  const kc = loadKubeConfig(typeof f.kubeconfig === 'string' ? f.kubeconfig : undefined);
  const registry = new Registry();
  // Keeps prom-client's own cluster listener (it answers AggregatorRegistry requests) away from the global registry.
  AggregatorRegistry.setRegistries([registry]);
  const { proxy, ingress } = await startProxyStack(kc, wlog, registry, ownership, {
    speaker: speakerOptions(f),
    px: proxyFlagOptions(f),
    ing: ingressEngineFlagOptions(f),
    reusePort: true,
    report,
  });
  let lastReady: string | null | undefined;
  const poll = setInterval(() => {
    const reason = proxy.notReadyReason() ?? null;
    if (reason === lastReady) return;
    lastReady = reason;
    send({ mg: 'ready', reason });
  }, READY_POLL_MS);
  return new Promise<number>((resolve) => {
    serve = (m) => {
      if (m.mg === 'settle') {
        void proxy.settle(m.graceMs).then((busy) => send({ mg: 'settled', id: m.id, busy }));
      } else if (m.mg === 'metrics') {
        void registry.getMetricsAsJSON().then((metrics) => send({ mg: 'metrics', id: m.id, metrics }));
      } else if (m.mg === 'stop') {
        clearInterval(poll);
        stopping = true;
        void (async () => {
          await proxy.stop(m.graceMs);
          await ingress?.stop();
          send({ mg: 'stopped' });
          stopping = true;
          // node:cluster ends the process once the channel is closed.
          process.disconnect();
          resolve(0);
        })();
      }
    };
    for (const m of pending.splice(0)) serve(m);
  });
}
