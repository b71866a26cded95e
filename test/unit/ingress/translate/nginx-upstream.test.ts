// ingress-nginx's upstream balancing annotations, parsed.
import { describe, expect, test } from 'vitest';
import { parseNginx as parse } from './fixtures.ts';

describe('upstream-hash-by-subset', () => {
  test('with upstream-hash-by: the subset size (default 3); without it, warned', () => {
    expect(parse({ 'upstream-hash-by': '$request_uri', 'upstream-hash-by-subset': 'true' }).config.hashSubsetSize).toBe(3);
    expect(parse({ 'upstream-hash-by': '$request_uri', 'upstream-hash-by-subset': 'true', 'upstream-hash-by-subset-size': '5' }).config.hashSubsetSize).toBe(5);
    expect(parse({ 'upstream-hash-by-subset': 'true' }).diags).toEqual(['warning:IgnoredAnnotation:nginx.ingress.kubernetes.io/upstream-hash-by-subset has no effect without nginx.ingress.kubernetes.io/upstream-hash-by']);
    expect(parse({ 'upstream-hash-by': '$request_uri', 'upstream-hash-by-subset': 'true', 'upstream-hash-by-subset-size': '0' }).diags[0]).toMatch(/^error:BadAnnotation:nginx.ingress.kubernetes.io\/upstream-hash-by-subset-size/);
  });
});
