// The primary's side of the proxy worker processes: forks them (node:cluster,
// each running `metalgate speaker` in worker mode), sends each the node's
// proxy configuration (the whole of it first, then every update), restarts
// one that dies (with backoff; it gets the configuration of the moment), and turns
// their answers into the component's readiness, the drain sequence and one
// /metrics page. Workers bind the owned IP:ports themselves with
// SO_REUSEPORT; the primary holds no proxy socket, so a connection is never
// passed between processes.

import cluster, { type Worker } from 'node:cluster';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { AggregatorRegistry, Counter, Gauge, type Registry } from 'prom-client';
import type { ProxyConfigUpdate } from '../config/proxy-config.ts';
import type { OwnershipEvent, OwnershipSource } from '../listeners/manual-ownership.ts';
import { isFromWorker, type FromWorker, type MetricsJson, type ToWorker } from './messages.ts';

/** Where the configuration comes from (the Proxy). */
export interface ConfigFeed {
  snapshot(): ProxyConfigUpdate;
  on(event: 'config', cb: (u: ProxyConfigUpdate) => void): unknown;
  off(event: 'config', cb: (u: ProxyConfigUpdate) => void): unknown;
}

export interface ProxyWorkerPoolOptions {
  readonly count: number;
  /** The program and arguments a worker runs (the CLI, `speaker`, the primary's flags). */
  readonly exec: string;
  readonly args: readonly string[];
  readonly log: Logger;
  /**
   * The speaker: a gained IP is announced once every worker has applied
   * the configuration that listens on it. Subscribe the pool after the
   * configuration's builder, so that configuration is sent first.
   */
  readonly ownership: OwnershipSource;
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
 * V8 flags of worker processes. One worker per core: V8's parallel GC
 * helper threads would compete with the sibling workers for those cores and
 * cost a wake-up per collection; the workers' heaps are small. Measured on
 * the HTTP entrypoint (wrk, 50 connections): about a tenth more requests per
 * CPU second with --single-threaded-gc.
 */
export const WORKER_EXEC_ARGV = ['--single-threaded-gc'] as const;

/**
 * V8 flags the image gives the controller and the speaker's own process
 * (Dockerfile ENTRYPOINT), which hold the cluster view and allocate little per
 * second, and the workers drop, as the data path keeps V8's defaults: a 1 MiB
 * young generation, and an old generation grown by 20 % at a time instead of
 * up to 4x, which took the speaker's process from 252 to 146 MiB with 1,000
 * Services and 1,000 Ingress rules at no cost to an Ingress change's latency.
 * --optimize-for-size saved 12 MiB more and made the compiler half as fast
 * (docs/benchmarks.md, "Memory").
 */
export const PRIMARY_ONLY_FLAGS = ['--max-semi-space-size', '--heap-growing-percent'] as const;

/** A worker's Node flags: its primary's, without the primary's own, with the workers'. */
export function workerExecArgv(primary: readonly string[]): string[] {
  return [...primary.filter((a) => !PRIMARY_ONLY_FLAGS.some((f) => a === f || a.startsWith(`${f}=`))), ...WORKER_EXEC_ARGV];
}

export const GIVE_UP_DEATHS = 5;
export const GIVE_UP_WINDOW_MS = 60_000;

/** A worker that ran this long before dying restarts after the initial delay again. */
const STABLE_AFTER_MS = 60_000;
const METRICS_TIMEOUT_MS = 2_000;
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
  /** Gained IPs whose relay to the workers is not yet acknowledged by all. */
  readonly #applying = new Map<string, Promise<void>>();
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
    this.#slots = Array.from({ length: o.count }, (_, index) => ({ index, worker: undefined, ready: 'starting', startedAt: 0, delayMs: initial, restartTimer: undefined, lastTotals: undefined }));
    this.#restarts = new Counter({ name: 'metalgate_proxy_worker_restarts_total', help: 'Proxy worker processes restarted after they died', registers: [o.registry] });
    const slots = this.#slots;
    this.#live = new Gauge({
      name: 'metalgate_proxy_workers',
      help: 'Proxy worker processes running',
      registers: [o.registry],
      collect() {
        this.set(slots.filter((s) => s.worker !== undefined).length);
      },
    });
  }

  start(): void {
    cluster.setupPrimary({ exec: this.#o.exec, args: [...this.#o.args], execArgv: workerExecArgv(process.execArgv) });
    this.#o.config.on('config', this.#forward);
    this.#o.ownership.on('ownership', this.#relay);
    for (const s of this.#slots) this.#fork(s);
    this.#o.log.info({ workers: this.#o.count }, 'proxy worker processes starting');
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
    const answers = await Promise.all(
      live.map(async (s) => {
        const a = await this.#ask(s, (id) => ({ mg: 'metrics', id }), METRICS_TIMEOUT_MS);
        if (a?.mg !== 'metrics') return undefined;
        s.lastTotals = totalsOf(a.metrics);
        return a.metrics;
      }),
    );
    return [...answers.filter((a): a is MetricsJson => a !== undefined), ...this.#retired];
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
    this.#o.ownership.off('ownership', this.#relay);
    this.#o.config.off('config', this.#forward);
    const exits: Promise<void>[] = [];
    for (const s of this.#slots) {
      clearTimeout(s.restartTimer);
      const w = s.worker;
      if (w === undefined) continue;
      exits.push(
        new Promise<void>((resolve) => {
          if (w.isDead()) return resolve();
          const kill = setTimeout(() => {
            this.#o.log.warn({ worker: s.index, pid: w.process.pid }, 'proxy worker did not stop in time: killing it');
            w.process.kill('SIGKILL');
          }, graceMs + 3000);
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
    for (const s of this.#slots) if (s.worker !== undefined) this.#send(s.worker, { mg: 'config', update });
  };

  /** A gained IP: its listeners went out with the configuration just before; wait until every worker has them. */
  readonly #relay = (change: OwnershipEvent): void => {
    if (!change.owned) {
      this.#applying.delete(change.ip);
      return;
    }
    const live = this.#slots.filter((s) => s.worker !== undefined);
    const answers = live.map((s) => this.#ask(s, (id) => ({ mg: 'sync', id }), APPLY_TIMEOUT_MS));
    this.#applying.set(change.ip, Promise.all(answers).then(() => {}));
  };

  /**
   * Resolves once every live worker listens on a gained IP (or after
   * APPLY_TIMEOUT_MS, or at once when nothing is pending): the speaker
   * announces the IP only then, so no client is refused by a node that owns
   * the IP but does not listen on it yet.
   */
  whenApplied(ip: string): Promise<void> {
    return this.#applying.get(ip) ?? Promise.resolve();
  }

  #fork(s: Slot): void {
    s.restartTimer = undefined;
    const w = cluster.fork();
    s.worker = w;
    s.ready = 'starting';
    s.startedAt = performance.now();
    // Queued on the channel until the worker reads it: the first thing it learns.
    this.#send(w, { mg: 'init', index: s.index, config: this.#o.config.snapshot() });
    w.on('message', (m: unknown) => {
      if (!isFromWorker(m)) return;
      if (m.mg === 'ready') {
        if (m.reason === null && s.ready !== null) this.#o.log.info({ worker: s.index, pid: w.process.pid }, 'proxy worker ready');
        s.ready = m.reason;
      } else if (m.mg === 'settled' || m.mg === 'metrics' || m.mg === 'applied') {
        const done = this.#waiting.get(m.id);
        this.#waiting.delete(m.id);
        done?.(m);
      }
    });
    w.on('error', (err) => this.#o.log.warn({ worker: s.index, err: err.message }, 'proxy worker channel error'));
    w.once('exit', (code, signal) => {
      if (s.worker === w) s.worker = undefined;
      if (s.lastTotals !== undefined) this.#retire(s.lastTotals);
      s.lastTotals = undefined;
      if (this.#stopping) return;
      const lived = performance.now() - s.startedAt;
      const initial = this.#o.restartDelayMs?.initial ?? 1000;
      if (lived > STABLE_AFTER_MS) s.delayMs = initial;
      this.#o.log.error({ worker: s.index, pid: w.process.pid, code, signal, restartInMs: s.delayMs }, 'proxy worker died: restarting it');
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
    if (!w.isConnected()) return;
    try {
      w.send(m);
    } catch {
      // the worker is going away; its exit handler takes it from here
    }
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

/** Counters and histograms only: a dead worker's gauges (open connections, listeners) describe nothing any more. */
function totalsOf(metrics: MetricsJson): MetricsJson {
  return metrics.filter((m) => {
    const type = String(m.type);
    return type === 'counter' || type === 'histogram';
  });
}
