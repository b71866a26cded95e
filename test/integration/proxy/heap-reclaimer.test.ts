// A proxy worker thread gives back what its start and a burst left once
// quiet (src/common/heap-reclaimer.ts): a real thread, started after
// --expose-gc was set as the pool does, makes garbage that outlives a few
// collections and goes quiet; its reclaimer runs one memory-reducing
// collection that frees it, then trims the C heap. A thread without `gc`
// reclaims nothing. The trim itself (native/src/malloc_trim.cc) gives back
// what freed native buffers left mapped, in a process of its own.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { Worker } from 'node:worker_threads';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, test } from 'vitest';
import { HeapReclaimer } from '../../../src/common/heap-reclaimer.ts';
import { NATIVE_ADDON_PATH } from '../../../src/native/addon.ts';
import { waitFor } from '../helpers/cluster.ts';

describe('heap reclaimer', () => {
  test('without gc exposed on the thread it does not start', () => {
    // This thread's context was made before any --expose-gc.
    expect(HeapReclaimer.start(pino({ level: 'silent' }), new Registry(), 'metalgate_proxy_heap_reclaims_total')).toBeUndefined();
  });

  test('a thread quiet after its start and a burst runs one memory-reducing collection, which gives them back', async () => {
    setFlagsFromString('--expose-gc');
    const w = new Worker(new URL('./fixtures/heap-burst-worker.ts', import.meta.url));
    const got: Record<string, unknown>[] = [];
    w.on('message', (m: Record<string, unknown>) => got.push(m));
    try {
      await waitFor(() => got.some((m) => m.started === true), 'the reclaimer started in the thread', 5000);
      await waitFor(() => got.some((m) => m.burst !== undefined), 'the burst made', 15_000);
      await waitFor(() => got.some((m) => (m.log as { msg?: string } | undefined)?.msg === 'heap reclaimed'), 'a reclaim logged', 20_000);
      const line = got.find((m) => (m.log as { msg?: string } | undefined)?.msg === 'heap reclaimed')!.log as { heapMiBBefore: number; heapMiBAfter: number; pauseMs: number; trimMs: number };
      expect(line.heapMiBBefore - line.heapMiBAfter).toBeGreaterThan(10);
      expect(line.trimMs).toBeGreaterThanOrEqual(0);
      expect(line.trimMs).toBeLessThanOrEqual(line.pauseMs);
      w.postMessage('metrics');
      await waitFor(() => got.some((m) => typeof m.reclaims === 'string'), 'the counter read', 5000);
      expect(got.find((m) => typeof m.reclaims === 'string')!.reclaims).toMatch(/^metalgate_proxy_heap_reclaims_total 1$/m);
    } finally {
      w.postMessage('stop');
      await w.terminate();
    }
  }, 45_000);

  // 200,000 native buffers of 1 KiB (malloc'd, below glibc's mmap threshold),
  // one in a thousand kept so the arena's top stays in use and glibc cannot
  // give the rest back by itself: freed and collected, they stay resident
  // until the trim. Measured: 284 -> 56 MiB.
  test.skipIf(!existsSync(NATIVE_ADDON_PATH))('trimMalloc gives the free pages of the C heap back to the kernel (needs the native addon)', async () => {
    const script = [
      "import { createRequire } from 'node:module';",
      `const addon = createRequire(import.meta.url)(${JSON.stringify(NATIVE_ADDON_PATH)});`,
      'const rss = () => process.memoryUsage().rss / 1048576;',
      'let freed = []; const kept = [];',
      'for (let i = 0; i < 200000; i++) { freed.push(Buffer.allocUnsafeSlow(1024)); if (i % 1000 === 0) kept.push(Buffer.allocUnsafeSlow(1024)); }',
      'freed = []; gc(); gc();',
      'await new Promise((r) => setTimeout(r, 100));',
      'const before = rss(); const trimmed = addon.trimMalloc(); const after = rss();',
      'console.log(JSON.stringify({ before, trimmed, after, kept: kept.length }));',
    ].join('\n');
    const { stdout } = await promisify(execFile)(process.execPath, ['--expose-gc', '--input-type=module', '-e', script]);
    const r = JSON.parse(stdout) as { before: number; trimmed: boolean; after: number };
    expect(r.trimmed).toBe(true);
    expect(r.before - r.after).toBeGreaterThan(100);
  }, 30_000);
});
