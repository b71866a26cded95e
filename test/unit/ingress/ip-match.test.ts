import { describe, expect, test } from 'vitest';
import { networkContains, parseIpInto, parseIpNetwork } from '../../../src/ingress/match/ip-match.ts';

function parse(s: string): [number, number[]] {
  const out = new Uint32Array(4);
  const family = parseIpInto(s, out);
  return [family, family === 4 ? [out[0]!] : family === 6 ? [...out] : []];
}

describe('parseIpInto', () => {
  const ok: [string, number, number[]][] = [
    ['198.18.0.1', 4, [0xc6120001]],
    ['0.0.0.0', 4, [0]],
    ['255.255.255.255', 4, [0xffffffff]],
    ['::ffff:198.18.0.1', 4, [0xc6120001]],
    ['::FFFF:c612:1', 4, [0xc6120001]],
    ['::', 6, [0, 0, 0, 0]],
    ['::1', 6, [0, 0, 0, 1]],
    ['1::', 6, [0x00010000, 0, 0, 0]],
    ['2001:db8::1', 6, [0x20010db8, 0, 0, 1]],
    ['2001:db8:0:0:1:0:0:1', 6, [0x20010db8, 0, 0x00010000, 1]],
    ['2001:DB8::a:b', 6, [0x20010db8, 0, 0, 0x000a000b]],
    ['fe80::1%eth0', 6, [0xfe800000, 0, 0, 1]],
    ['64:ff9b::198.18.0.1', 6, [0x0064ff9b, 0, 0, 0xc6120001]],
    ['1:2:3:4:5:6:7:8', 6, [0x00010002, 0x00030004, 0x00050006, 0x00070008]],
    ['1:2:3:4:5:6:1.2.3.4', 6, [0x00010002, 0x00030004, 0x00050006, 0x01020304]],
  ];
  for (const [s, family, words] of ok) test(s, () => expect(parse(s)).toEqual([family, words]));
  const bad = [
    '', '1.2.3', '1.2.3.4.5', '256.1.1.1', '01.1.1.1', '1.2.3.4 ', 'a.b.c.d', ':', ':::', '1:', ':1', '1::2::3',
    '1:2:3:4:5:6:7:8:9', '12345::', 'g::', '1:2:3:4:5:6:7::8:9', '::1.2.3', '1.2.3.4%x', '1:2:3:4:5:6:7:1.2.3.4',
  ];
  for (const s of bad) test(`rejects ${JSON.stringify(s)}`, () => expect(parse(s)[0]).toBe(0));
});

describe('networks', () => {
  const contains = (net: string, ip: string): boolean => {
    const n = parseIpNetwork(net);
    if (!n) throw new Error(`bad net ${net}`);
    const out = new Uint32Array(4);
    const family = parseIpInto(ip, out);
    return family !== 0 && networkContains(n, family, out);
  };
  const cases: [string, string, boolean][] = [
    ['198.18.0.0/15', '198.19.1.1', true],
    ['198.18.0.0/15', '198.20.0.0', false],
    ['198.18.7.9/15', '198.18.0.0', true], // host bits ignored, as Go's ParseCIDR
    ['0.0.0.0/0', '203.0.113.1', true],
    ['198.18.0.1/32', '198.18.0.1', true],
    ['198.18.0.1', '198.18.0.2', false],
    ['2001:db8::/32', '2001:db8:1::1', true],
    ['2001:db8::/33', '2001:db8:8000::1', false],
    ['2001:db8::/127', '2001:db8::1', true],
    ['::/0', '2001:db8::1', true],
    ['::/0', '198.18.0.1', false],
    ['0.0.0.0/0', '2001:db8::1', false],
    ['198.18.0.0/16', '::ffff:198.18.9.9', true],
  ];
  for (const [net, ip, want] of cases) test(`${net} ∋ ${ip} -> ${want}`, () => expect(contains(net, ip)).toBe(want));
  test('invalid networks', () => {
    for (const s of ['198.18.0.0/33', '198.18.0.0/', '198.18.0.0/01', '2001:db8::/129', 'x/8', '::1%lo', '198.18.0.0/-1']) {
      expect(parseIpNetwork(s), s).toBeNull();
    }
  });
});
