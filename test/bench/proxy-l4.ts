// L4 benchmark: the same static backend (nginx answering "ok") direct and
// through HAProxy (mode tcp), nginx (stream) and metalgate's TCP forwarder
// (one process, and two SO_REUSEPORT workers; and the product path: a
// ListenerManager bound from a Service and an EndpointSlice, picker and
// metrics included, proxy-product.ts, in one process and as two workers like
// `--proxy-workers 2`), with wrk at 50 and 200
// connections, twice: kept-alive connections (byte forwarding on long flows)
// and "Connection: close" (a new proxied TCP connection per request).
// Prints req/s, p50/p99, CPU seconds per 100k requests of each proxy's
// process tree, ratios to HAProxy and the load average at each run.
//
//   node_modules/.bin/node test/bench/proxy-l4.ts [--seconds 10] [--conns 50,200] [--modes keepalive,close] [--netns] [--only a,b]
//
// --netns (root): runs the whole benchmark, every peer included, inside a
// network namespace it creates (loopback only) and removes, and adds the
// target "metalgate kernel": the product's kernel forwarding
// (metalgate.io/l4-dataplane: kernel), nftables DNAT rules written into that
// namespace's ruleset and no process in the path. Its CPU column is the idle
// launcher's: the forwarding work is kernel time charged to wrk and the backend.
//
// Needs nginx with the stream module, haproxy and wrk:
//   apt-get install -y nginx-light libnginx-mod-stream haproxy wrk

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadAverage, measure, requireTools, start, stop, table, wrk, type Row, type Started } from './proxy-common.ts';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : dflt;
}

const SECONDS = Number(arg('seconds', '10'));
const CONNS = arg('conns', '50,200').split(',').map(Number);
const MODES = arg('modes', 'keepalive,close').split(',');
const WARMUP_S = 2;
const STREAM_MODULE = '/usr/lib/nginx/modules/ngx_stream_module.so';

const P_BACKEND = 18091;
const P_NGINX = 18092;
const P_HAPROXY = 18093;
const P_MG1 = 18094;
const P_MG2 = 18095;
const P_MGLM = 18096;
const P_MGLM2 = 18097;
const P_MGLM2P = 18099;
const P_MGK = 18098;
const ONLY = arg('only', '');

if (process.argv.includes('--netns')) await inNetns();
else await main();

/** Re-runs this script inside a fresh network namespace (lo up), then removes it. */
async function inNetns(): Promise<void> {
  const ns = `mgbench-${process.pid}`;
  const ip = (...a: string[]) => {
    const r = spawnSync('ip', a, { stdio: 'inherit' });
    if (r.status !== 0) throw new Error(`ip ${a.join(' ')} failed`);
  };
  ip('netns', 'add', ns);
  try {
    ip('-n', ns, 'link', 'set', 'lo', 'up');
    const args = process.argv.slice(1).filter((a) => a !== '--netns');
    const r = spawnSync('ip', ['netns', 'exec', ns, process.execPath, ...args], { stdio: 'inherit' });
    process.exitCode = r.status ?? 1;
  } finally {
    spawnSync('ip', ['netns', 'del', ns], { stdio: 'inherit' });
  }
}

/** True inside a named network namespace (`ip netns identify` names it), never in the machine's own. */
function inOwnNetns(): boolean {
  const r = spawnSync('ip', ['netns', 'identify', String(process.pid)], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.trim() !== '';
}

async function main(): Promise<void> {
  requireTools(['nginx', 'haproxy', 'wrk']);
  if (!existsSync(STREAM_MODULE)) {
    console.error(`missing ${STREAM_MODULE}: apt-get install -y libnginx-mod-stream`);
    process.exit(2);
  }
  const dir = mkdtempSync(join(tmpdir(), 'metalgate-bench-l4-'));
  const mgScript = fileURLToPath(new URL('./proxy-metalgate.ts', import.meta.url));
  const productScript = fileURLToPath(new URL('./proxy-product.ts', import.meta.url));
  // V8/Node flags for the product path's process, to compare (NODE_FLAGS='--no-sparkplug').
  const nodeFlags = (process.env.NODE_FLAGS ?? '').split(' ').filter(Boolean);

  function conf(name: string, text: string): string {
    const file = join(dir, name);
    writeFileSync(file, text);
    return file;
  }

  const common = (name: string): string => `daemon off;
pid ${dir}/${name}.pid;
error_log ${dir}/${name}-error.log warn;
events { worker_connections 8192; }
`;

  const backendConf = conf(
    'backend.conf',
    `worker_processes 1;
${common('backend')}
http {
  access_log off;
  client_body_temp_path ${dir}/b1; proxy_temp_path ${dir}/b2; fastcgi_temp_path ${dir}/b3; uwsgi_temp_path ${dir}/b4; scgi_temp_path ${dir}/b5;
  keepalive_requests 100000000;
  keepalive_timeout 300s;
  server { listen 127.0.0.1:${P_BACKEND} backlog=4096; location / { return 200 "ok"; } }
}
`,
  );

  const nginxConf = conf(
    'nginx-stream.conf',
    `load_module ${STREAM_MODULE};
worker_processes auto;
${common('nginx-stream')}
stream {
  server { listen 127.0.0.1:${P_NGINX} backlog=4096; proxy_pass 127.0.0.1:${P_BACKEND}; }
}
`,
  );

  const haproxyConf = conf(
    'haproxy.cfg',
    `global
  nbthread 2
  maxconn 8000
defaults
  mode tcp
  timeout connect 5s
  timeout client 60s
  timeout server 60s
frontend fe
  bind 127.0.0.1:${P_HAPROXY}
  default_backend be
backend be
  server s1 127.0.0.1:${P_BACKEND}
`,
  );

  interface Target {
    readonly name: string;
    readonly port: number;
    readonly launch: () => Promise<Started>;
    /**
     * Started just before its own runs and stopped right after: its nftables
     * table turns on connection tracking for the whole namespace, which would
     * tax every other target and fill the conntrack table with their closed
     * connections.
     */
    readonly scoped?: boolean;
  }

  let backend!: Started;
  const targets: Target[] = [
    { name: 'direct', port: P_BACKEND, launch: async () => backend },
    { name: 'haproxy', port: P_HAPROXY, launch: () => start('haproxy', 'haproxy', ['-db', '-f', haproxyConf], P_HAPROXY) },
    { name: 'nginx', port: P_NGINX, launch: () => start('nginx', 'nginx', ['-p', dir, '-c', nginxConf, '-e', `${dir}/nginx-stream-error.log`], P_NGINX) },
    {
      name: 'metalgate',
      port: P_MG1,
      launch: () => start('metalgate', process.execPath, [mgScript, '--mode', 'tcp', '--port', String(P_MG1), '--backend', `127.0.0.1:${P_BACKEND}`], P_MG1, 'ready'),
    },
    {
      name: 'metalgate x2',
      port: P_MG2,
      launch: () => start('metalgate x2', process.execPath, [mgScript, '--mode', 'tcp', '--port', String(P_MG2), '--backend', `127.0.0.1:${P_BACKEND}`, '--workers', '2'], P_MG2, 'ready'),
    },
    {
      name: 'metalgate manager',
      port: P_MGLM,
      launch: () => start('metalgate manager', process.execPath, [...nodeFlags, productScript, '--mode', 'tcp', '--port', String(P_MGLM), '--backend-port', String(P_BACKEND)], P_MGLM, 'ready'),
    },
    {
      name: 'metalgate manager x2',
      port: P_MGLM2,
      launch: () =>
        start('metalgate manager x2', process.execPath, [...nodeFlags, productScript, '--mode', 'tcp', '--port', String(P_MGLM2), '--backend-port', String(P_BACKEND), '--workers', '2'], P_MGLM2, 'ready'),
    },
    {
      // The same as two worker processes, as the proxy workers ran before (for comparison).
      name: 'metalgate manager x2 processes',
      port: P_MGLM2P,
      launch: () =>
        start('metalgate manager x2 processes', process.execPath, [...nodeFlags, productScript, '--mode', 'tcp', '--port', String(P_MGLM2P), '--backend-port', String(P_BACKEND), '--workers', '2', '--processes'], P_MGLM2P, 'ready'),
    },
  ];
  if (inOwnNetns()) {
    targets.push({
      name: 'metalgate kernel',
      port: P_MGK,
      scoped: true,
      launch: () => start('metalgate kernel', process.execPath, [...nodeFlags, productScript, '--mode', 'kernel', '--port', String(P_MGK), '--backend-port', String(P_BACKEND)], P_MGK, 'ready'),
    });
  }
  if (ONLY !== '') {
    const keep = new Set(['direct', ...ONLY.split(',')]);
    for (let i = targets.length - 1; i >= 0; i--) if (!keep.has(targets[i]!.name)) targets.splice(i, 1);
  }

  const running: Started[] = [];
  const rows: Row[] = [];
  try {
    backend = await start('backend', 'nginx', ['-p', dir, '-c', backendConf, '-e', `${dir}/backend-error.log`], P_BACKEND);
    running.push(backend);
    const procs = new Map<string, Started>();
    for (const t of targets) {
      if (t.scoped) continue;
      const p = await t.launch();
      procs.set(t.name, p);
      if (p !== backend) running.push(p);
    }
    console.log(`# proxy-l4: wrk -t2 -d${SECONDS}s --latency, loopback, load avg at start ${loadAverage()}`);
    for (const mode of MODES) {
      const extra = mode === 'close' ? ['-H', 'Connection: close'] : [];
      for (const c of CONNS) {
        for (const t of targets) {
          const url = `http://127.0.0.1:${t.port}/`;
          const scoped = t.scoped ? await t.launch() : undefined;
          if (scoped) procs.set(t.name, scoped);
          await wrk(url, c, WARMUP_S, extra);
          const row = await measure(`${t.name} (${mode})`, url, procs.get(t.name)!.pid, c, SECONDS, extra);
          if (scoped) await stop(scoped);
          rows.push(row);
          console.log(`${row.target.padEnd(24)} c=${c}: ${Math.round(row.r.rps)} req/s p50 ${row.r.p50ms.toFixed(2)} ms p99 ${row.r.p99ms.toFixed(2)} ms cpu ${row.cpuPer100k.toFixed(2)} s/100k load ${row.load}${row.r.errors ? ` errors ${row.r.errors}` : ''}`);
        }
      }
    }
    console.log('');
    for (const mode of MODES) {
      console.log(`## ${mode === 'close' ? 'a new connection per request (Connection: close)' : 'kept-alive connections'}`);
      console.log(table(rows.filter((r) => r.target.endsWith(`(${mode})`)), `haproxy (${mode})`));
      console.log('');
    }
  } finally {
    for (const p of running.reverse()) await stop(p);
    rmSync(dir, { recursive: true, force: true });
  }
}
