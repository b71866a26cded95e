// bcrypt checks off the event loop: one worker thread, started on the first
// bcrypt entry checked, running bcryptjs (bcrypt-worker.ts). Measured with 20
// concurrent wrong bcrypt logins (cost 10), an unrelated request waited
// 1.8 s with the checks on the event loop (bcryptjs's async mode only slices
// them into 100 ms chunks on the same thread) and 9-11 ms with this thread
// (test/integration/ingress/basic-auth.test.ts).
// The queue is bounded: past MAX_PENDING checks (a password-guessing flood)
// a check fails at once, so a flood costs the attacker 401s, not the node
// its CPU; a login already accepted is cached by basic-auth.ts and never
// queues.

import { Worker } from 'node:worker_threads';

const MAX_PENDING = 64;

let worker: Worker | undefined;
let nextId = 0;
const pending = new Map<number, (ok: boolean) => void>();

function start(): Worker {
  // Sources run as .ts (tests, demo); the image runs the built .js.
  const file = new URL(import.meta.url.endsWith('.ts') ? './bcrypt-worker.ts' : './bcrypt-worker.js', import.meta.url);
  const w = new Worker(file);
  w.unref();
  w.on('message', (m: { id: number; ok: boolean }) => {
    const done = pending.get(m.id);
    pending.delete(m.id);
    done?.(m.ok);
  });
  const fail = (): void => {
    worker = undefined;
    for (const done of pending.values()) done(false);
    pending.clear();
  };
  w.on('error', fail);
  w.on('exit', fail);
  return w;
}

/** Whether `password` matches the bcrypt `hash`; false when the queue is full or the worker fails. */
export function bcryptMatches(password: string, hash: string): Promise<boolean> {
  if (pending.size >= MAX_PENDING) return Promise.resolve(false);
  worker ??= start();
  const id = nextId++;
  return new Promise((resolve) => {
    pending.set(id, resolve);
    worker!.postMessage({ id, password, hash });
  });
}
