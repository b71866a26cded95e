import { describe, expect, test } from 'vitest';
import { OwnLeaseEcho } from '../../../src/speaker/own-lease-echo.ts';

describe('OwnLeaseEcho', () => {
  test('response first, then the watch event: the event yields the send time', () => {
    const e = new OwnLeaseEcho();
    expect(e.renewed('10', 1000)).toBeUndefined();
    expect(e.echoed('10')).toBe(1000);
    expect(e.echoed('10')).toBeUndefined();
  });

  test('watch event first, then the response: the response yields it', () => {
    const e = new OwnLeaseEcho();
    expect(e.echoed('11')).toBeUndefined();
    expect(e.renewed('11', 1500)).toBe(1500);
  });

  test('an echo drops older pending renewals; unknown versions (someone else edited the Lease) yield nothing', () => {
    const e = new OwnLeaseEcho();
    e.renewed('20', 100);
    e.renewed('21', 200);
    expect(e.echoed('21')).toBe(200);
    expect(e.echoed('20')).toBeUndefined();
    expect(e.echoed('99')).toBeUndefined();
  });

  test('memory stays bounded when echoes never come', () => {
    const e = new OwnLeaseEcho();
    for (let i = 0; i < 1000; i++) e.renewed(String(i), i);
    expect(e.echoed('0')).toBeUndefined(); // long evicted
    expect(e.echoed('999')).toBe(999);
  });
});
