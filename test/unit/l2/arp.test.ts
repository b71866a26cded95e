import { describe, expect, it } from 'vitest';

import {
  ARP_FRAME_LENGTH,
  ARP_OP_REPLY,
  ARP_OP_REQUEST,
  decodeArp,
  encodeArp,
  encodeArpAnswer,
  encodeArpProbe,
  encodeArpReply,
  encodeArpRequest,
  encodeGratuitousArpReply,
  encodeGratuitousArpRequest,
  isArpProbe,
  isGratuitousArp,
} from '../../../src/l2/arp.ts';
import { hex } from './hex.ts';

const MAC = '52:54:00:12:34:56';
const PEER_MAC = '02:00:00:00:00:07';
const IP = '198.18.0.100'; // c6 12 00 64
const PEER_IP = '198.18.0.7'; // c6 12 00 07
const PAD = '00'.repeat(18); // 42-byte ARP frame padded to 60

describe('ARP encoders (byte-exact)', () => {
  it('gratuitous ARP, request form: broadcast, SPA = TPA, zero THA', () => {
    expect(encodeGratuitousArpRequest({ mac: MAC, ip: IP }).toString('hex')).toBe(
      hex(`ff ff ff ff ff ff | 52 54 00 12 34 56 | 08 06 |
           00 01 | 08 00 | 06 | 04 | 00 01 |
           52 54 00 12 34 56 | c6 12 00 64 | 00 00 00 00 00 00 | c6 12 00 64 | ${PAD}`).toString('hex'),
    );
  });

  it('gratuitous ARP, reply form: broadcast, THA = own MAC by default', () => {
    expect(encodeGratuitousArpReply({ mac: MAC, ip: IP }).toString('hex')).toBe(
      hex(`ff ff ff ff ff ff | 52 54 00 12 34 56 | 08 06 |
           00 01 | 08 00 | 06 | 04 | 00 02 |
           52 54 00 12 34 56 | c6 12 00 64 | 52 54 00 12 34 56 | c6 12 00 64 | ${PAD}`).toString('hex'),
    );
  });

  it('gratuitous ARP, reply form with broadcast THA on request', () => {
    expect(encodeGratuitousArpReply({ mac: MAC, ip: IP, targetMac: 'broadcast' }).toString('hex')).toBe(
      hex(`ff ff ff ff ff ff | 52 54 00 12 34 56 | 08 06 |
           00 01 | 08 00 | 06 | 04 | 00 02 |
           52 54 00 12 34 56 | c6 12 00 64 | ff ff ff ff ff ff | c6 12 00 64 | ${PAD}`).toString('hex'),
    );
  });

  it('ARP probe: sender IP 0.0.0.0, zero THA', () => {
    expect(encodeArpProbe({ mac: MAC, ip: IP }).toString('hex')).toBe(
      hex(`ff ff ff ff ff ff | 52 54 00 12 34 56 | 08 06 |
           00 01 | 08 00 | 06 | 04 | 00 01 |
           52 54 00 12 34 56 | 00 00 00 00 | 00 00 00 00 00 00 | c6 12 00 64 | ${PAD}`).toString('hex'),
    );
  });

  it('request and unicast reply', () => {
    expect(encodeArpRequest({ senderMac: MAC, senderIp: IP, targetIp: PEER_IP }).toString('hex')).toBe(
      hex(`ff ff ff ff ff ff | 52 54 00 12 34 56 | 08 06 | 00 01 08 00 06 04 00 01 |
           52 54 00 12 34 56 | c6 12 00 64 | 00 00 00 00 00 00 | c6 12 00 07 | ${PAD}`).toString('hex'),
    );
    expect(
      encodeArpReply({ senderMac: MAC, senderIp: IP, targetMac: PEER_MAC, targetIp: PEER_IP }).toString('hex'),
    ).toBe(
      hex(`02 00 00 00 00 07 | 52 54 00 12 34 56 | 08 06 | 00 01 08 00 06 04 00 02 |
           52 54 00 12 34 56 | c6 12 00 64 | 02 00 00 00 00 07 | c6 12 00 07 | ${PAD}`).toString('hex'),
    );
  });

  it('encodeArp takes an Ethernet source apart from the sender MAC', () => {
    const frame = encodeArp({
      op: ARP_OP_REPLY,
      ethDst: PEER_MAC,
      ethSrc: '02:aa:bb:cc:dd:ee',
      senderMac: MAC,
      senderIp: IP,
      targetMac: PEER_MAC,
      targetIp: PEER_IP,
    });
    expect(frame.subarray(6, 12).toString('hex')).toBe('02aabbccddee');
    expect(frame.subarray(22, 28).toString('hex')).toBe('525400123456');
  });

  it('answers a request unicast to the asker, and a probe with 0.0.0.0 as target', () => {
    const request = decodeArp(encodeArpRequest({ senderMac: PEER_MAC, senderIp: PEER_IP, targetIp: IP }))!;
    expect(encodeArpAnswer(request, MAC).toString('hex')).toBe(
      encodeArpReply({ senderMac: MAC, senderIp: IP, targetMac: PEER_MAC, targetIp: PEER_IP }).toString('hex'),
    );
    const probe = decodeArp(encodeArpProbe({ mac: PEER_MAC, ip: IP }))!;
    expect(decodeArp(encodeArpAnswer(probe, MAC))).toEqual({
      op: ARP_OP_REPLY,
      ethDst: PEER_MAC,
      ethSrc: MAC,
      senderMac: MAC,
      senderIp: IP,
      targetMac: PEER_MAC,
      targetIp: '0.0.0.0',
    });
  });

  it('writes into a caller buffer, clearing what was there', () => {
    const out = Buffer.alloc(128, 0xee);
    const frame = encodeGratuitousArpRequest({ mac: MAC, ip: IP }, out);
    expect(frame.buffer).toBe(out.buffer);
    expect(frame.byteOffset).toBe(out.byteOffset);
    expect(frame.length).toBe(ARP_FRAME_LENGTH);
    expect(frame.equals(encodeGratuitousArpRequest({ mac: MAC, ip: IP }))).toBe(true);
    expect(() => encodeGratuitousArpRequest({ mac: MAC, ip: IP }, Buffer.alloc(59))).toThrow(RangeError);
  });

  it('rejects malformed addresses', () => {
    expect(() => encodeGratuitousArpRequest({ mac: '52:54:00:12:34', ip: IP })).toThrow(TypeError);
    expect(() => encodeGratuitousArpRequest({ mac: MAC, ip: '198.18.0.256' })).toThrow(TypeError);
    expect(() => encodeGratuitousArpRequest({ mac: MAC, ip: '2001:db8::1' })).toThrow(TypeError);
  });
});

describe('decodeArp', () => {
  // A request as Linux puts it on the wire: 42 bytes, no padding.
  const linuxRequest = hex(`ff ff ff ff ff ff | 02 00 00 00 00 07 | 08 06 | 00 01 08 00 06 04 00 01 |
                            02 00 00 00 00 07 | c6 12 00 07 | 00 00 00 00 00 00 | c6 12 00 64`);

  it('decodes a hand-built request', () => {
    expect(decodeArp(linuxRequest)).toEqual({
      op: ARP_OP_REQUEST,
      ethDst: 'ff:ff:ff:ff:ff:ff',
      ethSrc: PEER_MAC,
      senderMac: PEER_MAC,
      senderIp: PEER_IP,
      targetMac: '00:00:00:00:00:00',
      targetIp: IP,
    });
  });

  it('ignores trailing padding', () => {
    const padded = Buffer.concat([linuxRequest, Buffer.alloc(18, 0xab)]);
    expect(decodeArp(padded)).toEqual(decodeArp(linuxRequest));
  });

  it('decodes a hand-built reply, MACs in lowercase', () => {
    const reply = hex(`02 00 00 00 00 07 | AA BB CC DD EE FF | 08 06 | 00 01 08 00 06 04 00 02 |
                       AA BB CC DD EE FF | c6 12 00 64 | 02 00 00 00 00 07 | c6 12 00 07`);
    expect(decodeArp(reply)).toMatchObject({ op: ARP_OP_REPLY, senderMac: 'aa:bb:cc:dd:ee:ff', senderIp: IP });
  });

  it('round-trips every encoder', () => {
    const garp = decodeArp(encodeGratuitousArpRequest({ mac: MAC, ip: IP }))!;
    expect(garp).toMatchObject({ op: ARP_OP_REQUEST, senderIp: IP, targetIp: IP, senderMac: MAC });
    expect(isGratuitousArp(garp)).toBe(true);
    expect(isArpProbe(garp)).toBe(false);
    const garpReply = decodeArp(encodeGratuitousArpReply({ mac: MAC, ip: IP }))!;
    expect(garpReply).toMatchObject({ op: ARP_OP_REPLY, targetMac: MAC });
    expect(isGratuitousArp(garpReply)).toBe(true);
    const probe = decodeArp(encodeArpProbe({ mac: MAC, ip: IP }))!;
    expect(isArpProbe(probe)).toBe(true);
    expect(isGratuitousArp(probe)).toBe(false);
    const request = decodeArp(encodeArpRequest({ senderMac: MAC, senderIp: IP, targetIp: PEER_IP }))!;
    expect(isGratuitousArp(request)).toBe(false);
    expect(isArpProbe(request)).toBe(false);
  });

  it('returns null for frames that are not IPv4-over-Ethernet ARP request/reply', () => {
    const mutate = (offset: number, value: number): Buffer => {
      const copy = Buffer.from(linuxRequest);
      copy[offset] = value;
      return copy;
    };
    expect(decodeArp(Buffer.alloc(0))).toBeNull();
    expect(decodeArp(linuxRequest.subarray(0, 41))).toBeNull(); // truncated target IP
    expect(decodeArp(mutate(13, 0x00))).toBeNull(); // ethertype 0x0800
    expect(decodeArp(mutate(15, 6))).toBeNull(); // hardware type IEEE 802
    expect(decodeArp(mutate(14, 1))).toBeNull(); // hardware type 0x0101
    expect(decodeArp(mutate(16, 0x86))).toBeNull(); // protocol 0x86dd
    expect(decodeArp(mutate(18, 8))).toBeNull(); // hardware length 8
    expect(decodeArp(mutate(19, 16))).toBeNull(); // protocol length 16
    expect(decodeArp(mutate(21, 3))).toBeNull(); // RARP request opcode
    expect(decodeArp(mutate(21, 0))).toBeNull();
    expect(decodeArp(mutate(20, 1))).toBeNull(); // opcode 0x0101
  });

  it('never throws on random or truncated input', () => {
    let state = 0x12345678;
    const random = (): number => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      return state >>> 16;
    };
    const valid = encodeArpRequest({ senderMac: MAC, senderIp: IP, targetIp: PEER_IP });
    for (let i = 0; i < 2000; i++) {
      const length = random() % 80;
      const frame = Buffer.alloc(length);
      for (let j = 0; j < length; j++) frame[j] = i % 2 === 0 ? random() & 0xff : (valid[j] ?? 0);
      if (i % 2 === 1 && length > 0) frame[random() % length] = random() & 0xff;
      expect(() => decodeArp(frame)).not.toThrow();
    }
  });
});
