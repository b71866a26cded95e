import { describe, expect, it } from 'vitest';

import { outages, restoredAfter, type ProbeSample } from '../../support/probe-stats.ts';

const ok = (t: number, by = 'node1', ms = 2): ProbeSample => ({ t, ms, ok: true, status: 200, by });
const fail = (t: number, err = 'TIMEOUT', ms = 300): ProbeSample => ({ t, ms, ok: false, err });

describe('outages', () => {
  it('finds runs of failures and when traffic came back', () => {
    const samples = [ok(0), fail(20), fail(340), ok(660, 'node2'), ok(680, 'node2'), fail(700, 'ECONNREFUSED', 1), ok(720, 'node2')];
    expect(outages(samples)).toEqual([
      { start: 20, end: 660, ms: 640, failures: 2 },
      { start: 700, end: 720, ms: 20, failures: 1 },
    ]);
  });

  it('leaves an outage open while it lasts, and finds none in clean traffic', () => {
    expect(outages([ok(0), fail(20), fail(40)])).toEqual([{ start: 20, end: undefined, ms: undefined, failures: 2 }]);
    expect(outages([ok(0), ok(20)])).toEqual([]);
    expect(outages([])).toEqual([]);
  });
});

describe('restoredAfter', () => {
  const samples = [ok(0), ok(20), fail(40), ok(400, 'node1', 5), ok(420, 'node2', 3)];

  it('measures from the fault to the end of the first accepted success', () => {
    expect(restoredAfter(samples, 30)).toBe(375); // 400 + 5 - 30
    expect(restoredAfter(samples, 30, (s) => s.by !== 'node1')).toBe(393); // 420 + 3 - 30
    expect(restoredAfter(samples, 0)).toBe(2);
  });

  it('is undefined when traffic never came back', () => {
    expect(restoredAfter(samples, 500)).toBeUndefined();
    expect(restoredAfter(samples, 30, (s) => s.by === 'node9')).toBeUndefined();
  });
});
