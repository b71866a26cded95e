import { describe, expect, test } from 'vitest';
import { WorkQueue } from '../../../src/controller/work-queue.ts';

const tick = () => new Promise((r) => setImmediate(r));

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
    await new Promise((r) => setTimeout(r, 200));
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
    const deadline = Date.now() + 2000;
    while (attempts < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await q.drain();
    expect(attempts).toBe(3);
    expect(errors).toEqual(['svc: boom 1', 'svc: boom 2']);
    q.stop();
  });
});
