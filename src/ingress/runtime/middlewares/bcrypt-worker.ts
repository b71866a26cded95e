// The thread that checks bcrypt passwords (bcrypt-pool.ts starts it): one
// check costs tens of milliseconds of CPU, which must not run on the event
// loop that serves every connection. Messages: { id, password, hash } in,
// { id, ok } out.

import { parentPort } from 'node:worker_threads';
import bcrypt from 'bcryptjs';

parentPort?.on('message', (m: { id: number; password: string; hash: string }) => {
  let ok = false;
  try {
    ok = bcrypt.compareSync(m.password, m.hash);
  } catch {
    ok = false;
  }
  parentPort!.postMessage({ id: m.id, ok });
});
