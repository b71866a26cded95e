import { describe, expect, test } from 'vitest';
import { parsePoolConfig } from '../../../src/config/pool-config.ts';
import { poolOfObject, resolvePools, type IPAddressPoolObject } from '../../../src/config/metallb-pools.ts';

let uid = 0;
const pool = (name: string, spec: object, opts: { ns?: string; at?: number; uid?: string; generation?: number } = {}): IPAddressPoolObject => ({
  apiVersion: 'metallb.io/v1beta1',
  kind: 'IPAddressPool',
  metadata: {
    name,
    namespace: opts.ns ?? 'metallb-system',
    uid: opts.uid ?? `u${++uid}`,
    generation: opts.generation ?? 1,
    creationTimestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, opts.at ?? 0)).toISOString(),
  },
  spec: spec as IPAddressPoolObject['spec'],
});

describe('poolOfObject', () => {
  test('MetalLB defaults: autoAssign true, avoidBuggyIPs false; CIDRs and ranges of both families', () => {
    const r = poolOfObject(pool('p', { addresses: ['198.18.0.0/24', '198.18.1.10-198.18.1.20', '2001:db8::/120'] }));
    expect(r.ok && r.pool).toMatchObject({ name: 'p', autoAssign: true, avoidBuggyIps: false, ranges: [{ family: 4 }, { family: 4 }, { family: 6 }] });
  });

  test('a CIDR with host bits is read as its block, with a warning', () => {
    const r = poolOfObject(pool('p', { addresses: ['198.18.0.7/24'] }));
    expect(r.ok && r.warnings).toEqual(['spec.addresses[0] "198.18.0.7/24" has host bits set; read as 198.18.0.0/24']);
  });

  test.each([
    [{}, 'spec.addresses must list at least one CIDR or range'],
    [{ addresses: ['198.18.0.0/33'] }, 'spec.addresses[0] "198.18.0.0/33":'],
    [{ addresses: ['198.18.1.20-198.18.1.10'] }, 'spec.addresses[0] "198.18.1.20-198.18.1.10": range start 198.18.1.20 is after end 198.18.1.10'],
    [{ addresses: ['2001:db8::9-2001:db8::1'] }, 'spec.addresses[0] "2001:db8::9-2001:db8::1": range start'],
    [{ addresses: ['198.18.0.0/24', '198.18.0.128/25'] }, 'spec.addresses[1] "198.18.0.128/25" overlaps "198.18.0.0/24" of the same pool'],
    [{ addresses: ['127.0.0.0/30'] }, 'spec.addresses[0] "127.0.0.0/30": includes 127.0.0.0/8'],
    [{ addresses: ['198.18.0.0/24'], autoAssign: 'no' }, 'spec.autoAssign must be true or false'],
    [{ addresses: ['198.18.0.0/24'], serviceAllocation: { priority: -1 } }, 'spec.serviceAllocation.priority must be a whole number, 0 or more'],
    [{ addresses: ['198.18.0.0/24'], serviceAllocation: { namespaces: ['a', 'a'] } }, 'spec.serviceAllocation.namespaces lists a namespace twice'],
    [
      { addresses: ['198.18.0.0/24'], serviceAllocation: { serviceSelectors: [{ matchExpressions: [{ key: 'k', operator: 'Exists', values: ['v'] }] }] } },
      'spec.serviceAllocation.serviceSelectors[0]: matchExpressions[0]: operator Exists takes no values',
    ],
  ])('%j is refused: %s', (spec, message) => {
    const r = poolOfObject(pool('p', spec));
    expect(r.ok).toBe(false);
    expect(!r.ok && r.message).toContain(message);
  });
});

describe('resolvePools', () => {
  test('the older of two overlapping pools serves, whatever the names; the newer is refused naming it', () => {
    const r = resolvePools([], [pool('a-new', { addresses: ['198.18.0.128/25'] }, { at: 5 }), pool('z-old', { addresses: ['198.18.0.0/24'] }, { at: 1 })]);
    expect(r.pools.map((p) => p.name)).toEqual(['z-old']);
    expect(r.verdicts.find((v) => v.name === 'a-new')).toMatchObject({
      serving: false,
      reason: 'Overlap',
      message: 'not served: address "198.18.0.128/25" overlaps "198.18.0.0/24" of IPAddressPool metallb-system/z-old',
    });
  });

  test('objects outside the pool namespaces are refused with the reason, and a duplicate name too', () => {
    const r = resolvePools([], [
      pool('a', { addresses: ['198.18.0.0/24'] }, { ns: 'default' }),
      pool('b', { addresses: ['198.18.1.0/24'] }, { ns: 'metallb-system', at: 1 }),
      pool('b', { addresses: ['198.18.2.0/24'] }, { ns: 'metalgate-system', at: 2 }),
    ]);
    expect(r.pools.map((p) => p.ranges[0]!.source)).toEqual(['198.18.1.0/24']);
    expect(r.verdicts.map((v) => [v.key, v.reason])).toEqual([
      ['default/a', 'WrongNamespace'],
      ['metallb-system/b', 'Ready'],
      ['metalgate-system/b', 'DuplicateName'],
    ]);
    expect(r.verdicts[0]!.message).toBe('not read: address pools are read from namespaces metallb-system, metalgate-system');
  });

  test('a bad edit keeps the last good version in force; a good one replaces it', () => {
    const v1 = pool('p', { addresses: ['198.18.0.0/24'] }, { uid: 'keep' });
    const first = resolvePools([], [v1]);
    const bad = { ...v1, metadata: { ...v1.metadata, generation: 2 }, spec: { addresses: ['198.18.0.0/33'] } };
    const second = resolvePools([], [bad], { lastGood: first.good });
    expect(second.pools.map((p) => p.ranges[0]!.source)).toEqual(['198.18.0.0/24']);
    expect(second.verdicts[0]).toMatchObject({ serving: true, reason: 'KeptLastGood', generation: 2 });
    expect(second.verdicts[0]!.message).toMatch(/^this version is refused \(spec\.addresses\[0\] "198\.18\.0\.0\/33": .*\); the last good version stays in force: serving 198\.18\.0\.0\/24$/);
    const fixed = { ...v1, metadata: { ...v1.metadata, generation: 3 }, spec: { addresses: ['198.18.5.0/24'] } };
    const third = resolvePools([], [fixed], { lastGood: second.good });
    expect(third.pools.map((p) => p.ranges[0]!.source)).toEqual(['198.18.5.0/24']);
  });

  test('an edit that would overlap an older pool keeps the last good version', () => {
    const older = pool('older', { addresses: ['198.18.1.0/24'] }, { at: 1 });
    const mine = pool('mine', { addresses: ['198.18.0.0/24'] }, { at: 2, uid: 'mine' });
    const before = resolvePools([], [older, mine]);
    const edited = { ...mine, spec: { addresses: ['198.18.0.0/23'] } };
    const after = resolvePools([], [older, edited], { lastGood: before.good });
    expect(after.pools.map((p) => p.ranges[0]!.source).sort()).toEqual(['198.18.0.0/24', '198.18.1.0/24']);
    expect(after.verdicts.find((v) => v.name === 'mine')).toMatchObject({ serving: true, reason: 'KeptLastGood' });
  });

  test('the ConfigMap: an object of the same name replaces its pool; one overlapping another of its pools is refused', () => {
    const legacy = parsePoolConfig('address-pools:\n- name: default\n  protocol: layer2\n  addresses: [198.18.0.0/24]\n- name: other\n  protocol: layer2\n  addresses: [198.18.1.0/24]\n').config!.pools;
    const r = resolvePools(legacy, [pool('default', { addresses: ['198.18.0.0/24'] }), pool('clash', { addresses: ['198.18.1.0/28'] }, { at: 3 })]);
    expect(r.replaced).toEqual(['default']);
    expect(r.pools.map((p) => p.name)).toEqual(['other', 'default']);
    expect(r.verdicts.find((v) => v.name === 'clash')!.message).toBe('not served: address "198.18.1.0/28" overlaps "198.18.1.0/24" of pool "other" of the ConfigMap');
  });

  test('pool order: the ConfigMap in file order, then objects by name', () => {
    const legacy = parsePoolConfig('address-pools:\n- name: zz\n  protocol: layer2\n  addresses: [198.18.9.0/24]\n').config!.pools;
    const r = resolvePools(legacy, [pool('b', { addresses: ['198.18.2.0/24'] }, { at: 1 }), pool('a', { addresses: ['198.18.1.0/24'] }, { at: 2 })]);
    expect(r.pools.map((p) => p.name)).toEqual(['zz', 'a', 'b']);
  });
});
