import { describe, expect, test } from 'vitest';
import { l2AdvertisementOf, l2PlanFor, type L2Advertisement, type L2AdvertisementObject } from '../../../src/config/metallb-l2.ts';

const ad = (spec: L2AdvertisementObject['spec'], name = 'l2'): L2Advertisement => {
  const r = l2AdvertisementOf({ metadata: { name, namespace: 'metallb-system' }, spec });
  if (!r.ok) throw new Error(r.message);
  return r.value;
};

describe('L2Advertisement', () => {
  test('no advertisement: the pool is not announced anywhere', () => {
    expect(l2PlanFor([], 'p', {}, {})).toEqual({ announce: false, interfaces: undefined });
  });

  test('an empty advertisement: every pool, every node, any interface', () => {
    expect(l2PlanFor([ad({})], 'p', {}, {})).toEqual({ announce: true, interfaces: undefined });
  });

  test('pools by name or by label; nodes by selector; interfaces listed', () => {
    const ads = [ad({ ipAddressPools: ['a'], nodeSelectors: [{ matchLabels: { edge: 'true' } }], interfaces: ['eth1'] }), ad({ ipAddressPoolSelectors: [{ matchLabels: { tier: 'lan' } }] }, 'lan')];
    expect(l2PlanFor(ads, 'a', {}, { edge: 'true' })).toEqual({ announce: true, interfaces: new Set(['eth1']) });
    expect(l2PlanFor(ads, 'a', {}, {})).toEqual({ announce: false, interfaces: undefined });
    expect(l2PlanFor(ads, 'b', { tier: 'lan' }, {})).toEqual({ announce: true, interfaces: undefined });
    expect(l2PlanFor(ads, 'b', {}, { edge: 'true' })).toEqual({ announce: false, interfaces: undefined });
  });

  test('advertisements add up: interfaces are the union, and one without interfaces means any', () => {
    const two = [ad({ ipAddressPools: ['a'], interfaces: ['eth1'] }), ad({ ipAddressPools: ['a'], interfaces: ['eth2'] }, 'b')];
    expect(l2PlanFor(two, 'a', {}, {}).interfaces).toEqual(new Set(['eth1', 'eth2']));
    expect(l2PlanFor([...two, ad({ ipAddressPools: ['a'] }, 'c')], 'a', {}, {}).interfaces).toBeUndefined();
  });

  test.each([
    [{ interfaces: ['eth0/1'] }, 'spec.interfaces[0] "eth0/1" is not an interface name'],
    [{ interfaces: ['a-very-long-ifname'] }, 'spec.interfaces[0] "a-very-long-ifname" is not an interface name'],
    [{ ipAddressPools: [''] }, 'spec.ipAddressPools must be a list of names'],
    [{ nodeSelectors: [{ matchExpressions: [{ key: 'k', operator: 'Bad' }] }] }, 'spec.nodeSelectors[0]: matchExpressions[0]: operator "Bad" is not one of'],
  ])('%j is refused', (spec, message) => {
    const r = l2AdvertisementOf({ metadata: { name: 'x' }, spec });
    expect(!r.ok && r.message).toContain(message);
  });
});
