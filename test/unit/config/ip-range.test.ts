import { describe, expect, test } from 'vitest';
import {
  formatIp,
  formatRange,
  isParseError,
  maxAddress,
  parseAddressEntry,
  parseCidr,
  parseIp,
  parseIpRange,
  rangeContains,
  rangeSize,
  rangesOverlap,
  type IpAddress,
} from '../../../src/config/ip-range.ts';
import type { IpFamily, IpRange } from '../../../src/config/types.ts';

function ip(text: string): IpAddress {
  const parsed = parseIp(text);
  if (isParseError(parsed)) throw new Error(parsed.error);
  return parsed;
}

function canonical(text: string): string {
  const parsed = ip(text);
  return formatIp(parsed.family, parsed.value);
}

function errorOf(result: object): string {
  return isParseError(result) ? result.error : 'parsed';
}

/** Deterministic bigints so a failure reproduces. */
function* randomValues(family: IpFamily, count: number): Generator<bigint> {
  let state = 0x2545f4914f6cdd1dn;
  const mask = (1n << 64n) - 1n;
  for (let i = 0; i < count; i++) {
    let value = 0n;
    for (let part = 0; part < (family === 4 ? 1 : 2); part++) {
      state = (state * 6364136223846793005n + 1442695040888963407n) & mask;
      value = (value << 64n) | state;
    }
    value &= maxAddress(family);
    // Zero out random groups so `::` compression gets exercised.
    if (family === 6) {
      for (let g = 0; g < 8; g++) if ((state >> BigInt(g * 3)) & 1n) value &= ~(0xffffn << BigInt(g * 16));
    }
    yield value;
  }
}

describe('parseIp', () => {
  test('IPv4 values', () => {
    expect(ip('0.0.0.0')).toEqual({ family: 4, value: 0n });
    expect(ip('255.255.255.255')).toEqual({ family: 4, value: 0xffffffffn });
    expect(ip('198.18.0.1')).toEqual({ family: 4, value: (198n << 24n) | (18n << 16n) | 1n });
  });

  test('IPv6 values, including embedded IPv4 and upper case', () => {
    expect(ip('::')).toEqual({ family: 6, value: 0n });
    expect(ip('::1')).toEqual({ family: 6, value: 1n });
    expect(ip('2001:DB8::1').value).toBe((0x2001n << 112n) | (0xdb8n << 96n) | 1n);
    expect(ip('2001:0db8:0000:0000:0000:0000:0000:0001').value).toBe(ip('2001:db8::1').value);
    expect(ip('::ffff:198.18.0.1').value).toBe((0xffffn << 32n) | 0xc6120001n);
    expect(ip('1:2:3:4:5:6:198.18.0.1').value).toBe(ip('1:2:3:4:5:6:c612:1').value);
    expect(ip('ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff').value).toBe(maxAddress(6));
  });

  test.each([
    ['', 'empty address'],
    ['foo', 'invalid IP address "foo"'],
    ['01.2.3.4', 'invalid IPv4 address "01.2.3.4": octet "01" has a leading zero'],
    ['198.18.0.010', 'invalid IPv4 address "198.18.0.010": octet "010" has a leading zero'],
    ['1.2.3', 'invalid IPv4 address "1.2.3": needs 4 octets'],
    ['1.2.3.4.5', 'invalid IPv4 address "1.2.3.4.5": more than 4 octets'],
    ['256.0.0.0', 'invalid IPv4 address "256.0.0.0": octet 256 is above 255'],
    ['1.2.3.1000', 'invalid IPv4 address "1.2.3.1000": octet 1000 is above 255'],
    ['1.2.3.', 'invalid IPv4 address "1.2.3.": empty octet'],
    ['1..2.3', 'invalid IPv4 address "1..2.3": empty octet'],
    [' 1.2.3.4', 'invalid IPv4 address " 1.2.3.4": unexpected character " "'],
    ['1.2.3.4 ', 'invalid IPv4 address "1.2.3.4 ": unexpected character " "'],
    ['0x1.2.3.4', 'invalid IPv4 address "0x1.2.3.4": unexpected character "x"'],
    ['1.2.3.4/32', 'invalid IPv4 address "1.2.3.4/32": unexpected character "/"'],
    ['fe80::1%eth0', 'invalid IPv6 address "fe80::1%eth0": zone "%eth0" not allowed'],
    ['1:2:3:4:5:6:7:8:9', 'invalid IPv6 address "1:2:3:4:5:6:7:8:9": too many groups'],
    ['1:2:3:4:5:6:7', 'invalid IPv6 address "1:2:3:4:5:6:7": too few groups'],
    ['1::2::3', 'invalid IPv6 address "1::2::3": more than one "::"'],
    ['1:::2', 'invalid IPv6 address "1:::2": empty group'],
    ['12345::', 'invalid IPv6 address "12345::": group "12345" has more than 4 hex digits'],
    [':1::', 'invalid IPv6 address ":1::": starts with a single ":"'],
    ['1:', 'invalid IPv6 address "1:": ends with a single ":"'],
    ['1:2:3:4:5:6:7::8', 'invalid IPv6 address "1:2:3:4:5:6:7::8": "::" must stand for at least one group'],
    ['::g', 'invalid IPv6 address "::g": unexpected character "g"'],
    ['[::1]', 'invalid IPv6 address "[::1]": unexpected character "["'],
    ['1:2:3:4:5:6:7:1.2.3.4', 'invalid IPv6 address "1:2:3:4:5:6:7:1.2.3.4": too many groups'],
    ['::ffff:1.2.3.04', 'invalid IPv6 address "::ffff:1.2.3.04": embedded IPv4: octet "04" has a leading zero'],
    ['::1.2.3.4:5', 'invalid IPv6 address "::1.2.3.4:5": embedded IPv4: unexpected character ":"'],
  ])('rejects %j', (text, error) => {
    expect(parseIp(text)).toEqual({ error });
  });
});

describe('formatIp', () => {
  test.each([
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], // tie: the first run is compressed (RFC 5952 4.2.3)
    ['2001:0db8:0000:0000:0000:0000:0002:0001', '2001:db8::2:1'], // leading zeros dropped (4.1)
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], // one zero group is not compressed (4.2.2)
    ['2001:DB8::ABCD', '2001:db8::abcd'], // lower case (4.3)
    ['2001:db8:0:0:1:0:0:0', '2001:db8:0:0:1::'], // the longest run wins (4.2.3)
    ['1:0:0:2:0:0:0:3', '1:0:0:2::3'],
    ['0:0:0:0:0:0:0:0', '::'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['1:0:0:0:0:0:0:0', '1::'],
    ['::ffff:c612:1', '::ffff:198.18.0.1'], // IPv4-mapped in mixed notation (section 5)
    ['::1.2.3.4', '::102:304'], // only the mapped prefix gets dotted notation
    ['198.18.0.1', '198.18.0.1'],
  ])('%s -> %s', (text, expected) => {
    expect(canonical(text)).toBe(expected);
  });

  test('rejects values outside the family', () => {
    expect(() => formatIp(4, 1n << 32n)).toThrow(RangeError);
    expect(() => formatIp(6, -1n)).toThrow(RangeError);
  });

  test('IPv4 round-trips', () => {
    for (const value of randomValues(4, 2000)) {
      const text = formatIp(4, value);
      expect(parseIp(text)).toEqual({ family: 4, value });
    }
  });

  test('IPv6 round-trips and matches the WHATWG URL serializer (same compression rules)', () => {
    for (const value of randomValues(6, 2000)) {
      const text = formatIp(6, value);
      expect(parseIp(text)).toEqual({ family: 6, value });
      if (value >> 32n !== 0xffffn) expect(new URL(`http://[${text}]/`).hostname).toBe(`[${text}]`);
    }
  });
});

describe('parseCidr', () => {
  test('an aligned block', () => {
    expect(parseCidr('198.18.10.0/24')).toEqual({
      range: { family: 4, first: ip('198.18.10.0').value, last: ip('198.18.10.255').value, source: '198.18.10.0/24' },
      prefixLength: 24,
      hostBitsSet: false,
    });
  });

  test('host bits are cleared like Go net.ParseCIDR, and flagged', () => {
    const parsed = parseCidr('2001:db8:1::7/120');
    expect(isParseError(parsed)).toBe(false);
    if (isParseError(parsed)) return;
    expect(parsed.hostBitsSet).toBe(true);
    expect(formatRange(parsed.range)).toBe('2001:db8:1::-2001:db8:1::ff');
  });

  test('/0 and full-length prefixes', () => {
    const all = parseCidr('0.0.0.0/0');
    const one = parseCidr('2001:db8::1/128');
    expect(!isParseError(all) && rangeSize(all.range)).toBe(1n << 32n);
    expect(!isParseError(one) && rangeSize(one.range)).toBe(1n);
  });

  test.each([
    ['198.18.0.0', 'missing prefix length'],
    ['198.18.0.0/', 'invalid prefix length "" (IPv4 allows 0-32)'],
    ['198.18.0.0/33', 'invalid prefix length "33" (IPv4 allows 0-32)'],
    ['198.18.0.0/024', 'invalid prefix length "024" (IPv4 allows 0-32)'],
    ['2001:db8::/129', 'invalid prefix length "129" (IPv6 allows 0-128)'],
    ['2001:db8::/-1', 'invalid prefix length "-1" (IPv6 allows 0-128)'],
    ['fe80::%eth0/64', 'invalid IPv6 address "fe80::%eth0": zone "%eth0" not allowed'],
  ])('rejects %j', (text, error) => {
    expect(parseCidr(text)).toEqual({ error });
  });
});

describe('parseIpRange and parseAddressEntry', () => {
  test('ranges, with blanks around the dash, and a one-address range', () => {
    const range = parseIpRange('198.18.20.10 - 198.18.20.50');
    expect(range).toEqual({ family: 4, first: ip('198.18.20.10').value, last: ip('198.18.20.50').value, source: '198.18.20.10 - 198.18.20.50' });
    expect(!isParseError(range) && rangeSize(range)).toBe(41n);
    const single = parseIpRange('2001:db8::5-2001:db8::5');
    expect(!isParseError(single) && formatRange(single)).toBe('2001:db8::5');
  });

  test.each([
    ['198.18.0.1', 'missing "-"'],
    ['1-2-3', 'more than one "-"'],
    ['-198.18.0.1', 'range start: empty address'],
    ['198.18.0.1-', 'range end: empty address'],
    ['198.18.0.0/24-198.18.1.0/24', 'range start: invalid IPv4 address "198.18.0.0/24": unexpected character "/"'],
    ['198.18.0.1-2001:db8::1', 'range start 198.18.0.1 is IPv4 but end 2001:db8::1 is IPv6'],
    ['198.18.0.10-198.18.0.5', 'range start 198.18.0.10 is after end 198.18.0.5'],
  ])('range %j is refused', (text, error) => {
    expect(parseIpRange(text)).toEqual({ error });
  });

  test('entries: CIDR, range, surrounding blanks; source kept as written', () => {
    const cidr = parseAddressEntry(' 198.18.10.0/24 ');
    expect(!isParseError(cidr) && cidr.range.source).toBe(' 198.18.10.0/24 ');
    expect(!isParseError(cidr) && cidr.maskedTo).toBe(undefined);
    const masked = parseAddressEntry('198.18.10.7/24');
    expect(!isParseError(masked) && masked.maskedTo).toBe('198.18.10.0/24');
    const range = parseAddressEntry('2001:db8::10-2001:db8::20');
    expect(!isParseError(range) && rangeSize(range.range)).toBe(17n);
  });

  test.each([
    ['', 'empty entry'],
    ['198.18.0.1', 'missing prefix length (for this one address write 198.18.0.1/32)'],
    ['2001:db8::1', 'missing prefix length (for this one address write 2001:db8::1/128)'],
    ['default', 'not a CIDR or range: invalid IP address "default"'],
    ['::ffff:198.18.0.0/120', 'IPv4-mapped addresses (::ffff:0:0/96) are not allowed; write IPv4 addresses as IPv4'],
    // Special-purpose blocks: no Service can be reached on them.
    ['0.0.0.0/0', 'includes 0.0.0.0/8, unspecified / "this network" (RFC 1122): never a destination; no Service can be reached on such an address'],
    ['0.0.0.0/32', 'includes 0.0.0.0/8, unspecified / "this network" (RFC 1122): never a destination; no Service can be reached on such an address'],
    ['127.0.0.1/32', 'includes 127.0.0.0/8, loopback: it never leaves a host; no Service can be reached on such an address'],
    ['169.254.10.0/24', 'includes 169.254.0.0/16, link-local: not routed, and owned by each host; no Service can be reached on such an address'],
    ['224.0.0.1/32', 'includes 224.0.0.0/4, multicast: not a unicast address; no Service can be reached on such an address'],
    ['239.255.255.250-239.255.255.255', 'includes 224.0.0.0/4, multicast: not a unicast address; no Service can be reached on such an address'],
    ['255.255.255.255/32', 'includes 255.255.255.255/32, limited broadcast; no Service can be reached on such an address'],
    ['198.18.0.0-255.255.255.255', 'includes 224.0.0.0/4, multicast: not a unicast address; no Service can be reached on such an address'],
    ['::/0', 'includes ::/128, unspecified: never a destination; no Service can be reached on such an address'],
    ['::1/128', 'includes ::1/128, loopback: it never leaves a host; no Service can be reached on such an address'],
    ['::198.18.0.1/128', 'includes ::/96, IPv4-compatible IPv6 (deprecated by RFC 4291): write IPv4 addresses as IPv4; no Service can be reached on such an address'],
    ['fe80::/64', 'includes fe80::/10, link-local: not routed, and owned by each interface; no Service can be reached on such an address'],
    ['ff02::1/128', 'includes ff00::/8, multicast: not a unicast address; no Service can be reached on such an address'],
  ])('entry %j is refused', (text, error) => {
    expect(errorOf(parseAddressEntry(text))).toBe(error);
  });
});

describe('range arithmetic', () => {
  // Arithmetic on any range: special-purpose blocks are the config's refusal, not this layer's.
  const block = (text: string): IpRange => {
    const parsed = text.includes('-') ? parseIpRange(text) : parseCidr(text);
    if (isParseError(parsed)) throw new Error(parsed.error);
    return 'range' in parsed ? parsed.range : parsed;
  };

  test('size', () => {
    expect(rangeSize(block('198.18.0.0/15'))).toBe(131072n);
    expect(rangeSize(block('2001:db8::/32'))).toBe(1n << 96n);
  });

  test('containment respects family and both ends', () => {
    const r = block('198.18.0.10-198.18.0.20');
    expect(rangeContains(r, ip('198.18.0.10'))).toBe(true);
    expect(rangeContains(r, ip('198.18.0.20'))).toBe(true);
    expect(rangeContains(r, ip('198.18.0.9'))).toBe(false);
    expect(rangeContains(r, ip('198.18.0.21'))).toBe(false);
    // Same numeric value, other family.
    expect(rangeContains(block('::/96'), { family: 4, value: 5n })).toBe(false);
  });

  test('overlap', () => {
    expect(rangesOverlap(block('198.18.0.0/24'), block('198.18.0.255-198.18.1.5'))).toBe(true);
    expect(rangesOverlap(block('198.18.0.0/24'), block('198.18.1.0/24'))).toBe(false);
    expect(rangesOverlap(block('0.0.0.0/8'), block('::/8'))).toBe(false);
  });

  test('formatRange', () => {
    expect(formatRange(block('198.18.0.0/30'))).toBe('198.18.0.0-198.18.0.3');
    expect(formatRange(block('2001:db8::1/128'))).toBe('2001:db8::1');
  });
});
