import { expect, test } from 'vitest';
import { VERSION } from '../../src/version.ts';

test('runs on Node 24', () => {
  expect(Number(process.versions.node.split('.')[0])).toBeGreaterThanOrEqual(24);
  expect(VERSION).toMatch(/^\d+\.\d+\.\d+$/);
});
