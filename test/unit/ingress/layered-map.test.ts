import { describe, expect, test } from 'vitest';
import { LayeredMap } from '../../../src/ingress/match/layered-map.ts';

/** A small deterministic PRNG, so a failure replays. */
function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

/** Same entries, read both by iteration and by get (also of keys absent from both). */
function same(m: LayeredMap<number>, want: Map<string, number>): boolean {
  const seen = new Map(m);
  if (seen.size !== want.size) return false;
  for (const [k, v] of want) if (seen.get(k) !== v) return false;
  for (let i = 0; i < 900; i++) if (m.get(`k${i}`) !== want.get(`k${i}`)) return false;
  return true;
}

describe('LayeredMap', () => {
  test.each(['hot', 'cold'] as const)('a model test against Map (%s): every version reads as the Map it stands for, and older versions do not change', (policy) => {
    for (const seed of [1, 2, 3, 42, 1234]) {
      const rand = prng(seed);
      const start = new Map<string, number>();
      for (let i = 0; i < 500; i++) start.set(`k${Math.floor(rand() * 800)}`, i);
      let model = new Map(start);
      let map = LayeredMap.of(new Map(start), policy);
      const history: Array<[LayeredMap<number>, Map<string, number>]> = [];
      for (let step = 0; step < 300; step++) {
        const changes: Array<[string, number | undefined]> = [];
        const n = 1 + Math.floor(rand() * (rand() < 0.1 ? 80 : 4));
        for (let j = 0; j < n; j++) changes.push([`k${Math.floor(rand() * 900)}`, rand() < 0.4 ? undefined : step * 1000 + j]);
        const next = new Map(model);
        for (const [k, v] of changes) if (v === undefined) next.delete(k);
        else next.set(k, v);
        history.push([map, model]);
        map = map.with(changes);
        model = next;
        expect(map.size).toBe(model.size);
        expect(same(map, model)).toBe(true);
      }
      for (const [m, want] of history) {
        expect(m.size).toBe(want.size);
        expect(same(m, want)).toBe(true);
      }
    }
  });

  test('removing a key that is not there, and setting one twice in a change, keep the count right', () => {
    const m = LayeredMap.of(new Map([['a', 1]])).with([
      ['b', undefined],
      ['c', 3],
      ['c', 4],
      ['a', undefined],
      ['a', 5],
    ]);
    expect(m.size).toBe(2);
    expect([...m.values()].sort()).toEqual([4, 5]);
    expect(m.has('b')).toBe(false);
  });
});
