// The announcer against fake packet sockets: which frames go out when, what
// is answered, what counts as a conflict. Byte layouts are the codecs' tests.
import { EventEmitter } from 'node:events';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { decodeArp, encodeArpProbe, encodeArpRequest, encodeGratuitousArpRequest, encodeArpReply, ARP_OP_REPLY, ARP_OP_REQUEST } from '../../../src/l2/arp.ts';
import { decodeNdp, encodeNeighborAdvertisement, encodeUnsolicitedNa, ipv6MulticastMac, solicitedNodeAddress, ALL_NODES_IPV6, ALL_NODES_MAC } from '../../../src/l2/ndp.ts';
import { PACKET_BROADCAST, PACKET_OUTGOING } from '../../../src/l2/packet-socket.ts';
import { Announcer, type FrameTransport } from '../../../src/speaker/announcer.ts';
import type { ConflictEvent } from '../../../src/speaker/conflicts.ts';
import type { InterfaceSurvey } from '../../../src/speaker/announce-interfaces.ts';
import { SpeakerMetrics } from '../../../src/speaker/metrics.ts';
import { icmpv6Checksum } from '../../../src/l2/checksum.ts';

const MAC = '02:00:00:00:00:02';
const CLIENT_MAC = '02:00:00:00:00:99';
const OTHER_NODE_MAC = '02:00:00:00:00:33';

class FakeTransport extends EventEmitter implements FrameTransport {
  readonly mac = MAC;
  readonly sent: Buffer[] = [];
  readonly groups: string[] = [];
  closed = false;
  readonly ifname: string;
  readonly kind: 'arp' | 'ndp';
  constructor(ifname: string, kind: 'arp' | 'ndp') {
    super();
    this.ifname = ifname;
    this.kind = kind;
  }
  send(frame: Buffer): number {
    this.sent.push(Buffer.from(frame));
    return frame.length;
  }
  addMulticast(mac: string): void {
    this.groups.push(mac);
  }
  dropMulticast(mac: string): void {
    this.groups.splice(this.groups.indexOf(mac), 1);
  }
  close(): void {
    this.closed = true;
  }
  receive(frame: Buffer, packetType = PACKET_BROADCAST): void {
    this.emit('frame', frame, packetType);
  }
}

function survey(extra: Partial<InterfaceSurvey> = {}): InterfaceSurvey {
  return {
    interfaces: [{ name: 'eth0', index: 2, mac: MAC, subnets: ['198.18.0.0/24', '2001:db8::/64'] }],
    subnets: ['198.18.0.0/24', '2001:db8::/64'],
    anyIp: false,
    skipped: [],
    ownMacs: [MAC],
    ...extra,
  };
}

interface LogLine {
  msg: string;
  [key: string]: unknown;
}

let transports: FakeTransport[];
let lines: LogLine[];
let conflicts: ConflictEvent[];
let announcer: Announcer;
let metrics: SpeakerMetrics;

const arp = () => transports.find((t) => t.kind === 'arp' && !t.closed)!;
const ndp = () => transports.find((t) => t.kind === 'ndp' && !t.closed)!;

beforeEach(() => {
  vi.useFakeTimers();
  transports = [];
  lines = [];
  conflicts = [];
  const log = pino({ level: 'debug' }, { write: (s: string) => lines.push(JSON.parse(s) as LogLine) });
  metrics = new SpeakerMetrics(new Registry());
  announcer = new Announcer(
    log,
    metrics,
    {
      openTransport: (ifname, kind) => {
        const t = new FakeTransport(ifname, kind);
        transports.push(t);
        return t;
      },
      prepareInterface: async () => {},
      now: () => Date.now(),
    },
    { onConflict: (e) => conflicts.push(e) },
  );
  announcer.setSurvey(survey());
});

afterEach(() => {
  announcer.close();
  vi.useRealTimers();
});

describe('takeover and refresh', () => {
  test('IPv4: both gratuitous ARP forms at once, the burst, then refreshes; one log line per announcement', () => {
    announcer.own('198.18.0.10', ['default/web']);
    expect(announcer.interfaceOf('198.18.0.10')).toBe('eth0');
    const first = arp().sent.map((f) => decodeArp(f)!);
    expect(first).toHaveLength(2);
    expect(first[0]).toMatchObject({ op: ARP_OP_REQUEST, senderIp: '198.18.0.10', targetIp: '198.18.0.10', senderMac: MAC, ethDst: 'ff:ff:ff:ff:ff:ff' });
    expect(first[1]).toMatchObject({ op: ARP_OP_REPLY, senderIp: '198.18.0.10', targetIp: '198.18.0.10', senderMac: MAC, targetMac: MAC });
    const announced = () => lines.filter((l) => String(l.msg).startsWith('announced IP'));
    expect(announced()[0]).toMatchObject({ ip: '198.18.0.10', interface: 'eth0', mac: MAC, services: ['default/web'], reason: 'takeover', step: 0 });
    vi.advanceTimersByTime(3100); // burst steps at 0.1, 0.3, 0.7, 1.5, 3.1 s
    expect(arp().sent).toHaveLength(12);
    expect(announced().map((l) => l.step)).toEqual([0, 1, 2, 3, 4, 5]);
    vi.advanceTimersByTime(10_000); // refresh within 9-10 s after the burst
    expect(arp().sent).toHaveLength(14);
    expect(announced().at(-1)).toMatchObject({ reason: 'refresh' });
  });

  test('announceNow: one announcement outside the schedule, logged with its reason; an IP in its burst is left to the burst; the refresh clock starts again', () => {
    announcer.own('198.18.0.10', ['default/web']);
    announcer.own('198.18.0.11', ['default/api']);
    vi.advanceTimersByTime(3200); // both bursts over
    announcer.own('198.18.0.12', ['default/new']); // in its burst
    const announced = () => lines.filter((l) => String(l.msg).startsWith('announced IP'));
    const before = announced().length;
    announcer.announceNow(['198.18.0.10', '198.18.0.12', '198.18.0.99'], 'peer-left');
    const now = announced().slice(before);
    // A round over several IPs: one line listing them.
    expect(now).toEqual([expect.objectContaining({ ips: ['198.18.0.10'], reason: 'peer-left', interface: 'eth0', mac: MAC })]);
    expect(now[0]).not.toHaveProperty('step');
    // .10's next refresh comes a period after this one, .11's on its own clock.
    const at = announced().length;
    const of10 = () => announced().slice(at).filter((l) => (l.ips as string[] | undefined)?.includes('198.18.0.10'));
    vi.advanceTimersByTime(8_000);
    expect(of10()).toEqual([]);
    vi.advanceTimersByTime(2_500);
    expect(of10().map((l) => l.reason)).toEqual(['refresh']);
    announcer.announceNow(['198.18.0.11'], 'defend');
    expect(announced().at(-1)).toMatchObject({ ip: '198.18.0.11', reason: 'defend' });
  });

  test('a refresh round over many IPs is a line per interface and family listing them, not a line per IP', () => {
    const v4 = Array.from({ length: 250 }, (_, i) => `198.18.0.${i + 1}`);
    for (const ip of [...v4, '2001:db8::10', '2001:db8::11']) announcer.own(ip, ['default/many']);
    vi.advanceTimersByTime(3200); // the bursts: a line per IP and step
    expect(lines.filter((l) => l.reason === 'takeover')).toHaveLength(252 * 6);
    const at = lines.length;
    vi.advanceTimersByTime(10_000); // every IP refreshed once (jittered over rounds at most 500 ms apart)
    const refresh = lines.slice(at).filter((l) => l.reason === 'refresh');
    const refreshed = refresh.flatMap((l) => l.ips as string[]);
    expect(refreshed.sort()).toEqual([...v4, '2001:db8::10', '2001:db8::11'].sort());
    expect(refresh.every((l) => l.ip === undefined && l.interface === 'eth0' && l.mac === MAC)).toBe(true);
    for (const l of refresh) expect(l.msg).toBe((l.ips as string[])[0]!.includes(':') ? 'announced IPs (unsolicited NA)' : 'announced IPs (gratuitous ARP, request and reply)');
    // At most one line per round and family here (200 IPs a line): 20 rounds of 500 ms.
    expect(refresh.length).toBeLessThanOrEqual(2 * 21);
    expect(refresh.length).toBeLessThan(refreshed.length / 4);
  });

  test('many IPs taken at once: each sends its first step at once and its burst on time; the announced gauge follows them as they go and move', async () => {
    const gauge = async () => Object.fromEntries((await metrics.announcedIps.get()).values.map((v) => [v.labels.family, v.value]));
    const v4 = Array.from({ length: 200 }, (_, i) => `198.18.0.${i + 1}`);
    for (const ip of [...v4, '2001:db8::10']) announcer.own(ip, ['default/many']);
    expect(arp().sent).toHaveLength(400); // both forms, each IP
    expect(ndp().sent).toHaveLength(1);
    expect(await gauge()).toEqual({ ipv4: 200, ipv6: 1 });
    vi.advanceTimersByTime(3100);
    expect(arp().sent).toHaveLength(400 * 6);
    for (const ip of v4.slice(0, 50)) announcer.release(ip);
    expect(await gauge()).toEqual({ ipv4: 150, ipv6: 1 });
    // The subnet goes from the interface: nothing is announced, nothing counted.
    announcer.setSurvey(survey({ interfaces: [{ name: 'eth0', index: 2, mac: MAC, subnets: ['2001:db8::/64'] }], subnets: ['2001:db8::/64'] }));
    expect(await gauge()).toEqual({ ipv4: 0, ipv6: 1 });
    announcer.setSurvey(survey());
    expect(await gauge()).toEqual({ ipv4: 150, ipv6: 1 });
  });

  test('IPv6: an unsolicited NA with Override to all nodes, and the solicited-node group joined', () => {
    announcer.own('2001:db8::10', ['default/web']);
    const na = decodeNdp(ndp().sent[0]!);
    expect(na).toMatchObject({ type: 'na', target: '2001:db8::10', override: true, solicited: false, dstIp: ALL_NODES_IPV6, ethDst: ALL_NODES_MAC, targetLinkAddr: MAC });
    expect(ndp().groups).toEqual([ipv6MulticastMac(solicitedNodeAddress('2001:db8::10'))]);
    announcer.release('2001:db8::10');
    expect(transports.every((t) => t.closed)).toBe(true); // last IP gone: sockets closed
  });

  test('an IP outside every subnet waits for an interface; a new survey places it and starts its burst', () => {
    announcer.own('198.51.100.7', ['default/far']);
    expect(announcer.interfaceOf('198.51.100.7')).toBeUndefined();
    expect(lines.some((l) => l.msg.includes('no usable interface'))).toBe(true);
    announcer.setSurvey(survey({ anyIp: true }));
    expect(announcer.interfaceOf('198.51.100.7')).toBe('eth0');
    expect(arp().sent).toHaveLength(2);
  });

  test('interfaces named by an L2Advertisement: the IP moves there (a new burst); requests on the other interface go unanswered', () => {
    announcer.setSurvey(
      survey({
        interfaces: [
          { name: 'eth0', index: 2, mac: MAC, subnets: ['198.18.0.0/24'] },
          { name: 'eth1', index: 3, mac: MAC, subnets: [] },
        ],
      }),
    );
    announcer.own('198.18.0.10', ['default/web']);
    expect(announcer.interfaceOf('198.18.0.10')).toBe('eth0');
    announcer.own('198.18.0.10', ['default/web'], new Set(['eth1']));
    expect(announcer.interfaceOf('198.18.0.10')).toBe('eth1');
    const on = (ifname: string) => transports.find((t) => t.kind === 'arp' && t.ifname === ifname && !t.closed);
    // eth0 carries nothing now: its sockets are closed.
    expect(on('eth0')).toBeUndefined();
    expect(on('eth1')!.sent).toHaveLength(2);
    on('eth1')!.sent.length = 0;
    on('eth1')!.receive(encodeArpRequest({ senderMac: CLIENT_MAC, senderIp: '198.18.0.100', targetIp: '198.18.0.10' }));
    expect(on('eth1')!.sent).toHaveLength(1);
    // The same set again changes nothing; no set at all moves it back.
    announcer.own('198.18.0.10', ['default/web'], new Set(['eth1']));
    expect(on('eth1')!.sent).toHaveLength(1);
    announcer.own('198.18.0.10', ['default/web']);
    expect(announcer.interfaceOf('198.18.0.10')).toBe('eth0');
  });

  test('carrier loss: the interface leaves the survey, sockets close, announcing resumes with a burst when it returns', () => {
    announcer.own('198.18.0.10', []);
    announcer.setSurvey(survey({ interfaces: [], subnets: [] }));
    expect(announcer.interfaceOf('198.18.0.10')).toBeUndefined();
    expect(transports.every((t) => t.closed)).toBe(true);
    vi.advanceTimersByTime(20_000);
    announcer.setSurvey(survey());
    expect(arp().sent).toHaveLength(2);
    expect(lines.filter((l) => l.reason === 'takeover' && l.step === 0)).toHaveLength(2);
  });
});

describe('answering', () => {
  test('ARP requests for an owned IP are answered (unicast to the asker); others, gratuitous and our own are not', () => {
    announcer.own('198.18.0.10', ['default/web']);
    arp().sent.length = 0;
    arp().receive(encodeArpRequest({ senderMac: CLIENT_MAC, senderIp: '198.18.0.100', targetIp: '198.18.0.10' }));
    arp().receive(encodeArpRequest({ senderMac: CLIENT_MAC, senderIp: '198.18.0.100', targetIp: '198.18.0.11' }));
    arp().receive(encodeGratuitousArpRequest({ mac: CLIENT_MAC, ip: '198.18.0.100' }));
    arp().receive(encodeArpRequest({ senderMac: MAC, senderIp: '198.18.0.1', targetIp: '198.18.0.10' }));
    arp().receive(encodeArpRequest({ senderMac: CLIENT_MAC, senderIp: '198.18.0.100', targetIp: '198.18.0.10' }), PACKET_OUTGOING);
    expect(arp().sent).toHaveLength(1);
    expect(decodeArp(arp().sent[0]!)).toMatchObject({ op: ARP_OP_REPLY, ethDst: CLIENT_MAC, senderMac: MAC, senderIp: '198.18.0.10', targetMac: CLIENT_MAC, targetIp: '198.18.0.100' });
    expect(lines.find((l) => l.reason === 'reply')).toMatchObject({ ip: '198.18.0.10', interface: 'eth0', mac: MAC, services: ['default/web'], to: { mac: CLIENT_MAC, ip: '198.18.0.100' } });
  });

  test('an ARP probe for an owned IP is answered (the prober must back off)', () => {
    announcer.own('198.18.0.10', []);
    arp().sent.length = 0;
    arp().receive(encodeArpProbe({ mac: CLIENT_MAC, ip: '198.18.0.10' }));
    expect(decodeArp(arp().sent[0]!)).toMatchObject({ op: ARP_OP_REPLY, targetIp: '0.0.0.0', ethDst: CLIENT_MAC });
    expect(conflicts).toEqual([]);
  });

  test('a scanning client: every request answered, the log holds the first and then one line per 10 s', () => {
    announcer.own('198.18.0.10', []);
    arp().sent.length = 0;
    for (let i = 0; i < 200; i++) {
      arp().receive(encodeArpRequest({ senderMac: CLIENT_MAC, senderIp: '198.18.0.100', targetIp: '198.18.0.10' }));
      vi.advanceTimersByTime(100);
    }
    expect(arp().sent.filter((f) => decodeArp(f)!.op === ARP_OP_REPLY && decodeArp(f)!.ethDst === CLIENT_MAC)).toHaveLength(200);
    const replies = lines.filter((l) => l.reason === 'reply');
    expect(replies).toHaveLength(2);
    expect(replies[1]!.repliesNotLogged).toBe(99);
  });

  test('Neighbor Solicitations for an owned IPv6 address get a solicited NA', () => {
    announcer.own('2001:db8::10', []);
    ndp().sent.length = 0;
    const ns = nsFrame('2001:db8::99', CLIENT_MAC, '2001:db8::10');
    ndp().receive(ns);
    const na = decodeNdp(ndp().sent[0]!);
    expect(na).toMatchObject({ type: 'na', target: '2001:db8::10', solicited: true, override: true, dstIp: '2001:db8::99', ethDst: CLIENT_MAC });
  });
});

describe('conflicts', () => {
  test('another MAC claiming an owned IP (ARP reply, gratuitous ARP, NA) is reported once, rate-limited', () => {
    announcer.own('198.18.0.10', []);
    announcer.own('2001:db8::10', []);
    // Right after a takeover, the previous owner's last announcements are not conflicts.
    arp().receive(encodeGratuitousArpRequest({ mac: OTHER_NODE_MAC, ip: '198.18.0.10' }));
    expect(conflicts).toEqual([]);
    vi.advanceTimersByTime(1000);
    arp().receive(encodeArpReply({ senderMac: OTHER_NODE_MAC, senderIp: '198.18.0.10', targetMac: CLIENT_MAC, targetIp: '198.18.0.100' }));
    arp().receive(encodeGratuitousArpRequest({ mac: OTHER_NODE_MAC, ip: '198.18.0.10' }));
    ndp().receive(encodeUnsolicitedNa({ mac: OTHER_NODE_MAC, ip: '2001:db8::10' }));
    expect(conflicts.map((c) => [c.type, c.ip, c.mac, c.kind])).toEqual([
      ['conflict', '198.18.0.10', OTHER_NODE_MAC, 'arp-reply'],
      ['conflict', '2001:db8::10', OTHER_NODE_MAC, 'na'],
    ]);
    // Our own announcements looped back are not conflicts.
    ndp().receive(encodeUnsolicitedNa({ mac: MAC, ip: '2001:db8::10' }));
    expect(conflicts).toHaveLength(2);
    // Silence for resolveAfterMs, then a sweep reports resolution.
    vi.advanceTimersByTime(130_000);
    expect(conflicts.filter((c) => c.type === 'conflict-resolved').map((c) => c.ip).sort()).toEqual(['198.18.0.10', '2001:db8::10']);
  });

  test('claims for IPs we do not own are ignored', () => {
    announcer.own('198.18.0.10', []);
    vi.advanceTimersByTime(1000);
    arp().receive(encodeGratuitousArpRequest({ mac: OTHER_NODE_MAC, ip: '198.18.0.11' }));
    expect(conflicts).toEqual([]);
  });
});

/** A Neighbor Solicitation from `src` (link-layer `mac`) for `target`, to its solicited-node group. */
function nsFrame(src: string, mac: string, target: string): Buffer {
  // Reuse the NA encoder for the IPv6 header, then turn it into an NS with a source link-layer option.
  const frame = encodeNeighborAdvertisement({
    ethDst: ipv6MulticastMac(solicitedNodeAddress(target)),
    ethSrc: mac,
    srcIp: src,
    dstIp: solicitedNodeAddress(target),
    target,
    router: false,
    solicited: false,
    override: false,
    targetLinkAddr: mac,
  });
  frame[54] = 135; // type NS
  frame[58] = 0; // flags
  frame[78] = 1; // option: source link-layer address
  frame.writeUInt16BE(0, 56);
  frame.writeUInt16BE(icmpv6Checksum(frame, 14, frame.length - 54), 56);
  return frame;
}
