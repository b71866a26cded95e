// A proxy worker process of `metalgate speaker` (--proxy-workers > 1): it
// serves the configuration its primary sends (ProxyRuntime) and nothing
// else - no API connection, no Events. It binds the owned IP:ports with
// SO_REUSEPORT beside its siblings, reports readiness, drains when told,
// and exits when the primary is gone (a kill -9 of the primary must not
// leave orphans serving).
import cluster from 'node:cluster';
import type { Logger } from 'pino';
import { AggregatorRegistry, Registry } from 'prom-client';
import type { FlagValues } from '../../common/flags.ts';
import { ingressEngineFlagOptions } from '../../ingress/k8s/ingress-flags.ts';
import { createHttpEngine } from '../k8s/http-engine.ts';
import { ListenerMetrics } from '../listeners/listener-metrics.ts';
import { proxyFlagOptions } from '../proxy-flags.ts';
import { ProxyRuntime } from '../proxy-runtime.ts';
import { isToWorker, type FromWorker, type ToWorker } from './messages.ts';

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
  const px = proxyFlagOptions(f);
  const ing = ingressEngineFlagOptions(f);
  const registry = new Registry();
  // Keeps prom-client's own cluster listener (it answers AggregatorRegistry requests) away from the global registry.
  AggregatorRegistry.setRegistries([registry]);
  const o = px.options;
  const http = px.http ? createHttpEngine({ log, registry, accessLogSampleRate: o.accessLogSampleRate, tlsPolicy: o.tlsPolicy, underscoresInHeaders: o.underscoresInHeaders }) : undefined;
  let runtime: ProxyRuntime | undefined;
  let wlog = log;
  return new Promise<number>((resolve) => {
    const handle = (m: ToWorker): void => {
      if (m.mg === 'init') {
        wlog = log.child({ worker: m.index });
        runtime = new ProxyRuntime({
          log: wlog.child({ component: 'proxy' }),
          metrics: new ListenerMetrics(registry),
          ...(http ? { http } : {}),
          unbindGraceMs: o.unbindGraceMs,
          drainGraceMs: o.drainGraceMs,
          accessLogSampleRate: o.accessLogSampleRate,
          reusePort: true,
          ...(ing.flaggerMetrics ? { flaggerMetrics: registry } : {}),
        });
        runtime.apply(m.config);
        wlog.info({ version: m.config.version }, 'proxy worker serving');
        send({ mg: 'ready', reason: null });
      } else if (m.mg === 'config') {
        runtime?.apply(m.update);
      } else if (m.mg === 'sync') {
        // Listening on an IP literal completes on the next tick: after setImmediate the sockets are bound.
        const id = m.id;
        setImmediate(() => send({ mg: 'applied', id }));
      } else if (m.mg === 'settle') {
        void (runtime?.settle(m.graceMs) ?? Promise.resolve(0)).then((busy) => send({ mg: 'settled', id: m.id, busy }));
      } else if (m.mg === 'metrics') {
        void registry.getMetricsAsJSON().then((metrics) => send({ mg: 'metrics', id: m.id, metrics }));
      } else if (m.mg === 'stop') {
        stopping = true;
        void (async () => {
          await runtime?.stop(m.graceMs);
          send({ mg: 'stopped' });
          // node:cluster ends the process once the channel is closed.
          process.disconnect();
          resolve(0);
        })();
      }
    };
    process.on('message', (m: unknown) => {
      if (isToWorker(m)) handle(m);
    });
    send({ mg: 'ready', reason: 'waiting for the configuration' });
  });
}
