// The product's proxy path as a benchmark target, without the API server:
// the ListenerManager bound from a Service and an EndpointSlice (picker,
// metrics hooks, sampled log decision included) forwarding at L4 or, for
// --mode http, handing sockets to the HTTP entrypoint whose router sends
// everything to the Service's backend (ServiceBackends, as Ingress routes
// do). --workers N > 1 runs it as `metalgate speaker --proxy-workers N`
// does: N node:cluster workers, each binding with SO_REUSEPORT.
//
//   node_modules/.bin/node test/bench/proxy-product.ts --mode tcp|http --port P --backend-port B [--workers N] [--gc parallel]
//
// Prints "ready" once every worker listens. Started by proxy-l4.ts and proxy-http.ts.

import cluster from 'node:cluster';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : dflt;
}

const MODE = arg('mode', 'tcp') === 'http' ? 'http' : 'l4';
const PORT = Number(arg('port', '0'));
const BACKEND_PORT = Number(arg('backend-port', '0'));
const WORKERS = Number(arg('workers', '1'));
// Workers get the product's V8 flags (WORKER_EXEC_ARGV); --gc parallel leaves them out, for comparison.
const GC = arg('gc', 'product');

if (WORKERS > 1 && cluster.isPrimary) {
  const { WORKER_EXEC_ARGV } = await import('../../src/proxy/workers/worker-pool.ts');
  cluster.setupPrimary({ execArgv: [...process.execArgv, ...(GC === 'parallel' ? [] : WORKER_EXEC_ARGV)] });
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
} else {
  await serve(WORKERS > 1);
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
  const { ingressRouter } = await import('../../src/proxy/http/table-router.ts');
  const log = pino({ level: 'silent' });
  const registry = new Registry();
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
  const engine = MODE === 'http' ? createHttpEngine({ log, registry, accessLogSampleRate: 0.01 }) : undefined;
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
  });
  const key = listenerKey('TCP', '127.0.0.1', PORT);
  manager.apply([{ key, ip: '127.0.0.1', port: PORT, protocol: 'TCP', service: 'bench/backend', serviceUid: 'bench-uid', portName: 'http', mode: MODE, l4: DEFAULT_L4_SETTINGS }]);
  const deadline = Date.now() + 10_000;
  while (!manager.listening().includes(key) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const ok = manager.listening().includes(key);
  if (cluster.isWorker) process.send?.(ok ? 'ready' : 'not listening');
  else console.log(ok ? 'ready' : 'not listening');
  process.on('SIGTERM', () => process.exit(0));
  process.on('SIGINT', () => process.exit(0));
}
