// The consistent-hash ring of upstream-hash-by, and the ewma picker.
import { describe, expect, test } from 'vitest';
import { EwmaPicker } from '../../../../src/proxy/http/ewma.ts';
import { HashRing } from '../../../../src/proxy/http/hash-ring.ts';

const members = (n: number) => Array.from({ length: n }, (_, i) => `198.18.1.${i + 1}:8080`);
const keys = Array.from({ length: 20_000 }, (_, i) => `/item/${i}?v=${i % 7}`);

describe('HashRing', () => {
  test('a key always goes to the same member, whatever order the members are given in', () => {
    const m = members(5);
    const a = new HashRing(m);
    const b = new HashRing([...m].reverse());
    for (const k of keys.slice(0, 2000)) expect(m[a.pick(k)]).toBe([...m].reverse()[b.pick(k)]);
  });

  test('keys spread over the members: each within 25% of the mean', () => {
    const m = members(5);
    const ring = new HashRing(m);
    const count = new Array(5).fill(0) as number[];
    for (const k of keys) count[ring.pick(k)]!++;
    for (const c of count) expect(Math.abs(c - keys.length / 5)).toBeLessThan(keys.length / 5 / 4);
  });

  test('a member leaving moves only its own keys; one joining takes about 1/n', () => {
    const m = members(5);
    const before = new HashRing(m);
    const after = new HashRing(m.filter((x) => x !== m[2]));
    const left = m.filter((x) => x !== m[2]);
    let moved = 0;
    for (const k of keys) {
      const was = m[before.pick(k)]!;
      const now = left[after.pick(k)]!;
      if (was !== m[2]) expect(now).toBe(was);
      else moved++;
    }
    expect(moved / keys.length).toBeGreaterThan(0.1);
    expect(moved / keys.length).toBeLessThan(0.3);
    const six = [...m, '198.18.1.6:8080'];
    const grown = new HashRing(six);
    let changed = 0;
    for (const k of keys) if (six[grown.pick(k)] !== m[before.pick(k)]) changed++;
    expect(changed / keys.length).toBeGreaterThan(0.1);
    expect(changed / keys.length).toBeLessThan(0.25);
  });

  test('an empty ring picks nothing', () => {
    expect(new HashRing([]).pick('x')).toBe(-1);
  });
});

describe('EwmaPicker', () => {
  test('of two draws the lower average wins; an endpoint never measured is tried first', () => {
    const p = new EwmaPicker();
    const k = ['a', 'b', 'c'];
    p.observe('a', 300, 0);
    p.observe('b', 5, 0);
    // r1 picks a, r2 picks b (index 1 after skipping a): b is faster.
    expect(k[p.pick(k, 0, 0)]).toBe('b');
    // c is unmeasured (score 0): it wins against b.
    expect(k[p.pick(k, 0.5, 0.99)]).toBe('c');
  });

  test('the average decays toward new samples with time (10 s constant)', () => {
    const p = new EwmaPicker();
    p.observe('a', 100, 0);
    p.observe('a', 0, 10_000);
    expect(p.score('a')).toBeCloseTo(100 * Math.exp(-1), 5);
    p.retain(new Set(['b']));
    expect(p.score('a')).toBe(0);
  });
});
