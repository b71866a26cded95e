// Memory per idle client connection: N plain-HTTP client connections opened
// and left idle, against nginx (one worker, the way ingress-nginx serves a
// listener, with its 320 idle upstream connections) and against metalgate's
// product path (proxy-product.ts --mode http: ListenerManager -> HTTP
// entrypoint in 2 worker threads, with the image's node flags): as the
// product runs (idle connections parked, worker heaps reclaimed once quiet),
// with --no-reclaim and with --no-park. Three kinds of idle: "fresh"
// (connected, no byte sent yet), "kept-alive" (one request answered, the
// connection left open; all N opened at once, 500 at a time), and
// "kept-alive, arriving" (the same, 500 every 1.5 s: connections that come
// over half a minute, as they do to a server, rather than in one burst). The
// figures are the server process's RSS growth divided by N (VmRSS), 2 s
// after the last connection and again 30 s after it ("settled").
//
//   node_modules/.bin/node test/bench/idle-connections.ts [n=10000] [--park-after-ms N] [--kinds fresh,kept-alive,arriving] [--only "nginx,metalgate"]
//
// --park-after-ms: how long a kept-alive connection stays idle before it
// parks (proxy-product.ts), instead of the product's default.
//
// Needs nginx (apt-get install -y nginx-light). Loopback only; every process
// started here is stopped by pid at the end.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { requireTools, start, stop, type Started } from './proxy-common.ts';

const N = Number(process.argv[2] && !process.argv[2].startsWith('--') ? process.argv[2] : 10_000);
const parkAfterAt = process.argv.indexOf('--park-after-ms');
const PARK_AFTER = parkAfterAt > 0 ? ['--park-after-ms', process.argv[parkAfterAt + 1]!] : [];
const kindsAt = process.argv.indexOf('--kinds');
const KIND_NAMES = { fresh: 'fresh', 'kept-alive': 'kept-alive', arriving: 'kept-alive, arriving' } as const;
const KINDS = (kindsAt > 0 ? process.argv[kindsAt + 1]!.split(',') : Object.keys(KIND_NAMES)).map((k) => {
  const kind = KIND_NAMES[k as keyof typeof KIND_NAMES];
  if (kind === undefined) throw new Error(`--kinds: ${k} is not one of ${Object.keys(KIND_NAMES).join(', ')}`);
  return kind;
});
const onlyAt = process.argv.indexOf('--only');
/** The rows to run, by label (nginx, metalgate, metalgate --no-reclaim, metalgate --no-park); all by default. */
const ONLY = onlyAt > 0 ? new Set(process.argv[onlyAt + 1]!.split(',').map((l) => l.trim())) : undefined;
const runs = (label: string) => ONLY === undefined || ONLY.has(label);
/** When the "settled" figure is taken: after a quiet worker's reclaim (heap-reclaimer.ts samples every 5 s). */
const SETTLE_MS = 30_000;
requireTools(['nginx']);
const dir = mkdtempSync(join(tmpdir(), 'metalgate-idle-'));
const P_BACKEND = 18181;
const P_NGINX = 18182;
const P_MG = 18183;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const rssKiB = (pid: number): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
/** nginx's worker (the child of its master), else the pid itself. */
function servingPid(pid: number): number {
  const kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  return kids[0] ?? pid;
}

function conf(name: string, body: string): string {
  const file = join(dir, `${name}.conf`);
  writeFileSync(
    file,
    `worker_processes 1;\ndaemon off;\npid ${dir}/${name}.pid;\nerror_log ${dir}/${name}-error.log warn;\nworker_rlimit_nofile ${N * 2 + 1000};\nevents { worker_connections ${N * 2 + 100}; }\nhttp {\n  access_log off;\n  client_body_temp_path ${dir}/${name}-body;\n  proxy_temp_path ${dir}/${name}-proxy;\n  fastcgi_temp_path ${dir}/${name}-fcgi;\n  uwsgi_temp_path ${dir}/${name}-uwsgi;\n  scgi_temp_path ${dir}/${name}-scgi;\n  keepalive_timeout 300s;\n  keepalive_requests 1000000;\n  client_header_timeout 300s;\n${body}\n}\n`,
  );
  return file;
}

type Kind = 'fresh' | 'kept-alive' | 'kept-alive, arriving';

async function openIdle(port: number, n: number, kind: Kind): Promise<net.Socket[]> {
  const out: net.Socket[] = [];
  const batch = 500;
  const request = kind !== 'fresh';
  for (let i = 0; i < n; i += batch) {
    if (kind === 'kept-alive, arriving' && i > 0) await sleep(1500);
    const opened = await Promise.all(
      Array.from({ length: Math.min(batch, n - i) }, () =>
        new Promise<net.Socket>((resolve, reject) => {
          const s = net.connect({ host: '127.0.0.1', port });
          s.once('error', reject);
          s.once('connect', () => {
            if (!request) return resolve(s);
            s.write('GET / HTTP/1.1\r\nHost: idle.example\r\n\r\n');
            s.once('data', () => resolve(s));
          });
        }),
      ),
    );
    out.push(...opened);
  }
  return out;
}

async function perConnection(
  name: string,
  p: Started,
  port: number,
  kind: Kind,
): Promise<{ name: string; kind: string; bytesPerConnection: number; settledBytesPerConnection: number; rssMiB: { before: number; after: number; settled: number }; open: number }> {
  const pid = servingPid(p.pid);
  // At rest first: metalgate's workers give back what starting left within their first quiet 5 s (heap-reclaimer.ts).
  await sleep(12_000);
  const before = rssKiB(pid);
  const sockets = await openIdle(port, N, kind);
  await sleep(2000);
  const after = rssKiB(pid);
  await sleep(SETTLE_MS - 2000);
  const settled = rssKiB(pid);
  const open = sockets.filter((s) => !s.destroyed).length;
  for (const s of sockets) s.destroy();
  await sleep(1000);
  const perConn = (kib: number): number => Math.round(((kib - before) * 1024) / N);
  const mib = (kib: number): number => Math.round(kib / 102.4) / 10;
  return { name, kind, bytesPerConnection: perConn(after), settledBytesPerConnection: perConn(settled), rssMiB: { before: mib(before), after: mib(after), settled: mib(settled) }, open };
}

const backendConf = conf('backend', `  server { listen 127.0.0.1:${P_BACKEND} backlog=4096; location / { return 200 "ok"; } }`);
const nginxConf = conf(
  'nginx',
  `  upstream be { server 127.0.0.1:${P_BACKEND}; keepalive 320; }\n  server { listen 127.0.0.1:${P_NGINX} backlog=4096; location / { proxy_pass http://be; proxy_http_version 1.1; proxy_set_header Connection ""; } }`,
);
const product = fileURLToPath(new URL('./proxy-product.ts', import.meta.url));
/** As the Dockerfile's ENTRYPOINT runs the speaker (its worker threads get a young generation of their own). */
const IMAGE_NODE_FLAGS = ['--max-semi-space-size=1', '--heap-growing-percent=20'];
const rows = [];
const backend = await start('backend', 'nginx', ['-c', backendConf, '-p', dir], P_BACKEND);
try {
  for (const kind of KINDS) {
    if (runs('nginx')) {
      const ng = await start('nginx', 'nginx', ['-c', nginxConf, '-p', dir], P_NGINX);
      try {
        rows.push(await perConnection('nginx', ng, P_NGINX, kind));
      } finally {
        await stop(ng);
      }
    }
    for (const [label, flags] of [
      ['metalgate', PARK_AFTER],
      ['metalgate --no-reclaim', [...PARK_AFTER, '--no-reclaim']],
      ['metalgate --no-park', ['--no-park']],
    ] as const) {
      if (!runs(label)) continue;
      const args = [...IMAGE_NODE_FLAGS, product, '--mode', 'http', '--port', String(P_MG), '--backend-port', String(P_BACKEND), '--workers', '2', ...flags];
      const mg = await start('metalgate', process.execPath, args, P_MG, 'ready');
      try {
        rows.push(await perConnection(label, mg, P_MG, kind));
      } finally {
        await stop(mg);
      }
    }
  }
} finally {
  await stop(backend);
}
console.log(JSON.stringify({ connections: N, rows }, null, 2));
