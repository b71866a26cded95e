import { describe, expect, test } from 'vitest';
import { l2AdvertisementOf, type L2Advertisement, type L2AdvertisementObject } from '../../../src/config/metallb-l2.ts';
import { poolOfObject } from '../../../src/config/metallb-pools.ts';
import type { AddressPool } from '../../../src/config/types.ts';
import { AnnounceRules } from '../../../src/speaker/announce-rules.ts';

const ad = (spec: L2AdvertisementObject['spec'], name = 'l2'): L2Advertisement => {
  const r = l2AdvertisementOf({ metadata: { name, namespace: 'metallb-system' }, spec });
  if (!r.ok) throw new Error(r.message);
  return r.value;
};

const pool = (name: string, addresses: string[]): AddressPool => {
  const r = poolOfObject({ metadata: { name, namespace: 'metallb-system' }, spec: { addresses } });
  if (!r.ok) throw new Error(r.message);
  return r.pool;
};

const POOLS = [pool('lan', ['198.18.1.0/24']), pool('edge', ['198.18.2.10-198.18.2.20', '2001:db8:2::/120'])];
const LABELS = new Map<string, Record<string, string>>([
  ['lan', { tier: 'lan' }],
  ['edge', { tier: 'edge' }],
]);
const NODES: Array<{ name: string; labels: Record<string, string> | undefined }> = [
  { name: 'node-a', labels: { zone: 'x' } },
  { name: 'node-b', labels: { zone: 'y', edge: 'true' } },
  { name: 'node-c', labels: undefined },
];

const nodesOf = (rules: AnnounceRules, ip: string, poolName?: string) => {
  const rule = rules.forIp(ip, poolName);
  return rule === undefined ? undefined : Object.fromEntries([...rule.nodes].map(([n, i]) => [n, i === undefined ? '*' : [...i].sort().join(',')]));
};

describe('AnnounceRules (MetalLB L2Advertisement semantics)', () => {
  test('an IP of no IPAddressPool object (a ConfigMap pool) gets no rule; neither does anything without object pools', () => {
    const rules = new AnnounceRules({ pools: POOLS, poolLabels: LABELS, ads: [], nodes: NODES });
    expect(rules.forIp('198.18.9.1', undefined)).toBeUndefined();
    expect(rules.forIp('198.18.1.5', 'from-the-configmap')).toBeUndefined();
    const none = new AnnounceRules({ pools: [], poolLabels: new Map(), ads: [ad({})], nodes: NODES });
    expect(none.active).toBe(false);
    expect(none.forIp('198.18.1.5', undefined)).toBeUndefined();
  });

  test('an object pool no advertisement selects: a rule with no node', () => {
    const rules = new AnnounceRules({ pools: POOLS, poolLabels: LABELS, ads: [ad({ ipAddressPools: ['lan'] })], nodes: NODES });
    expect(nodesOf(rules, '198.18.2.15')).toEqual({});
    expect(rules.forIp('198.18.2.15', undefined)!.source).toBe('pool "edge"');
  });

  test('the pool named by the Service wins over containment; else the pool whose ranges hold the IP', () => {
    const rules = new AnnounceRules({ pools: POOLS, poolLabels: LABELS, ads: [ad({ ipAddressPools: ['edge'], nodeSelectors: [{ matchLabels: { edge: 'true' } }] })], nodes: NODES });
    expect(nodesOf(rules, '2001:db8:2::7')).toEqual({ 'node-b': '*' });
    expect(nodesOf(rules, '198.18.1.7', 'edge')).toEqual({ 'node-b': '*' });
    expect(nodesOf(rules, '198.18.1.7')).toEqual({});
  });

  test('an empty advertisement selects every pool and node; selectors and interfaces narrow it', () => {
    const all = new AnnounceRules({ pools: POOLS, poolLabels: LABELS, ads: [ad({})], nodes: NODES });
    expect(nodesOf(all, '198.18.1.1')).toEqual({ 'node-a': '*', 'node-b': '*', 'node-c': '*' });
    const narrow = new AnnounceRules({
      pools: POOLS,
      poolLabels: LABELS,
      ads: [
        ad({ ipAddressPoolSelectors: [{ matchLabels: { tier: 'lan' } }], nodeSelectors: [{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['x', 'y'] }] }], interfaces: ['eth1'] }, 'a'),
        ad({ ipAddressPools: ['lan'], nodeSelectors: [{ matchLabels: { zone: 'y' } }], interfaces: ['eth2'] }, 'b'),
      ],
      nodes: NODES,
    });
    expect(nodesOf(narrow, '198.18.1.1')).toEqual({ 'node-a': 'eth1', 'node-b': 'eth1,eth2' });
    expect(nodesOf(narrow, '198.18.2.11')).toEqual({});
  });
});
