// An Ingress change until every proxy worker serves it, with N Ingress rules
// in force: the speaker process's part (the compiler, the route diff, the
// wire form) and the workers' part (IPC, rebuilding the changed routes,
// routing with the new table) as the product runs them, with W worker
// threads. Not included: the API server's watch delivery and the
// controller's 20 ms coalescing delay, which come before.
//
//   node_modules/.bin/node --max-semi-space-size=1 --heap-growing-percent=20 --expose-gc test/bench/ingress-change.ts [rules=10000] [workers=4] [changes=200] [--no-reclaim]
// (the image's flags; the workers' young generation is sized as the product's
// pool sizes it, and they reclaim their heap once quiet as the product's do;
// --no-reclaim: they do not). RECLAIM_LOG=1 prints each worker's reclaim
// (heap before and after, pause) to stderr.
import { setFlagsFromString } from 'node:v8';
import { Worker } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { routesUpdate, type RoutesUpdate } from '../../src/ingress/compile/route-wire.ts';
import { IngressCompiler, publishedRoutes } from '../../src/ingress/compile/ingress-compiler.ts';
import { WORKER_YOUNG_GENERATION_MB } from '../../src/proxy/workers/worker-pool.ts';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { HeapReclaimer } from '../../src/common/heap-reclaimer.ts';
import { percentile } from './bench-utils.ts';

const RULES = Number(process.argv[2] ?? 10_000);
const WORKERS = Number(process.argv[3] ?? 4);
const CHANGES = Number(process.argv[4] ?? 200);
const PER_INGRESS = 10;

const c = new IngressCompiler();
c.setIngressClass({ apiVersion: 'networking.k8s.io/v1', kind: 'IngressClass', metadata: { name: 'metalgate' }, spec: { controller: 'metalgate.io/ingress-controller' } });
const ingressCount = RULES / PER_INGRESS;
for (let i = 0; i < ingressCount; i++) c.setService({ metadata: { namespace: 'bench', name: `s${i}` }, spec: { ports: [{ name: 'http', port: 80 }] } });
let rv = 0;
const ingress = (i: number, extraPath?: string) => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'Ingress',
  metadata: { namespace: 'bench', name: `i${i}`, uid: `u${i}`, resourceVersion: String(++rv), creationTimestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, i % 60)) },
  spec: {
    ingressClassName: 'metalgate',
    rules: Array.from({ length: PER_INGRESS }, (_, j) => ({
      host: `h${(i * PER_INGRESS + j) % 1000}.bench.example`,
      http: { paths: [{ path: j === 0 && extraPath ? extraPath : `/p${i}-${j}`, pathType: 'Prefix', backend: { service: { name: `s${i}`, port: { number: 80 } } } }] },
    })),
  },
});
for (let i = 0; i < ingressCount; i++) c.setIngress(ingress(i));

const published = publishedRoutes;
const workers: Worker[] = [];
const waiting = new Map<number, { left: number; done: () => void }>();
// As ProxyWorkerPool starts them: this thread keeps the image's young generation, the workers get theirs.
setFlagsFromString('--max-semi-space-size=0');
if (!process.argv.includes('--no-reclaim')) setFlagsFromString('--expose-gc');
for (let w = 0; w < WORKERS; w++) {
  const child = new Worker(new URL('./ingress-change-worker.ts', import.meta.url), { argv: process.argv.slice(2), resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB } });
  child.on('message', (m: { seq: number }) => {
    const entry = waiting.get(m.seq);
    if (entry && --entry.left === 0) {
      waiting.delete(m.seq);
      entry.done();
    }
  });
  workers.push(child);
}
const send = (seq: number, routes: RoutesUpdate) =>
  new Promise<void>((resolve) => {
    waiting.set(seq, { left: WORKERS, done: resolve });
    for (const w of workers) w.postMessage({ seq, routes });
  });

// The speaker's own thread reclaims too (run-component.ts), when node runs with --expose-gc as the image does.
if (!process.argv.includes('--no-reclaim')) HeapReclaimer.start(pino({ level: 'silent' }), new Registry(), 'metalgate_speaker_heap_reclaims_total');
try {
  await new Promise<void>((r) => (waiting.set(-1, { left: WORKERS, done: r })));
  let t = performance.now();
  let prev = published(c.compile());
  const compiledMs = performance.now() - t;
  t = performance.now();
  await send(0, routesUpdate(undefined, prev)!);
  const firstMs = performance.now() - t;
  const lat: number[] = [];
  // Each change's parts: the compiler, the update's wire form, the workers (post, apply, route).
  const parts = { compile: [] as number[], update: [] as number[], workers: [] as number[] };
  for (let k = 1; k <= CHANGES; k++) {
    const t0 = performance.now();
    c.setIngress(ingress(k % ingressCount, `/v${k}`));
    const out = c.compile();
    const t1 = performance.now();
    const next = published(out);
    const update = routesUpdate(prev, next, out.changes)!;
    prev = next;
    const t2 = performance.now();
    await send(k, update);
    const t3 = performance.now();
    lat.push(t3 - t0);
    parts.compile.push(t1 - t0);
    parts.update.push(t2 - t1);
    parts.workers.push(t3 - t2);
  }
  const ms = (x: number) => Math.round(x * 100) / 100;
  console.log(
    JSON.stringify({
      rules: RULES,
      workers: WORKERS,
      changes: CHANGES,
      firstCompileMs: ms(compiledMs),
      firstConfigAllWorkersMs: ms(firstMs),
      changeUntilAllWorkersServeMs: { p50: ms(percentile(lat, 0.5)), p99: ms(percentile(lat, 0.99)), max: ms(Math.max(...lat)) },
      partsP50P99Ms: Object.fromEntries(Object.entries(parts).map(([k, v]) => [k, [ms(percentile(v, 0.5)), ms(percentile(v, 0.99))]])),
    }),
  );
} finally {
  for (const w of workers) void w.terminate();
}
