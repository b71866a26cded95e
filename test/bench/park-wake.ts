// What waking a parked connection costs: 200 kept-alive client connections,
// each sending one request every 100 ms for 10 s, through the product path
// (proxy-product.ts --mode http, one thread, the image's node flags), once
// with connections parked after 50 ms idle (so every request wakes one) and
// once with the default 1 s (none is parked). Prints the serving process's
// CPU time per request (/proc/<pid>/stat utime+stime) for each.
//
//   node_modules/.bin/node test/bench/park-wake.ts [--rounds 2]
//
// Loopback only; the backend is a Node server in this process; every
// process started here is stopped by pid.
import net from 'node:net';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

const roundsAt = process.argv.indexOf('--rounds');
const ROUNDS = roundsAt > 0 ? Number(process.argv[roundsAt + 1]) : 2;
const CONNECTIONS = 200;
const INTERVAL_MS = 100;
const SECONDS = 10;
const P_BACKEND = 18191;
const P_MG = 18192;
const product = new URL('./proxy-product.ts', import.meta.url).pathname;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function round(parkAfterMs: number): Promise<{ parkAfterMs: number; requests: number; usPerRequest: number }> {
  const mg = spawn(process.execPath, ['--max-semi-space-size=1', '--heap-growing-percent=20', product, '--mode', 'http', '--port', String(P_MG), '--backend-port', String(P_BACKEND), '--park-after-ms', String(parkAfterMs)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const socks: net.Socket[] = [];
  try {
    await new Promise((r) => mg.stdout!.once('data', r));
    for (let i = 0; i < CONNECTIONS; i++) {
      socks.push(await new Promise<net.Socket>((res, rej) => {
        const s = net.connect(P_MG, '127.0.0.1');
        s.once('connect', () => res(s));
        s.once('error', rej);
      }));
    }
    let answers = 0;
    for (const s of socks) s.on('data', () => answers++);
    const c0 = cpuSeconds(mg.pid!);
    const end = Date.now() + SECONDS * 1000;
    socks.forEach((s, i) => {
      const tick = (): void => {
        if (Date.now() > end || s.destroyed) return;
        s.write('GET / HTTP/1.1\r\nHost: a.example\r\n\r\n');
        setTimeout(tick, INTERVAL_MS);
      };
      setTimeout(tick, i % INTERVAL_MS);
    });
    await sleep(SECONDS * 1000 + 500);
    const used = cpuSeconds(mg.pid!) - c0;
    return { parkAfterMs, requests: answers, usPerRequest: Math.round((used * 1e6) / answers) };
  } finally {
    for (const s of socks) s.destroy();
    mg.kill('SIGTERM');
  }
}

const backend = net.createServer((s) => {
  s.on('error', () => {});
  s.on('data', () => s.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'));
});
await new Promise<void>((r) => backend.listen(P_BACKEND, '127.0.0.1', r));
try {
  for (let i = 0; i < ROUNDS; i++) for (const ms of [50, 1000]) console.log(JSON.stringify(await round(ms)));
} finally {
  backend.close();
}
