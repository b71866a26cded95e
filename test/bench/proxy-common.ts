// Shared pieces of the proxy benchmarks (proxy-http.ts, proxy-l4.ts): tool
// checks, processes started in the foreground and stopped by pid, CPU time of
// a process tree from /proc, wrk runs and their parsing, the result table,
// nginx configurations.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import net from 'node:net';

export function requireTools(tools: readonly string[]): void {
  const missing = tools.filter((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0);
  if (missing.length === 0) return;
  console.error(`missing: ${missing.join(', ')}`);
  console.error('install (Debian): apt-get update && apt-get install -y nginx-light haproxy wrk');
  process.exit(2);
}

export function loadAverage(): string {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
}

const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK']).stdout.toString().trim() || 100);

/** utime+stime (seconds) of pid and all its descendants, threads included. */
export function treeCpuSeconds(root: number): number {
  const parent = new Map<number, number>();
  const ticks = new Map<number, number>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${d}/stat`, 'utf8');
    } catch {
      continue;
    }
    // Fields after the ")" closing comm: state ppid ... utime(14) stime(15) (1-based from pid).
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    parent.set(Number(d), Number(rest[1]));
    ticks.set(Number(d), Number(rest[11]) + Number(rest[12]));
  }
  let total = 0;
  for (const [pid, t] of ticks) {
    for (let p: number | undefined = pid; p !== undefined && p > 1; p = parent.get(p)) {
      if (p === root) {
        total += t;
        break;
      }
    }
  }
  return total / CLK_TCK;
}

export interface Started {
  readonly name: string;
  readonly child: ChildProcess;
  readonly pid: number;
}

/** Starts a process in the foreground; resolves once `ready(output)` or the port accepts. */
export async function start(name: string, cmd: string, args: readonly string[], port: number, readyText?: string): Promise<Started> {
  if (await accepts(port)) throw new Error(`port ${port} is already in use: stop what listens there first`);
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${name} exited (${child.exitCode}): ${out}`);
    if (readyText === undefined || out.includes(readyText)) {
      if (await accepts(port)) break;
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${name} did not come up on ${port}: ${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { name, child, pid: child.pid! };
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export async function stop(p: Started): Promise<void> {
  if (p.child.exitCode !== null) return;
  const exited = new Promise<void>((r) => p.child.once('exit', () => r()));
  p.child.kill('SIGTERM');
  const t = setTimeout(() => p.child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(t);
}

export interface WrkResult {
  readonly requests: number;
  readonly rps: number;
  readonly p50ms: number;
  readonly p99ms: number;
  readonly errors: string;
}

function ms(v: string, unit: string): number {
  const n = Number(v);
  return unit === 'us' ? n / 1000 : unit === 's' ? n * 1000 : unit === 'm' ? n * 60_000 : n;
}

export function parseWrk(text: string): WrkResult {
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(text)?.[1] ?? NaN);
  const requests = Number(/(\d+) requests in/.exec(text)?.[1] ?? NaN);
  const pct = (p: string): number => {
    const m = new RegExp(`\\s${p}%\\s+([\\d.]+)(us|ms|s|m)`).exec(text);
    return m ? ms(m[1]!, m[2]!) : NaN;
  };
  const errs: string[] = [];
  const sock = /Socket errors: (.*)/.exec(text)?.[1];
  if (sock) errs.push(`socket ${sock}`);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(text)?.[1];
  if (non2xx) errs.push(`non-2xx ${non2xx}`);
  return { requests, rps, p50ms: pct('50'), p99ms: pct('99'), errors: errs.join('; ') };
}

export function wrk(url: string, connections: number, seconds: number, extra: readonly string[] = []): Promise<{ result: WrkResult; raw: string }> {
  return new Promise((resolve, reject) => {
    const args = ['-t2', `-c${connections}`, `-d${seconds}s`, '--latency', ...extra, url];
    const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('exit', () => resolve({ result: parseWrk(out), raw: out }));
  });
}

export interface Row {
  readonly target: string;
  readonly connections: number;
  readonly r: WrkResult;
  /** CPU seconds of the measured process tree per 100k requests. */
  readonly cpuPer100k: number;
  readonly load: string;
}

export function table(rows: readonly Row[], reference = 'nginx'): string {
  const lines = [
    `| target | conns | req/s | p50 ms | p99 ms | CPU s / 100k req | req/s vs ${reference} | p99 vs ${reference} | load avg (1/5/15) | errors |`,
    '|---|---:|---:|---:|---:|---:|---:|---:|---|---|',
  ];
  for (const row of rows) {
    const ref = rows.find((x) => x.target === reference && x.connections === row.connections);
    const ratio = (a: number, b: number | undefined): string => (b === undefined || !(b > 0) ? '-' : (a / b).toFixed(2));
    lines.push(
      `| ${row.target} | ${row.connections} | ${Math.round(row.r.rps)} | ${row.r.p50ms.toFixed(2)} | ${row.r.p99ms.toFixed(2)} | ${row.cpuPer100k.toFixed(2)} | ${ratio(row.r.rps, ref?.r.rps)} | ${ratio(row.r.p99ms, ref?.r.p99ms)} | ${row.load} | ${row.r.errors || '-'} |`,
    );
  }
  return lines.join('\n');
}

/** Runs wrk against url and measures the CPU of the process tree rooted at pid. */
export async function measure(target: string, url: string, pid: number, connections: number, seconds: number, extra: readonly string[] = []): Promise<Row> {
  const load = loadAverage();
  const before = treeCpuSeconds(pid);
  const { result, raw } = await wrk(url, connections, seconds, extra);
  const cpu = treeCpuSeconds(pid) - before;
  if (!(result.requests > 0)) throw new Error(`wrk against ${target} failed:\n${raw}`);
  return { target, connections, r: result, cpuPer100k: (cpu / result.requests) * 100_000, load };
}

/** Writes an nginx configuration for a benchmark peer into `dir` (keep-alive without limits, logs off); returns its path. */
export function writeNginxConf(dir: string, name: string, workers: string, body: string): string {
  const file = join(dir, `${name}.conf`);
  writeFileSync(
    file,
    `worker_processes ${workers};
daemon off;
pid ${dir}/${name}.pid;
error_log ${dir}/${name}-error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path ${dir}/${name}-body;
  proxy_temp_path ${dir}/${name}-proxy;
  fastcgi_temp_path ${dir}/${name}-fcgi;
  uwsgi_temp_path ${dir}/${name}-uwsgi;
  scgi_temp_path ${dir}/${name}-scgi;
  keepalive_requests 100000000;
  keepalive_timeout 300s;
${body}
}
`,
  );
  return file;
}
