// The product's proxy path as a benchmark target, without the API server:
// the ListenerManager bound from a Service and an EndpointSlice (picker,
// metrics hooks, sampled log decision included) forwarding at L4 or, for
// --mode http, handing sockets to the HTTP entrypoint whose router sends
// everything to the Service's backend (ServiceBackends, as Ingress routes
// do). --workers N > 1 runs it as `metalgate speaker --proxy-workers N`
// does: N worker threads, each binding with SO_REUSEPORT; with --processes,
// N node:cluster processes instead (how the proxy workers ran before, for
// comparison).
// --mode kernel: the Service is annotated metalgate.io/l4-dataplane: kernel;
// KernelForwarding writes its nftables DNAT rules (127.0.0.1:P to the
// backend) and no socket is bound. It writes the ruleset of the network
// namespace it runs in, so it refuses to run in the machine's own: run
// proxy-l4.ts with --netns.
//
//   node_modules/.bin/node test/bench/proxy-product.ts --mode tcp|http|kernel --port P --backend-port B [--workers N [--processes]] [--no-park] [--park-after-ms N] [--no-reclaim]
//
// --no-park: idle HTTP connections keep their sockets (the product parks
// them in the kernel, listeners/idle-park.ts, as ProxyRuntime does);
// --park-after-ms N: a kept-alive connection parks after N ms idle instead
// of the default (ClientTimeouts.parkAfterMs); --no-reclaim: worker threads
// keep what a burst left on their heaps (the product's threads reclaim it
// once quiet, common/heap-reclaimer.ts).
//
// Prints "ready" once every worker listens. Started by proxy-l4.ts and proxy-http.ts.

import cluster from 'node:cluster';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : dflt;
}

const MODE_ARG = arg('mode', 'tcp');
const MODE = MODE_ARG === 'http' ? 'http' : 'l4';
const PORT = Number(arg('port', '0'));
const BACKEND_PORT = Number(arg('backend-port', '0'));
const WORKERS = Number(arg('workers', '1'));
const THREADS = !process.argv.includes('--processes');
const { isMainThread, parentPort, Worker } = await import('node:worker_threads');

if (WORKERS > 1 && THREADS && isMainThread) {
  // As ProxyWorkerPool starts them (src/proxy/workers/worker-pool.ts).
  const { WORKER_YOUNG_GENERATION_MB } = await import('../../src/proxy/workers/worker-pool.ts');
  (await import('node:v8')).setFlagsFromString('--max-semi-space-size=0');
  if (!process.argv.includes('--no-reclaim')) (await import('node:v8')).setFlagsFromString('--expose-gc');
  let ready = 0;
  for (let i = 0; i < WORKERS; i++) {
    new Worker(new URL(import.meta.url), { argv: process.argv.slice(2), resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB } }).on('message', (m: unknown) => {
      if (m === 'ready' && ++ready === WORKERS) console.log('ready');
    });
  }
  process.on('SIGTERM', () => process.exit(0));
  process.on('SIGINT', () => process.exit(0));
} else if (WORKERS > 1 && !THREADS && cluster.isPrimary) {
  // The flag the worker processes had.
  cluster.setupPrimary({ execArgv: [...process.execArgv, '--single-threaded-gc'] });
  let ready = 0;
  for (let i = 0; i < WORKERS; i++) {
    cluster.fork().on('message', (m: unknown) => {
      if (m === 'ready' && ++ready === WORKERS) console.log('ready');
    });
  }
  const end = () => {
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGKILL');
    process.exit(0);
  };
  process.on('SIGTERM', end);
  process.on('SIGINT', end);
} else if (MODE_ARG === 'kernel') {
  await serveKernel();
} else {
  await serve(WORKERS > 1);
}

async function serveKernel(): Promise<void> {
  const { spawnSync } = await import('node:child_process');
  // `ip netns identify` names the namespace only inside one made with `ip netns add`, never the machine's own.
  const ns = spawnSync('ip', ['netns', 'identify', String(process.pid)], { encoding: 'utf8' });
  if (ns.status !== 0 || ns.stdout.trim() === '') {
    console.error('--mode kernel writes nftables rules: run it in a network namespace of its own (proxy-l4.ts --netns), never in the machine\'s');
    process.exit(2);
  }
  const { pino } = await import('pino');
  const { Registry } = await import('prom-client');
  const { EndpointIndex } = await import('../../src/proxy/endpoints/endpoint-index.ts');
  const { KernelForwarding } = await import('../../src/proxy/kernel/kernel-forwarding.ts');
  const { kernelCommands } = await import('../../src/proxy/kernel/kernel-commands.ts');
  const { forwardedByKernel, planListeners } = await import('../../src/proxy/listeners/listen-plan.ts');
  const svc = {
    metadata: { namespace: 'bench', name: 'backend', uid: 'bench-uid', annotations: { 'metalgate.io/l4-dataplane': 'kernel' } },
    spec: { type: 'LoadBalancer', ports: [{ name: 'http', port: PORT, protocol: 'TCP' }] },
    status: { loadBalancer: { ingress: [{ ip: '127.0.0.1' }] } },
  };
  const endpoints = new EndpointIndex('bench-node');
  endpoints.upsertService(svc);
  endpoints.upsertSlice({
    addressType: 'IPv4',
    metadata: { namespace: 'bench', name: 'backend-1', labels: { 'kubernetes.io/service-name': 'backend' } },
    ports: [{ name: 'http', port: BACKEND_PORT, protocol: 'TCP' }],
    endpoints: [{ addresses: ['127.0.0.1'], conditions: { ready: true, serving: true, terminating: false }, nodeName: 'bench-node' }],
  });
  const kernel = new KernelForwarding({ log: pino({ level: 'silent' }), endpoints, commands: kernelCommands(), registry: new Registry() });
  const plan = planListeners(new Set(['127.0.0.1']), [svc], { ownClassOnly: false, entrypoint: 'none/none' });
  kernel.apply(plan.listeners.filter(forwardedByKernel));
  await kernel.idle();
  console.log(kernel.forwarding().length === 1 ? 'ready' : 'not forwarding');
  const end = () => void kernel.close().then(() => process.exit(0));
  process.on('SIGTERM', end);
  process.on('SIGINT', end);
  setInterval(() => {}, 1 << 30);
}

async function serve(reusePort: boolean): Promise<void> {
  const { pino } = await import('pino');
  const { Registry } = await import('prom-client');
  const { EndpointIndex } = await import('../../src/proxy/endpoints/endpoint-index.ts');
  const { ListenerManager } = await import('../../src/proxy/listeners/listener-manager.ts');
  const { ListenerMetrics } = await import('../../src/proxy/listeners/listener-metrics.ts');
  const { listenerKey } = await import('../../src/proxy/listeners/listen-plan.ts');
  const { DEFAULT_L4_SETTINGS } = await import('../../src/proxy/k8s/l4-annotations.ts');
  const { createHttpEngine } = await import('../../src/proxy/k8s/http-engine.ts');
  const { ServiceBackends } = await import('../../src/proxy/k8s/service-backends.ts');
  const { ingressRouter } = await import('../support/table-router.ts');
  const { IdlePark } = await import('../../src/proxy/listeners/idle-park.ts');
  const { HeapReclaimer } = await import('../../src/common/heap-reclaimer.ts');
  const log = pino({ level: 'silent' });
  const registry = new Registry();
  // As a proxy worker thread does (proxy-worker.ts); only threads get `gc`.
  if (!isMainThread) HeapReclaimer.start(log, registry, 'metalgate_proxy_heap_reclaims_total');
  const endpoints = new EndpointIndex('bench-node');
  endpoints.upsertService({
    metadata: { namespace: 'bench', name: 'backend', uid: 'bench-uid' },
    spec: { type: 'LoadBalancer', ports: [{ name: 'http', port: PORT, protocol: 'TCP' }] },
  });
  endpoints.upsertSlice({
    addressType: 'IPv4',
    metadata: { namespace: 'bench', name: 'backend-1', labels: { 'kubernetes.io/service-name': 'backend' } },
    ports: [{ name: 'http', port: BACKEND_PORT, protocol: 'TCP' }],
    endpoints: [{ addresses: ['127.0.0.1'], conditions: { ready: true, serving: true, terminating: false }, nodeName: 'bench-node' }],
  });
  // The product's defaults: access log sampled 1 in 100 (to a silent logger here).
  const parkAfter = arg('park-after-ms', '');
  const engine = MODE === 'http' ? createHttpEngine({ log, registry, accessLogSampleRate: 0.01, ...(parkAfter !== '' ? { timeouts: { parkAfterMs: Number(parkAfter) } } : {}) }) : undefined;
  if (engine) {
    const backends = new ServiceBackends(endpoints);
    engine.web.setRouter(ingressRouter([{ backend: backends.get({ namespace: 'bench', service: 'backend', portName: 'http' }) }]));
  }
  const manager = new ListenerManager({
    log,
    metrics: new ListenerMetrics(registry),
    endpoints,
    ...(engine ? { entrypoint: (mode: 'http' | 'https') => (mode === 'http' ? engine.web : engine.websecure) } : {}),
    reusePort,
    ...(engine && !process.argv.includes('--no-park') ? { idlePark: IdlePark.open(log) } : {}),
  });
  const key = listenerKey('TCP', '127.0.0.1', PORT);
  manager.apply([{ key, ip: '127.0.0.1', port: PORT, protocol: 'TCP', service: 'bench/backend', serviceUid: 'bench-uid', portName: 'http', mode: MODE, l4: DEFAULT_L4_SETTINGS }]);
  const deadline = Date.now() + 10_000;
  while (!manager.listening().includes(key) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const ok = manager.listening().includes(key);
  if (!isMainThread) parentPort?.postMessage(ok ? 'ready' : 'not listening');
  else if (cluster.isWorker) process.send?.(ok ? 'ready' : 'not listening');
  else console.log(ok ? 'ready' : 'not listening');
  process.on('SIGTERM', () => process.exit(0));
  process.on('SIGINT', () => process.exit(0));
}
