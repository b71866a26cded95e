import { describe, expect, test } from 'vitest';
import { capabilityAnnotations, capabilityFields, decodeAnnounceMacs, decodeAnnounceSubnets, encodeAnnounceSubnets } from '../../../src/speaker/lease-annotations.ts';

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

describe('announce-macs annotation', () => {
  test('publishes each interface with its MAC and subnets, and reads back', () => {
    const macs = [
      { name: 'eth0', mac: '02:00:00:00:00:01', subnets: ['198.18.0.0/24', '2001:db8::/64'] },
      { name: 'eth1', mac: '02:00:00:00:00:02', subnets: [] },
    ];
    const annotations = capabilityAnnotations({ subnets: ['198.18.0.0/24'], anyIp: false, interfaces: ['eth0', 'eth1'] }, macs);
    expect(annotations['metalgate.io/announce-macs']).toBe('eth0 02:00:00:00:00:01 198.18.0.0/24 2001:db8::/64;eth1 02:00:00:00:00:02');
    expect(decodeAnnounceMacs(annotations['metalgate.io/announce-macs'])).toEqual(macs);
  });

  test('entries without a valid MAC are left out; MACs are normalized; none without the annotation', () => {
    expect(decodeAnnounceMacs('eth0 nonsense 198.18.0.0/24; eth1 02-AA-00-00-00-01 ;;x')).toEqual([{ name: 'eth1', mac: '02:aa:00:00:00:01', subnets: [] }]);
    expect(decodeAnnounceMacs(undefined)).toEqual([]);
    expect(capabilityAnnotations({ subnets: [], anyIp: true })).not.toHaveProperty('metalgate.io/announce-macs');
  });
});
