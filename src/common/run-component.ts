// What every long-running command does around its component: process
// metrics, /metrics + /healthz + /readyz, start, wait for SIGTERM/SIGINT,
// stop in the component's own order, exit code.
import { once } from 'node:events';
import type { Logger } from 'pino';
import type { Registry } from './prom-classes.ts';
import { registerProcessMetrics } from './process-metrics.ts';
import type { FlagValues } from './flags.ts';
import { startHealthServer } from './http-server.ts';
import { errorText } from './error-text.ts';
import { HeapReclaimer } from './heap-reclaimer.ts';

export interface RunnableComponent {
  readonly name: string;
  readonly registry: Registry;
  /** The /metrics page, when it is more than `registry` (metrics of worker threads merged in). */
  readonly metrics?: () => Promise<string>;
  /** The configuration in force, served as JSON at /config. */
  readonly config?: () => unknown;
  /** Undefined when ready. */
  notReadyReason(): string | undefined;
  start(): void | Promise<void>;
  /** `failedStart`: start() threw, tear down without the graceful sequence. */
  stop(failedStart: boolean): Promise<void>;
}

/** Runs until SIGTERM or SIGINT; resolves with the process exit code. */
export async function runComponent(c: RunnableComponent, f: FlagValues, log: Logger): Promise<number> {
  registerProcessMetrics(c.registry, `metalgate_${c.name}_`);
  // The process's own thread; a speaker's proxy workers run one each (proxy-worker.ts).
  const reclaimer = HeapReclaimer.start(log.child({ component: 'heap' }), c.registry, `metalgate_${c.name}_heap_reclaims_total`);
  try {
    return await run(c, f, log);
  } finally {
    reclaimer?.stop();
  }
}

async function run(c: RunnableComponent, f: FlagValues, log: Logger): Promise<number> {
  const port = Number(f['metrics-port']);
  const server =
    port > 0
      ? await startHealthServer({ host: String(f['metrics-address']), port, registry: c.registry, ...(c.metrics ? { metrics: c.metrics } : {}), ...(c.config ? { config: c.config } : {}), ready: () => c.notReadyReason() })
      : undefined;
  if (server) log.info({ address: server.address() }, `serving /metrics, /healthz, /readyz${c.config ? ', /config' : ''}`);
  // Listen before starting: a SIGTERM during a slow start is not lost, and
  // a start that waits (the speaker waits for its proxy) ends with it.
  const signal = Promise.race([once(process, 'SIGTERM'), once(process, 'SIGINT')]);
  let first: 'started' | 'signal';
  try {
    first = await Promise.race([Promise.resolve(c.start()).then(() => 'started' as const), signal.then(() => 'signal' as const)]);
  } catch (err) {
    log.error({ err: errorText(err) }, `${c.name} could not start`);
    await c.stop(true).catch(() => {});
    server?.close();
    return 1;
  }
  if (first === 'signal') {
    log.info('stopping before the start completed');
    await c.stop(true).catch(() => {});
    server?.close();
    return 0;
  }
  const [name] = await signal;
  log.info({ signal: name }, 'stopping');
  await c.stop(false);
  server?.close();
  return 0;
}
