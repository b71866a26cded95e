// When a thread (a proxy worker, the speaker's or the controller's own)
// gives back what its start or a past burst left: the pure decision, fed
// with samples by heap-reclaimer.ts.
//
// A burst of connections leaves its garbage behind: sockets that closed or
// were parked, and a young generation grown to its limit. V8 keeps those
// pages for reuse and starts its own memory reducer only after a full
// collection, which a thread that has gone quiet may never run. Measured
// (docs/benchmarks.md, "Memory"): 10,000 kept-alive connections, parked in
// two workers, left 3.1-3.5 KB each of RSS; one memory-reducing collection
// per worker, a 71-77 ms pause, brought the process below where it was
// before they came. The same idea as the JVM's periodic collections of an
// idle heap (JEP 346), which return committed memory to the system.
//
// Starting leaves the same kind of garbage: loading the modules and the
// first configuration grows the young generation and leaves large objects
// behind. Measured on a worker serving at rest: its heap's resident pages
// went from 25 to 13 MiB with one such collection, and the process's RSS
// fell by 12 MiB per worker. So the first reclaim comes at the first quiet
// sample, whatever the heap's size.
//
// The rule: the thread was quiet over the last sample (its event loop busy
// less than QUIET_UTILIZATION of the time), its heap holds RECLAIM_GROWTH_BYTES
// more than after the last reclaim (nothing counts as the baseline before
// the first), and the last reclaim is at least RECLAIM_INTERVAL_MS old. A
// quiet thread gets few requests, so few wait through the pause; the growth
// keeps it from collecting for nothing; the interval bounds the pauses
// whatever happens.

/** Below this event-loop utilization over a sample, the thread counts as quiet. */
export const QUIET_UTILIZATION = 0.05;
/**
 * Heap growth worth a pause. A worker's heap serving at rest is about 24 MiB;
 * 5,000 kept-alive connections parked after one request each took it to
 * 40-42 MiB. 8 MiB is about 2,500 such connections' garbage.
 */
export const RECLAIM_GROWTH_BYTES = 8 * 1024 * 1024;
/**
 * At most one reclaim per 30 s and thread: a 75 ms pause at most 0.25% of
 * the time, and a thread that reclaimed what its start left still gives
 * back its first configuration's garbage soon after it arrives.
 */
export const RECLAIM_INTERVAL_MS = 30_000;

export interface HeapSample {
  readonly nowMs: number;
  /** The heap's resident pages (v8 total_physical_size). */
  readonly heapBytes: number;
  /** The event loop's utilization since the previous sample, 0..1. */
  readonly utilization: number;
}

export interface HeapReclaimState {
  /** The heap after the last reclaim (0 before the first); lower when it shrank on its own since. */
  readonly baselineBytes: number;
  readonly lastReclaimMs: number;
}

/** A reclaimer's state at its start: its first quiet sample reclaims what starting left. */
export const INITIAL_RECLAIM_STATE: HeapReclaimState = { baselineBytes: 0, lastReclaimMs: Number.NEGATIVE_INFINITY };

/** Whether to reclaim now. */
export function shouldReclaim(state: HeapReclaimState, s: HeapSample): boolean {
  return s.utilization < QUIET_UTILIZATION && s.heapBytes - state.baselineBytes >= RECLAIM_GROWTH_BYTES && s.nowMs - state.lastReclaimMs >= RECLAIM_INTERVAL_MS;
}

/** The state after a sample without a reclaim: a heap that shrank on its own lowers the baseline. */
export function afterSample(state: HeapReclaimState, s: HeapSample): HeapReclaimState {
  return s.heapBytes < state.baselineBytes ? { ...state, baselineBytes: s.heapBytes } : state;
}

/** The state after a reclaim that left `heapBytes`. */
export function afterReclaim(nowMs: number, heapBytes: number): HeapReclaimState {
  return { baselineBytes: heapBytes, lastReclaimMs: nowMs };
}
