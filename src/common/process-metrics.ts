// The process and Node.js metrics every component serves (CPU, resident
// memory, open descriptors, event-loop lag, V8 heap and GC, Node's version),
// under its prefix: what prom-client's collectDefaultMetrics registers, by
// the same names, without loading it. Its index loads the Pushgateway (with
// node:http and node:https), and its CPU metric @opentelemetry/api, for trace
// exemplars metalgate never takes. Measured in a bare process with V8's
// interpreter only, as the controller runs: 55.1 MiB RSS with the index and
// its default metrics, 48.4 with this. So the CPU counters are ours, and the
// other metrics are prom-client's own files (lib/metrics/*.js), reached as
// prom-classes.ts reaches its classes.
//
// Not the place for metalgate's own metrics: each component has a metrics.ts.

import { createRequire } from 'node:module';
import { Counter, type Registry } from './prom-classes.ts';

const load = createRequire(import.meta.url);

/** prom-client's default metrics but its CPU one, in collectDefaultMetrics' order. */
const PROM_CLIENT_METRICS = [
  'processStartTime',
  'osMemoryHeap',
  'processOpenFileDescriptors',
  'processMaxFileDescriptors',
  'eventLoopLag',
  'processResources',
  'processHandles',
  'processRequests',
  'heapSizeAndUsed',
  'heapSpacesSizeAndUsed',
  'version',
  'gc',
] as const;

interface DefaultMetricConfig {
  prefix: string;
  eventLoopMonitoringPrecision: number;
}
type RegisterMetric = (registry: Registry, config: DefaultMetricConfig) => void;

/** Registers the process metrics in `registry`, each name starting with `prefix`. */
export function registerProcessMetrics(registry: Registry, prefix: string): void {
  registerCpuCounters(registry, prefix);
  // prom-client's own default: event-loop lag sampled every 10 ms.
  const config: DefaultMetricConfig = { prefix, eventLoopMonitoringPrecision: 10 };
  for (const name of PROM_CLIENT_METRICS) (load(`prom-client/lib/metrics/${name}`) as RegisterMetric)(registry, config);
}

/** process_cpu_{user,system}_seconds_total and their sum, brought up to date at each scrape. */
function registerCpuCounters(registry: Registry, prefix: string): void {
  let last = process.cpuUsage();
  const registers = [registry];
  const user = new Counter({
    name: `${prefix}process_cpu_user_seconds_total`,
    help: 'Total user CPU time spent in seconds.',
    registers,
    // Registered first, so its collect runs before the other two are read.
    collect() {
      const now = process.cpuUsage();
      const userS = (now.user - last.user) / 1e6;
      const systemS = (now.system - last.system) / 1e6;
      last = now;
      user.inc(userS);
      system.inc(systemS);
      total.inc(userS + systemS);
    },
  });
  const system = new Counter({ name: `${prefix}process_cpu_system_seconds_total`, help: 'Total system CPU time spent in seconds.', registers });
  const total = new Counter({ name: `${prefix}process_cpu_seconds_total`, help: 'Total user and system CPU time spent in seconds.', registers });
}
