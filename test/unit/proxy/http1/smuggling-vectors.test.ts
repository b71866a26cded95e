import { describe, expect, test } from 'vitest';
import { REQUEST_VECTORS } from './request-vectors.ts';
import { simulate, splits } from './serve-simulator.ts';

// Every vector must give the exact same outcome however the bytes are cut:
// whole, one byte per chunk, and three seeded random cuttings.
describe('request vectors: exact outcome under every chunking', () => {
  test.each(REQUEST_VECTORS.map((v) => [v.name, v] as const))('%s', (_name, v) => {
    for (const chunks of splits(Buffer.from(v.raw, 'latin1'))) {
      expect(simulate(chunks)).toEqual(v.expect);
    }
  });
});
