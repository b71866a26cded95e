// The primary's side of the proxy workers: starts them (worker_threads of
// the speaker's process, each serving with its own event loop), sends each
// the node's proxy configuration (the whole of it first, then every update),
// restarts one that dies (with backoff; it gets the configuration of the
// moment), and turns their answers into the component's readiness, the drain
// sequence and one /metrics page. Workers bind the owned IP:ports themselves
// with SO_REUSEPORT; the primary holds no proxy socket, so a connection is
// never passed between threads.
//
// Threads, not processes: a worker process cost 76-86 MiB (a Node runtime of
// its own, 41 MiB bare), a worker thread 20 MiB (the binary, libuv and the
// V8 platform shared); the L7 rate was the same (docs/benchmarks.md).

import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { AggregatorRegistry, Counter, Gauge, type Registry } from '../../common/prom-classes.ts';
import type { ProxyConfigUpdate } from '../config/proxy-config.ts';
import { isFromWorker, type FromWorker, type MetricsJson, type ToWorker } from './messages.ts';

/** Where the configuration comes from (the Proxy). */
export interface ConfigFeed {
  snapshot(): ProxyConfigUpdate;
  on(event: 'config', cb: (u: ProxyConfigUpdate) => void): unknown;
  off(event: 'config', cb: (u: ProxyConfigUpdate) => void): unknown;
}

export interface ProxyWorkerPoolOptions {
  readonly count: number;
  /** The module a worker thread runs (`proxy-worker.ts`), and what it is given. */
  readonly entry: URL;
  readonly workerData: unknown;
  readonly log: Logger;
  /** The configuration to serve: the whole of it now, and its updates. */
  readonly config: ConfigFeed;
  /** The primary's registry: the pool's own series go here. */
  readonly registry: Registry;
  /** Restart delay after a worker dies: doubles per quick death up to maxMs. */
  readonly restartDelayMs?: { initial: number; max: number };
  /**
   * Called once when workers keep dying (GIVE_UP_DEATHS within
   * GIVE_UP_WINDOW_MS): a node that announces IPs it cannot serve
   * blackholes them, so the speaker should hand them over and exit.
   */
  readonly onGiveUp?: (reason: string) => void;
}

/**
 * A worker's young generation. The image starts the process with
 * --max-semi-space-size=1 for the speaker's own heap (the cluster view, which
 * allocates little per second: 252 -> 146 MiB with 1,000 Services and 1,000
 * Ingress rules); the data path keeps a young generation that fits a burst of
 * requests: with 1 MiB semi-spaces two workers served a fifth fewer requests
 * per second (docs/benchmarks.md, "L7 and L4 with the proxy workers as threads").
 * 8 MB rather than 24: measured side by side (docs/benchmarks.md, "Memory"),
 * the same L7 rate and Ingress-change latency, 25 MiB less for the speaker
 * with 4 workers under load; 6 MB saved 16 MiB more at rest but let an
 * Ingress change's p99 over 10,000 rules climb from 80-105 to 110-145 ms.
 */
export const WORKER_YOUNG_GENERATION_MB = 8;

/**
 * V8 reads --max-semi-space-size when an isolate is created, and the flag
 * wins over a worker's resourceLimits; the speaker's own heap is created
 * already, so clearing it now leaves that heap as it is and lets the
 * workers' limit apply.
 */
function letWorkersSizeTheirYoungGeneration(): void {
  setFlagsFromString('--max-semi-space-size=0');
}

/**
 * Gives the threads started from now on the `gc` function, for their heap
 * reclaims once quiet (common/heap-reclaimer.ts). V8 installs it in contexts
 * made after the flag is set: the image's `node --expose-gc` gives it to
 * every thread already, this to the workers of a process started without.
 */
function letWorkersReclaimTheirHeap(): void {
  setFlagsFromString('--expose-gc');
}

export const GIVE_UP_DEATHS = 5;
const GIVE_UP_WINDOW_MS = 60_000;

/** A worker that ran this long before dying restarts after the initial delay again. */
const STABLE_AFTER_MS = 60_000;
const METRICS_TIMEOUT_MS = 2_000;
/** A worker told to stop that has not ended this long after its grace is terminated. */
const STOP_OVERSTAY_MS = 3_000;
/**
 * How long a takeover's announcement waits for the workers to bind. They
 * answer within a few milliseconds; a worker that is starting or stuck must
 * not hold the IP's takeover longer than this (the election's own pace is
 * 0.5 s renewals).
 */
const APPLY_TIMEOUT_MS = 250;

interface Slot {
  readonly index: number;
  worker: Worker | undefined;
  /** Its thread has ended ('exit' was emitted). */
  exited: boolean;
  /** null: ready; string: why not. */
  ready: string | null;
  startedAt: number;
  delayMs: number;
  restartTimer: NodeJS.Timeout | undefined;
  /** The counters and histograms of this worker's last answer to a scrape. */
  lastTotals: MetricsJson | undefined;
}

export class ProxyWorkerPool {
  readonly #o: ProxyWorkerPoolOptions;
  readonly #slots: Slot[];
  readonly #waiting = new Map<number, (m: FromWorker) => void>();
  /** The workers' acknowledgement of the configuration sent so far, once asked for. */
  #acknowledged: Promise<void> | undefined;
  #nextId = 1;
  #stopping = false;
  /** When workers died recently (performance.now()), for the give-up rule. */
  #deaths: number[] = [];
  #gaveUp = false;
  /**
   * Totals of workers that died, as last scraped: summed into /metrics so a
   * counter does not go down when a worker is replaced.
   */
  #retired: MetricsJson[] = [];
  readonly #restarts: Counter;
  readonly #live: Gauge;

  constructor(o: ProxyWorkerPoolOptions) {
    this.#o = o;
    const initial = o.restartDelayMs?.initial ?? 1000;
    this.#slots = Array.from({ length: o.count }, (_, index) => ({ index, worker: undefined, exited: false, ready: 'starting', startedAt: 0, delayMs: initial, restartTimer: undefined, lastTotals: undefined }));
    this.#restarts = new Counter({ name: 'metalgate_proxy_worker_restarts_total', help: 'Proxy workers restarted after they died', registers: [o.registry] });
    const slots = this.#slots;
    this.#live = new Gauge({
      name: 'metalgate_proxy_workers',
      help: 'Proxy workers running',
      registers: [o.registry],
      collect() {
        this.set(slots.filter((s) => s.worker !== undefined).length);
      },
    });
  }

  start(): void {
    letWorkersSizeTheirYoungGeneration();
    letWorkersReclaimTheirHeap();
    this.#o.config.on('config', this.#forward);
    for (const s of this.#slots) this.#fork(s);
    this.#o.log.info({ workers: this.#o.count }, 'proxy workers starting');
  }

  notReadyReason(): string | undefined {
    for (const s of this.#slots) {
      if (s.worker === undefined) return `proxy worker ${s.index} is restarting`;
      if (s.ready !== null) return `proxy worker ${s.index}: ${s.ready}`;
    }
    return undefined;
  }

  /**
   * The workers' metrics (one JSON array each, for AggregatorRegistry.aggregate),
   * plus the counters and histograms of workers that died since: what they
   * counted up to the last scrape before their death.
   */
  async metrics(): Promise<MetricsJson[]> {
    const live = this.#slots.filter((s) => s.worker !== undefined);
    // A worker that answers and dies before the others have answered is retired with these very totals: counted once.
    const answered = new Set<MetricsJson>();
    const answers = await Promise.all(
      live.map(async (s) => {
        const a = await this.#ask(s, (id) => ({ mg: 'metrics', id }), METRICS_TIMEOUT_MS);
        if (a?.mg !== 'metrics') return undefined;
        // The message handler kept its totals (s.lastTotals, or retired by now).
        const totals = totalsByAnswer.get(a);
        if (totals !== undefined) answered.add(totals);
        return a.metrics;
      }),
    );
    return [...answers.filter((a): a is MetricsJson => a !== undefined), ...this.#retired.filter((r) => !answered.has(r))];
  }

  /** Asks every worker to let its work in flight finish (up to graceMs); resolves with what is still busy. */
  async settle(graceMs: number): Promise<number> {
    const live = this.#slots.filter((s) => s.worker !== undefined);
    const answers = await Promise.all(live.map((s) => this.#ask(s, (id) => ({ mg: 'settle', id, graceMs }), graceMs + 2000)));
    return answers.reduce((sum, a) => sum + (a?.mg === 'settled' ? a.busy : 0), 0);
  }

  /** Drains and ends every worker: graceMs for work in flight, then a kill for any that did not exit. */
  async stop(graceMs: number): Promise<void> {
    this.#stopping = true;
    this.#o.config.off('config', this.#forward);
    const exits: Promise<void>[] = [];
    for (const s of this.#slots) {
      clearTimeout(s.restartTimer);
      const w = s.worker;
      if (w === undefined) continue;
      exits.push(
        new Promise<void>((resolve) => {
          if (s.exited) return resolve();
          const kill = setTimeout(() => {
            this.#o.log.warn({ worker: s.index }, 'proxy worker did not stop in time: terminating it');
            void w.terminate();
          }, graceMs + STOP_OVERSTAY_MS);
          w.once('exit', () => {
            clearTimeout(kill);
            resolve();
          });
          this.#send(w, { mg: 'stop', graceMs });
        }),
      );
    }
    await Promise.all(exits);
  }

  readonly #forward = (update: ProxyConfigUpdate): void => {
    this.#acknowledged = undefined;
    for (const s of this.#slots) if (s.worker !== undefined) this.#send(s.worker, { mg: 'config', update });
  };

  /**
   * Resolves once every live worker has applied the configuration sent so
   * far (or after APPLY_TIMEOUT_MS): the speaker announces a gained IP only
   * then, so no client is refused by a node that owns the IP but does not
   * listen on it yet. One question per worker serves every caller until the
   * configuration changes again: the IPs of one election share it.
   */
  applied(): Promise<void> {
    if (this.#acknowledged !== undefined) return this.#acknowledged;
    const live = this.#slots.filter((s) => s.worker !== undefined);
    // A sync is answered after the updates queued before it on the same port.
    const answers = live.map((s) => this.#ask(s, (id) => ({ mg: 'sync', id }), APPLY_TIMEOUT_MS));
    this.#acknowledged = Promise.all(answers).then(() => {});
    return this.#acknowledged;
  }

  #fork(s: Slot): void {
    s.restartTimer = undefined;
    const w = new Worker(this.#o.entry, {
      workerData: this.#o.workerData,
      name: `proxy-worker-${s.index}`,
      resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB },
    });
    s.worker = w;
    // Not covered by a question asked before it started.
    this.#acknowledged = undefined;
    s.exited = false;
    s.ready = 'starting';
    s.startedAt = performance.now();
    // Queued on the port until the worker listens: the first thing it learns.
    this.#send(w, { mg: 'init', index: s.index, config: this.#o.config.snapshot() });
    w.on('message', (m: unknown) => {
      if (!isFromWorker(m)) return;
      if (m.mg === 'ready') {
        if (m.reason === null && s.ready !== null) this.#o.log.info({ worker: s.index, thread: w.threadId }, 'proxy worker ready');
        s.ready = m.reason;
      } else if (m.mg === 'settled' || m.mg === 'metrics' || m.mg === 'applied') {
        // Kept now, not when the scrape resumes: a worker that dies right
        // after answering has its last message delivered in the same turn
        // as its 'exit', and must be retired with these totals.
        if (m.mg === 'metrics' && s.worker === w) {
          s.lastTotals = totalsOf(m.metrics);
          totalsByAnswer.set(m, s.lastTotals);
        }
        const done = this.#waiting.get(m.id);
        this.#waiting.delete(m.id);
        done?.(m);
      }
    });
    // An exception nothing caught ends the thread ('exit' follows); only its message and stack reach here.
    let failure: string | undefined;
    w.on('error', (err) => {
      failure = err instanceof Error ? (err.stack ?? err.message) : String(err);
    });
    w.once('exit', (code) => {
      s.exited = true;
      if (s.worker === w) s.worker = undefined;
      if (s.lastTotals !== undefined) this.#retire(s.lastTotals);
      s.lastTotals = undefined;
      if (this.#stopping) return;
      const lived = performance.now() - s.startedAt;
      const initial = this.#o.restartDelayMs?.initial ?? 1000;
      if (lived > STABLE_AFTER_MS) s.delayMs = initial;
      this.#o.log.error({ worker: s.index, thread: w.threadId, code, ...(failure ? { err: failure } : {}), restartInMs: s.delayMs }, 'proxy worker died: restarting it');
      this.#restarts.inc();
      const now = performance.now();
      this.#deaths = [...this.#deaths.filter((t) => now - t < GIVE_UP_WINDOW_MS), now];
      if (this.#deaths.length >= GIVE_UP_DEATHS && !this.#gaveUp) {
        this.#gaveUp = true;
        this.#o.onGiveUp?.(`${this.#deaths.length} proxy worker deaths within ${GIVE_UP_WINDOW_MS / 1000} s`);
      }
      s.restartTimer = setTimeout(() => this.#fork(s), s.delayMs);
      s.delayMs = Math.min(s.delayMs * 2, this.#o.restartDelayMs?.max ?? 30_000);
    });
  }

  #retire(totals: MetricsJson): void {
    this.#retired.push(totals);
    // Many deaths over a long life: keep one summed set, not one per death.
    if (this.#retired.length > 8) {
      const all = this.#retired;
      this.#retired = [];
      void AggregatorRegistry.aggregate(all)
        .getMetricsAsJSON()
        .then((merged) => this.#retired.unshift(merged as MetricsJson));
    }
  }

  #send(w: Worker, m: ToWorker): void {
    // After the thread ended a message goes nowhere; its exit handler takes it from here.
    w.postMessage(m);
  }

  /** One request, one answer (or undefined at the timeout or if the worker dies). */
  #ask(s: Slot, make: (id: number) => ToWorker, timeoutMs: number): Promise<FromWorker | undefined> {
    const w = s.worker;
    if (w === undefined) return Promise.resolve(undefined);
    const id = this.#nextId++;
    return new Promise((resolve) => {
      const finish = (m: FromWorker | undefined) => {
        clearTimeout(timer);
        w.off('exit', onExit);
        this.#waiting.delete(id);
        resolve(m);
      };
      const onExit = () => finish(undefined);
      const timer = setTimeout(() => finish(undefined), timeoutMs);
      w.once('exit', onExit);
      this.#waiting.set(id, finish);
      this.#send(w, make(id));
    });
  }
}

/** The totals kept for each metrics answer, so a scrape counts a dead worker's retired totals once. */
const totalsByAnswer = new WeakMap<object, MetricsJson>();

/** Counters and histograms only: a dead worker's gauges (open connections, listeners) describe nothing any more. */
function totalsOf(metrics: MetricsJson): MetricsJson {
  return metrics.filter((m) => {
    const type = String(m.type);
    return type === 'counter' || type === 'histogram';
  });
}
