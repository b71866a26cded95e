// A client-side prober for failover tests and the demo: one HTTP GET at a
// time on a new connection each (so every probe resolves the address and
// connects afresh, as a new user would), every --interval-ms, each bounded
// by --timeout-ms. One JSON line per probe on stdout (ProbeSample). Stops
// after --duration-s (default 600) or on SIGTERM/SIGINT.
//   node test/support/http-prober.ts --url http://198.18.0.200/ [--interval-ms 20] [--timeout-ms 300]

import { request } from 'node:http';
import { fileURLToPath } from 'node:url';

import type { ProbeSample } from './probe-stats.ts';

function probe(url: URL, timeoutMs: number): Promise<ProbeSample> {
  const start = Date.now();
  const t0 = performance.now();
  return new Promise((resolve) => {
    let settled = false;
    const done = (sample: Omit<ProbeSample, 't' | 'ms'>): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      resolve({ t: start, ms: Math.round((performance.now() - t0) * 100) / 100, ...sample });
    };
    const req = request(url, { agent: false, headers: { connection: 'close' } }, (res) => {
      res.resume();
      res.on('end', () => {
        const by = res.headers['x-served-by'];
        const status = res.statusCode ?? 0;
        done({ ok: status >= 200 && status < 400, status, ...(typeof by === 'string' ? { by } : {}) });
      });
      res.on('error', (e: NodeJS.ErrnoException) => done({ ok: false, err: e.code ?? e.message }));
    });
    const timer = setTimeout(() => done({ ok: false, err: 'TIMEOUT' }), timeoutMs);
    req.on('error', (e: NodeJS.ErrnoException) => done({ ok: false, err: e.code ?? e.message }));
    req.end();
  });
}

async function main(argv: string[]): Promise<void> {
  let url: URL | undefined;
  let intervalMs = 20;
  let timeoutMs = 300;
  let durationS = 600;
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[++i];
    if (value === undefined) throw new Error(`http-prober: ${flag} needs a value`);
    if (flag === '--url') url = new URL(value);
    else if (flag === '--interval-ms') intervalMs = Number(value);
    else if (flag === '--timeout-ms') timeoutMs = Number(value);
    else if (flag === '--duration-s') durationS = Number(value);
    else throw new Error(`http-prober: unknown flag ${flag}`);
  }
  if (!url) throw new Error('usage: http-prober.ts --url URL [--interval-ms 20] [--timeout-ms 300] [--duration-s 600]');
  let stopping = false;
  process.on('SIGTERM', () => (stopping = true));
  process.on('SIGINT', () => (stopping = true));
  const end = Date.now() + durationS * 1000;
  while (!stopping && Date.now() < end) {
    const next = Date.now() + intervalMs;
    process.stdout.write(`${JSON.stringify(await probe(url, timeoutMs))}\n`);
    const wait = next - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(2);
  });
}
