import { describe, expect, test } from 'vitest';
import { ConflictDetector, normalizeMac, type ObservedClaim } from '../../../src/speaker/conflicts.ts';

const OURS = '02:00:00:00:00:01';
const THEIRS = '02:00:00:00:00:99';
const IP = '198.18.0.10';

function detector(options = {}): ConflictDetector {
  const d = new ConflictDetector(options);
  d.ownIp(IP);
  d.ownIp('2001:DB8::0:10');
  d.setOwnMacs([OURS.toUpperCase(), '02-00-00-00-00-02']);
  return d;
}

function arp(ip: string, mac: string, kind: ObservedClaim['kind'] = 'arp-reply'): ObservedClaim {
  return { kind, ip, mac, interface: 'eth1' };
}

describe('conflict detection', () => {
  test('another MAC claiming an IP we own is reported at once, loudly', () => {
    const e = detector().observe(arp(IP, THEIRS), 1000);
    expect(e).toMatchObject({ type: 'conflict', ip: IP, mac: THEIRS, kind: 'arp-reply', interface: 'eth1', claims: 1, suppressed: 0 });
    expect(e?.message).toBe(
      `IP ${IP}, which this node announces, is also claimed by ${THEIRS} (arp-reply on eth1): two hosts answer for one IP`,
    );
  });

  test.each<[string, ObservedClaim]>([
    ['our own MAC (any spelling)', arp(IP, OURS)],
    ['our other interface', arp(IP, '02:00:00:00:00:02', 'arp-request')],
    ['an IP we do not own', arp('198.18.0.11', THEIRS)],
    ['an ARP probe (sender 0.0.0.0, RFC 5227)', arp('0.0.0.0', THEIRS, 'arp-request')],
    ['IPv6 DAD (unspecified address)', { kind: 'na', ip: '::', mac: THEIRS }],
    ['an all-zero MAC', arp(IP, '00:00:00:00:00:00')],
    ['a garbled MAC', arp(IP, 'zz:00:00:00:00:99')],
  ])('not a conflict: %s', (_name, claim) => {
    expect(detector().observe(claim, 0)).toBeUndefined();
  });

  test('gratuitous ARP requests and NAs count as claims; owned IPs are matched canonically', () => {
    const d = detector();
    expect(d.observe(arp(IP, THEIRS, 'arp-request'), 0)?.kind).toBe('arp-request');
    expect(d.observe({ kind: 'na', ip: '2001:db8::10', mac: THEIRS.toUpperCase() }, 0)).toMatchObject({
      ip: '2001:db8::10',
      mac: THEIRS,
      interface: undefined,
    });
  });

  test('a flood from one MAC: one report per interval, carrying the count', () => {
    const d = detector();
    const events = [];
    for (let t = 0; t < 130_000; t += 10) {
      const e = d.observe(arp(IP, THEIRS), t);
      if (e) events.push(e);
    }
    expect(events.map((e) => e.lastSeenMs)).toEqual([0, 60_000, 120_000]);
    expect(events[1]).toMatchObject({ suppressed: 5999, claims: 6001 });
    expect(events[1]!.message).toContain('5999 more claims since the last report');
  });

  test('lastClaimMs: the latest claim by any other MAC, reported or held back; canonical IPs; none for our own frames', () => {
    const d = detector();
    expect(d.lastClaimMs(IP)).toBeUndefined();
    d.observe(arp(IP, OURS), 500);
    expect(d.lastClaimMs(IP)).toBeUndefined();
    expect(d.observe(arp(IP, THEIRS), 1000)).toBeDefined();
    // Held back by the report interval, still the latest claim.
    expect(d.observe(arp(IP, THEIRS), 4000)).toBeUndefined();
    d.observe(arp(IP, '02:00:00:00:00:98'), 3000);
    expect(d.lastClaimMs(IP)).toBe(4000);
    d.observe({ kind: 'na', ip: '2001:db8::10', mac: THEIRS }, 2500);
    expect(d.lastClaimMs('2001:DB8:0::10')).toBe(2500);
  });

  test('each MAC claiming the IP is reported on its own', () => {
    const d = detector();
    expect(d.observe(arp(IP, THEIRS), 0)).toBeDefined();
    expect(d.observe(arp(IP, '02:00:00:00:00:aa'), 1)).toBeDefined();
    expect(d.observe(arp(IP, THEIRS), 2)).toBeUndefined();
    expect(d.active()).toEqual([
      { ip: IP, mac: THEIRS },
      { ip: IP, mac: '02:00:00:00:00:aa' },
    ]);
  });

  test('a flood spraying MACs is capped globally, and the next event says how many were dropped', () => {
    const d = detector({ maxEventsPerInterval: 20, reportIntervalMs: 60_000 });
    let events = 0;
    for (let i = 0; i < 1000; i++) {
      const mac = `02:aa:00:00:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;
      if (d.observe(arp(IP, mac), i)) events++;
    }
    expect(events).toBe(20);
    // Tokens come back at 20 per minute: one after 3 s.
    const next = d.observe(arp(IP, THEIRS), 4000);
    expect(next?.droppedEvents).toBe(980);
    expect(next?.message).toContain('(980 other conflict events dropped by the rate limit)');
    expect(d.observe(arp(IP, '02:00:00:00:00:bb'), 4001)).toBeUndefined();
  });

  test('the number of tracked pairs is bounded', () => {
    const d = detector({ maxTracked: 100 });
    for (let i = 0; i < 5000; i++) d.observe(arp(IP, `02:bb:00:00:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`), i);
    expect(d.active()).toHaveLength(100);
    expect(d.active()[0]!.mac).toBe('02:bb:00:00:13:24'); // i = 4900: the 100 most recent remain
  });

  test('a claim held back by the global cap is reported later, saying so', () => {
    const d = detector({ maxEventsPerInterval: 1, reportIntervalMs: 60_000 });
    expect(d.observe(arp(IP, '02:00:00:00:00:aa'), 0)).toBeDefined();
    expect(d.observe(arp(IP, THEIRS), 10)).toBeUndefined();
    expect(d.observe(arp(IP, THEIRS), 20)).toBeUndefined();
    const later = d.observe(arp(IP, THEIRS), 60_000);
    expect(later).toMatchObject({ claims: 3, suppressed: 2, firstSeenMs: 10, droppedEvents: 2 });
    expect(later?.message).toContain('2 earlier claims held back by the rate limit');
  });

  test('sweep: a pair silent for resolveAfterMs is resolved; unreported pairs end silently', () => {
    const d = detector({ resolveAfterMs: 120_000, maxEventsPerInterval: 1 });
    d.observe(arp(IP, THEIRS), 0);
    d.observe(arp(IP, THEIRS), 30_000);
    d.observe(arp(IP, '02:00:00:00:00:aa'), 30_000); // dropped by the cap: never reported
    expect(d.sweep(149_999)).toEqual([]);
    const resolved = d.sweep(150_000);
    expect(resolved).toHaveLength(1);
    expect(resolved[0]).toMatchObject({ type: 'conflict-resolved', ip: IP, mac: THEIRS, claims: 2, firstSeenMs: 0, lastSeenMs: 30_000 });
    expect(resolved[0]!.message).toBe(
      `IP ${IP} is no longer claimed by ${THEIRS} (2 claims, last arp-reply on eth1) (1 other conflict events dropped by the rate limit)`,
    );
    expect(d.active()).toEqual([]);
    // A new claim afterwards is a new conflict, reported at once.
    expect(d.observe(arp(IP, THEIRS), 300_000)?.claims).toBe(1);
  });

  test('losing ownership forgets the IP without events', () => {
    const d = detector();
    d.observe(arp(IP, THEIRS), 0);
    d.disownIp(IP);
    expect(d.active()).toEqual([]);
    expect(d.observe(arp(IP, THEIRS), 1)).toBeUndefined();
    expect(d.sweep(1_000_000)).toEqual([]);
    // The other IP is still ours, in whatever form it is written.
    expect(d.observe({ ...arp(IP, THEIRS), ip: '2001:db8::10' }, 2)?.claims).toBe(1);
    d.disownIp('2001:DB8:0::10');
    expect(d.active()).toEqual([]);
  });

  test('rejects nonsensical options', () => {
    expect(() => new ConflictDetector({ maxTracked: 0 })).toThrow(RangeError);
  });
});

describe('normalizeMac', () => {
  test.each([
    ['02:00:5e:10:00:01', '02:00:5e:10:00:01'],
    ['02:00:5E:10:00:01', '02:00:5e:10:00:01'],
    ['02-00-5e-10-00-01', '02:00:5e:10:00:01'],
    ['2:0:5e:10:0:1', '02:00:5e:10:00:01'],
    ['02:00:5e:10:00', undefined],
    ['02:00:5e:10:00:01:02', undefined],
    ['02:00:5e:10:00:1g', undefined],
    ['', undefined],
  ])('%s -> %s', (text, mac) => {
    expect(normalizeMac(text)).toBe(mac);
  });
});
