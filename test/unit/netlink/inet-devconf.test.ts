import { describe, expect, test } from 'vitest';
import {
  decodeInetConf,
  encodeGetLink,
  encodeSetInetConf,
  IPV4_DEVCONF_ARP_ANNOUNCE,
  IPV4_DEVCONF_ARP_IGNORE,
} from '../../../src/netlink/inet-devconf.ts';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const IFINFOMSG_ANY = '00 00 0000 00000000 00000000 00000000'; // AF_UNSPEC, pad, type, index 0, flags, change

describe('IPV4_DEVCONF indexes (linux/ip.h)', () => {
  test('arp_announce is 18, arp_ignore 19', () => {
    expect(IPV4_DEVCONF_ARP_ANNOUNCE).toBe(18);
    expect(IPV4_DEVCONF_ARP_IGNORE).toBe(19);
  });
});

describe('encodeSetInetConf (RTM_SETLINK payload)', () => {
  test('by name: ifinfomsg, IFLA_IFNAME, IFLA_AF_SPEC > AF_INET > IFLA_INET_CONF > u32 per setting', () => {
    const payload = encodeSetInetConf('eth0', [
      { id: IPV4_DEVCONF_ARP_IGNORE, value: 1 },
      { id: IPV4_DEVCONF_ARP_ANNOUNCE, value: 2 },
    ]);
    expect(payload.toString('hex')).toBe(
      hex(`${IFINFOMSG_ANY}
        0900 0300 65746830 00 000000   -- IFLA_IFNAME (3), len 9, "eth0\\0", padded to 12
        1c00 1a80                      -- IFLA_AF_SPEC (26) | NLA_F_NESTED, len 28
        1800 0280                      --   AF_INET (2) | NLA_F_NESTED, len 24
        1400 0180                      --     IFLA_INET_CONF (1) | NLA_F_NESTED, len 20
        0800 1300 01000000             --       IPV4_DEVCONF_ARP_IGNORE (19) = 1
        0800 1200 02000000             --       IPV4_DEVCONF_ARP_ANNOUNCE (18) = 2
      `.replace(/--[^\n]*/g, '')).toString('hex'),
    );
    expect(payload.length).toBe(56);
  });

  test('by index: ifi_index set, no IFLA_IFNAME', () => {
    const payload = encodeSetInetConf(7, [{ id: IPV4_DEVCONF_ARP_IGNORE, value: 1 }]);
    expect(payload.toString('hex')).toBe(
      hex(`00 00 0000 07000000 00000000 00000000
        1400 1a80  1000 0280  0c00 0180  0800 1300 01000000`).toString('hex'),
    );
  });

  test('a 15-byte name fits (IFNAMSIZ 16 with the NUL); values up to 2^32-1', () => {
    const payload = encodeSetInetConf('abcdefghijklmno', [{ id: 1, value: 0xffffffff }]);
    expect(payload.readUInt16LE(16)).toBe(4 + 16);
    expect(payload.subarray(20, 36).toString('latin1')).toBe('abcdefghijklmno\0');
    expect(payload.subarray(-4).toString('hex')).toBe('ffffffff');
  });

  test('refuses what the kernel would reject or misread', () => {
    const one = [{ id: 19, value: 1 }];
    expect(() => encodeSetInetConf('', one)).toThrow(RangeError);
    expect(() => encodeSetInetConf('abcdefghijklmnop', one)).toThrow(RangeError);
    expect(() => encodeSetInetConf(0, one)).toThrow(RangeError);
    expect(() => encodeSetInetConf(1.5, one)).toThrow(RangeError);
    expect(() => encodeSetInetConf('eth0', [])).toThrow(RangeError);
    expect(() => encodeSetInetConf('eth0', [{ id: 0, value: 1 }])).toThrow(RangeError);
    expect(() => encodeSetInetConf('eth0', [{ id: 19, value: -1 }])).toThrow(RangeError);
    expect(() => encodeSetInetConf('eth0', [{ id: 19, value: 2 ** 32 }])).toThrow(RangeError);
  });
});

describe('encodeGetLink (RTM_GETLINK payload)', () => {
  test('by name, statistics skipped', () => {
    expect(encodeGetLink('lo').toString('hex')).toBe(
      hex(`${IFINFOMSG_ANY}
        0700 0300 6c6f00 00            -- IFLA_IFNAME "lo\\0", len 7, padded to 8
        0800 1d00 08000000             -- IFLA_EXT_MASK (29) = RTEXT_FILTER_SKIP_STATS
      `.replace(/--[^\n]*/g, '')).toString('hex'),
    );
  });

  test('by index', () => {
    expect(encodeGetLink(3).toString('hex')).toBe(hex('00 00 0000 03000000 00000000 00000000  0800 1d00 08000000').toString('hex'));
  });
});

/** An RTM_NEWLINK payload as the kernel sends it: the IPv4 settings are a flat u32 array, entry i = IPV4_DEVCONF_(i+1). */
function linkReply(confValues: number[] | undefined, extraInet6 = true): Buffer {
  const attr = (type: number, payload: Buffer) => {
    const out = Buffer.alloc((4 + payload.length + 3) & ~3);
    out.writeUInt16LE(4 + payload.length, 0);
    out.writeUInt16LE(type, 2);
    payload.copy(out, 4);
    return out;
  };
  const afs: Buffer[] = [];
  if (extraInet6) afs.push(attr(10, attr(1, Buffer.from('80000000', 'hex')))); // AF_INET6 > IFLA_INET6_FLAGS first
  if (confValues) {
    const flat = Buffer.alloc(confValues.length * 4);
    confValues.forEach((v, i) => flat.writeUInt32LE(v, i * 4));
    afs.push(attr(2, attr(1, flat))); // AF_INET > IFLA_INET_CONF, no NLA_F_NESTED: not a list
  }
  return Buffer.concat([
    hex('00 00 0100 02000000 43100100 00000000'),
    attr(3, Buffer.from('eth0\0')),
    attr(4, Buffer.from('dc050000', 'hex')), // IFLA_MTU
    attr(26, Buffer.concat(afs)),
  ]);
}

describe('decodeInetConf (RTM_NEWLINK payload)', () => {
  test('maps the flat array to IPV4_DEVCONF indexes', () => {
    const values = Array.from({ length: 33 }, (_, i) => i * 10);
    values[IPV4_DEVCONF_ARP_IGNORE - 1] = 1;
    values[IPV4_DEVCONF_ARP_ANNOUNCE - 1] = 2;
    const conf = decodeInetConf(linkReply(values))!;
    expect(conf.size).toBe(33);
    expect(conf.get(IPV4_DEVCONF_ARP_IGNORE)).toBe(1);
    expect(conf.get(IPV4_DEVCONF_ARP_ANNOUNCE)).toBe(2);
    expect(conf.get(1)).toBe(0);
    expect(conf.get(33)).toBe(320);
    expect(conf.get(34)).toBeUndefined();
  });

  test('a shorter array (older kernel) reads what is there', () => {
    const conf = decodeInetConf(linkReply([1, 2, 3], false))!;
    expect([...conf]).toEqual([
      [1, 1],
      [2, 2],
      [3, 3],
    ]);
  });

  test('no IPv4 on the link, or a malformed message: undefined', () => {
    expect(decodeInetConf(linkReply(undefined))).toBeUndefined();
    expect(decodeInetConf(Buffer.alloc(8))).toBeUndefined();
    const broken = linkReply([1, 2]);
    broken.writeUInt16LE(0xfff0, 16); // IFLA_IFNAME claims more than there is
    expect(decodeInetConf(broken)).toBeUndefined();
  });
});
