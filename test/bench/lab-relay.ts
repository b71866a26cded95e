// What the lab's API relays cost: round trips from the host straight to a
// loopback server, against the same from inside a lab node namespace through
// the relay chain (namespace relay -> Unix socket -> host relay -> loopback).
//   1. TCP echo, 64-byte request/reply on one connection (pure relay cost)
//   2. TCP echo, a new connection per round trip (two extra connects)
//   3. the real API server: GET /api/v1/namespaces/default, keep-alive
// Root only (namespaces). Bounded: fixed round counts, 60 s cap per client.
// Run: node_modules/.bin/node test/bench/lab-relay.ts
//
// Measured on the 2-core dev machine (busy with a Go build), p50 / p99:
//   TCP echo kept alive   host 28 / 198 µs    node ns via relays 93 / 488 µs
//   TCP echo, new conn    host 171 µs / 2.0 ms  via relays 685 µs / 5.8 ms
//   API GET, kept alive   host 1.17 / 7.8 ms  via relays 1.32 / 5.4 ms
// So about 0.1 ms per round trip and 0.5 ms per new connection: noise next
// to API requests and to lease renewals every second.

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SELF = fileURLToPath(import.meta.url);

interface Figures {
  n: number;
  p50: number;
  p99: number;
  mean: number;
}

function figures(samples: number[]): Figures {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number): number => s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
  return { n: s.length, p50: at(0.5), p99: at(0.99), mean: s.reduce((a, b) => a + b, 0) / s.length };
}

// ---- client mode (run inside or outside a namespace, prints JSON figures) ----

async function echoKeepAlive(host: string, port: number, rounds: number): Promise<number[]> {
  const s = connect({ host, port, noDelay: true });
  await once(s, 'connect');
  const msg = Buffer.alloc(64, 1);
  const out: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const t = process.hrtime.bigint();
    s.write(msg);
    let got = 0;
    while (got < msg.length) got += ((await once(s, 'data')) as [Buffer])[0].length;
    out.push(Number(process.hrtime.bigint() - t) / 1e3);
  }
  s.destroy();
  return out;
}

async function echoFresh(host: string, port: number, rounds: number): Promise<number[]> {
  const msg = Buffer.alloc(64, 2);
  const out: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const t = process.hrtime.bigint();
    const s = connect({ host, port, noDelay: true });
    await once(s, 'connect');
    s.write(msg);
    let got = 0;
    while (got < msg.length) got += ((await once(s, 'data')) as [Buffer])[0].length;
    out.push(Number(process.hrtime.bigint() - t) / 1e3);
    s.destroy();
  }
  return out;
}

async function apiKeepAlive(server: string, token: string, rounds: number): Promise<number[]> {
  const { Agent, request } = await import('undici');
  const dispatcher = new Agent({ connect: { rejectUnauthorized: false }, connections: 1 });
  const out: number[] = [];
  for (let i = 0; i < rounds + 20; i++) {
    const t = process.hrtime.bigint();
    const res = await request(`${server}/api/v1/namespaces/default`, { dispatcher, headers: { authorization: `Bearer ${token}` } });
    await res.body.text();
    if (res.statusCode !== 200) throw new Error(`API answered ${res.statusCode}`);
    if (i >= 20) out.push(Number(process.hrtime.bigint() - t) / 1e3); // first 20 warm the connection
  }
  await dispatcher.close();
  return out;
}

async function client(argv: string[]): Promise<void> {
  setTimeout(() => process.exit(3), 60_000).unref();
  const [kind, a, b, n] = argv;
  const rounds = Number(n);
  const samples =
    kind === 'echo' ? await echoKeepAlive(a!, Number(b), rounds) : kind === 'echo-fresh' ? await echoFresh(a!, Number(b), rounds) : await apiKeepAlive(a!, b!, rounds);
  process.stdout.write(`${JSON.stringify(figures(samples))}\n`);
}

// ---- driver ----

async function runClient(nsArgs: string[], args: string[]): Promise<Figures> {
  const argv = [...nsArgs, process.execPath, SELF, 'client', ...args];
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`client ${args.join(' ')} exited ${code}`);
  return JSON.parse(out) as Figures;
}

function row(label: string, f: Figures): string {
  return `${label.padEnd(44)} n=${String(f.n).padEnd(5)} p50 ${f.p50.toFixed(0).padStart(5)} µs  p99 ${f.p99.toFixed(0).padStart(5)} µs  mean ${f.mean.toFixed(0).padStart(5)} µs`;
}

async function driver(): Promise<void> {
  const { Lab } = await import('../support/lab.ts');
  const { labSkipReason } = await import('../support/netns-exec.ts');
  const { startControlPlane } = await import('../support/control-plane.ts');
  const skip = labSkipReason();
  if (skip) {
    console.log(`lab-relay bench skipped: ${skip}`);
    return;
  }
  const echo = createServer({ noDelay: true }, (s) => {
    s.on('data', (c) => s.write(c));
    s.on('error', () => {});
  });
  echo.listen(0, '127.0.0.1');
  await once(echo, 'listening');
  const echoPort = (echo.address() as { port: number }).port;
  const cp = await startControlPlane();
  const lab = await Lab.create({ nodes: ['node1'], apiServer: cp });
  const relayScript = fileURLToPath(new URL('../../test/support/relay.ts', import.meta.url));
  const sock = join(lab.runDir, 'echo.sock');
  // The same chain the lab builds for the API, pointed at the echo server.
  const hostRelay = spawn(process.execPath, [relayScript, '--exit-with-stdin', '--listen', `unix:${sock}`, '--connect', `tcp:127.0.0.1:${echoPort}`], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  await once(hostRelay.stdout!, 'data');
  const nsRelay = lab.node('node1').spawnNode(relayScript, ['--exit-with-stdin', '--listen', `tcp:127.0.0.1:${echoPort}`, '--connect', `unix:${sock}`], { stdin: 'pipe' });
  await nsRelay.waitForOutput('relay ready');
  const ns = ['ip', 'netns', 'exec', lab.node('node1').ns];
  try {
    console.log(`lab relay round trips (${new Date().toISOString()}, ${process.version}):`);
    console.log(row('TCP echo, keep-alive, host direct', await runClient([], ['echo', '127.0.0.1', String(echoPort), '5000'])));
    console.log(row('TCP echo, keep-alive, node ns via relays', await runClient(ns, ['echo', '127.0.0.1', String(echoPort), '5000'])));
    console.log(row('TCP echo, new connection, host direct', await runClient([], ['echo-fresh', '127.0.0.1', String(echoPort), '1000'])));
    console.log(row('TCP echo, new connection, node ns via relays', await runClient(ns, ['echo-fresh', '127.0.0.1', String(echoPort), '1000'])));
    console.log(row('API GET namespace, keep-alive, host direct', await runClient([], ['api', cp.server, cp.token, '1000'])));
    console.log(row('API GET namespace, keep-alive, node ns', await runClient(ns, ['api', cp.server, cp.token, '1000'])));
  } finally {
    hostRelay.kill('SIGTERM');
    await lab.destroy();
    await cp.stop();
    echo.close();
    rmSync(sock, { force: true });
  }
}

if (process.argv[2] === 'client') await client(process.argv.slice(3));
else await driver();
