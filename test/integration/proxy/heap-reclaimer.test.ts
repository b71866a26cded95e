// A proxy worker thread gives back what its start and a burst left once
// quiet (src/common/heap-reclaimer.ts): a real thread, started after
// --expose-gc was set as the pool does, makes garbage that outlives a few
// collections and goes quiet; its reclaimer runs one memory-reducing
// collection that frees it. A thread without `gc` reclaims nothing.
import { setFlagsFromString } from 'node:v8';
import { Worker } from 'node:worker_threads';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, test } from 'vitest';
import { HeapReclaimer } from '../../../src/common/heap-reclaimer.ts';
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
      const line = got.find((m) => (m.log as { msg?: string } | undefined)?.msg === 'heap reclaimed')!.log as { heapMiBBefore: number; heapMiBAfter: number; pauseMs: number };
      expect(line.heapMiBBefore - line.heapMiBAfter).toBeGreaterThan(10);
      w.postMessage('metrics');
      await waitFor(() => got.some((m) => typeof m.reclaims === 'string'), 'the counter read', 5000);
      expect(got.find((m) => typeof m.reclaims === 'string')!.reclaims).toMatch(/^metalgate_proxy_heap_reclaims_total 1$/m);
    } finally {
      w.postMessage('stop');
      await w.terminate();
    }
  }, 45_000);
});
