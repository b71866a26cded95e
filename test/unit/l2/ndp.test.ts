import { describe, expect, it } from 'vitest';

import { addWords, finishChecksum, icmpv6Checksum } from '../../../src/l2/checksum.ts';
import {
  ALL_NODES_MAC,
  decodeNdp,
  decodeNeighborAdvertisement,
  decodeNeighborSolicitation,
  encodeNeighborAdvertisement,
  encodeSolicitedNa,
  encodeUnsolicitedNa,
  ipv6MulticastMac,
  NA_FRAME_LENGTH,
  type NeighborSolicitation,
  solicitedNodeAddress,
} from '../../../src/l2/ndp.ts';
import { hex, referenceChecksum, referenceIcmpv6Checksum } from './hex.ts';

const MAC = '52:54:00:12:34:56';
const PEER_MAC = '02:00:00:00:00:07';
const IP = '2001:db8::100'; // 20 01 0d b8 00 .. 01 00
const PEER_IP = '2001:db8::7';
const IP_HEX = '20 01 0d b8 00 00 00 00 00 00 00 00 00 00 01 00';
const PEER_IP_HEX = '20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 07';
const ALL_NODES_HEX = 'ff 02 00 00 00 00 00 00 00 00 00 00 00 00 00 01';
const SOLICITED_NODE_HEX = 'ff 02 00 00 00 00 00 00 00 00 00 01 ff 00 01 00';

// Checksums below were computed with a separate one's-complement
// implementation, not with src/l2/checksum.ts.

/** The unsolicited NA for IP at MAC: to ff02::1, flags O only, TLLA option. */
const UNSOLICITED_NA = hex(`33 33 00 00 00 01 | 52 54 00 12 34 56 | 86 dd |
  60 00 00 00 | 00 20 | 3a | ff | ${IP_HEX} | ${ALL_NODES_HEX} |
  88 | 00 | 72 71 | 20 00 00 00 | ${IP_HEX} | 02 01 52 54 00 12 34 56`);

/** NS from PEER_IP (SLLA PEER_MAC) to the solicited-node group of IP. */
const NS = hex(`33 33 ff 00 01 00 | 02 00 00 00 00 07 | 86 dd |
  60 00 00 00 | 00 20 | 3a | ff | ${PEER_IP_HEX} | ${SOLICITED_NODE_HEX} |
  87 | 00 | 1a 1f | 00 00 00 00 | ${IP_HEX} | 01 01 02 00 00 00 00 07`);

/** DAD NS for IP: source ::, no options. */
const DAD_NS = hex(`33 33 ff 00 01 00 | 02 00 00 00 00 07 | 86 dd |
  60 00 00 00 | 00 18 | 3a | ff | ${'00 '.repeat(16)} | ${SOLICITED_NODE_HEX} |
  87 | 00 | 4a ef | 00 00 00 00 | ${IP_HEX}`);

function withChecksum(frame: Buffer): Buffer {
  const copy = Buffer.from(frame);
  copy.writeUInt16BE(referenceIcmpv6Checksum(copy), 56);
  return copy;
}

function mutated(frame: Buffer, offset: number, value: number, fixChecksum = true): Buffer {
  const copy = Buffer.from(frame);
  copy[offset] = value;
  return fixChecksum ? withChecksum(copy) : copy;
}

describe('Neighbor Advertisement encoders (byte-exact)', () => {
  it('unsolicited NA: ff02::1, O set, S and R clear, hop limit 255, TLLA', () => {
    expect(encodeUnsolicitedNa({ mac: MAC, ip: IP }).toString('hex')).toBe(UNSOLICITED_NA.toString('hex'));
  });

  it('solicited NA answers the solicitor with S and O set', () => {
    const ns = decodeNeighborSolicitation(NS)!;
    const expected = hex(`02 00 00 00 00 07 | 52 54 00 12 34 56 | 86 dd |
      60 00 00 00 | 00 20 | 3a | ff | ${IP_HEX} | ${PEER_IP_HEX} |
      88 | 00 | 03 b5 | 60 00 00 00 | ${IP_HEX} | 02 01 52 54 00 12 34 56`);
    expect(encodeSolicitedNa(ns, { mac: MAC }).toString('hex')).toBe(expected.toString('hex'));
  });

  it('a DAD probe is answered to all nodes with S clear', () => {
    const ns = decodeNeighborSolicitation(DAD_NS)!;
    expect(encodeSolicitedNa(ns, { mac: MAC }).toString('hex')).toBe(UNSOLICITED_NA.toString('hex'));
  });

  it('an NS without link-layer option is answered to its Ethernet source', () => {
    const ns: NeighborSolicitation = { ...decodeNeighborSolicitation(NS)!, sourceLinkAddr: null, ethSrc: '02:00:00:00:00:09' };
    expect(encodeSolicitedNa(ns, { mac: MAC }).subarray(0, 6).toString('hex')).toBe('020000000009');
  });

  it('takes another IPv6 source (e.g. the link-local address) and the router flag', () => {
    const frame = encodeUnsolicitedNa({ mac: MAC, ip: IP, srcIp: 'fe80::5054:ff:fe12:3456', router: true });
    const na = decodeNeighborAdvertisement(frame)!;
    expect(na).toEqual({
      type: 'na',
      ethDst: ALL_NODES_MAC,
      ethSrc: MAC,
      srcIp: 'fe80::5054:ff:fe12:3456',
      dstIp: 'ff02::1',
      target: IP,
      router: true,
      solicited: false,
      override: true,
      targetLinkAddr: MAC,
    });
  });

  it('writes into a caller buffer', () => {
    const out = Buffer.alloc(256, 0xee);
    const frame = encodeUnsolicitedNa({ mac: MAC, ip: IP }, out);
    expect(frame.buffer).toBe(out.buffer);
    expect(frame.length).toBe(NA_FRAME_LENGTH);
    expect(frame.equals(UNSOLICITED_NA)).toBe(true);
  });
});

describe('ICMPv6 checksum', () => {
  it('matches an independent one\'s-complement sum for many advertisements', () => {
    let state = 7;
    const byte = (): string => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      return ((state >>> 16) & 0xff).toString(16).padStart(2, '0');
    };
    for (let i = 0; i < 300; i++) {
      const mac = `02:${byte()}:${byte()}:${byte()}:${byte()}:${byte()}`;
      const ip = `2001:db8:${byte()}${byte()}::${byte()}${byte()}:${byte()}`;
      const frame = encodeNeighborAdvertisement({
        ethDst: ALL_NODES_MAC,
        ethSrc: mac,
        srcIp: ip,
        dstIp: i % 2 === 0 ? 'ff02::1' : PEER_IP,
        target: ip,
        router: i % 3 === 0,
        solicited: i % 2 === 1,
        override: i % 5 !== 0,
        targetLinkAddr: i % 7 === 0 ? null : mac,
      });
      expect(frame.readUInt16BE(56)).toBe(referenceIcmpv6Checksum(frame));
      // Summing a message with its checksum in place gives zero.
      expect(icmpv6Checksum(frame, 14, frame.readUInt16BE(18))).toBe(0);
    }
  });

  it('RFC 1071 example and odd lengths', () => {
    const data = hex('00 01 f2 03 f4 f5 f6 f7');
    expect(finishChecksum(addWords(data, 0, data.length))).toBe(0x220d);
    expect(finishChecksum(addWords(hex('01 02 03'), 0, 3))).toBe(referenceChecksum([1, 2, 3]));
  });
});

describe('decodeNdp', () => {
  it('decodes a hand-built Neighbor Solicitation', () => {
    expect(decodeNdp(NS)).toEqual({
      type: 'ns',
      ethDst: '33:33:ff:00:01:00',
      ethSrc: PEER_MAC,
      srcIp: PEER_IP,
      dstIp: 'ff02::1:ff00:100',
      target: IP,
      sourceLinkAddr: PEER_MAC,
    });
  });

  it('decodes a DAD probe (source ::, no option)', () => {
    expect(decodeNeighborSolicitation(DAD_NS)).toMatchObject({ srcIp: '::', target: IP, sourceLinkAddr: null });
  });

  it('decodes a hand-built unsolicited advertisement', () => {
    expect(decodeNdp(UNSOLICITED_NA)).toEqual({
      type: 'na',
      ethDst: ALL_NODES_MAC,
      ethSrc: MAC,
      srcIp: IP,
      dstIp: 'ff02::1',
      target: IP,
      router: false,
      solicited: false,
      override: true,
      targetLinkAddr: MAC,
    });
    expect(decodeNeighborSolicitation(UNSOLICITED_NA)).toBeNull();
    expect(decodeNeighborAdvertisement(NS)).toBeNull();
  });

  it('reads each flag of an advertisement', () => {
    for (let flags = 0; flags < 8; flags++) {
      const frame = encodeNeighborAdvertisement({
        ethDst: PEER_MAC,
        ethSrc: MAC,
        srcIp: IP,
        dstIp: PEER_IP,
        target: IP,
        router: (flags & 4) !== 0,
        solicited: (flags & 2) !== 0,
        override: (flags & 1) !== 0,
        targetLinkAddr: null,
      });
      expect(decodeNeighborAdvertisement(frame)).toMatchObject({
        router: (flags & 4) !== 0,
        solicited: (flags & 2) !== 0,
        override: (flags & 1) !== 0,
        targetLinkAddr: null,
      });
    }
  });

  it('ignores Ethernet padding after the IPv6 payload and unknown options', () => {
    expect(decodeNdp(Buffer.concat([DAD_NS, Buffer.alloc(6, 0xab)]))).toEqual(decodeNdp(DAD_NS));
    // NS with a nonce option (type 14, 8 bytes) before the link-layer option.
    const withNonce = Buffer.concat([NS.subarray(0, 78), hex('0e 01 01 02 03 04 05 06'), NS.subarray(78)]);
    withNonce.writeUInt16BE(0x28, 18);
    expect(decodeNdp(withChecksum(withNonce))).toMatchObject({ type: 'ns', sourceLinkAddr: PEER_MAC });
  });

  it('rejects what RFC 4861 says to discard, and non-NDP frames', () => {
    const cases: Array<[string, Buffer]> = [
      ['empty', Buffer.alloc(0)],
      ['truncated message', NS.subarray(0, 70)],
      ['payload length past the frame', mutated(NS, 19, 0x28)],
      ['payload shorter than a message', mutated(NS, 19, 0x10)],
      ['bad checksum', mutated(NS, 57, 0x20, false)],
      ['hop limit 64', mutated(NS, 21, 64)],
      ['ICMPv6 code 1', mutated(NS, 55, 1)],
      ['echo request', mutated(NS, 54, 128)],
      ['hop-by-hop header first', mutated(NS, 20, 0)],
      ['IPv4 ethertype', mutated(NS, 12, 0x08, false)],
      ['IP version 4', mutated(NS, 14, 0x40)],
      ['multicast target', mutated(NS, 62, 0xff)],
      ['zero-length option', mutated(NS, 79, 0)],
      ['option past the end', mutated(NS, 79, 2)],
      ['link-layer option of 16 bytes', (() => {
        const long = Buffer.concat([NS, Buffer.alloc(8)]);
        long[79] = 2;
        long.writeUInt16BE(0x28, 18);
        return withChecksum(long);
      })()],
      ['DAD probe with a source link-layer option', (() => {
        const frame = Buffer.from(NS);
        frame.fill(0, 22, 38);
        return withChecksum(frame);
      })()],
      ['DAD probe not sent to the solicited-node group', mutated(DAD_NS, 50, 0x02)],
      ['multicast advertisement with S set', mutated(UNSOLICITED_NA, 58, 0x60)],
    ];
    for (const [name, frame] of cases) expect(decodeNdp(frame), name).toBeNull();
  });

  it('never throws on mutated or truncated frames', () => {
    let state = 99;
    const random = (): number => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      return state >>> 16;
    };
    for (let i = 0; i < 2000; i++) {
      const base = i % 2 === 0 ? NS : UNSOLICITED_NA;
      const frame = Buffer.from(base.subarray(0, random() % (base.length + 1)));
      if (frame.length > 0) frame[random() % frame.length] = random() & 0xff;
      // Half the time with a valid checksum, so the option walk is reached.
      const candidate = i % 4 < 2 && frame.length >= 58 ? withChecksum(frame) : frame;
      expect(() => decodeNdp(candidate)).not.toThrow();
    }
  });
});

describe('multicast addresses', () => {
  it('derives the solicited-node group and its MAC', () => {
    expect(solicitedNodeAddress('2001:db8::1:2345:6789')).toBe('ff02::1:ff45:6789');
    expect(solicitedNodeAddress(IP)).toBe('ff02::1:ff00:100');
    expect(ipv6MulticastMac('ff02::1:ff45:6789')).toBe('33:33:ff:45:67:89');
    expect(ipv6MulticastMac('ff02::1')).toBe(ALL_NODES_MAC);
  });
});
