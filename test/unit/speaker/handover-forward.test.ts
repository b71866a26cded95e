import { describe, expect, test } from 'vitest';
import { closeForwardScript, handoverKey, openForwardScript, peerMacFor, resetForwardScript } from '../../../src/speaker/handover-forward.ts';

const peer = [
  { name: 'eth0', mac: '02:00:00:00:00:01', subnets: ['198.18.0.0/16', '2001:db8::/64'] },
  { name: 'eth1', mac: '02:00:00:00:00:02', subnets: ['198.18.4.0/24'] },
  { name: 'vlan7', mac: '02:00:00:00:00:03', subnets: [] },
];

describe('peerMacFor', () => {
  test('the interface whose subnet contains the IP, the longest prefix first', () => {
    expect(peerMacFor('198.18.0.200', peer, 'eth9')).toBe('02:00:00:00:00:01');
    expect(peerMacFor('198.18.4.7', peer, 'eth9')).toBe('02:00:00:00:00:02');
    expect(peerMacFor('2001:db8::200', peer, 'eth9')).toBe('02:00:00:00:00:01');
  });

  test('without a containing subnet: the interface named like ours, else the only one, else none', () => {
    expect(peerMacFor('198.51.100.1', peer, 'vlan7')).toBe('02:00:00:00:00:03');
    expect(peerMacFor('198.51.100.1', peer, 'eth9')).toBeUndefined();
    expect(peerMacFor('198.51.100.1', [peer[2]!], 'eth9')).toBe('02:00:00:00:00:03');
    expect(peerMacFor('198.51.100.1', [], 'eth0')).toBeUndefined();
    expect(peerMacFor('not an ip', peer, 'eth0')).toBeUndefined();
  });
});

describe('forward scripts', () => {
  const f = { ip: '198.18.0.200', device: 'eth0', ownMac: '02:00:00:00:00:0a', peerMac: '02:00:00:00:00:01' };

  test('IPv4: flows begun here (a SYN without ACK) stay; other TCP to the IP goes to the peer, never back to it', () => {
    const r = openForwardScript(f);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.script).toContain('add set netdev metalgate-handover flows_198_18_0_200 { type ipv4_addr . inet_service . inet_service;');
    expect(r.script).toContain('add chain netdev metalgate-handover fwd_198_18_0_200 { type filter hook ingress device "eth0" priority -300; policy accept; }');
    expect(r.script).toContain('flush chain netdev metalgate-handover fwd_198_18_0_200');
    const rules = r.script.split('\n').filter((l) => l.startsWith('add rule'));
    expect(rules).toEqual([
      'add rule netdev metalgate-handover fwd_198_18_0_200 ip daddr 198.18.0.200 tcp flags & (syn | ack) == syn add @flows_198_18_0_200 { ip saddr . tcp sport . tcp dport } accept',
      'add rule netdev metalgate-handover fwd_198_18_0_200 ip daddr 198.18.0.200 ip saddr . tcp sport . tcp dport @flows_198_18_0_200 accept',
      'add rule netdev metalgate-handover fwd_198_18_0_200 ip daddr 198.18.0.200 meta l4proto tcp ether saddr != 02:00:00:00:00:01 ether saddr set 02:00:00:00:00:0a ether daddr set 02:00:00:00:00:01 fwd to "eth0"',
    ]);
  });

  test('IPv6 uses ip6 and an ipv6_addr set', () => {
    const r = openForwardScript({ ...f, ip: '2001:db8::200' });
    expect(r.ok && r.script).toContain('add set netdev metalgate-handover flows_2001_db8__200 { type ipv6_addr . inet_service . inet_service;');
    expect(r.ok && r.script).toContain('ip6 daddr 2001:db8::200 ip6 saddr . tcp sport . tcp dport @flows_2001_db8__200 accept');
    expect(handoverKey('2001:db8::200')).toBe('2001_db8__200');
  });

  test('nothing reaches nft that could change the script: every field is checked', () => {
    for (const bad of [
      { ip: '198.18.0.200; flush ruleset' },
      { device: 'eth0" ; flush ruleset' },
      { device: 'a-name-longer-than-15' },
      { ownMac: '02:00:00:00:00' },
      { peerMac: '02-00-00-00-00-01' },
    ]) {
      const r = openForwardScript({ ...f, ...bad });
      expect(r.ok, JSON.stringify(bad)).toBe(false);
    }
  });

  test('close removes the chain before the set; reset cannot fail on a missing table', () => {
    expect(closeForwardScript('198.18.0.200')).toBe('delete chain netdev metalgate-handover fwd_198_18_0_200\ndelete set netdev metalgate-handover flows_198_18_0_200\n');
    expect(resetForwardScript()).toBe('add table netdev metalgate-handover\ndelete table netdev metalgate-handover\n');
  });
});
