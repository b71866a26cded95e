import { describe, expect, it } from 'vitest';

import { encodeArpReply, encodeArpRequest, encodeGratuitousArpRequest } from '../../../src/l2/arp.ts';
import {
  arpFilter,
  arpFilterProgram,
  assembleBpf,
  type BpfInstruction,
  ndpFilter,
  ndpFilterProgram,
} from '../../../src/l2/bpf.ts';
import { encodeSolicitedNa, encodeUnsolicitedNa, type NeighborSolicitation } from '../../../src/l2/ndp.ts';
import { hex, referenceIcmpv6Checksum } from './hex.ts';

const PACKET_HOST = 0;
const PACKET_BROADCAST = 1;
const PACKET_MULTICAST = 2;
const PACKET_OTHERHOST = 3;

/**
 * The subset of the kernel's classic BPF the generated programs use: absolute
 * loads (w/h/b, plus the pkt_type ancillary load), jeq #k and ret #k. A load
 * past the end drops the frame, as in the kernel.
 */
function runBpf(program: readonly BpfInstruction[], frame: Buffer, packetType: number): number {
  let accumulator = 0;
  for (let pc = 0, steps = 0; pc < program.length && steps < 4096; steps++) {
    const { code, jt, jf, k } = program[pc]!;
    switch (code) {
      case 0x20: // ld [k]
        if (k === 0xfffff004) accumulator = packetType;
        else if (k + 4 > frame.length) return 0;
        else accumulator = frame.readUInt32BE(k);
        pc++;
        break;
      case 0x28: // ldh [k]
        if (k + 2 > frame.length) return 0;
        accumulator = frame.readUInt16BE(k);
        pc++;
        break;
      case 0x30: // ldb [k]
        if (k + 1 > frame.length) return 0;
        accumulator = frame[k]!;
        pc++;
        break;
      case 0x15: // jeq #k
        pc += 1 + (accumulator === k ? jt : jf);
        break;
      case 0x06: // ret #k
        return k;
      default:
        throw new Error(`opcode ${code.toString(16)} not supported by the test interpreter`);
    }
  }
  throw new Error('program fell off the end');
}

const MAC = '52:54:00:12:34:56';
const arp = arpFilterProgram();
const ndp = ndpFilterProgram();

const ns = (): Buffer => {
  const solicitation: NeighborSolicitation = {
    type: 'ns',
    ethDst: MAC,
    ethSrc: '02:00:00:00:00:07',
    srcIp: '2001:db8::7',
    dstIp: '2001:db8::100',
    target: '2001:db8::100',
    sourceLinkAddr: null,
  };
  // Re-type a solicited NA as an NS (type 135), checksum fixed: a valid NS shape for the filter.
  const frame = Buffer.from(encodeSolicitedNa(solicitation, { mac: MAC }));
  frame[54] = 135;
  frame.writeUInt16BE(referenceIcmpv6Checksum(frame), 56);
  return frame;
};

describe('BPF assembly', () => {
  it('packs struct sock_filter in host byte order', () => {
    const packed = assembleBpf([{ code: 0x28, jt: 1, jf: 2, k: 0x0c }, { code: 0x06, jt: 0, jf: 0, k: 0xffffffff }]);
    // x86 and arm64 are little-endian: u16 code, u8 jt, u8 jf, u32 k.
    expect(packed.toString('hex')).toBe('280001020c000000' + '06000000ffffffff');
    expect(arpFilter().length).toBe(arp.length * 8);
    expect(ndpFilter().length).toBe(ndp.length * 8);
  });

  it('jumps only forward, within range, and every path ends in ret', () => {
    for (const program of [arp, ndp, ndpFilterProgram([133, 134, 135, 136, 137])]) {
      expect(program.at(-1)!.code).toBe(0x06);
      program.forEach((insn, pc) => {
        if (insn.code !== 0x15) return;
        expect(pc + 1 + insn.jt).toBeLessThan(program.length);
        expect(pc + 1 + insn.jf).toBeLessThan(program.length);
      });
    }
    expect(() => ndpFilterProgram([])).toThrow(RangeError);
  });
});

describe('ARP filter', () => {
  it('accepts ARP requests and replies', () => {
    expect(runBpf(arp, encodeGratuitousArpRequest({ mac: MAC, ip: '198.18.0.1' }), PACKET_BROADCAST)).toBeGreaterThan(0);
    const request = encodeArpRequest({ senderMac: MAC, senderIp: '198.18.0.1', targetIp: '198.18.0.2' });
    expect(runBpf(arp, request, PACKET_BROADCAST)).toBeGreaterThan(0);
    const reply = encodeArpReply({ senderMac: MAC, senderIp: '198.18.0.1', targetMac: MAC, targetIp: '198.18.0.2' });
    expect(runBpf(arp, reply, PACKET_HOST)).toBeGreaterThan(0);
  });

  it('drops other hosts\' frames, other ethertypes and other ARP flavours', () => {
    const request = encodeArpRequest({ senderMac: MAC, senderIp: '198.18.0.1', targetIp: '198.18.0.2' });
    const mutate = (offset: number, value: number): Buffer => {
      const copy = Buffer.from(request);
      copy[offset] = value;
      return copy;
    };
    expect(runBpf(arp, request, PACKET_OTHERHOST)).toBe(0);
    expect(runBpf(arp, mutate(13, 0x35), PACKET_BROADCAST)).toBe(0); // RARP ethertype 0x8035
    expect(runBpf(arp, mutate(15, 6), PACKET_BROADCAST)).toBe(0);
    expect(runBpf(arp, mutate(17, 0xdd), PACKET_BROADCAST)).toBe(0);
    expect(runBpf(arp, mutate(18, 8), PACKET_BROADCAST)).toBe(0);
    expect(runBpf(arp, mutate(21, 3), PACKET_BROADCAST)).toBe(0);
    expect(runBpf(arp, request.subarray(0, 20), PACKET_BROADCAST)).toBe(0);
  });
});

describe('NDP filter', () => {
  it('accepts Neighbor Solicitations and Advertisements', () => {
    expect(runBpf(ndp, ns(), PACKET_HOST)).toBeGreaterThan(0);
    expect(runBpf(ndp, encodeUnsolicitedNa({ mac: MAC, ip: '2001:db8::100' }), PACKET_MULTICAST)).toBeGreaterThan(0);
  });

  it('drops other ICMPv6, other next headers, forwarded hop limits and other hosts\' frames', () => {
    const mutate = (offset: number, value: number): Buffer => {
      const copy = ns();
      copy[offset] = value;
      return copy;
    };
    expect(runBpf(ndp, ns(), PACKET_OTHERHOST)).toBe(0);
    expect(runBpf(ndp, mutate(54, 128), PACKET_HOST)).toBe(0); // echo request
    expect(runBpf(ndp, mutate(54, 134), PACKET_HOST)).toBe(0); // router advertisement
    expect(runBpf(ndp, mutate(55, 1), PACKET_HOST)).toBe(0); // code 1
    expect(runBpf(ndp, mutate(20, 0), PACKET_HOST)).toBe(0); // hop-by-hop options first
    expect(runBpf(ndp, mutate(20, 17), PACKET_HOST)).toBe(0); // UDP
    expect(runBpf(ndp, mutate(21, 64), PACKET_HOST)).toBe(0); // routed, not on-link
    expect(runBpf(ndp, mutate(12, 0x08), PACKET_HOST)).toBe(0);
    expect(runBpf(ndp, ns().subarray(0, 54), PACKET_HOST)).toBe(0);
    expect(runBpf(ndp, hex('33 33 00 00 00 01 52 54 00 12 34 56 86 dd'), PACKET_HOST)).toBe(0);
  });

  it('takes another set of ICMPv6 types', () => {
    const routerSolicitation = (() => {
      const frame = ns();
      frame[54] = 133;
      return frame;
    })();
    expect(runBpf(ndpFilterProgram([133]), routerSolicitation, PACKET_HOST)).toBeGreaterThan(0);
    expect(runBpf(ndpFilterProgram([133]), ns(), PACKET_HOST)).toBe(0);
  });
});
