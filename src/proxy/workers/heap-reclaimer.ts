// Gives a proxy worker thread's memory back after a burst, when the thread
// has gone quiet (heap-reclaim-policy.ts decides when, and says why): one
// memory-reducing collection, which frees the pages V8 kept and shrinks the
// young generation.
//
// It needs the `gc` function, which V8 installs in contexts made after
// --expose-gc is set: the pool sets it before it starts its threads
// (worker-pool.ts). Without it (a thread started some other way) nothing is
// reclaimed, and nothing else changes.

import { performance } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import type { Logger } from 'pino';
import { Counter, type Registry } from '../../common/prom-classes.ts';
import { afterReclaim, afterSample, initialReclaimState, shouldReclaim, type HeapReclaimState } from './heap-reclaim-policy.ts';

/** How often the thread looks at itself: a quiet thread gives its memory back within a few of these. */
export const HEAP_SAMPLE_EVERY_MS = 5_000;

type MemoryReducingGc = (o: { type: 'major'; execution: 'sync'; flavor: 'last-resort' }) => void;

export class HeapReclaimer {
  readonly #log: Logger;
  readonly #gc: MemoryReducingGc;
  readonly #reclaims: Counter;
  #state: HeapReclaimState = initialReclaimState(getHeapStatistics().total_physical_size);
  #lastElu = performance.eventLoopUtilization();
  readonly #timer: NodeJS.Timeout;

  private constructor(log: Logger, gc: MemoryReducingGc, registry: Registry) {
    this.#log = log;
    this.#gc = gc;
    this.#reclaims = new Counter({
      name: 'metalgate_proxy_heap_reclaims_total',
      help: 'Memory-reducing collections a proxy worker ran after a burst, once quiet.',
      registers: [registry],
    });
    this.#timer = setInterval(this.#sample, HEAP_SAMPLE_EVERY_MS).unref();
  }

  /** This thread's reclaimer, started once its configuration is applied (the heap then is its first baseline); undefined when `gc` is not exposed here. */
  static start(log: Logger, registry: Registry): HeapReclaimer | undefined {
    const gc = (globalThis as { gc?: unknown }).gc;
    if (typeof gc !== 'function') {
      log.debug('the heap is not reclaimed after bursts: gc is not exposed on this thread');
      return undefined;
    }
    return new HeapReclaimer(log, gc as MemoryReducingGc, registry);
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  readonly #sample = (): void => {
    const elu = performance.eventLoopUtilization(this.#lastElu);
    this.#lastElu = performance.eventLoopUtilization();
    const sample = { nowMs: performance.now(), heapBytes: getHeapStatistics().total_physical_size, utilization: elu.utilization };
    if (!shouldReclaim(this.#state, sample)) {
      this.#state = afterSample(this.#state, sample);
      return;
    }
    const started = performance.now();
    this.#gc({ type: 'major', execution: 'sync', flavor: 'last-resort' });
    const ended = performance.now();
    const after = getHeapStatistics().total_physical_size;
    this.#state = afterReclaim(ended, after);
    this.#lastElu = performance.eventLoopUtilization();
    this.#reclaims.inc();
    const mib = (b: number): number => Math.round((b / 1048576) * 10) / 10;
    this.#log.info({ heapMiBBefore: mib(sample.heapBytes), heapMiBAfter: mib(after), pauseMs: Math.round(ended - started) }, 'heap reclaimed after a burst');
  };
}
