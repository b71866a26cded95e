import { describe, expect, test } from 'vitest';
import { decodeProxyHeader, encodeProxyV1, encodeProxyV2 } from '../../../../src/proxy/l4/proxy-protocol.ts';

const SIG = '0d0a0d0a000d0a515549540a';
const hex = (b: Buffer) => b.toString('hex');
const v4 = { sourceIp: '198.18.0.1', sourcePort: 56324, destIp: '198.18.0.2', destPort: 443 };
const v6 = { sourceIp: '2001:db8::1', sourcePort: 56324, destIp: '2001:db8::2', destPort: 443 };

describe('PROXY protocol v1', () => {
  test('TCP4, TCP6 and UNKNOWN, byte-exact', () => {
    expect(encodeProxyV1(v4).toString('latin1')).toBe('PROXY TCP4 198.18.0.1 198.18.0.2 56324 443\r\n');
    expect(encodeProxyV1(v6).toString('latin1')).toBe('PROXY TCP6 2001:db8::1 2001:db8::2 56324 443\r\n');
    expect(encodeProxyV1(null).toString('latin1')).toBe('PROXY UNKNOWN\r\n');
  });

  test('IPv4-mapped peers of a dual-stack socket are sent as TCP4; mixed families as TCP6', () => {
    expect(encodeProxyV1({ ...v4, sourceIp: '::ffff:198.18.0.1', destIp: '::FFFF:198.18.0.2' }).toString()).toBe(
      'PROXY TCP4 198.18.0.1 198.18.0.2 56324 443\r\n',
    );
    expect(encodeProxyV1({ ...v6, sourceIp: '198.18.0.1' }).toString()).toBe('PROXY TCP6 ::ffff:198.18.0.1 2001:db8::2 56324 443\r\n');
  });

  test('the longest header fits the 107-byte limit', () => {
    const long = 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff';
    const b = encodeProxyV1({ sourceIp: long, destIp: long, sourcePort: 65535, destPort: 65535 });
    expect(b.length).toBe(104);
  });

  test('bad input is refused', () => {
    expect(() => encodeProxyV1({ ...v4, sourcePort: 70000 })).toThrow(RangeError);
    expect(() => encodeProxyV1({ ...v4, destPort: -1 })).toThrow(RangeError);
    expect(() => encodeProxyV1({ ...v4, sourceIp: 'example.com' })).toThrow(TypeError);
    expect(() => encodeProxyV1({ ...v4, destIp: '198.18.0.1\r\nX' })).toThrow(TypeError);
  });
});

describe('PROXY protocol v2', () => {
  test('TCP over IPv4, byte-exact', () => {
    expect(hex(encodeProxyV2(v4))).toBe(`${SIG}2111000cc6120001c6120002dc0401bb`);
  });

  test('UDP over IPv4', () => {
    expect(hex(encodeProxyV2(v4, 'udp'))).toBe(`${SIG}2112000cc6120001c6120002dc0401bb`);
  });

  test('TCP over IPv6, byte-exact', () => {
    expect(hex(encodeProxyV2(v6))).toBe(
      `${SIG}21210024` + '20010db8000000000000000000000001' + '20010db8000000000000000000000002' + 'dc0401bb',
    );
  });

  test('IPv6 forms: embedded IPv4, zone id, full form, ::', () => {
    const b = encodeProxyV2({ sourceIp: '::ffff:198.18.0.1', destIp: 'fe80::1%eth0', sourcePort: 1, destPort: 2 });
    expect(hex(b)).toBe(`${SIG}21210024` + '00000000000000000000ffffc6120001' + 'fe800000000000000000000000000001' + '00010002');
    const c = encodeProxyV2({ sourceIp: '2001:db8:1:2:3:4:5:6', destIp: '::', sourcePort: 0, destPort: 65535 });
    expect(hex(c).slice(32)).toBe('20010db8000100020003000400050006' + '00000000000000000000000000000000' + '0000ffff');
    const d = encodeProxyV2({ sourceIp: '2001:db8::198.18.0.1', destIp: '1::', sourcePort: 0, destPort: 0 });
    expect(hex(d).slice(32, 96)).toBe('20010db8000000000000000000000000'.slice(0, 24) + 'c6120001' + '00010000000000000000000000000000');
  });

  test('LOCAL command', () => {
    expect(hex(encodeProxyV2(null))).toBe(`${SIG}20000000`);
  });
});

describe('decodeProxyHeader', () => {
  test('round trips and reports where the payload starts', () => {
    for (const [hdr, protocol] of [
      [encodeProxyV1(v4), 'TCP4'],
      [encodeProxyV1(v6), 'TCP6'],
      [encodeProxyV2(v4), 'TCP4'],
      [encodeProxyV2(v6), 'TCP6'],
      [encodeProxyV2(v4, 'udp'), 'UDP4'],
    ] as const) {
      const withPayload = Buffer.concat([hdr, Buffer.from('payload')]);
      const d = decodeProxyHeader(withPayload)!;
      expect(d.protocol).toBe(protocol);
      expect(d.addresses).toEqual(protocol.endsWith('6') ? v6 : v4);
      expect(withPayload.subarray(d.length).toString()).toBe('payload');
    }
    expect(decodeProxyHeader(encodeProxyV1(null))).toMatchObject({ version: 1, protocol: 'UNKNOWN', addresses: null, length: 15 });
    expect(decodeProxyHeader(encodeProxyV2(null))).toMatchObject({ version: 2, command: 'LOCAL', addresses: null, length: 16 });
  });

  test('partial input asks for more; garbage throws', () => {
    const v2 = encodeProxyV2(v6);
    for (let n = 0; n < v2.length; n++) expect(decodeProxyHeader(v2.subarray(0, n))).toBeNull();
    const v1 = encodeProxyV1(v4);
    for (let n = 0; n < v1.length - 1; n++) expect(decodeProxyHeader(v1.subarray(0, n))).toBeNull();
    expect(() => decodeProxyHeader(Buffer.from('GET / HTTP/1.1\r\n'))).toThrow();
    expect(() => decodeProxyHeader(Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 1 99999\r\n'))).toThrow(/port/);
    expect(() => decodeProxyHeader(Buffer.from('PROXY TCP4 ::1 5.6.7.8 1 2\r\n'))).toThrow(/address/);
    expect(() => decodeProxyHeader(Buffer.from('\r\n\r\n\0\r\nQUIT\n\x31\x11\0\0'))).toThrow(/version/);
  });
});
