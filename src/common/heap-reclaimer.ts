// Gives a thread's memory back after its start and after a burst, once the
// thread has gone quiet (heap-reclaim-policy.ts decides when, and says why):
// one memory-reducing collection, which frees the pages V8 kept and shrinks
// the young generation, then glibc's malloc_trim through the native addon,
// which returns the C heap's free pages (what the collection freed of
// sockets and buffers). Each proxy worker thread runs one, and so do the
// speaker's and the controller's main threads.
//
// It needs the `gc` function, which V8 installs in contexts made after
// --expose-gc is set: the image starts node with it, and the worker pool
// sets it before it starts its threads (worker-pool.ts), so they have it
// however the process was started. Without it nothing is reclaimed, and
// nothing else changes. Without the addon (not built) the C heap is not
// trimmed.

import { performance } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import type { Logger } from 'pino';
import { loadNativeAddon } from '../native/addon.ts';
import { Counter, type Registry } from './prom-classes.ts';
import { INITIAL_RECLAIM_STATE, afterReclaim, afterSample, shouldReclaim, type HeapReclaimState } from './heap-reclaim-policy.ts';

/** How often the thread looks at itself: a quiet thread gives its memory back within a few of these. */
const HEAP_SAMPLE_EVERY_MS = 5_000;

type MemoryReducingGc = (o: { type: 'major'; execution: 'sync'; flavor: 'last-resort' }) => void;

export class HeapReclaimer {
  readonly #log: Logger;
  readonly #gc: MemoryReducingGc;
  readonly #trimMalloc: (() => boolean) | undefined;
  readonly #reclaims: Counter;
  #state: HeapReclaimState = INITIAL_RECLAIM_STATE;
  #lastElu = performance.eventLoopUtilization();
  #timer: NodeJS.Timeout;

  private constructor(log: Logger, gc: MemoryReducingGc, trimMalloc: (() => boolean) | undefined, reclaims: Counter) {
    this.#log = log;
    this.#gc = gc;
    this.#trimMalloc = trimMalloc;
    this.#reclaims = reclaims;
    // Threads started together sample at different moments, so they do not
    // all pause at once: with 10,000 rules, four workers reclaiming together
    // on two cores paused 231-329 ms each.
    this.#timer = setTimeout(() => {
      this.#timer = setInterval(this.#sample, HEAP_SAMPLE_EVERY_MS).unref();
    }, Math.random() * HEAP_SAMPLE_EVERY_MS).unref();
  }

  /**
   * This thread's reclaimer, counting its reclaims in `counterName` (summed
   * over threads that share the name); undefined when `gc` is not exposed
   * here. Start it once the thread has loaded what it needs to serve.
   */
  static start(log: Logger, registry: Registry, counterName: string): HeapReclaimer | undefined {
    const gc = (globalThis as { gc?: unknown }).gc;
    if (typeof gc !== 'function') {
      log.debug('the heap is not reclaimed when quiet: gc is not exposed on this thread (node --expose-gc)');
      return undefined;
    }
    let trimMalloc: (() => boolean) | undefined;
    try {
      const addon = loadNativeAddon();
      trimMalloc = () => addon.trimMalloc();
    } catch (error) {
      log.debug({ err: error }, 'the C heap is not trimmed after a reclaim: no native addon');
    }
    const reclaims = new Counter({ name: counterName, help: 'Memory-reducing collections run once quiet, after the start or a burst.', registers: [registry] });
    return new HeapReclaimer(log, gc as MemoryReducingGc, trimMalloc, reclaims);
  }

  stop(): void {
    clearTimeout(this.#timer);
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
    const collected = performance.now();
    this.#trimMalloc?.();
    const ended = performance.now();
    const after = getHeapStatistics().total_physical_size;
    this.#state = afterReclaim(ended, after);
    this.#lastElu = performance.eventLoopUtilization();
    this.#reclaims.inc();
    const mib = (b: number): number => Math.round((b / 1048576) * 10) / 10;
    this.#log.info({ heapMiBBefore: mib(sample.heapBytes), heapMiBAfter: mib(after), pauseMs: Math.round(ended - started), trimMs: Math.round(ended - collected) }, 'heap reclaimed');
  };
}
