// The rate and in-flight tables shared by a node's proxy worker threads
// (src/ingress/runtime/shared-limits.ts): a model test against plain maps,
// the bounds when the tables fill, and four threads taking from one client's
// bucket and places at once: the node grants the limit once, not per thread.
import { Worker } from 'node:worker_threads';
import { describe, expect, test } from 'vitest';
import { allocateSharedLimits, sharedLimitsOf } from '../../../../src/ingress/runtime/shared-limits.ts';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('shared limit tables', () => {
  test('sliding windows (global-rate-limit): lua-resty-global-throttle\'s estimate, as plain per-key windows would keep it', () => {
    const limits = sharedLimitsOf(allocateSharedLimits(4096, 1));
    const r = rng(11);
    // The reference: per key the count of each fixed window; a request is refused when this
    // window's count has reached the limit, or when the sliding window's rate, carried to the
    // end of this window, reaches it; refused requests are not counted.
    const windows = new Map<string, Map<number, number>>();
    const W = 10_000;
    let now = 1_700_000_000_000;
    let refused = 0;
    for (let step = 0; step < 20_000; step++) {
      const key = `198.18.0.${Math.floor(r() * 10)}`;
      now += Math.floor(r() * 40);
      const limit = 20;
      const got = limits.windows.hit('ingress:ns/a', key, limit, W, now);
      const w = Math.floor(now / W);
      const remaining = W - (now % W);
      const perKey = windows.get(key) ?? new Map<number, number>();
      windows.set(key, perKey);
      const count = perKey.get(w) ?? 0;
      const previous = perKey.get(w - 1) ?? 0;
      const rate = ((previous / W) * remaining + count) / W;
      const ok = count < limit && rate * remaining + count < limit;
      if (ok) perKey.set(w, count + 1);
      else refused++;
      expect(got.ok, `step ${step}`).toBe(ok);
      expect(got.remainingMs).toBe(remaining);
    }
    expect(refused).toBeGreaterThan(1000);
  });

  test('sliding windows: early in a window the current rate is carried to its end (5 of 10 pass at its start), the previous window weighs in the next', () => {
    const windows = sharedLimitsOf(allocateSharedLimits(64, 1)).windows;
    const start = 1_700_000_040_000; // a multiple of 10 s: a window starts here
    const passed = (at: number, n: number) => Array.from({ length: n }, () => windows.hit('i', 'c', 10, 10_000, at).ok).filter(Boolean).length;
    expect(passed(start, 20)).toBe(5);
    // Near the window's end little is carried: it fills to the limit.
    expect(passed(start + 9_990, 20)).toBe(5);
    // The next window starts with the previous one's 10 over the whole window: nothing passes yet.
    expect(passed(start + 10_000, 5)).toBe(0);
    // Halfway through, half of the previous window is still in the sliding window.
    expect(passed(start + 15_000, 20)).toBeGreaterThan(0);
    // Another key, and another limit's identity, count apart.
    expect(windows.hit('i', 'other', 10, 10_000, start).ok).toBe(true);
    expect(windows.hit('j', 'c', 10, 10_000, start + 10_000).ok).toBe(true);
  });

  test('model: token buckets and in-flight counts as plain per-key maps would keep them', () => {
    const limits = sharedLimitsOf(allocateSharedLimits(4096, 4096));
    const r = rng(7);
    const buckets = new Map<string, { tokens: number; at: number }>();
    const counts = new Map<string, number>();
    const handles = new Map<string, number[]>();
    let now = 1_000_000;
    for (let step = 0; step < 20_000; step++) {
      const id = `mw${Math.floor(r() * 3)}`;
      const key = `198.18.0.${Math.floor(r() * 20)}`;
      const k = `${id}|${key}`;
      now += r() * 30;
      const op = r();
      if (op < 0.5) {
        const burst = 5;
        const perMs = 0.01;
        const got = limits.rate.take(id, key, burst, perMs, now);
        const b = buckets.get(k);
        let tokens = b === undefined ? burst : Math.min(burst, b.tokens + (now - b.at) * perMs);
        const ok = tokens >= 1;
        if (ok) tokens -= 1;
        buckets.set(k, { tokens, at: now });
        expect(got.ok).toBe(ok);
        expect(got.tokens).toBeCloseTo(tokens, 9);
      } else if (op < 0.8) {
        const h = limits.inFlight.acquire(id, key, 3);
        const n = counts.get(k) ?? 0;
        expect(h >= 0).toBe(n < 3);
        if (h >= 0) {
          counts.set(k, n + 1);
          handles.set(k, [...(handles.get(k) ?? []), h]);
        }
      } else {
        const hs = handles.get(k) ?? [];
        const h = hs.pop();
        if (h !== undefined) {
          limits.inFlight.release(h);
          counts.set(k, counts.get(k)! - 1);
        }
      }
    }
  });

  test('two limits never share a client bucket; a full table evicts the least recently used bucket and lets in-flight keys through uncounted', () => {
    const limits = sharedLimitsOf(allocateSharedLimits(16, 16));
    expect(limits.rate.take('a', 'c', 1, 0, 1).ok).toBe(true);
    expect(limits.rate.take('a', 'c', 1, 0, 2).ok).toBe(false);
    expect(limits.rate.take('b', 'c', 1, 0, 3).ok).toBe(true);
    // 200 other clients through 16 slots: 'a'/'c' is evicted and starts full again.
    for (let i = 0; i < 200; i++) limits.rate.take('a', `k${i}`, 1, 0, 10 + i);
    expect(limits.rate.take('a', 'c', 1, 0, 1000).ok).toBe(true);
    // Every slot holding a request in flight: a new key finds none and is let through (-2), never refused.
    const held = Array.from({ length: 64 }, (_, i) => limits.inFlight.acquire('a', `k${i}`, 1));
    expect(held.filter((h) => h >= 0).length).toBeLessThanOrEqual(16);
    expect(held.filter((h) => h === -2).length).toBeGreaterThan(0);
    expect(held.some((h) => h === -1)).toBe(false);
  });

  test('four threads on one client at once: the bucket fills and is spent for all of them together, and never more places in flight than the limit', async () => {
    const memory = allocateSharedLimits(1024, 1024);
    const shared = new SharedArrayBuffer(8);
    const flags = new Int32Array(shared);
    const burst = 20;
    const perMs = 5;
    const workers = Array.from({ length: 4 }, () => new Worker(new URL('./fixtures/limits-thread.ts', import.meta.url), { workerData: { memory, shared, ms: 400, max: 3, burst, perMs } }));
    const results = workers.map(
      (w) =>
        new Promise<{ tokens: number; places: number; most: number; first: number; last: number }>((resolve, reject) => {
          w.on('message', (m: unknown) => {
            if (m !== 'waiting') resolve(m as { tokens: number; places: number; most: number; first: number; last: number });
          });
          w.once('error', reject);
        }),
    );
    await new Promise((r) => setTimeout(r, 300)); // all four waiting
    Atomics.store(flags, 1, 1);
    Atomics.notify(flags, 1);
    const answers = await Promise.all(results);
    const elapsed = Math.max(...answers.map((a) => a.last)) - Math.min(...answers.map((a) => a.first));
    const granted = answers.reduce((s, a) => s + a.tokens, 0);
    // One bucket for the node: at most its burst and what it refilled over the run, whichever threads took it.
    expect(granted).toBeLessThanOrEqual(burst + Math.ceil(elapsed * perMs));
    // It refilled meanwhile (how much depends on how often the threads ran: a full bucket refills no more).
    expect(granted).toBeGreaterThan(burst);
    expect(Math.max(...answers.map((a) => a.most))).toBeLessThanOrEqual(3);
    expect(answers.reduce((s, a) => s + a.places, 0)).toBeGreaterThan(100);
  });
});
