import { Address6 } from 'ip-address';
import { describe, expect, it } from 'vitest';

import { readEthernetHeader, peekEthertype } from '../../../src/l2/ethernet.ts';
import { formatIpv4, formatIpv6, parseIpv6, writeIpv4 } from '../../../src/l2/ip-bytes.ts';
import { formatMac, isMac, isMulticastMac, normalizeMac, parseMac } from '../../../src/l2/mac.ts';
import { hex } from './hex.ts';

describe('MAC helpers', () => {
  it('parses and formats', () => {
    expect(parseMac('52:54:00:AB:cd:0f').toString('hex')).toBe('525400abcd0f');
    expect(formatMac(hex('00 52 54 00 ab cd 0f'), 1)).toBe('52:54:00:ab:cd:0f');
    expect(normalizeMac('52-54-00-AB-CD-0F')).toBe('52:54:00:ab:cd:0f');
  });

  it('rejects malformed text and short buffers', () => {
    for (const bad of ['', '52:54:00:ab:cd', '52:54:00:ab:cd:0f:11', '52:54-00:ab:cd:0f', '5254.00ab.cd0f', 'zz:54:00:ab:cd:0f']) {
      expect(isMac(bad), bad).toBe(false);
      expect(() => parseMac(bad), bad).toThrow(TypeError);
    }
    expect(() => formatMac(Buffer.alloc(5))).toThrow(RangeError);
  });

  it('tells group addresses', () => {
    expect(isMulticastMac('ff:ff:ff:ff:ff:ff')).toBe(true);
    expect(isMulticastMac('33:33:00:00:00:01')).toBe(true);
    expect(isMulticastMac('01:00:5e:00:00:01')).toBe(true);
    expect(isMulticastMac('52:54:00:12:34:56')).toBe(false);
  });
});

describe('IPv4 bytes', () => {
  it('writes and reads dotted quads', () => {
    const bytes = Buffer.alloc(6);
    writeIpv4('198.18.255.0', bytes, 1);
    expect(bytes.toString('hex')).toBe('00c612ff0000');
    expect(formatIpv4(bytes, 1)).toBe('198.18.255.0');
  });

  it('rejects anything but four decimal octets', () => {
    for (const bad of ['', '1.2.3', '1.2.3.4.5', '256.0.0.1', '01.2.3.4', '1.2.3.-1', ' 1.2.3.4', '::1']) {
      expect(() => writeIpv4(bad, Buffer.alloc(4), 0), bad).toThrow(TypeError);
    }
  });
});

describe('IPv6 bytes', () => {
  it('parses every textual form to 16 bytes', () => {
    expect(parseIpv6('::').toString('hex')).toBe('0'.repeat(32));
    expect(parseIpv6('::1').toString('hex')).toBe(`${'0'.repeat(31)}1`);
    expect(parseIpv6('2001:DB8::100').toString('hex')).toBe('20010db8000000000000000000000100');
    expect(parseIpv6('::ffff:198.18.0.1').toString('hex')).toBe('00000000000000000000ffffc6120001');
    for (const bad of ['', '1.2.3.4', '2001:db8::/64', 'fe80::1%eth0', '1::2::3', 'zz::1']) {
      expect(() => parseIpv6(bad), bad).toThrow(TypeError);
    }
  });

  it('formats per RFC 5952', () => {
    const cases: Array<[string, string]> = [
      ['00000000000000000000000000000000', '::'],
      ['00000000000000000000000000000001', '::1'],
      ['20010db8000000000000000000000001', '2001:db8::1'],
      ['20010db8000000010000000000000001', '2001:db8:0:1::1'], // longest run wins
      ['20010db8000000000001000000000001', '2001:db8::1:0:0:1'], // first of equal runs
      ['20010db8000100010001000100010001', '2001:db8:1:1:1:1:1:1'],
      ['20010db8000000010001000100010001', '2001:db8:0:1:1:1:1:1'], // one zero group stays
      ['00010000000000000000000000000000', '1::'],
      ['fe80000000000000505400fffe123456', 'fe80::5054:ff:fe12:3456'],
    ];
    for (const [bytes, text] of cases) expect(formatIpv6(Buffer.from(bytes, 'hex'))).toBe(text);
  });

  it('agrees with ip-address on random addresses rich in zero groups', () => {
    let state = 42;
    const random = (): number => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      return state >>> 16;
    };
    for (let i = 0; i < 1000; i++) {
      const bytes = Buffer.alloc(16);
      for (let group = 0; group < 8; group++) {
        if (random() % 3 !== 0) bytes.writeUInt16BE(random() % 4 === 0 ? random() & 0xff : random(), group * 2);
      }
      const text = formatIpv6(bytes);
      expect(text).toBe(Address6.fromByteArray([...bytes]).correctForm());
      expect(parseIpv6(text).equals(bytes)).toBe(true);
    }
  });
});

describe('Ethernet header', () => {
  it('reads destination, source and ethertype', () => {
    const frame = hex('ff ff ff ff ff ff 52 54 00 12 34 56 08 06 00');
    expect(readEthernetHeader(frame)).toEqual({ dst: 'ff:ff:ff:ff:ff:ff', src: '52:54:00:12:34:56', ethertype: 0x0806 });
    expect(peekEthertype(frame)).toBe(0x0806);
    expect(readEthernetHeader(frame.subarray(0, 13))).toBeNull();
    expect(peekEthertype(frame.subarray(0, 13))).toBe(-1);
  });
});
