import { describe, expect, test } from 'vitest';
import { BigintMinHeap } from '../../../src/ipam/bigint-min-heap.ts';
import { RangeCursor } from '../../../src/ipam/range-cursor.ts';
import { isBuggyIpv4, usableCount } from '../../../src/ipam/usable-addresses.ts';
import { range } from './helpers.ts';
import { prng } from '../../support/prng.ts';

describe('BigintMinHeap', () => {
  test('pops in ascending order with duplicates', () => {
    const heap = new BigintMinHeap();
    const rand = prng(7);
    const values: bigint[] = [];
    for (let i = 0; i < 500; i++) {
      const v = BigInt(Math.floor(rand() * 100));
      values.push(v);
      heap.push(v);
    }
    const out: bigint[] = [];
    while (heap.size > 0) out.push(heap.pop()!);
    expect(out).toEqual(values.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
    expect(heap.pop()).toBeUndefined();
  });
});

describe('usableCount', () => {
  test.each([
    ['198.18.0.0/24', false, 256n],
    ['198.18.0.0/24', true, 254n],
    ['198.18.0.255-198.18.1.0', true, 0n],
    ['198.18.0.1-198.18.0.254', true, 254n],
    ['198.18.0.0/15', true, 131072n - 1024n],
    ['0.0.0.0/0', true, 4294967296n - 2n * 16777216n],
    ['2001:db8::/64', true, 1n << 64n],
  ] as const)('%s avoid=%s -> %s', (text, avoid, count) => {
    expect(usableCount(range(text), avoid)).toBe(count);
  });
});

describe('RangeCursor against a naive model', () => {
  test.each([
    ['198.18.0.0/23', false],
    ['198.18.0.250-198.18.2.5', true],
    ['2001:db8::/120', false],
  ] as const)('%s avoid-buggy=%s: 4000 random claims, releases and out-of-order claims', (text, avoid) => {
    const r = range(text);
    const used = new Set<bigint>();
    const cursor = new RangeCursor(r, avoid, (a) => used.has(a));
    const size = Number(r.last - r.first + 1n);
    const naiveLowest = (): bigint | undefined => {
      for (let a = r.first; a <= r.last; a++) {
        if (!used.has(a) && !(avoid && r.family === 4 && isBuggyIpv4(a))) return a;
      }
      return undefined;
    };
    const rand = prng(size);
    for (let step = 0; step < 4000; step++) {
      const roll = rand();
      if (roll < 0.5) {
        const a = cursor.lowestFree();
        expect(a).toBe(naiveLowest());
        if (a !== undefined) used.add(a);
      } else if (roll < 0.6) {
        // Claimed behind the cursor's back (an explicit request or a restore).
        const a = r.first + BigInt(Math.floor(rand() * size));
        used.add(a);
      } else if (used.size > 0) {
        const all = [...used];
        const a = all[Math.floor(rand() * all.length)]!;
        used.delete(a);
        cursor.released(a);
      }
    }
    expect(cursor.lowestFree()).toBe(naiveLowest());
  });
});
