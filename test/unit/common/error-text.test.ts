import { expect, test } from 'vitest';
import { errorText } from '../../../src/common/error-text.ts';

test('a watch that cannot connect says why, not only "fetch failed"', () => {
  const sys = Object.assign(new Error('connect ENETUNREACH 198.19.128.1:443'), { code: 'ENETUNREACH' });
  const err = new TypeError('fetch failed', { cause: sys });
  expect(errorText(err)).toBe('fetch failed: connect ENETUNREACH 198.19.128.1:443');
});

test('plain values, repeated messages and looping causes', () => {
  expect(errorText('boom')).toBe('boom');
  const a = new Error('same');
  const b = new Error('same', { cause: a });
  expect(errorText(b)).toBe('same');
  const loop = new Error('loop') as Error & { cause?: unknown };
  loop.cause = loop;
  expect(errorText(loop)).toBe('loop');
});
