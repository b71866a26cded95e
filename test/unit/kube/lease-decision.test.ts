import { describe, expect, test } from 'vitest';
import { decide, observe, type LeaseRecord } from '../../../src/kube/lease-decision.ts';

const rec = (holder: string, renewTime: string, durationMs = 15_000, transitions = 0): LeaseRecord => ({ holder, renewTime, durationMs, transitions });

describe('lease decision', () => {
  test('no Lease: create it', () => {
    expect(decide('me', undefined, false, 0)).toEqual({ kind: 'create' });
  });
  test('our own Lease: renew', () => {
    expect(decide('me', observe(undefined, rec('me', 't1'), 0), true, 0)).toEqual({ kind: 'renew' });
  });
  test('released Lease (empty holder): acquire at once', () => {
    expect(decide('me', observe(undefined, rec('', 't1', 1000, 3), 0), true, 0)).toEqual({ kind: 'acquire', transitions: 4 });
  });
  test("another holder: wait until our own clock says it expired, counted from when we saw it change", () => {
    let obs = observe(undefined, rec('other', 't1'), 1000);
    expect(decide('me', obs, true, 5000)).toEqual({ kind: 'wait', holder: 'other', expiresInMs: 11_000 });
    // Unchanged record: the clock keeps running from the first sighting.
    obs = observe(obs, rec('other', 't1'), 15_000);
    expect(decide('me', obs, true, 16_000)).toEqual({ kind: 'acquire', transitions: 1 });
  });
  test('a renewal restarts the clock, whatever its timestamp says (clock skew is irrelevant)', () => {
    let obs = observe(undefined, rec('other', '2000-01-01T00:00:00.000000Z'), 0);
    obs = observe(obs, rec('other', '1999-01-01T00:00:00.000000Z'), 14_000);
    expect(decide('me', obs, true, 20_000)).toEqual({ kind: 'wait', holder: 'other', expiresInMs: 9_000 });
  });
});
