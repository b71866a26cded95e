// Classic BPF programs for the packet sockets (SO_ATTACH_FILTER), so the
// kernel drops what the speaker would only throw away: for the IPv6 socket
// everything but Neighbor Solicitations/Advertisements. Offsets count from
// the start of the Ethernet header (SOCK_RAW). IPv6 extension headers are not
// followed: NDP is only recognised with next header 58 right after the fixed
// header, which is how NDP is sent (and decodeNdp would reject the rest).

import { endianness } from 'node:os';

/** One `struct sock_filter`. */
export interface BpfInstruction {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

// Opcode parts from linux/bpf_common.h.
const BPF_LD = 0x00;
const BPF_JMP = 0x05;
const BPF_RET = 0x06;
const BPF_W = 0x00;
const BPF_H = 0x08;
const BPF_B = 0x10;
const BPF_ABS = 0x20;
const BPF_JEQ = 0x10;
const BPF_K = 0x00;

/** Ancillary load of skb->pkt_type (SKF_AD_OFF + SKF_AD_PKTTYPE). */
const SKF_AD_PKTTYPE = (-0x1000 + 4) >>> 0;
/** sll_pkttype of a unicast frame for another host (promiscuous mode, or a VLAN this host does not have). */
const PACKET_OTHERHOST = 3;
/** Bytes of an accepted frame to keep: all of it. */
const ACCEPT_LENGTH = 0x40000;

const BPF_INSTRUCTION_SIZE = 8;

/** Packs instructions as an array of `struct sock_filter` in host byte order. */
export function assembleBpf(program: readonly BpfInstruction[]): Buffer {
  const little = endianness() === 'LE';
  const buffer = Buffer.alloc(program.length * BPF_INSTRUCTION_SIZE);
  const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  program.forEach((insn, i) => {
    const at = i * BPF_INSTRUCTION_SIZE;
    view.setUint16(at, insn.code, little);
    view.setUint8(at + 2, insn.jt);
    view.setUint8(at + 3, insn.jf);
    view.setUint32(at + 4, insn.k >>> 0, little);
  });
  return buffer;
}

// A step is an instruction whose jumps name labels (null: fall through), or a label.
type Step = { code: number; k: number; ifTrue?: string | null; ifFalse?: string | null } | { label: string };

const loadByte = (offset: number): Step => ({ code: BPF_LD | BPF_B | BPF_ABS, k: offset });
const loadHalf = (offset: number): Step => ({ code: BPF_LD | BPF_H | BPF_ABS, k: offset });
const loadPacketType = (): Step => ({ code: BPF_LD | BPF_W | BPF_ABS, k: SKF_AD_PKTTYPE });
const jumpIfEqual = (value: number, ifTrue: string | null, ifFalse: string | null): Step => ({
  code: BPF_JMP | BPF_JEQ | BPF_K,
  k: value,
  ifTrue,
  ifFalse,
});
/** Continue only when the loaded value equals `value`. */
const onlyIf = (value: number): Step => jumpIfEqual(value, null, 'drop');
const ret = (length: number): Step => ({ code: BPF_RET | BPF_K, k: length });
const label = (name: string): Step => ({ label: name });

/** Resolves labels to the forward offsets classic BPF jumps take (0..255). */
function link(steps: readonly Step[]): BpfInstruction[] {
  const positions = new Map<string, number>();
  let count = 0;
  for (const step of steps) {
    if ('label' in step) positions.set(step.label, count);
    else count++;
  }
  const program: BpfInstruction[] = [];
  const offset = (target: string | null | undefined, from: number): number => {
    if (target === null || target === undefined) return 0;
    const position = positions.get(target);
    if (position === undefined) throw new Error(`BPF label ${target} is not defined`);
    const distance = position - from - 1;
    if (distance < 0 || distance > 255) throw new RangeError(`BPF jump to ${target} out of range`);
    return distance;
  };
  for (const step of steps) {
    if ('label' in step) continue;
    const at = program.length;
    program.push({ code: step.code, jt: offset(step.ifTrue, at), jf: offset(step.ifFalse, at), k: step.k });
  }
  return program;
}

/** Shared head: frames for other hosts out, then the ethertype. */
const frameFor = (ethertype: number): Step[] => [
  loadPacketType(),
  jumpIfEqual(PACKET_OTHERHOST, 'drop', null),
  loadHalf(12),
  onlyIf(ethertype),
];

const tail: Step[] = [label('accept'), ret(ACCEPT_LENGTH), label('drop'), ret(0)];

/** ARP for IPv4 over Ethernet (htype 1, ptype 0x0800, lengths 6/4), request or reply. */
export function arpFilterProgram(): BpfInstruction[] {
  return link([
    ...frameFor(0x0806),
    loadHalf(14),
    onlyIf(1),
    loadHalf(16),
    onlyIf(0x0800),
    loadHalf(18),
    onlyIf(0x0604),
    loadHalf(20),
    jumpIfEqual(1, 'accept', null),
    jumpIfEqual(2, 'accept', 'drop'),
    ...tail,
  ]);
}

/**
 * IPv6 carrying ICMPv6 (next header 58) with hop limit 255, code 0 and one of
 * `types` (default Neighbor Solicitation 135 and Advertisement 136).
 */
export function ndpFilterProgram(types: readonly number[] = [135, 136]): BpfInstruction[] {
  if (types.length === 0 || types.length > 200) throw new RangeError('ndpFilterProgram needs 1-200 ICMPv6 types');
  return link([
    ...frameFor(0x86dd),
    loadByte(14 + 6), // next header
    onlyIf(58),
    loadByte(14 + 7), // hop limit
    onlyIf(255),
    loadByte(14 + 40 + 1), // ICMPv6 code
    onlyIf(0),
    loadByte(14 + 40), // ICMPv6 type
    ...types.map((type, i) => jumpIfEqual(type, 'accept', i === types.length - 1 ? 'drop' : null)),
    ...tail,
  ]);
}

/** The ARP filter as a Buffer for PacketSocket. */
export function arpFilter(): Buffer {
  return assembleBpf(arpFilterProgram());
}

/** The NDP filter as a Buffer for PacketSocket. */
export function ndpFilter(types?: readonly number[]): Buffer {
  return assembleBpf(ndpFilterProgram(types));
}
