import { describe, expect, test } from 'vitest';
import {
  QUIET_UTILIZATION,
  RECLAIM_GROWTH_BYTES,
  RECLAIM_INTERVAL_MS,
  afterReclaim,
  afterSample,
  initialReclaimState,
  shouldReclaim,
  type HeapReclaimState,
  type HeapSample,
} from '../../../../src/proxy/workers/heap-reclaim-policy.ts';

const MiB = 1024 * 1024;
const quiet = QUIET_UTILIZATION / 2;
const busy = 0.5;

/** Feeds samples through the policy as the reclaimer does; returns the times it reclaimed (to `afterBytes`). */
function run(startBytes: number, samples: readonly HeapSample[], afterBytes = 10 * MiB): number[] {
  let state: HeapReclaimState = initialReclaimState(startBytes);
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

describe('heap reclaim policy', () => {
  test('a quiet thread whose heap grew past the threshold since the start reclaims', () => {
    expect(run(10 * MiB, [{ nowMs: 5000, heapBytes: 10 * MiB + RECLAIM_GROWTH_BYTES, utilization: quiet }])).toEqual([5000]);
    expect(run(100 * MiB, [{ nowMs: 5000, heapBytes: 100 * MiB, utilization: quiet }])).toEqual([]);
  });

  test('not while busy: the reclaim waits for the first quiet sample', () => {
    const grown = 10 * MiB + RECLAIM_GROWTH_BYTES;
    expect(
      run(10 * MiB, [
        { nowMs: 5000, heapBytes: grown, utilization: busy },
        { nowMs: 10_000, heapBytes: grown, utilization: QUIET_UTILIZATION },
        { nowMs: 15_000, heapBytes: grown, utilization: quiet },
      ]),
    ).toEqual([15_000]);
  });

  test('not for growth below the threshold', () => {
    expect(run(10 * MiB, [{ nowMs: 5000, heapBytes: 10 * MiB + RECLAIM_GROWTH_BYTES - 1, utilization: quiet }])).toEqual([]);
  });

  test('at most once per interval, measured from the last reclaim', () => {
    const samples: HeapSample[] = [];
    for (let t = 5000; t <= 3 * RECLAIM_INTERVAL_MS; t += 5000) samples.push({ nowMs: t, heapBytes: 200 * MiB, utilization: quiet });
    // The reclaim "leaves" 10 MiB but the heap stays at 200: growth persists, the interval alone spaces the reclaims.
    expect(run(10 * MiB, samples)).toEqual([5000, 5000 + RECLAIM_INTERVAL_MS, 5000 + 2 * RECLAIM_INTERVAL_MS]);
  });

  test('growth counts from the last reclaim, or from a heap that shrank on its own since', () => {
    const after = 30 * MiB;
    expect(
      run(
        10 * MiB,
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
