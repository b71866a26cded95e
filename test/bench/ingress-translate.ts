// Ingress translator benchmark: 10,000 Ingress rules (paths) across 2,000
// hosts (1,600 exact, 400 wildcard) in 2,000 Ingress objects, with
// ingress-nginx annotations on some and 100 canary Ingresses, compiled
// *through the translator* (objects -> IngressCompiler -> route tables with
// live runtime targets, as the proxy runs it). Prints: first build, rebuild
// after one change (an Ingress edited, a canary weight moved, a Service
// edited), lookups per second on one core (table lookup alone, and the full
// Router.route() the engine calls), and heap retained. Asserts nothing.
//
//   node_modules/.bin/node test/bench/ingress-translate.ts [seconds-per-lookup-run]

import { heapMb, median, seededRandom, timeMs } from './bench-utils.ts';
import type { V1Ingress, V1Service } from '@kubernetes/client-node';
import { IngressCompiler } from '../../src/ingress/compile/ingress-compiler.ts';
import type { HttpRequestInfo } from '../../src/ingress/match/request-view.ts';
import { RuntimeFactory } from '../../src/ingress/runtime/runtime-target.ts';
import type { Backend, RouteView } from '../../src/proxy/http/types.ts';
import { tableOf, wireRouter } from '../support/compiled-tables.ts';

const SECONDS = Number(process.argv[2] ?? 2);
const EXACT_HOSTS = 1600;
const WILDCARD_HOSTS = 400;
const PATHS_PER_HOST = 5;
const SERVICES = 500;
const CANARIES = 100;
const REQUESTS = 65_536;
const N = 'nginx.ingress.kubernetes.io/';

const rnd = seededRandom(4242);

const exactHost = (i: number): string => `app${i}.team${i % 40}.example.com`;
const wildcardSuffix = (i: number): string => `zone${i}.example.net`;
const PATHS: readonly [string, 'Prefix' | 'Exact' | 'ImplementationSpecific'][] = [
  ['/', 'Prefix'],
  ['/api', 'Prefix'],
  ['/api/v1', 'Prefix'],
  ['/static', 'Prefix'],
  ['/healthz', 'Exact'],
];

function service(i: number): V1Service {
  return { metadata: { namespace: `ns${i % 50}`, name: `svc-${i}`, resourceVersion: '1' }, spec: { ports: [{ name: 'http', port: 80, protocol: 'TCP' }] } };
}

function ingress(h: number, version = 1, svcShift = 0): V1Ingress {
  const host = h < EXACT_HOSTS ? exactHost(h) : `*.${wildcardSuffix(h - EXACT_HOSTS)}`;
  const ns = `ns${h % 50}`;
  const annotations: Record<string, string> = {};
  if (h % 10 === 0) annotations[`${N}proxy-body-size`] = '8m';
  if (h % 25 === 0) annotations[`${N}whitelist-source-range`] = '198.18.0.0/15';
  if (h % 50 === 0) annotations[`${N}limit-rps`] = '100';
  return {
    metadata: { namespace: ns, name: `ing-${h}`, resourceVersion: String(version), creationTimestamp: new Date(1_700_000_000_000 + h * 1000), annotations },
    spec: {
      ingressClassName: 'metalgate',
      rules: [
        {
          host,
          http: {
            paths: PATHS.slice(0, PATHS_PER_HOST).map(([path, pathType], k) => ({
              path,
              pathType,
              backend: { service: { name: `svc-${(h % 50) + 50 * ((h + k + svcShift) % (SERVICES / 50))}`, port: { number: 80 } } },
            })),
          },
        },
      ],
    },
  };
}

function canary(h: number, weight: number): V1Ingress {
  return {
    metadata: {
      namespace: `ns${h % 50}`,
      name: `ing-${h}-canary`,
      resourceVersion: String(weight),
      creationTimestamp: new Date(1_800_000_000_000 + h),
      annotations: { [`${N}canary`]: 'true', [`${N}canary-weight`]: String(weight), [`${N}canary-by-header`]: 'x-canary' },
    },
    spec: { ingressClassName: 'metalgate', rules: [{ host: exactHost(h), http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: `svc-${h % 50}`, port: { number: 80 } } } }] } }] },
  };
}

function requests(): RouteView[] {
  const browser = { 'user-agent': 'Mozilla/5.0', accept: 'text/html' };
  const paths = ['/', '/api/v1/users/42', '/api/x', '/static/js/app.js', '/healthz', '/login', '/apix'];
  const flat = (x: string): string => Buffer.from(x, 'latin1').toString('latin1');
  const out: RouteView[] = [];
  for (let i = 0; i < REQUESTS; i++) {
    const k = rnd(100);
    const host = k < 85 ? exactHost(rnd(EXACT_HOSTS)) : k < 97 ? `tenant${rnd(1000)}.${wildcardSuffix(rnd(WILDCARD_HOSTS))}` : `unknown${rnd(500)}.example.org`;
    out.push({ host: flat(host), path: flat(paths[rnd(paths.length)]!), method: 'GET', headers: rnd(2) ? browser : {}, query: '', clientIp: '198.18.1.2', tls: true, localPort: 443 });
  }
  return out;
}

const backend: Backend = { name: 'b', protocol: 'http', pick: () => ({ ip: '127.0.0.1', port: 1, ready: true, serving: true, terminating: false }) };

function main(): void {
  const heap0 = heapMb();
  const runtime = new RuntimeFactory({ backend: () => backend });
  const compiler = new IngressCompiler();
  compiler.setIngressClass({ metadata: { name: 'metalgate' }, spec: { controller: 'metalgate.io/ingress-controller' } });
  for (let i = 0; i < SERVICES; i++) compiler.setService(service(i));
  const hosts = EXACT_HOSTS + WILDCARD_HOSTS;
  for (let h = 0; h < hosts; h++) compiler.setIngress(ingress(h));
  for (let c = 0; c < CANARIES; c++) compiler.setIngress(canary(c * 13, 10));

  let out = compiler.compile();
  const heapBuilt = heapMb();
  // First build on a fresh compiler (what a restart costs).
  const fresh = new IngressCompiler();
  fresh.setIngressClass({ metadata: { name: 'metalgate' }, spec: { controller: 'metalgate.io/ingress-controller' } });
  for (let i = 0; i < SERVICES; i++) fresh.setService(service(i));
  for (let h = 0; h < hosts; h++) fresh.setIngress(ingress(h));
  for (let c = 0; c < CANARIES; c++) fresh.setIngress(canary(c * 13, 10));
  const firstBuild = timeMs(() => fresh.compile());

  const routes = out.specs.websecure.size;
  const errors = out.diagnostics.filter((d) => d.severity === 'error').length;

  const edit: number[] = [];
  const weight: number[] = [];
  const svcEdit: number[] = [];
  const noop: number[] = [];
  for (let i = 0; i < 40; i++) {
    const h = rnd(hosts);
    compiler.setIngress(ingress(h, 2 + i, 1 + i));
    edit.push(timeMs(() => (out = compiler.compile())));
    const c = rnd(CANARIES) * 13;
    compiler.setIngress(canary(c, 11 + i));
    weight.push(timeMs(() => (out = compiler.compile())));
    const s = service(rnd(SERVICES));
    s.metadata!.resourceVersion = String(10 + i);
    compiler.setService(s);
    svcEdit.push(timeMs(() => (out = compiler.compile())));
    noop.push(timeMs(() => (out = compiler.compile())));
  }

  const router = wireRouter(out, runtime.materialize);
  const reqs = requests();
  const mask = REQUESTS - 1;
  const run = (label: string, fn: (r: RouteView) => unknown): number => {
    for (let i = 0; i < 200_000; i++) fn(reqs[i & mask]!); // warm up
    let n = 0;
    let sink = 0;
    const deadline = process.hrtime.bigint() + BigInt(Math.round(SECONDS * 1e9));
    const start = process.hrtime.bigint();
    while (process.hrtime.bigint() < deadline) {
      for (let i = 0; i < 65_536; i++) if (fn(reqs[(n + i) & mask]!) !== undefined) sink++;
      n += 65_536;
    }
    const secs = Number(process.hrtime.bigint() - start) / 1e9;
    const rate = n / secs;
    console.log(`  ${label.padEnd(38)} ${(rate / 1e6).toFixed(2)} M/s  (${((sink / n) * 100).toFixed(1)}% matched)`);
    return rate;
  };

  console.log(`ingress translator: ${hosts + CANARIES} Ingress objects, ${routes} routes (${EXACT_HOSTS} exact + ${WILDCARD_HOSTS} wildcard hosts, ${CANARIES} canaries), ${SERVICES} Services, ${errors} errors`);
  console.log(`  first build (fresh compiler)           ${firstBuild.toFixed(1)} ms`);
  console.log(`  rebuild after one Ingress edit         median ${median(edit).toFixed(2)} ms, max ${Math.max(...edit).toFixed(2)} ms`);
  console.log(`  rebuild after one canary weight change median ${median(weight).toFixed(2)} ms, max ${Math.max(...weight).toFixed(2)} ms`);
  console.log(`  rebuild after one Service edit         median ${median(svcEdit).toFixed(2)} ms, max ${Math.max(...svcEdit).toFixed(2)} ms`);
  console.log(`  compile with nothing changed           median ${median(noop).toFixed(2)} ms`);
  console.log(`  heap retained (objects, caches, specs) ${(heapBuilt - heap0).toFixed(1)} MB`);
  console.log('lookups on one core:');
  run('table.lookup (websecure)', (r: HttpRequestInfo) => tableOf(out, 'websecure').lookup(r));
  run('IngressRouter.route (all TLS)', (r) => router.route(r));
  // Half plain, half TLS: both tables' buckets compete for the caches.
  for (let i = 0; i < reqs.length; i += 2) reqs[i] = { ...reqs[i]!, tls: false };
  run('IngressRouter.route (half plain, half TLS)', (r) => router.route(r));
}

main();
