import { describe, expect, test } from 'vitest';
import {
  INITIAL_RECLAIM_STATE,
  QUIET_UTILIZATION,
  RECLAIM_GROWTH_BYTES,
  RECLAIM_INTERVAL_MS,
  afterReclaim,
  afterSample,
  shouldReclaim,
  type HeapReclaimState,
  type HeapSample,
} from '../../../src/common/heap-reclaim-policy.ts';

const MiB = 1024 * 1024;
const quiet = QUIET_UTILIZATION / 2;
const busy = 0.5;

/** Feeds samples through the policy as the reclaimer does; returns the times it reclaimed (each leaving `afterBytes`). */
function run(samples: readonly HeapSample[], afterBytes = 10 * MiB, start: HeapReclaimState = INITIAL_RECLAIM_STATE): number[] {
  let state = start;
  const at: number[] = [];
  for (const s of samples) {
    if (shouldReclaim(state, s)) {
      at.push(s.nowMs);
      state = afterReclaim(s.nowMs, afterBytes);
    } else {
      state = afterSample(state, s);
    }
  }
  return at;
}

/** A state just after a reclaim that left 10 MiB, long enough ago for the next. */
const settled: HeapReclaimState = afterReclaim(-RECLAIM_INTERVAL_MS, 10 * MiB);

describe('heap reclaim policy', () => {
  test('the first quiet sample after the start reclaims what starting left', () => {
    expect(run([{ nowMs: 5000, heapBytes: 25 * MiB, utilization: busy }, { nowMs: 10_000, heapBytes: 25 * MiB, utilization: quiet }])).toEqual([10_000]);
    // A heap smaller than the growth that pays for a pause has nothing worth it.
    expect(run([{ nowMs: 5000, heapBytes: RECLAIM_GROWTH_BYTES - 1, utilization: quiet }])).toEqual([]);
  });

  test('after that, a quiet thread whose heap grew past the threshold since the last reclaim reclaims', () => {
    expect(run([{ nowMs: 5000, heapBytes: 10 * MiB + RECLAIM_GROWTH_BYTES, utilization: quiet }], 10 * MiB, settled)).toEqual([5000]);
    expect(run([{ nowMs: 5000, heapBytes: 10 * MiB + RECLAIM_GROWTH_BYTES - 1, utilization: quiet }], 10 * MiB, settled)).toEqual([]);
  });

  test('not while busy: the reclaim waits for the first quiet sample', () => {
    const grown = 10 * MiB + RECLAIM_GROWTH_BYTES;
    expect(
      run(
        [
          { nowMs: 5000, heapBytes: grown, utilization: busy },
          { nowMs: 10_000, heapBytes: grown, utilization: QUIET_UTILIZATION },
          { nowMs: 15_000, heapBytes: grown, utilization: quiet },
        ],
        10 * MiB,
        settled,
      ),
    ).toEqual([15_000]);
  });

  test('at most once per interval, measured from the last reclaim', () => {
    const samples: HeapSample[] = [];
    for (let t = 5000; t <= 3 * RECLAIM_INTERVAL_MS; t += 5000) samples.push({ nowMs: t, heapBytes: 200 * MiB, utilization: quiet });
    // The reclaim "leaves" 10 MiB but the heap stays at 200: growth persists, the interval alone spaces the reclaims.
    expect(run(samples)).toEqual([5000, 5000 + RECLAIM_INTERVAL_MS, 5000 + 2 * RECLAIM_INTERVAL_MS]);
  });

  test('growth counts from the last reclaim, or from a heap that shrank on its own since', () => {
    const after = 30 * MiB;
    expect(
      run(
        [
          { nowMs: 5000, heapBytes: 50 * MiB, utilization: quiet },
          { nowMs: 5000 + RECLAIM_INTERVAL_MS, heapBytes: after + RECLAIM_GROWTH_BYTES - 1, utilization: quiet },
          { nowMs: 10_000 + RECLAIM_INTERVAL_MS, heapBytes: 20 * MiB, utilization: quiet },
          { nowMs: 15_000 + RECLAIM_INTERVAL_MS, heapBytes: 20 * MiB + RECLAIM_GROWTH_BYTES, utilization: quiet },
        ],
        after,
      ),
    ).toEqual([5000, 15_000 + RECLAIM_INTERVAL_MS]);
  });
});
