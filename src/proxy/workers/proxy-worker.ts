// A proxy worker of `metalgate speaker` (--proxy-workers > 1): a worker
// thread of the speaker's process that serves the configuration its primary
// sends (ProxyRuntime) and nothing else - no API connection, no Events. It
// binds the owned IP:ports with SO_REUSEPORT beside its siblings, reports
// readiness, drains when told, and ends when told to stop. Being a thread, it
// cannot outlive the speaker's process.
//
// This module is the thread's entry: ProxyWorkerPool starts it with a
// ProxyWorkerData, and it runs at once when loaded on a worker thread.
import { isMainThread, parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { Registry } from '../../common/prom-classes.ts';
import type { FlagValues } from '../../common/flags.ts';
import { HeapReclaimer } from '../../common/heap-reclaimer.ts';
import { createLogger, flushLog, type LogOptions, type Logger } from '../../common/log.ts';
import { ingressEngineFlagOptions } from '../../ingress/k8s/ingress-flags.ts';
import type { SharedLimitsMemory } from '../../ingress/runtime/shared-limits.ts';
import { createHttpEngine } from '../k8s/http-engine.ts';
import { ListenerMetrics } from '../listeners/listener-metrics.ts';
import { proxyFlagOptions } from '../proxy-flags.ts';
import { ProxyRuntime } from '../proxy-runtime.ts';
import { isToWorker, type FromWorker, type ToWorker } from './messages.ts';

/** What the primary gives a worker thread when it starts it. */
export interface ProxyWorkerData {
  /** The primary's parsed flags: the worker serves with the same settings. */
  readonly flags: FlagValues;
  /** The primary's logger settings, resolved (a thread has no terminal of its own to look at). */
  readonly log: LogOptions;
  /** The rate and in-flight limits' tables: the same memory in every worker, so a client is counted once per node. */
  readonly limits: SharedLimitsMemory;
}

export function runProxyWorker(data: ProxyWorkerData, port: MessagePort): void {
  const log: Logger = createLogger(data.log);
  const send = (m: FromWorker): void => port.postMessage(m);
  const px = proxyFlagOptions(data.flags);
  const ing = ingressEngineFlagOptions(data.flags);
  const registry = new Registry();
  const o = px.options;
  let runtime: ProxyRuntime | undefined;
  let reclaimer: HeapReclaimer | undefined;
  const handle = (m: ToWorker): void => {
    if (m.mg === 'init') {
      const wlog = log.child({ worker: m.index });
      // Built here, with the worker's index in its logger: access-log lines say which worker served.
      const http = px.http ? createHttpEngine({ log: wlog, registry, accessLogSampleRate: o.accessLogSampleRate, tlsPolicy: o.tlsPolicy, underscoresInHeaders: o.underscoresInHeaders }) : undefined;
      runtime = new ProxyRuntime({
        log: wlog.child({ component: 'proxy' }),
        metrics: new ListenerMetrics(registry),
        ...(http ? { http } : {}),
        unbindGraceMs: o.unbindGraceMs,
        drainGraceMs: o.drainGraceMs,
        accessLogSampleRate: o.accessLogSampleRate,
        reusePort: true,
        sharedLimits: data.limits,
        ...(ing.flaggerMetrics ? { flaggerMetrics: registry } : {}),
      });
      runtime.apply(m.config);
      reclaimer = HeapReclaimer.start(wlog.child({ component: 'heap' }), registry, 'metalgate_proxy_heap_reclaims_total');
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
      void (async () => {
        reclaimer?.stop();
        await runtime?.stop(m.graceMs);
        await flushLog(log);
        send({ mg: 'stopped' });
        // Ends this thread, not the process.
        process.exit(0);
      })();
    }
  };
  port.on('message', (m: unknown) => {
    if (isToWorker(m)) handle(m);
  });
  send({ mg: 'ready', reason: 'waiting for the configuration' });
}

if (!isMainThread && parentPort !== null) runProxyWorker(workerData as ProxyWorkerData, parentPort);
