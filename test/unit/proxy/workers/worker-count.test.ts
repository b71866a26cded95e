import { describe, expect, test } from 'vitest';
import { AUTO_WORKER_CAP, proxyWorkerCount } from '../../../../src/proxy/workers/worker-count.ts';

describe('proxyWorkerCount', () => {
  test.each([
    ['auto', 1, 1],
    ['auto', 2, 2],
    ['AUTO', 3, 3],
    ['auto', 64, AUTO_WORKER_CAP],
    [' auto ', 0, 1],
    ['1', 16, 1],
    ['8', 2, 8],
    ['64', 2, 64],
  ])('%j with %d CPUs is %d', (flag, cpus, want) => {
    expect(proxyWorkerCount(flag, cpus)).toBe(want);
  });

  test.each(['0', '65', '-1', '1.5', 'two', ''])('%j is an error that names the flag', (flag) => {
    const r = proxyWorkerCount(flag, 2);
    expect(r).toEqual({ error: expect.stringContaining('--proxy-workers') });
  });
});
