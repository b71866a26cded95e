import { describe, expect, test } from 'vitest';
import { Membership, leaseObservationFromV1, type LeaseObservation } from '../../../src/speaker/membership.ts';

// Renewals carry a renewTime written by the holder's clock; tests use wall
// times far from the local monotonic `now` on purpose: only change matters.
function lease(name: string, renew: number, extra: Partial<LeaseObservation> = {}): LeaseObservation {
  return { name, holderIdentity: name, renewTime: new Date(1_700_000_000_000 + renew), leaseDurationSeconds: 3, ...extra };
}

function live(m: Membership, now: number): string[] {
  return [...m.view(now).live].sort();
}

/** Runs a steady cluster: every `alive` node renews each second, we mark fresh each second. */
function tick(m: Membership, from: number, to: number, alive: string[]): void {
  for (let t = from; t <= to; t += 1000) {
    for (const n of alive) m.observe(lease(n, t), t);
    m.markFresh(t);
  }
}

describe('membership: expiry', () => {
  test('before the first freshness mark the view is not synced and nothing expires', () => {
    const m = new Membership();
    m.observe(lease('a', 0), 0);
    const v = m.view(60_000);
    expect(v.synced).toBe(false);
    expect(v.frozen).toBe(false);
    expect([...v.live]).toEqual(['a']);
  });

  test('a lease expires when a fresh mark passes its deadline (observed + duration)', () => {
    const m = new Membership();
    m.observe(lease('a', 0), 0);
    m.observe(lease('b', 0), 0);
    m.markFresh(0);
    for (let t = 1000; t <= 2999; t += 1000) {
      m.observe(lease('a', t), t);
      m.markFresh(t);
    }
    m.markFresh(2999);
    expect(live(m, 2999)).toEqual(['a', 'b']);
    m.markFresh(3000);
    expect(live(m, 3000)).toEqual(['a']);
  });

  test('leaseDurationSeconds is per lease; absent means the configured default', () => {
    const m = new Membership({ defaultLeaseDurationMs: 5000 });
    m.observe(lease('long', 0, { leaseDurationSeconds: 10 }), 0);
    m.observe(lease('dflt', 0, { leaseDurationSeconds: null }), 0);
    m.observe(lease('short', 0, { leaseDurationSeconds: 3 }), 0);
    m.markFresh(3000);
    expect(live(m, 3000)).toEqual(['dflt', 'long']);
    m.markFresh(4000);
    m.markFresh(5000);
    expect(live(m, 5000)).toEqual(['long']);
  });

  test('a replayed lease (relist, same renewTime) is no evidence of life', () => {
    const m = new Membership();
    m.observe(lease('a', 0), 0);
    m.markFresh(0);
    for (let t = 1000; t <= 3000; t += 1000) {
      m.observe(lease('a', 0), t); // same object again
      m.markFresh(t);
    }
    expect(live(m, 3000)).toEqual([]);
  });

  test('a new holder or acquireTime with the same renewTime counts as a change', () => {
    const m = new Membership();
    m.observe(lease('a', 0, { holderIdentity: 'speaker-1' }), 0);
    m.markFresh(0);
    m.markFresh(1000);
    m.observe(lease('a', 0, { holderIdentity: 'speaker-2' }), 2000);
    m.markFresh(2000);
    m.markFresh(3000);
    m.markFresh(4000);
    expect(live(m, 4000)).toEqual(['a']);
  });

  test('an expired speaker that renews again rejoins', () => {
    const m = new Membership();
    tick(m, 0, 5000, ['a', 'b']);
    tick(m, 6000, 10_000, ['a']);
    expect(live(m, 10_000)).toEqual(['a']);
    tick(m, 11_000, 11_000, ['a', 'b']);
    expect(live(m, 11_000)).toEqual(['a', 'b']);
  });
});

describe('membership: clean stop', () => {
  test('a deleted Lease is gone at once, even while the view is frozen', () => {
    const m = new Membership();
    tick(m, 0, 2000, ['a', 'b']);
    expect(m.view(60_000).frozen).toBe(true);
    m.remove('b');
    expect(live(m, 60_000)).toEqual(['a']);
  });

  test('a released Lease (holderIdentity cleared) is gone at once', () => {
    const m = new Membership();
    tick(m, 0, 2000, ['a', 'b']);
    m.observe(lease('b', 2500, { holderIdentity: '' }), 2500);
    expect(live(m, 2500)).toEqual(['a']);
    m.observe(lease('b', 2600, { holderIdentity: null }), 2600);
    expect(live(m, 2600)).toEqual(['a']);
  });
});

describe('membership: API outage', () => {
  test('while no freshness mark arrives, the live set is frozen: nobody expires', () => {
    const m = new Membership();
    tick(m, 0, 5000, ['self', 'a', 'b']);
    for (const now of [5500, 8000, 30_000, 600_000]) {
      const v = m.view(now);
      expect([...v.live].sort()).toEqual(['a', 'b', 'self']);
      expect(v.frozen).toBe(now - 5000 > 1500);
    }
  });

  test('after the outage the survivors keep their place; a node that died during it expires after the grace', () => {
    const m = new Membership({ recoveryGraceMs: 6000 });
    tick(m, 0, 5000, ['self', 'a', 'b']);
    // API down from 5000 to 20000. First mark after it: a relist sent at 20000.
    m.markFresh(20_000);
    expect(live(m, 20_000)).toEqual(['a', 'b', 'self']);
    // a and self renew as soon as they can, a with a backoff of 4 s; b died.
    m.observe(lease('self', 20_100), 20_100);
    m.markFresh(20_100);
    for (let t = 21_000; t <= 25_999; t += 1000) {
      m.observe(lease('self', t), t);
      if (t >= 24_000) m.observe(lease('a', t), t);
      m.markFresh(t);
      expect(live(m, t)).toEqual(['a', 'b', 'self']);
    }
    m.observe(lease('self', 26_000), 26_000);
    m.observe(lease('a', 26_000), 26_000);
    m.markFresh(26_000);
    expect(live(m, 26_000)).toEqual(['a', 'self']);
    expect(m.view(26_000).frozen).toBe(false);
  });

  test('a lease that had expired before the outage stays expired after it', () => {
    const m = new Membership();
    tick(m, 0, 2000, ['self', 'a', 'dead']);
    tick(m, 3000, 6000, ['self', 'a']);
    expect(live(m, 6000)).toEqual(['a', 'self']);
    m.markFresh(30_000);
    expect(live(m, 30_000)).toEqual(['a', 'self']);
  });

  test('one grace per observation: late marks forever cannot keep a dead speaker alive', () => {
    const m = new Membership({ staleAfterMs: 1500, recoveryGraceMs: 6000 });
    tick(m, 0, 2000, ['self', 'dead']);
    // Every mark now arrives 2 s after the previous one (each looks like an outage).
    let t = 2000;
    for (; t <= 60_000; t += 2000) {
      m.observe(lease('self', t), t);
      m.markFresh(t);
      if (!m.view(t).live.has('dead')) break;
    }
    expect(t).toBeLessThanOrEqual(2000 + 2000 + 6000 + 2000);
    expect(live(m, t)).toEqual(['self']);
  });

  test('a short hiccup below staleAfterMs grants no grace', () => {
    const m = new Membership({ staleAfterMs: 1500 });
    tick(m, 0, 1000, ['self', 'b']);
    m.observe(lease('self', 2400), 2400);
    m.markFresh(2400); // gap 1400
    m.observe(lease('self', 3400), 3400);
    m.markFresh(3400);
    m.markFresh(4000);
    expect(live(m, 4000)).toEqual(['self']);
  });

  test('a speaker seen renewing during the outage joins (positive evidence is never stale)', () => {
    const m = new Membership();
    tick(m, 0, 2000, ['self', 'a']);
    m.observe(lease('new', 9000), 9000);
    expect(live(m, 9000)).toEqual(['a', 'new', 'self']);
  });

  test('out-of-order freshness marks are ignored', () => {
    const m = new Membership();
    tick(m, 0, 5000, ['a', 'b']);
    m.observe(lease('a', 6000), 6000);
    m.markFresh(6000);
    m.markFresh(7000);
    m.markFresh(8000);
    m.markFresh(7500);
    expect(m.view(8000).freshAsOfMs).toBe(8000);
    expect(live(m, 8000)).toEqual(['a']);
  });
});

describe('membership: clock skew', () => {
  test('remote renewTimes far in the past or future do not matter, only their change', () => {
    const m = new Membership();
    const past = (t: number) => new Date(Date.UTC(2001, 0, 1) + t);
    const future = (t: number) => `2099-01-01T00:00:${String(t / 1000).padStart(2, '0')}.000000Z`;
    m.markFresh(0);
    for (let t = 0; t <= 10_000; t += 1000) {
      m.observe({ name: 'behind', holderIdentity: 'behind', renewTime: past(t), leaseDurationSeconds: 3 }, t);
      m.observe({ name: 'ahead', holderIdentity: 'ahead', renewTime: future(t), leaseDurationSeconds: 3 }, t);
      if (t <= 2000) m.observe({ name: 'stuck', holderIdentity: 'stuck', renewTime: future(0), leaseDurationSeconds: 3 }, t);
      m.markFresh(t);
    }
    expect(live(m, 10_000)).toEqual(['ahead', 'behind']);
  });
});

describe('membership: view', () => {
  test('the live Set keeps its identity while membership is unchanged', () => {
    const m = new Membership();
    tick(m, 0, 1000, ['a', 'b']);
    const first = m.view(1000).live;
    tick(m, 2000, 2000, ['a', 'b']);
    expect(m.view(2000).live).toBe(first);
    tick(m, 3000, 5000, ['a']);
    expect(m.view(5000).live).not.toBe(first);
  });

  test('rejects nonsensical options', () => {
    expect(() => new Membership({ staleAfterMs: 0 })).toThrow(RangeError);
  });

  test('leaseObservationFromV1 reads name and spec', () => {
    const renew = new Date(5);
    expect(
      leaseObservationFromV1({
        metadata: { name: 'node-1', namespace: 'metalgate-system' },
        spec: { holderIdentity: 'node-1', renewTime: renew, leaseDurationSeconds: 3 },
      }),
    ).toEqual({ name: 'node-1', holderIdentity: 'node-1', renewTime: renew, acquireTime: null, leaseDurationSeconds: 3 });
    expect(leaseObservationFromV1({ spec: {} })).toBeUndefined();
  });
});
