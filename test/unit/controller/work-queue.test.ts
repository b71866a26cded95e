import { describe, expect, test } from 'vitest';
import { WorkQueue } from '../../../src/controller/work-queue.ts';

const tick = () => new Promise((r) => setImmediate(r));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `cond` every 10 ms for up to `ms` (a bound for loaded machines, not an expected duration). */
async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond() && Date.now() < deadline) await sleep(10);
}

describe('WorkQueue', () => {
  test('coalesces repeated adds of one key into one reconcile', async () => {
    const seen: string[] = [];
    const q = new WorkQueue((k) => (seen.push(k), undefined), 4, () => {});
    q.add('a');
    q.add('a');
    q.add('b');
    await tick();
    expect(seen).toEqual(['a', 'b']);
  });

  test('never runs two writes for one key at once; a change during the write is decided again after it', async () => {
    let active = 0;
    let maxActive = 0;
    let calls = 0;
    let release!: () => void;
    const q = new WorkQueue(() => {
      calls++;
      return async () => {
        active++;
        maxActive = Math.max(maxActive, active);
        if (calls === 1) await new Promise<void>((r) => (release = r));
        active--;
      };
    }, 4, () => {});
    q.add('a');
    await tick();
    q.add('a'); // arrives while the first write is in flight
    await tick();
    expect(calls).toBe(1);
    release();
    await q.drain();
    await tick();
    await q.drain();
    expect(calls).toBe(2);
    expect(maxActive).toBe(1);
  });

  test('bounds concurrent writes', async () => {
    let active = 0;
    let maxActive = 0;
    const q = new WorkQueue(() => async () => {
      active++;
      maxActive = Math.max(maxActive, active);
      await new Promise((r) => setTimeout(r, 5));
      active--;
    }, 3, () => {});
    for (let i = 0; i < 20; i++) q.add(`k${i}`);
    // drain() only waits for the writes in flight, so first wait (bounded) for
    // the queue to empty: seven rounds of 5 ms timers can outlast a fixed
    // 200 ms sleep on a loaded machine.
    await until(() => q.length === 0);
    await q.drain();
    expect(maxActive).toBe(3);
    expect(q.length).toBe(0);
  });

  test('a failed write is retried with backoff and reported', async () => {
    let attempts = 0;
    const errors: string[] = [];
    const q = new WorkQueue(() => async () => {
      attempts++;
      if (attempts < 3) throw new Error(`boom ${attempts}`);
    }, 1, (key, err) => errors.push(`${key}: ${(err as Error).message}`));
    q.add('svc');
    await until(() => attempts >= 3); // about 300 ms of backoff
    await q.drain();
    expect(attempts).toBe(3);
    expect(errors).toEqual(['svc: boom 1', 'svc: boom 2']);
    q.stop();
  });
});
