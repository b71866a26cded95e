import { describe, expect, test } from 'vitest';
import type { AddressInfo, LinkInfo } from '../../../src/netlink/types.ts';
import { interfaceForIp, sameAnnouncePlan, surveyInterfaces, unusableReason } from '../../../src/speaker/announce-interfaces.ts';

function link(index: number, name: string, extra: Partial<LinkInfo> = {}): LinkInfo {
  return {
    index,
    name,
    kind: undefined,
    hwType: 'ETHER',
    mac: `02:00:00:00:00:${index.toString(16).padStart(2, '0')}`,
    up: true,
    carrier: true,
    master: undefined,
    noArp: false,
    ...extra,
  };
}

function addr(index: number, cidr: string, extra: Partial<AddressInfo> = {}): AddressInfo {
  const [ip, len] = cidr.split('/');
  return { index, family: ip!.includes(':') ? 6 : 4, ip: ip!, prefixLength: Number(len), scope: 0, tentative: false, ...extra };
}

const LO = link(1, 'lo', { hwType: 'LOOPBACK', mac: '00:00:00:00:00:00' });
const opts = { holderDevice: 'metalgate0' };

describe('surveyInterfaces', () => {
  test('an up Ethernet link with carrier publishes the networks of its global addresses', () => {
    const s = surveyInterfaces(
      [LO, link(2, 'eth0')],
      [addr(1, '127.0.0.1/8', { scope: 254 }), addr(2, '198.18.0.11/24'), addr(2, '2001:db8::11/64'), addr(2, 'fe80::1/64', { scope: 253 })],
      opts,
    );
    expect(s.interfaces).toEqual([{ name: 'eth0', index: 2, mac: '02:00:00:00:00:02', subnets: ['198.18.0.0/24', '2001:db8::/64'] }]);
    expect(s.subnets).toEqual(['198.18.0.0/24', '2001:db8::/64']);
    expect(s.anyIp).toBe(false);
    expect(s.ownMacs).toEqual(['02:00:00:00:00:02']);
  });

  test('bond/bridge members, the holder, wireless kinds, down or carrier-less links are left out with a reason', () => {
    const links = [
      link(2, 'eth0', { master: 5 }),
      link(3, 'metalgate0', { kind: 'ifb', noArp: true }),
      link(4, 'kube-ipvs0', { kind: 'dummy' }),
      link(5, 'br0', { kind: 'bridge' }),
      link(6, 'eth1', { up: false }),
      link(7, 'eth2', { carrier: false }),
      link(8, 'eth3'),
    ];
    const addresses = [addr(2, '198.18.9.1/24'), addr(3, '198.18.0.50/32'), addr(4, '198.19.0.10/32'), addr(5, '198.18.0.11/24'), addr(6, '198.18.1.1/24'), addr(7, '198.18.2.1/24')];
    const s = surveyInterfaces(links, addresses, opts);
    // eth3 has no address: listed without subnets (an L2Advertisement may name it).
    expect(s.interfaces.map((i) => [i.name, i.subnets])).toEqual([['br0', ['198.18.0.0/24']], ['eth3', []]]);
    expect(s.subnets).toEqual(['198.18.0.0/24']);
    expect(Object.fromEntries(s.skipped.map((x) => [x.name, x.reason]))).toEqual({
      eth0: 'member of a bond or bridge',
      metalgate0: 'holder device',
      'kube-ipvs0': 'dummy device has no wire',
      eth1: 'down',
      eth2: 'no carrier',
    });
    // Every MAC is ours, usable or not: frames from them are never conflicts.
    expect(s.ownMacs).toHaveLength(7);
  });

  test('tentative addresses and single-address prefixes publish nothing', () => {
    const s = surveyInterfaces([link(2, 'eth0')], [addr(2, '2001:db8::5/64', { tentative: true }), addr(2, '198.18.0.5/32')], opts);
    expect(s.interfaces.map((i) => i.subnets)).toEqual([[]]);
    expect(s.subnets).toEqual([]);
    expect(interfaceForIp('198.18.0.5', s)).toBeUndefined();
  });

  test('a pinned interface announces any IP while usable, and only it is considered', () => {
    const links = [link(2, 'eth0'), link(3, 'eth1')];
    const addresses = [addr(2, '198.18.0.11/24')];
    const s = surveyInterfaces(links, addresses, { ...opts, pinned: 'eth1' });
    expect(s.anyIp).toBe(true);
    expect(s.interfaces.map((i) => i.name)).toEqual(['eth1']);
    expect(interfaceForIp('203.0.113.7', s)?.name).toBe('eth1');
    const down = surveyInterfaces([link(2, 'eth0'), link(3, 'eth1', { carrier: false })], addresses, { ...opts, pinned: 'eth1' });
    expect(down.anyIp).toBe(false);
    expect(down.interfaces).toEqual([]);
    const missing = surveyInterfaces(links, addresses, { ...opts, pinned: 'eth9' });
    expect(missing.skipped).toEqual([{ name: 'eth9', reason: 'no such interface' }]);
  });

  test('unusableReason rejects non-Ethernet links', () => {
    expect(unusableReason(LO, opts)).toBe('not Ethernet (LOOPBACK)');
  });
});

describe('interfaceForIp', () => {
  const s = surveyInterfaces(
    [link(2, 'eth0'), link(3, 'eth1'), link(4, 'eth2')],
    [addr(2, '198.18.0.11/16'), addr(3, '198.18.5.11/24'), addr(4, '198.18.5.12/24'), addr(3, '2001:db8:1::1/64')],
    opts,
  );

  test('the longest matching prefix wins, then the lowest ifindex', () => {
    expect(interfaceForIp('198.18.5.200', s)?.name).toBe('eth1');
    expect(interfaceForIp('198.18.7.1', s)?.name).toBe('eth0');
    expect(interfaceForIp('2001:db8:1::80', s)?.name).toBe('eth1');
  });

  test('interfaces named by an L2Advertisement: only those, by subnet first, else the first of them', () => {
    expect(interfaceForIp('198.18.5.200', s, new Set(['eth0']))?.name).toBe('eth0');
    expect(interfaceForIp('198.18.5.200', s, new Set(['eth0', 'eth2']))?.name).toBe('eth2');
    expect(interfaceForIp('198.51.100.1', s, new Set(['eth2', 'eth1']))?.name).toBe('eth1');
    expect(interfaceForIp('198.18.5.200', s, new Set(['eth9']))).toBeUndefined();
  });

  test('no containing subnet, or another family: no interface', () => {
    expect(interfaceForIp('198.51.100.1', s)).toBeUndefined();
    expect(interfaceForIp('2001:db8:2::1', s)).toBeUndefined();
    expect(interfaceForIp('not-an-ip', s)).toBeUndefined();
  });
});

describe('sameAnnouncePlan', () => {
  test('detects a changed subnet, MAC or interface set', () => {
    const a = surveyInterfaces([link(2, 'eth0')], [addr(2, '198.18.0.11/24')], opts);
    expect(sameAnnouncePlan(a, surveyInterfaces([link(2, 'eth0')], [addr(2, '198.18.0.12/24')], opts))).toBe(true);
    expect(sameAnnouncePlan(a, surveyInterfaces([link(2, 'eth0')], [addr(2, '198.18.0.11/25')], opts))).toBe(false);
    expect(sameAnnouncePlan(a, surveyInterfaces([link(2, 'eth0', { mac: '02:00:00:00:aa:aa' })], [addr(2, '198.18.0.11/24')], opts))).toBe(false);
    expect(sameAnnouncePlan(a, surveyInterfaces([link(2, 'eth0', { carrier: false })], [addr(2, '198.18.0.11/24')], opts))).toBe(false);
  });
});
