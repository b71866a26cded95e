import { describe, expect, test } from 'vitest';
import type { PoolVerdict } from '../../../src/config/metallb-pools.ts';
import { poolStatusOf } from '../../../src/controller/pool-status.ts';

const verdict = (over: Partial<PoolVerdict> = {}): PoolVerdict => ({
  key: 'metallb-system/p',
  namespace: 'metallb-system',
  name: 'p',
  uid: 'u',
  generation: 3,
  serving: true,
  reason: 'Ready',
  message: 'serving 198.18.0.0/24',
  warnings: [],
  ...over,
});
const t1 = new Date('2026-01-01T00:00:00Z');
const t2 = new Date('2026-01-01T00:05:00Z');

describe('poolStatusOf', () => {
  test('MetalLB\'s counts per family, and Ready with the generation it is about', () => {
    const s = poolStatusOf(verdict(), [{ pool: 'p', family: 4, total: 256n, inUse: 3 }, { pool: 'p', family: 6, total: 2n ** 64n, inUse: 1 }, { pool: 'other', family: 4, total: 9n, inUse: 9 }], undefined, t1);
    expect(s).toEqual({
      assignedIPv4: 3,
      availableIPv4: 253,
      assignedIPv6: 1,
      // int64, as the CRD declares it: a /64 is more than that.
      availableIPv6: Number(2n ** 63n - 1n),
      conditions: [{ type: 'Ready', status: 'True', reason: 'Ready', message: 'serving 198.18.0.0/24', observedGeneration: 3, lastTransitionTime: t1.toISOString() }],
    });
  });

  test('a refused pool counts nothing, even when another of its name serves', () => {
    const s = poolStatusOf(verdict({ serving: false, reason: 'DuplicateName', message: 'not served: ...' }), [{ pool: 'p', family: 4, total: 256n, inUse: 3 }], undefined, t1);
    expect(s).toMatchObject({ assignedIPv4: 0, availableIPv4: 0, conditions: [{ status: 'False', reason: 'DuplicateName' }] });
  });

  test('lastTransitionTime moves only when Ready changes', () => {
    const first = poolStatusOf(verdict(), [], undefined, t1);
    expect(poolStatusOf(verdict({ reason: 'KeptLastGood', message: 'x' }), [], first, t2).conditions[0]!.lastTransitionTime).toBe(t1.toISOString());
    expect(poolStatusOf(verdict({ serving: false, reason: 'Overlap' }), [], first, t2).conditions[0]!.lastTransitionTime).toBe(t2.toISOString());
  });
});
