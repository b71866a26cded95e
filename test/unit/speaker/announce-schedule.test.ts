import { describe, expect, test } from 'vitest';
import {
  DEFAULT_ANNOUNCE_SCHEDULE,
  dueAnnouncements,
  nextAnnouncement,
  refreshPeriod,
  resolveAnnounceSchedule,
  type AnnounceState,
} from '../../../src/speaker/announce-schedule.ts';

const NO_JITTER = resolveAnnounceSchedule({ refreshJitter: 0 });

/** Drives the scheduler like the announcer would, waking at nextWakeMs; returns (time, ip, reason) sends. */
function simulate(states: AnnounceState[], from: number, until: number, options = NO_JITTER): Array<[number, string, string]> {
  const sent: Array<[number, string, string]> = [];
  let now = from;
  for (let rounds = 0; rounds < 10_000 && now <= until; rounds++) {
    const round = dueAnnouncements(states, now, options);
    for (const d of round.due) {
      sent.push([now, d.ip, d.reason]);
      states.find((s) => s.ip === d.ip)!.lastSentMs = now;
    }
    if (round.nextWakeMs === undefined) break;
    expect(round.nextWakeMs).toBeGreaterThan(now);
    now = round.nextWakeMs;
  }
  return sent;
}

describe('announce schedule', () => {
  test('takeover: a burst at 0, 0.1, 0.3, 0.7, 1.5, 3.1 s, then a refresh every 10 s', () => {
    const sent = simulate([{ ip: '198.18.0.1', burstStartMs: 1000 }], 1000, 40_000);
    expect(sent.map(([t, , r]) => [t, r])).toEqual([
      [1000, 'takeover'],
      [1100, 'takeover'],
      [1300, 'takeover'],
      [1700, 'takeover'],
      [2500, 'takeover'],
      [4100, 'takeover'],
      [14_100, 'refresh'],
      [24_100, 'refresh'],
      [34_100, 'refresh'],
    ]);
  });

  test('burst steps are numbered for the logs', () => {
    const r = dueAnnouncements([{ ip: 'a', burstStartMs: 0, lastSentMs: 100 }], 300, NO_JITTER);
    expect(r.due).toEqual([{ ip: 'a', reason: 'takeover', step: 2 }]);
  });

  test('after a stall, missed steps are sent once, not caught up', () => {
    const r = dueAnnouncements([{ ip: 'a', burstStartMs: 0 }], 1000, NO_JITTER);
    expect(r.due).toEqual([{ ip: 'a', reason: 'takeover', step: 0 }]);
    expect(r.nextWakeMs).toBe(1500);
    const late = dueAnnouncements([{ ip: 'a', burstStartMs: 0, lastSentMs: 100 }], 9000, NO_JITTER);
    expect(late.due).toEqual([{ ip: 'a', reason: 'takeover', step: 2 }]);
    expect(late.nextWakeMs).toBe(19_000);
  });

  test('moving burstStartMs past the last send restarts the burst', () => {
    const states = [{ ip: 'a', burstStartMs: 0, lastSentMs: 50_000 }];
    states[0]!.burstStartMs = 52_000;
    const sent = simulate(states, 52_000, 56_000);
    expect(sent.map(([t, , r]) => [t, r])).toEqual([
      [52_000, 'takeover'],
      [52_100, 'takeover'],
      [52_300, 'takeover'],
      [52_700, 'takeover'],
      [53_500, 'takeover'],
      [55_100, 'takeover'],
    ]);
  });

  test('nothing due: an empty list and the earliest next time over all IPs', () => {
    const states: AnnounceState[] = [
      { ip: 'a', burstStartMs: 0, lastSentMs: 3100 },
      { ip: 'b', burstStartMs: 5000, lastSentMs: 5100 },
    ];
    expect(dueAnnouncements(states, 5200, NO_JITTER)).toEqual({ due: [], nextWakeMs: 5300 });
    expect(nextAnnouncement(states[0]!, NO_JITTER)).toEqual({ atMs: 13_100, reason: 'refresh', step: -1 });
  });

  test('no IPs: no wake-up', () => {
    expect(dueAnnouncements([], 0)).toEqual({ due: [], nextWakeMs: undefined });
  });

  test('several IPs due together are all returned', () => {
    const states = Array.from({ length: 100 }, (_, i) => ({ ip: `198.18.0.${i}`, burstStartMs: 0 }));
    const r = dueAnnouncements(states, 0);
    expect(r.due).toHaveLength(100);
    expect(r.nextWakeMs).toBe(100);
  });

  test('jitter: per-IP periods within [90%, 100%] of the interval, stable, and varied', () => {
    const periods = Array.from({ length: 200 }, (_, i) => refreshPeriod(`198.18.1.${i}`));
    for (const p of periods) {
      expect(p).toBeGreaterThanOrEqual(9000);
      expect(p).toBeLessThanOrEqual(10_000);
    }
    expect(refreshPeriod('198.18.1.7')).toBe(periods[7]);
    expect(new Set(periods).size).toBeGreaterThan(150);
  });

  test('jitter: IPs taken over together stop refreshing in lock-step', () => {
    const states = Array.from({ length: 50 }, (_, i) => ({ ip: `198.18.2.${i}`, burstStartMs: 0 }) as AnnounceState);
    const sent = simulate(states, 0, 60_000, resolveAnnounceSchedule({ refreshBatchMs: 0 }));
    const lastRefreshTimes = new Set(
      states.map((s) => sent.filter(([, ip]) => ip === s.ip).at(-1)![0]),
    );
    expect(lastRefreshTimes.size).toBeGreaterThan(40);
    // Every IP was still refreshed at least every 10 s.
    for (const s of states) {
      const times = sent.filter(([, ip]) => ip === s.ip).map(([t]) => t);
      for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeLessThanOrEqual(10_000);
    }
  });

  test('refreshes due within refreshBatchMs go out together; bursts are never early', () => {
    const states: AnnounceState[] = [
      { ip: 'a', burstStartMs: 0, lastSentMs: 3100 }, // refresh at 13100
      { ip: 'b', burstStartMs: 0, lastSentMs: 3500 }, // refresh at 13500
      { ip: 'c', burstStartMs: 0, lastSentMs: 3700 }, // refresh at 13700
      { ip: 'd', burstStartMs: 13_000, lastSentMs: 13_000 }, // burst step at 13100
      { ip: 'e', burstStartMs: 13_000, lastSentMs: 13_100 }, // burst step at 13300
    ];
    const r = dueAnnouncements(states, 13_100, NO_JITTER);
    expect(r.due.map((d) => d.ip)).toEqual(['a', 'b', 'd']);
    expect(r.nextWakeMs).toBe(13_300);
  });

  test('thousands of jittered IPs: wake-ups stay bounded by the batch window', () => {
    const states = Array.from({ length: 3000 }, (_, i) => ({ ip: `198.18.${i >> 8}.${i & 255}`, burstStartMs: (i % 7) * 1000 }) as AnnounceState);
    const byIp = new Map(states.map((s) => [s.ip, s]));
    let now = 0;
    let rounds = 0;
    let sends = 0;
    while (now < 120_000 && rounds < 10_000) {
      const round = dueAnnouncements(states, now);
      for (const d of round.due) byIp.get(d.ip)!.lastSentMs = now;
      sends += round.due.length;
      rounds++;
      now = round.nextWakeMs!;
    }
    // 7 bursts of 6 steps, then at most one refresh round per 500 ms.
    expect(rounds).toBeLessThan(42 + 120_000 / 500);
    expect(sends).toBeGreaterThan(3000 * (6 + 11));
  });

  test.each([
    [{ refreshBatchMs: 5000 }, /refreshBatchMs/],
    [{ burstOffsetsMs: [] }, /burstOffsetsMs/],
    [{ burstOffsetsMs: [0, 100, 100] }, /ascending/],
    [{ burstOffsetsMs: [-1] }, /burstOffsetsMs/],
    [{ refreshIntervalMs: 0 }, /refreshIntervalMs/],
    [{ refreshJitter: 1 }, /refreshJitter/],
  ])('rejects %j', (options, message) => {
    expect(() => resolveAnnounceSchedule(options)).toThrow(message);
  });

  test('custom schedule: refresh every 60 s after a two-step burst', () => {
    const options = resolveAnnounceSchedule({ burstOffsetsMs: [0, 500], refreshIntervalMs: 60_000, refreshJitter: 0 });
    const sent = simulate([{ ip: '2001:db8::1', burstStartMs: 0 }], 0, 130_000, options);
    expect(sent.map(([t]) => t)).toEqual([0, 500, 60_500, 120_500]);
  });
});
