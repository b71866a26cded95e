import { describe, expect, test } from 'vitest';
import { capabilityAnnotations, capabilityFields, decodeAnnounceSubnets, encodeAnnounceSubnets } from '../../../src/speaker/lease-annotations.ts';

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
    expect(capabilityFields(undefined)).toEqual({ subnets: [], anyIp: false, interfaces: [] });
    expect(decodeAnnounceSubnets(' 198.18.0.0/24 , ,2001:db8::/64 ')).toEqual({ subnets: ['198.18.0.0/24', '2001:db8::/64'], anyIp: false });
    expect(decodeAnnounceSubnets(' * ')).toEqual({ subnets: [], anyIp: true });
  });
});

describe('announce-interfaces annotation', () => {
  test('publishes the usable interface names next to the subnets, and reads back', () => {
    const annotations = capabilityAnnotations({ subnets: ['198.18.0.0/24'], anyIp: false, interfaces: ['eth0', 'eth1'] });
    expect(annotations).toEqual({ 'metalgate.io/announce-subnets': '198.18.0.0/24', 'metalgate.io/announce-interfaces': 'eth0,eth1' });
    expect(capabilityFields(annotations)).toEqual({ subnets: ['198.18.0.0/24'], anyIp: false, interfaces: ['eth0', 'eth1'] });
  });

  test("an older speaker's Lease (subnets only) names no interface", () => {
    expect(capabilityFields({ 'metalgate.io/announce-subnets': '*' })).toEqual({ subnets: [], anyIp: true, interfaces: [] });
  });
});
