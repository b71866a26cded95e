import { describe, expect, test } from 'vitest';
import type { Ownership } from '../../../src/speaker/election.ts';
import { diffOwnership } from '../../../src/speaker/ownership-diff.ts';

function result(entries: Record<string, string | undefined>): Map<string, Ownership> {
  return new Map(Object.entries(entries).map(([ip, owner]) => [ip, { ip, owner }]));
}

describe('diffOwnership', () => {
  test('gained and lost against what is held', () => {
    const d = diffOwnership('a', new Set(['198.18.0.1', '198.18.0.2']), result({ '198.18.0.1': 'a', '198.18.0.2': 'b', '198.18.0.3': 'a' }), undefined);
    expect(d.gained).toEqual(['198.18.0.3']);
    expect(d.lost).toEqual(['198.18.0.2']);
  });

  test('an IP that disappeared from the election is lost', () => {
    const d = diffOwnership('a', new Set(['198.18.0.9']), result({}), result({ '198.18.0.9': 'a' }));
    expect(d.lost).toEqual(['198.18.0.9']);
    expect(d.moved).toEqual([{ ip: '198.18.0.9', from: 'a', to: undefined }]);
  });

  test('withheld IPs are neither gained nor kept', () => {
    const d = diffOwnership('a', new Set(['198.18.0.1']), result({ '198.18.0.1': 'a', '198.18.0.2': 'a' }), undefined, new Set(['198.18.0.1', '198.18.0.2']));
    expect(d.gained).toEqual([]);
    expect(d.lost).toEqual(['198.18.0.1']);
  });

  test('moved lists owner changes only, sorted by IP; the first election lists every IP', () => {
    const prev = result({ '198.18.0.1': 'a', '198.18.0.2': 'b', '198.18.0.3': undefined });
    const next = result({ '198.18.0.2': 'c', '198.18.0.1': 'a', '198.18.0.3': 'b', '198.18.0.4': undefined });
    expect(diffOwnership('a', new Set(), next, prev).moved).toEqual([
      { ip: '198.18.0.2', from: 'b', to: 'c' },
      { ip: '198.18.0.3', from: undefined, to: 'b' },
    ]);
    expect(diffOwnership('a', new Set(), next, undefined).moved.map((m) => m.ip)).toEqual(['198.18.0.1', '198.18.0.2', '198.18.0.3']);
  });
});
