import { describe, expect, test } from 'vitest';
import { counterPackets } from '../../../../src/proxy/kernel/kernel-commands.ts';

describe('counterPackets', () => {
  test("packets by counter name from `nft -j list counters` (nft 1.0.6's shape)", () => {
    const doc = {
      nftables: [
        { metainfo: { version: '1.0.6', release_name: 'Lester Gooch #5', json_schema_version: 1 } },
        { counter: { family: 'inet', name: 'cnt-aaaaaaaaaaaa', table: 'metalgate', handle: 2, packets: 12, bytes: 720 } },
        { counter: { family: 'inet', name: 'cnt-bbbbbbbbbbbb', table: 'metalgate', handle: 3, packets: 0, bytes: 0 } },
      ],
    };
    expect(counterPackets(doc)).toEqual(
      new Map([
        ['cnt-aaaaaaaaaaaa', 12],
        ['cnt-bbbbbbbbbbbb', 0],
      ]),
    );
  });

  test('a document without the nftables array is an error, not zero counts', () => {
    expect(() => counterPackets({})).toThrow(/no "nftables" array/);
    expect(() => counterPackets(null)).toThrow();
  });
});
