// A stand-in proxy worker thread for ingress-change.ts: the serving side of the
// route tables as ProxyRuntime runs it (RouteTables over RuntimeFactory),
// answering each update once it is in force, and reclaiming its heap once
// quiet as a proxy worker thread does.
import { RouteTables } from '../../src/ingress/runtime/route-tables.ts';
import { RuntimeFactory } from '../../src/ingress/runtime/runtime-target.ts';
import type { RoutesUpdate } from '../../src/ingress/compile/route-wire.ts';
import type { Backend } from '../../src/proxy/http/types.ts';
import { parentPort } from 'node:worker_threads';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { HeapReclaimer } from '../../src/common/heap-reclaimer.ts';

const backend = (ref: { namespace: string; service: string }): Backend => ({ name: `${ref.namespace}/${ref.service}`, protocol: 'http', pick: () => undefined });
const tables = new RouteTables(new RuntimeFactory({ backend }).materialize);
const port = parentPort!;
port.on('message', (m: { seq: number; routes: RoutesUpdate }) => {
  const { router } = tables.apply(m.routes);
  // Routing a request proves the new table is the one in force.
  const hit = router.route({ host: `h${m.seq % 1000}.bench.example`, path: `/v${m.seq}`, method: 'GET', headers: {}, query: '', clientIp: '198.18.0.9', tls: true, localPort: 443 } as never);
  port.postMessage({ seq: m.seq, routed: hit?.routeName ?? null });
});
// As a proxy worker thread runs (proxy-worker.ts): its heap reclaimed once quiet; --no-reclaim on the script's command line leaves it.
if (!process.argv.includes('--no-reclaim')) HeapReclaimer.start(pino({ level: process.env.RECLAIM_LOG ? 'info' : 'silent' }, process.stderr), new Registry(), 'metalgate_proxy_heap_reclaims_total');
port.postMessage({ seq: -1 });
