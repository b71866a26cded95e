// IPAddressPool serviceAllocation, as MetalLB documents and implements it
// (internal/allocator: pinned pools by priority first, then the auto-assign
// pools without serviceAllocation; a pool with serviceAllocation serves only
// what it selects).
import { describe, expect, test } from 'vitest';
import { Allocator } from '../../../src/ipam/allocator.ts';
import { pool, req } from './helpers.ts';

const ipsOf = (a: Allocator, key: string, spec: Parameters<typeof req>[1] = {}) => {
  const r = a.allocate(req(key, spec));
  return r.ok ? r.ips : r.reason;
};

describe('serviceAllocation', () => {
  test('a namespace-scoped pool serves its namespaces first; others fall to the open pool', () => {
    const a = new Allocator([pool('open', ['198.18.0.0/30']), pool('team-a', ['198.18.1.0/30'], { serviceAllocation: { namespaces: ['team-a'] } })]);
    expect(ipsOf(a, 'team-a/web')).toEqual(['198.18.1.0']);
    expect(ipsOf(a, 'team-b/web')).toEqual(['198.18.0.0']);
  });

  test('lower priority first, unset (0) last; a full pinned pool falls through to the next, then to the open pools', () => {
    const a = new Allocator([
      pool('open', ['198.18.0.0/30']),
      pool('unset', ['198.18.3.0/32'], { serviceAllocation: { namespaces: ['ns'] } }),
      pool('second', ['198.18.2.0/32'], { serviceAllocation: { priority: 20, namespaces: ['ns'] } }),
      pool('first', ['198.18.1.0/32'], { serviceAllocation: { priority: 10, namespaces: ['ns'] } }),
    ]);
    expect(['ns/a', 'ns/b', 'ns/c', 'ns/d'].map((k) => ipsOf(a, k))).toEqual([['198.18.1.0'], ['198.18.2.0'], ['198.18.3.0'], ['198.18.0.0']]);
  });

  test('serviceSelectors match the Service labels; namespaceSelectors the namespace labels', () => {
    const a = new Allocator([
      pool('gold', ['198.18.1.0/30'], { serviceAllocation: { serviceSelectors: [{ matchLabels: { tier: 'gold' } }] } }),
      pool('prod', ['198.18.2.0/30'], { serviceAllocation: { namespaceSelectors: [{ matchExpressions: [{ key: 'env', operator: 'In', values: ['prod'] }] }] } }),
    ]);
    expect(ipsOf(a, 'x/gold', { labels: { tier: 'gold' } })).toEqual(['198.18.1.0']);
    expect(ipsOf(a, 'x/prod', { namespaceLabels: { env: 'prod' } })).toEqual(['198.18.2.0']);
    // Selected by neither, and no open pool: nothing.
    expect(ipsOf(a, 'x/plain', { namespaceLabels: { env: 'dev' } })).toBe('no auto-assign pool serves this Service: every one has a serviceAllocation that selects other Services');
  });

  test('namespaces and serviceSelectors together: both must hold', () => {
    const a = new Allocator([pool('p', ['198.18.1.0/30'], { serviceAllocation: { namespaces: ['a'], serviceSelectors: [{ matchLabels: { x: '1' } }] } })]);
    expect(ipsOf(a, 'a/yes', { labels: { x: '1' } })).toEqual(['198.18.1.0']);
    expect(typeof ipsOf(a, 'b/no', { labels: { x: '1' } })).toBe('string');
    expect(typeof ipsOf(a, 'a/no', { labels: {} })).toBe('string');
  });

  test('an empty serviceAllocation selects every Service (MetalLB); autoAssign: false still wins', () => {
    const a = new Allocator([pool('any', ['198.18.1.0/32'], { serviceAllocation: { priority: 5 } }), pool('manual', ['198.18.2.0/32'], { autoAssign: false, serviceAllocation: { namespaces: ['x'] } })]);
    expect(ipsOf(a, 'x/a')).toEqual(['198.18.1.0']);
    expect(typeof ipsOf(a, 'x/b')).toBe('string');
    // The annotation reaches any pool, selected or not.
    expect(ipsOf(a, 'y/c', { pool: 'manual' })).toEqual(['198.18.2.0']);
  });

  test('a Service that shares an IP joins it only in a pool it may use', () => {
    const a = new Allocator([pool('open', ['198.18.0.0/30']), pool('team-a', ['198.18.1.0/30'], { serviceAllocation: { namespaces: ['team-a'] } })]);
    expect(ipsOf(a, 'team-a/one', { share: 'k', ports: ['TCP/80'] })).toEqual(['198.18.1.0']);
    // Same sharing key in another namespace: may not take team-a's IP.
    expect(ipsOf(a, 'team-b/two', { share: 'k', ports: ['TCP/81'] })).toEqual(['198.18.0.0']);
    expect(ipsOf(a, 'team-a/three', { share: 'k', ports: ['TCP/82'] })).toEqual(['198.18.1.0']);
  });
});
