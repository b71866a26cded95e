// Child process for packet-socket.test.ts, run inside a network namespace:
// exercises the native receive path on that namespace's loopback, where a
// sent frame comes straight back in. Prints one JSON object and exits.

import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

import { PacketSocket } from '../../../src/l2/packet-socket.ts';

const ETHERTYPE_LOCAL_EXPERIMENTAL = 0x88b5;

function frame(sequence: number): Buffer {
  const bytes = Buffer.alloc(60); // dst and src 00:00:00:00:00:00, as on lo
  bytes.writeUInt16BE(ETHERTYPE_LOCAL_EXPERIMENTAL, 12);
  bytes.writeUInt32BE(sequence, 14);
  return bytes;
}

const open = (): PacketSocket => new PacketSocket({ interface: 'lo', ethertype: ETHERTYPE_LOCAL_EXPERIMENTAL });
const settle = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `cond` every 5 ms for up to `ms`: a bound for a loaded machine, not an expected duration. */
async function until(cond: () => boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond() && Date.now() < deadline) await settle(5);
}

// Many frames, in batches that fit the default receive buffer: all delivered,
// in order, several per poll wakeup.
async function burst(count: number, batch: number): Promise<{ sent: number; received: number; inOrder: boolean }> {
  const socket = open();
  const sequences: number[] = [];
  socket.on('frame', (received) => sequences.push(received.readUInt32BE(14)));
  for (let i = 0; i < count; i++) {
    socket.send(frame(i));
    if (i % batch === batch - 1) await new Promise((resolve) => setImmediate(resolve));
  }
  const deadline = Date.now() + 5_000;
  while (sequences.length < count && Date.now() < deadline) await settle(10);
  socket.close();
  return { sent: count, received: sequences.length, inOrder: sequences.every((value, i) => value === i) };
}

// close() from inside a 'frame' listener stops delivery of the frames still queued.
async function closeInListener(): Promise<{ received: number }> {
  const socket = open();
  let received = 0;
  socket.on('frame', () => {
    received++;
    socket.close();
  });
  for (let i = 0; i < 5; i++) socket.send(frame(i));
  // The first delivery is waited for (a fixed sleep can end before it on a
  // stalled process); then a quiet spell in which no more may come.
  await until(() => received > 0);
  await settle(100);
  return { received };
}

// A throwing listener becomes an uncaught exception, and the socket keeps working.
async function throwingListener(): Promise<{ uncaught: string[]; afterwards: number }> {
  const uncaught: string[] = [];
  const onUncaught = (error: Error): void => {
    uncaught.push(error.message);
  };
  process.on('uncaughtException', onUncaught);
  const socket = open();
  let afterwards = 0;
  socket.on('frame', (received) => {
    if (received.readUInt32BE(14) === 0) throw new Error('boom from listener');
    afterwards++;
  });
  socket.send(frame(0));
  await until(() => uncaught.length > 0);
  socket.send(frame(1));
  await until(() => afterwards > 0);
  await settle(100); // nothing delivered twice
  socket.close();
  process.off('uncaughtException', onUncaught);
  return { uncaught, afterwards };
}

// A worker terminated with its socket still open must tear down cleanly
// (this crashed the process before the addon closed its handle on teardown).
async function workerTeardown(): Promise<string> {
  const wrapper = fileURLToPath(new URL('../../../src/l2/packet-socket.ts', import.meta.url));
  const worker = new Worker(
    `import(${JSON.stringify(wrapper)}).then(({ PacketSocket }) => {
       new PacketSocket({ interface: 'lo', ethertype: ${ETHERTYPE_LOCAL_EXPERIMENTAL} });
       require('node:worker_threads').parentPort.postMessage('open');
     });`,
    { eval: true },
  );
  await new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  await worker.terminate();
  return 'terminated';
}

setTimeout(() => process.exit(3), 30_000).unref();
// First, while only the worker has loaded the addon (the case that crashed).
const teardown = await workerTeardown();
const result = {
  workerTeardown: teardown,
  burst: await burst(2000, 100),
  closeInListener: await closeInListener(),
  throwingListener: await throwingListener(),
};
process.stdout.write(`${JSON.stringify(result)}\n`);
