import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { WORKER_EXEC_ARGV, workerExecArgv } from '../../../../src/proxy/workers/worker-pool.ts';

describe('workerExecArgv', () => {
  test('the image gives the primaries flags for size that the workers, which carry the traffic, drop', () => {
    const entrypoint = /^ENTRYPOINT\s+(\[.*\])$/m.exec(readFileSync(join(import.meta.dirname, '../../../../Dockerfile'), 'utf8'))![1]!;
    const flags = (JSON.parse(entrypoint) as string[]).filter((a) => a.startsWith('--'));
    expect(flags).toContain('--heap-growing-percent=20');
    expect(workerExecArgv(flags)).toEqual([...WORKER_EXEC_ARGV]);
  });

  test('other flags pass through, in order, and the workers get theirs', () => {
    expect(workerExecArgv(['--enable-source-maps', '--max-semi-space-size=1', '--heap-growing-percent=20', '--max-old-space-size=512'])).toEqual([
      '--enable-source-maps',
      '--max-old-space-size=512',
      ...WORKER_EXEC_ARGV,
    ]);
  });

  test('a flag that only starts like a primary flag is kept', () => {
    expect(workerExecArgv(['--heap-growing-percentage'])).toEqual(['--heap-growing-percentage', ...WORKER_EXEC_ARGV]);
  });
});
