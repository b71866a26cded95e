// Random operations against the allocator, checking after each step the
// invariants a controller relies on, and auto-assignment against a naive
// "scan every pool for the lowest free address" model.
import { expect, test } from 'vitest';
import type { AllocationRequest } from '../../../src/ipam/allocation-request.ts';
import { Allocator } from '../../../src/ipam/allocator.ts';
import { sharingConflict } from '../../../src/ipam/sharing.ts';
import { pool, req } from './helpers.ts';
import { prng } from '../../support/prng.ts';

const configs = [
  [pool('a', ['198.18.0.250-198.18.1.3'], { avoidBuggyIps: true }), pool('b', ['198.18.2.0/29', '2001:db8::/125'])],
  [pool('b', ['198.18.2.0/28']), pool('m', ['198.18.3.0/29'], { autoAssign: false }), pool('six', ['2001:db8::/126'])],
];

test.each([1, 2, 3])('seed %i: 3000 random operations keep the invariants', (seed) => {
  const rand = prng(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)]!;
  let config = 0;
  const a = new Allocator(configs[config]!);
  const live = new Map<string, AllocationRequest>();

  for (let step = 0; step < 3000; step++) {
    const key = `ns/s${Math.floor(rand() * 40)}`;
    const roll = rand();
    if (roll < 0.03) {
      config = 1 - config;
      a.setConfig(configs[config]!);
    } else if (roll < 0.3) {
      a.release(key);
      live.delete(key);
    } else if (roll < 0.4) {
      const ip = pick(['198.18.0.251', '198.18.1.0', '198.18.2.3', '198.18.3.1', '2001:db8::2', '198.18.9.9']);
      const request = req(key, { families: ip.includes(':') ? [6] : [4], share: pick(['', 'k']), ports: [pick(['TCP/80', 'TCP/81'])] });
      const result = a.restore(request, [ip]);
      if (result.ips.length > 0) live.set(key, request);
      else live.delete(key);
    } else {
      const before = new Set(a.keys().flatMap((k) => a.assigned(k)!));
      const request = req(key, {
        families: pick([[4], [6], [4, 6]] as const).slice(),
        policy: pick(['SingleStack', 'PreferDualStack', 'RequireDualStack'] as const),
        share: pick(['', '', 'k', 'j']),
        ports: [pick(['TCP/80', 'TCP/81', 'UDP/80'])],
        ips: rand() < 0.15 ? [pick(['198.18.2.5', '198.18.3.2', '198.18.1.0'])] : [],
      });
      if (request.policy === 'SingleStack') request.families = request.families.slice(0, 1);
      const plain = request.sharingKey === '' && request.requestedIps.length === 0 && !live.has(key);
      const result = a.allocate(request);
      if (result.ok) live.set(key, request);
      if (plain) {
        // A fresh, non-sharing Service gets the model's answer, family by family.
        const expected = request.families.map((family) => naiveLowest(configs[config]!, family, before));
        if (result.ok) {
          const got = request.families.map((family) => result.assignments.find((x) => x.family === family)?.ip);
          expect(got).toEqual(expected);
        } else {
          const required = request.policy === 'PreferDualStack' ? expected.slice(0, 1) : expected;
          expect(required).toContain(undefined);
        }
      }
    }
    const broken = brokenInvariant(a, live);
    if (broken !== undefined) expect.fail(`step ${step}: ${broken}`);
  }
});

function naiveLowest(pools: ReturnType<typeof pool>[], family: 4 | 6, used: Set<string>): string | undefined {
  for (const p of pools) {
    if (!p.autoAssign) continue;
    const ranges = p.ranges.filter((r) => r.family === family).sort((x, y) => (x.first < y.first ? -1 : 1));
    for (const r of ranges) {
      for (let addr = r.first; addr <= r.last; addr++) {
        if (p.avoidBuggyIps && family === 4 && (addr % 256n === 0n || addr % 256n === 255n)) continue;
        const text = family === 4 ? [24n, 16n, 8n, 0n].map((s) => (addr >> s) & 255n).join('.') : `2001:db8::${addr & 0xffffn ? (addr & 0xffffn).toString(16) : ''}`;
        if (!used.has(text)) return text;
      }
    }
  }
  return undefined;
}

/** Returns the first broken invariant, so a passing run costs no assertions. */
function brokenInvariant(a: Allocator, live: Map<string, AllocationRequest>): string | undefined {
  const holders = new Map<string, string[]>();
  let inPools = 0;
  for (const key of a.keys()) {
    const ips = a.assignments(key)!;
    if (ips.length === 0) return `${key} is listed without IPs`;
    if (new Set(ips.map((x) => x.family)).size !== ips.length) return `${key} holds two IPs of one family`;
    for (const x of ips) {
      const keys = holders.get(x.ip);
      if (keys === undefined) {
        holders.set(x.ip, [key]);
        if (x.pool !== undefined) inPools++;
      } else {
        for (const other of keys) {
          const conflict = sharingConflict(x.ip, live.get(key)!, live.get(other)!);
          if (conflict !== undefined) return `${key} and ${other} share ${x.ip}: ${conflict}`;
        }
        keys.push(key);
      }
    }
  }
  const inUse = a.stats().reduce((sum, s) => sum + s.inUse, 0);
  if (inUse !== inPools) return `stats count ${inUse} IPs in use, the Services hold ${inPools}`;
  return undefined;
}
