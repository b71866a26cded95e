import { describe, expect, test } from 'vitest';
import { ReplyLogLimiter } from '../../../src/speaker/reply-log-limiter.ts';

describe('ReplyLogLimiter', () => {
  test('the first answer is logged, then one per interval with the count held back', () => {
    const l = new ReplyLogLimiter(10_000);
    expect(l.answered('198.18.0.1', 0)).toEqual({ log: true, suppressed: 0 });
    for (let t = 1; t < 100; t++) expect(l.answered('198.18.0.1', t * 50).log).toBe(false);
    expect(l.answered('198.18.0.1', 10_000)).toEqual({ log: true, suppressed: 99 });
    // Per IP: another IP is not held back by the first.
    expect(l.answered('198.18.0.2', 10_001)).toEqual({ log: true, suppressed: 0 });
  });

  test('forget: the next answer after a new takeover is logged at once', () => {
    const l = new ReplyLogLimiter(10_000);
    l.answered('198.18.0.1', 0);
    l.forget('198.18.0.1');
    expect(l.answered('198.18.0.1', 1).log).toBe(true);
  });

  test('tracks a bounded number of IPs', () => {
    const l = new ReplyLogLimiter(10_000, 2);
    l.answered('a', 0);
    l.answered('b', 0);
    l.answered('c', 0); // evicts a
    expect(l.answered('a', 1).log).toBe(true);
  });
});
