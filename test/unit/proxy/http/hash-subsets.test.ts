import { describe, expect, test } from 'vitest';
import { hashSubsets } from '../../../../src/proxy/http/hash-subsets.ts';

describe('hashSubsets (ingress-nginx upstream-hash-by-subset)', () => {
  test('subsets of the size, the last filled up from the start so all are full', () => {
    expect(hashSubsets(6, 3)).toEqual([[0, 1, 2], [3, 4, 5]]);
    expect(hashSubsets(7, 3)).toEqual([[0, 1, 2], [3, 4, 5], [6, 0, 1]]);
    expect(hashSubsets(2, 3)).toEqual([[0, 1, 0]]);
    expect(hashSubsets(0, 3)).toEqual([]);
  });
  test('every member is in some subset', () => {
    for (let n = 1; n < 30; n++) for (let size = 1; size < 6; size++) expect(new Set(hashSubsets(n, size).flat()).size).toBe(n);
  });
});
