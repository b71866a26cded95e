import { describe, expect, test } from 'vitest';
import { admits, normalizeCidr, parseSourceRanges, sourceAllowList } from '../../../../src/proxy/k8s/source-ranges.ts';

describe('parseSourceRanges', () => {
  test('none: every client', () => {
    expect(parseSourceRanges(undefined, undefined)).toEqual({ cidrs: undefined, problems: [] });
    expect(parseSourceRanges([], {})).toEqual({ cidrs: undefined, problems: [] });
  });

  test('the field, normalized (host bits cleared, canonical IPv6) and without repeats', () => {
    expect(parseSourceRanges(['198.18.1.1/15', '2001:DB8:0::1/32', '198.18.0.0/15'], undefined)).toEqual({ cidrs: ['198.18.0.0/15', '2001:db8::/32'], problems: [] });
  });

  test('the annotation is read only when the field is empty, as Kubernetes does', () => {
    const a = { 'service.beta.kubernetes.io/load-balancer-source-ranges': '198.18.0.0/16, 2001:db8::/48' };
    expect(parseSourceRanges([], a).cidrs).toEqual(['198.18.0.0/16', '2001:db8::/48']);
    expect(parseSourceRanges(['198.19.0.0/16'], a).cidrs).toEqual(['198.19.0.0/16']);
  });

  test('a bad entry is reported and left out; the others still narrow who may connect', () => {
    const r = parseSourceRanges(['198.18.0.0/15', '198.18.0.1', 'nonsense/8'], undefined);
    expect(r.cidrs).toEqual(['198.18.0.0/15']);
    expect(r.problems).toEqual([expect.stringMatching(/"198\.18\.0\.1" is not a CIDR \(missing prefix length\)/), expect.stringMatching(/"nonsense\/8" is not a CIDR/)]);
  });

  test('only bad entries: nobody, never everybody', () => {
    const r = parseSourceRanges(['198.18.0.0/33'], undefined);
    expect(r.cidrs).toEqual([]);
    expect(admits(sourceAllowList(r.cidrs), '198.18.0.1')).toBe(false);
  });
});

describe('admits', () => {
  const allow = sourceAllowList(['198.18.0.0/15', '2001:db8::/32']);
  test.each([
    ['198.18.3.4', true],
    ['198.20.0.1', false],
    ['::ffff:198.18.3.4', true], // what a dual-stack socket reports for an IPv4 client
    ['::ffff:198.20.0.1', false],
    ['2001:db8::7', true],
    ['2001:db9::7', false],
  ])('%s: %s', (address, expected) => {
    expect(admits(allow, address)).toBe(expected);
  });
  test('no list admits everyone; an unknown address is refused where a list exists', () => {
    expect(admits(undefined, '203.0.113.1')).toBe(true);
    expect(admits(allow, undefined)).toBe(false);
  });
});

describe('normalizeCidr', () => {
  test.each([
    ['198.18.1.1/15', '198.18.0.0/15'],
    ['0.0.0.0/0', '0.0.0.0/0'],
    ['2001:db8::1/64', '2001:db8::/64'],
  ])('%s -> %s', (text, cidr) => expect(normalizeCidr(text)).toEqual({ cidr }));
  test.each(['1.2.3.4', '1.2.3.4/33', '2001:db8::/129', '1.2.3.4/08'])('refuses %s', (text) => expect(normalizeCidr(text)).toHaveProperty('error'));
});
