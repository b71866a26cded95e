// L7 benchmark: one static backend (nginx answering "ok") measured direct and
// through nginx, HAProxy and metalgate (the bare HTTP entrypoint in one
// process and in two SO_REUSEPORT worker processes; and the product path,
// proxy-product.ts: ListenerManager -> entrypoint -> Service backend, in one
// process and as two worker threads like `--proxy-workers 2`, and as two
// worker processes, as the proxy workers ran before), each as a reverse
// proxy with keep-alive to the backend,
// with wrk at 50 and 200 connections. Prints req/s, p50/p99 latency, CPU
// seconds per 100k requests of each proxy's process tree (/proc utime+stime)
// and the ratios to nginx, with the load average at each run.
//
//   node_modules/.bin/node test/bench/proxy-http.ts [--seconds 10] [--conns 50,200] [--only nginx,metalgate] [--close]
//
// --close: every request on a new connection (wrk sends Connection: close).
// "metalgate manager x2 --no-park" is the product path with idle
// connections keeping their sockets (listeners/idle-park.ts).
//
// Needs nginx, haproxy and wrk (apt-get install -y nginx-light haproxy wrk).
// Configs go to a temp dir; every process runs in the foreground and is
// stopped by pid at the end. Loopback only.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadAverage, measure, requireTools, start, stop, table, wrk, type Row, type Started, writeNginxConf } from './proxy-common.ts';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : dflt;
}

const SECONDS = Number(arg('seconds', '10'));
const CONNS = arg('conns', '50,200').split(',').map(Number);
const ONLY = arg('only', '');
const WRK_EXTRA = process.argv.includes('--close') ? ['-H', 'Connection: close'] : [];
const WARMUP_S = 2;

const P_BACKEND = 18081;
const P_NGINX = 18082;
const P_HAPROXY = 18083;
const P_MG1 = 18084;
const P_MG2 = 18085;
const P_MG3 = 18086;
const P_MG4 = 18087;

requireTools(['nginx', 'haproxy', 'wrk']);
const dir = mkdtempSync(join(tmpdir(), 'metalgate-bench-'));
const nodeBin = process.execPath;
const mgScript = fileURLToPath(new URL('./proxy-metalgate.ts', import.meta.url));
const productScript = fileURLToPath(new URL('./proxy-product.ts', import.meta.url));
// V8/Node flags for the product path's process, to compare (NODE_FLAGS='--no-short-builtin-calls').
const NODE_FLAGS = (process.env.NODE_FLAGS ?? '').split(' ').filter(Boolean);

const nginxConf = (name: string, workers: string, body: string): string => writeNginxConf(dir, name, workers, body);

const backendConf = nginxConf(
  'backend',
  '1',
  `  server {
    listen 127.0.0.1:${P_BACKEND} backlog=4096;
    location / { return 200 "ok"; }
  }`,
);

// As ingress-nginx configures a proxied location: HTTP/1.1 upstream keep-alive and the forwarding fields.
const nginxProxyConf = nginxConf(
  'nginx-proxy',
  'auto',
  `  upstream be {
    server 127.0.0.1:${P_BACKEND};
    keepalive 128;
    keepalive_requests 100000000;
  }
  server {
    listen 127.0.0.1:${P_NGINX} backlog=4096;
    location / {
      proxy_pass http://be;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Real-IP $remote_addr;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-Host $host;
      proxy_set_header X-Forwarded-Port $server_port;
    }
  }`,
);

const haproxyConf = join(dir, 'haproxy.cfg');
writeFileSync(
  haproxyConf,
  `global
  nbthread 2
  maxconn 8000
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  option http-keep-alive
frontend fe
  bind 127.0.0.1:${P_HAPROXY}
  option forwardfor
  http-request set-header X-Real-IP %[src]
  http-request set-header X-Forwarded-Proto http
  http-request set-header X-Forwarded-Host %[req.hdr(host)]
  http-request set-header X-Forwarded-Port %[dst_port]
  default_backend be
backend be
  http-reuse always
  server s1 127.0.0.1:${P_BACKEND} maxconn 1000
`,
);

interface Target {
  readonly name: string;
  readonly port: number;
  readonly launch: () => Promise<Started>;
}

const targets: Target[] = [
  { name: 'direct', port: P_BACKEND, launch: async () => backend },
  { name: 'nginx', port: P_NGINX, launch: () => start('nginx', 'nginx', ['-p', dir, '-c', nginxProxyConf, '-e', `${dir}/nginx-proxy-error.log`], P_NGINX) },
  { name: 'haproxy', port: P_HAPROXY, launch: () => start('haproxy', 'haproxy', ['-db', '-f', haproxyConf], P_HAPROXY) },
  {
    name: 'metalgate',
    port: P_MG1,
    launch: () => start('metalgate', nodeBin, [mgScript, '--port', String(P_MG1), '--backend', `127.0.0.1:${P_BACKEND}`, '--workers', '1'], P_MG1, 'ready'),
  },
  {
    name: 'metalgate x2',
    port: P_MG2,
    launch: () => start('metalgate x2', nodeBin, [mgScript, '--port', String(P_MG2), '--backend', `127.0.0.1:${P_BACKEND}`, '--workers', '2'], P_MG2, 'ready'),
  },
  {
    name: 'metalgate manager',
    port: P_MG3,
    launch: () => start('metalgate manager', nodeBin, [...NODE_FLAGS, productScript, '--mode', 'http', '--port', String(P_MG3), '--backend-port', String(P_BACKEND)], P_MG3, 'ready'),
  },
  {
    name: 'metalgate manager x2',
    port: P_MG4,
    launch: () =>
      start('metalgate manager x2', nodeBin, [...NODE_FLAGS, productScript, '--mode', 'http', '--port', String(P_MG4), '--backend-port', String(P_BACKEND), '--workers', '2'], P_MG4, 'ready'),
  },
  {
    name: 'metalgate manager x2 --no-park',
    port: P_MG4 + 2,
    launch: () =>
      start('metalgate manager x2 --no-park', nodeBin, [...NODE_FLAGS, productScript, '--mode', 'http', '--port', String(P_MG4 + 2), '--backend-port', String(P_BACKEND), '--workers', '2', '--no-park'], P_MG4 + 2, 'ready'),
  },
  {
    name: 'metalgate manager x2 processes',
    port: P_MG4 + 1,
    launch: () =>
      start('metalgate manager x2 processes', nodeBin, [...NODE_FLAGS, productScript, '--mode', 'http', '--port', String(P_MG4 + 1), '--backend-port', String(P_BACKEND), '--workers', '2', '--processes'], P_MG4 + 1, 'ready'),
  },
];

let backend!: Started;
const running: Started[] = [];
const rows: Row[] = [];
try {
  backend = await start('backend', 'nginx', ['-p', dir, '-c', backendConf, '-e', `${dir}/backend-error.log`], P_BACKEND);
  running.push(backend);
  const chosen = targets.filter((t) => ONLY === '' || t.name === 'direct' || ONLY.split(',').includes(t.name));
  const procs = new Map<string, Started>();
  for (const t of chosen) {
    const p = await t.launch();
    procs.set(t.name, p);
    if (p !== backend) running.push(p);
  }
  console.log(`# proxy-http: wrk -t2 -d${SECONDS}s --latency${WRK_EXTRA.length ? ' -H "Connection: close"' : ''}, loopback, load avg at start ${loadAverage()}`);
  for (const c of CONNS) {
    for (const t of chosen) {
      const url = `http://127.0.0.1:${t.port}/`;
      await wrk(url, c, WARMUP_S, WRK_EXTRA); // JIT warm-up, pools filled
      const row = await measure(t.name, url, procs.get(t.name)!.pid, c, SECONDS, WRK_EXTRA);
      rows.push(row);
      console.log(`${t.name.padEnd(21)} c=${c}: ${Math.round(row.r.rps)} req/s p50 ${row.r.p50ms.toFixed(2)} ms p99 ${row.r.p99ms.toFixed(2)} ms cpu ${row.cpuPer100k.toFixed(2)} s/100k load ${row.load}${row.r.errors ? ` errors ${row.r.errors}` : ''}`);
    }
  }
  console.log('');
  console.log(table(rows));
} finally {
  for (const p of running.reverse()) await stop(p);
  rmSync(dir, { recursive: true, force: true });
}
