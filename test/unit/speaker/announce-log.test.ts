import { describe, expect, test } from 'vitest';
import { IPS_PER_LINE, roundLines, type RoundAnnouncement } from '../../../src/speaker/announce-log.ts';

const a = (ip: string, iface = 'eth0'): RoundAnnouncement => ({ ip, v6: ip.includes(':'), interface: iface, mac: iface === 'eth0' ? '02:00:00:00:00:01' : '02:00:00:00:00:02' });

describe('roundLines', () => {
  test('one line per interface and family, IPs in the order sent', () => {
    const lines = roundLines('refresh', [a('198.18.0.1'), a('2001:db8::1'), a('198.18.0.2', 'eth1'), a('198.18.0.3'), a('2001:db8::2')]);
    expect(lines).toEqual([
      { msg: 'announced IPs (gratuitous ARP, request and reply)', fields: { interface: 'eth0', mac: '02:00:00:00:00:01', reason: 'refresh', ips: ['198.18.0.1', '198.18.0.3'] } },
      { msg: 'announced IPs (unsolicited NA)', fields: { interface: 'eth0', mac: '02:00:00:00:00:01', reason: 'refresh', ips: ['2001:db8::1', '2001:db8::2'] } },
      { msg: 'announced IPs (gratuitous ARP, request and reply)', fields: { interface: 'eth1', mac: '02:00:00:00:00:02', reason: 'refresh', ips: ['198.18.0.2'] } },
    ]);
  });

  test('nothing sent, no line', () => {
    expect(roundLines('peer-left', [])).toEqual([]);
  });

  test(`at most ${IPS_PER_LINE} IPs a line, each line under the 16 KiB a container runtime splits at`, () => {
    const ips = Array.from({ length: 1000 }, (_, i) => `2001:db8:ffff:ffff:ffff:ffff:ffff:${i.toString(16).padStart(4, '0')}`);
    const lines = roundLines('refresh', ips.map((ip) => a(ip)));
    expect(lines.map((l) => l.fields.ips.length)).toEqual([200, 200, 200, 200, 200]);
    expect(lines.flatMap((l) => l.fields.ips)).toEqual(ips);
    for (const l of lines) expect(JSON.stringify({ level: 30, time: Date.now(), msg: l.msg, ...l.fields }).length).toBeLessThan(16_384);
  });
});
