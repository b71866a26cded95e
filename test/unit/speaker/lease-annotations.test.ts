import { describe, expect, test } from 'vitest';
import { capabilityFields, decodeAnnounceSubnets, encodeAnnounceSubnets } from '../../../src/speaker/lease-annotations.ts';

describe('announce-subnets annotation', () => {
  test('round-trips subnets, any-IP and none', () => {
    for (const c of [
      { subnets: ['198.18.0.0/24', '2001:db8::/64'], anyIp: false },
      { subnets: [], anyIp: true },
      { subnets: [], anyIp: false },
    ]) {
      expect(decodeAnnounceSubnets(encodeAnnounceSubnets(c))).toEqual(c);
    }
    expect(encodeAnnounceSubnets({ subnets: ['198.18.0.0/24', '198.19.0.0/24'], anyIp: false })).toBe('198.18.0.0/24,198.19.0.0/24');
  });

  test('a missing annotation means no interface; blanks are tolerated', () => {
    expect(capabilityFields(undefined)).toEqual({ subnets: [], anyIp: false });
    expect(decodeAnnounceSubnets(' 198.18.0.0/24 , ,2001:db8::/64 ')).toEqual({ subnets: ['198.18.0.0/24', '2001:db8::/64'], anyIp: false });
    expect(decodeAnnounceSubnets(' * ')).toEqual({ subnets: [], anyIp: true });
  });
});
