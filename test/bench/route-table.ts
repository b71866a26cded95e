// Route table benchmark: 10,000 routes over 2,000 hosts (exact and wildcard
// Ingress hosts, Exact/Prefix paths, Traefik rules with and without Host),
// then build time, rebuild after changing one route, lookups per second on
// one core over a realistic request mix, garbage collections during the
// lookup loop (0 means the lookups do not allocate), and heap retained.
// Prints figures; asserts nothing.
//
//   node_modules/.bin/node test/bench/route-table.ts [seconds-per-lookup-run]
//
// Works with or without --expose-gc (it enables gc itself for the heap
// figures).
import { PerformanceObserver } from 'node:perf_hooks';
import { collectGarbage, heapMb, median, seededRandom, timeMs } from './bench-utils.ts';
import { compileTraefikRule, type CompiledTraefikRule } from '../../src/ingress/match/traefik-rule-compiler.ts';
import { compileRouteTable, type RouteSpec, type RouteTable } from '../../src/ingress/match/route-table.ts';
import type { HttpRequestInfo } from '../../src/ingress/match/request-view.ts';
import type { IngressPathType } from '../../src/ingress/match/ingress-path.ts';

const SECONDS = Number(process.argv[2] ?? 2);
const EXACT_HOSTS = 1600;
const WILDCARD_HOSTS = 400;
const TOTAL_ROUTES = 10_000;
const TRAEFIK_HOST_RULES = 480;
const TRAEFIK_HOSTLESS_RULES = 20;
const REQUESTS = 65_536;

/** Deterministic PRNG so every run builds the same data. */
const rnd = seededRandom(12345);



interface Target {
  service: string;
  port: number;
}

const exactHost = (i: number): string => `app${i}.team${i % 40}.example.com`;
const wildcardSuffix = (i: number): string => `zone${i}.example.net`;

const PATHS: readonly [string, IngressPathType][] = [
  ['/', 'Prefix'],
  ['/api', 'Prefix'],
  ['/api/v1', 'Prefix'],
  ['/api/v1/users', 'Prefix'],
  ['/static', 'Prefix'],
  ['/healthz', 'Exact'],
  ['/login', 'Exact'],
  ['/assets/img', 'ImplementationSpecific'],
];

function rule(src: string): CompiledTraefikRule {
  const r = compileTraefikRule(src);
  if (!r.ok) throw new Error(`${src}: ${r.error.message}`);
  return r.rule;
}

function traefikSources(): { hostRules: string[]; hostless: string[] } {
  const hostRules: string[] = [];
  for (let i = 0; i < TRAEFIK_HOST_RULES; i++) {
    const h = exactHost((i * 7) % EXACT_HOSTS);
    switch (i % 4) {
      case 0:
        hostRules.push(`Host(\`${h}\`) && PathPrefix(\`/admin\`)`);
        break;
      case 1:
        hostRules.push(`Host(\`${h}\`) && PathPrefix(\`/api\`) && Header(\`X-Canary\`, \`always\`)`);
        break;
      case 2:
        hostRules.push(`Host(\`${h}\`) && (Path(\`/a\`) || Path(\`/b\`) || PathRegexp(\`^/c/[0-9]+$\`))`);
        break;
      default:
        hostRules.push(`(Host(\`${h}\`) || Host(\`www.${h}\`)) && Method(\`POST\`) && PathPrefix(\`/upload\`)`);
    }
  }
  const hostless: string[] = [];
  for (let i = 0; i < TRAEFIK_HOSTLESS_RULES; i++) {
    switch (i % 5) {
      case 0:
        hostless.push(`PathPrefix(\`/.well-known/acme-challenge/${i}/\`)`);
        break;
      case 1:
        hostless.push(`HostRegexp(\`^legacy-${i}-[0-9]+\\.example\\.org$\`)`);
        break;
      case 2:
        hostless.push(`Header(\`X-Debug-${i}\`, \`1\`) && PathPrefix(\`/debug\`)`);
        break;
      case 3:
        hostless.push(`ClientIP(\`198.18.${i}.0/24\`) && PathPrefix(\`/internal\`)`);
        break;
      default:
        hostless.push(`QueryRegexp(\`trace${i}\`, \`^[a-f0-9]{16}$\`)`);
    }
  }
  return { hostRules, hostless };
}

function buildRoutes(compiled: Map<string, CompiledTraefikRule>): RouteSpec<Target>[] {
  const routes: RouteSpec<Target>[] = [];
  const ingressCount = TOTAL_ROUTES - TRAEFIK_HOST_RULES - TRAEFIK_HOSTLESS_RULES;
  const hostCount = EXACT_HOSTS + WILDCARD_HOSTS;
  // Every host routes `/` (as most Ingresses do) plus 3-4 more paths.
  for (let i = 0; i < ingressCount; i++) {
    const h = i % hostCount;
    const round = Math.floor(i / hostCount);
    const [path, pathType] = round === 0 ? PATHS[0]! : PATHS[1 + ((round * 3 + h) % (PATHS.length - 1))]!;
    const host = h < EXACT_HOSTS ? exactHost(h) : `*.${wildcardSuffix(h - EXACT_HOSTS)}`;
    routes.push({
      kind: 'ingress',
      id: `ns${h % 50}/ing-${h}#${path}`,
      source: 'ingress',
      host,
      path,
      pathType,
      target: { service: `svc-${h}`, port: 80 + (i % 3) },
    });
  }
  let n = 0;
  for (const r of compiled.values()) {
    routes.push({ kind: 'traefik', id: `traefik/route-${n}`, source: 'traefik', rule: r, priority: 0, target: { service: `tr-${n}`, port: 8080 } });
    n++;
  }
  return routes;
}

type Category = 'exact host' | 'wildcard host' | 'traefik rule' | 'unknown host' | 'host with port/case';

/** The mix: 80% exact hosts, 10% wildcard, 5% Traefik-only paths, 3% unknown hosts, 2% Host with port/uppercase. */
function buildRequests(): { req: HttpRequestInfo; category: Category }[] {
  const noHeaders = {};
  const browser = { 'user-agent': 'Mozilla/5.0', accept: 'text/html', 'accept-encoding': 'gzip' };
  const canary = { ...browser, 'x-canary': 'always' };
  const reqPaths = ['/', '/api/v1/users/42', '/api/v2/items', '/static/js/app.js', '/healthz', '/login', '/products/42', '/assets/img/logo.png', '/apix'];
  // Like strings read off a socket: flat, not concatenation trees.
  const flat = (x: string): string => Buffer.from(x, 'latin1').toString('latin1');
  const out: { req: HttpRequestInfo; category: Category }[] = [];
  for (let i = 0; i < REQUESTS; i++) {
    const kind = rnd(100);
    let host: string;
    let category: Category;
    let path = reqPaths[rnd(reqPaths.length)]!;
    let method = 'GET';
    let headers: HttpRequestInfo['headers'] = rnd(2) ? browser : noHeaders;
    if (kind < 80) {
      host = exactHost(rnd(EXACT_HOSTS));
      category = 'exact host';
    } else if (kind < 90) {
      host = `tenant${rnd(1000)}.${wildcardSuffix(rnd(WILDCARD_HOSTS))}`;
      category = 'wildcard host';
    } else if (kind < 95) {
      host = exactHost((rnd(TRAEFIK_HOST_RULES) * 7) % EXACT_HOSTS);
      category = 'traefik rule';
      const r = rnd(3);
      if (r === 0) path = '/admin/users';
      else if (r === 1) {
        path = '/api/v1/x';
        headers = canary;
      } else {
        path = '/upload/file';
        method = 'POST';
      }
    } else if (kind < 98) {
      host = `unknown${rnd(500)}.example.org`;
      category = 'unknown host';
    } else {
      host = `${exactHost(rnd(EXACT_HOSTS)).toUpperCase()}:8443`;
      category = 'host with port/case';
    }
    const req = { host: flat(host), path: flat(path), method, headers, query: rnd(10) === 0 ? 'page=2&sort=name' : '', clientIp: `198.18.${rnd(256)}.${rnd(256)}` };
    out.push({ req, category });
  }
  return out;
}



/**
 * Lookups/s over `requests` for about `seconds`, measured in passes over the
 * list: `median` is the median pass, `best` the fastest (this machine is
 * shared, so single long runs swing with other load). Also counts GCs.
 */
async function lookupRate(
  table: RouteTable<Target>,
  requests: HttpRequestInfo[],
  seconds: number,
): Promise<{ median: number; best: number; gcs: number; routed: number }> {
  let gcs = 0;
  const obs = new PerformanceObserver((list) => {
    gcs += list.getEntries().length;
  });
  const mask = requests.length - 1;
  // Warm up (JIT) first.
  for (let i = 0; i < 200_000; i++) table.lookup(requests[i & mask]!);
  let routed = 0;
  for (const r of requests) if (table.match(r) !== undefined) routed++;
  collectGarbage();
  await new Promise((r) => setImmediate(r));
  obs.observe({ entryTypes: ['gc'] });
  let sink = 0;
  const rates: number[] = [];
  const budget = seconds * 1e9;
  const start = process.hrtime.bigint();
  let t0 = start;
  while (Number(t0 - start) < budget) {
    for (let i = 0; i < requests.length; i++) sink += table.lookup(requests[i]!)!.port;
    const t1 = process.hrtime.bigint();
    rates.push(requests.length / (Number(t1 - t0) / 1e9));
    t0 = t1;
  }
  await new Promise((r) => setImmediate(r));
  obs.disconnect();
  if (sink === 0) throw new Error('no lookups');
  return { median: median(rates), best: Math.max(...rates), gcs, routed: routed / requests.length };
}

/** Repeats a subset up to a power-of-two length so the loop can mask. */
function pow2(list: HttpRequestInfo[]): HttpRequestInfo[] {
  const out: HttpRequestInfo[] = [];
  while (out.length < 4096) out.push(...list);
  out.length = 4096;
  return out;
}

async function main(): Promise<void> {
  const fmt = (n: number, d = 1): string => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
  console.log(`route table benchmark: node ${process.version}, ${TOTAL_ROUTES} routes, ${EXACT_HOSTS + WILDCARD_HOSTS} hosts (${EXACT_HOSTS} exact, ${WILDCARD_HOSTS} wildcard)`);

  const heap0 = heapMb();
  const { hostRules, hostless } = traefikSources();
  const compiled = new Map<string, CompiledTraefikRule>();
  const parseMs = timeMs(() => {
    for (const src of [...hostRules, ...hostless]) compiled.set(src, rule(src));
  });
  const routes = buildRoutes(compiled);
  const kinds = { ingress: routes.filter((r) => r.kind === 'ingress').length, traefik: routes.filter((r) => r.kind === 'traefik').length };

  let table = compileRouteTable(routes, { defaultTarget: { service: 'default-backend', port: 80 } });
  const builds: number[] = [];
  for (let i = 0; i < 7; i++) builds.push(timeMs(() => (table = compileRouteTable(routes, { defaultTarget: { service: 'default-backend', port: 80 } }))));
  if (table.issues.length > 0) throw new Error(`unexpected issues: ${JSON.stringify(table.issues.slice(0, 3))}`);
  const heapTable = heapMb();

  // Change one route: a new path on one host, and one Traefik rule.
  const changedIngress: RouteSpec<Target> = { ...(routes[123] as RouteSpec<Target>), path: '/changed', pathType: 'Exact' } as RouteSpec<Target>;
  const rebuildFull: number[] = [];
  const rebuildUpdate: number[] = [];
  const rebuildTraefik: number[] = [];
  const changedList = routes.map((r, i) => (i === 123 ? changedIngress : r));
  const hostlessRoute = routes[routes.length - 1]!;
  const changedHostless: RouteSpec<Target> = { ...hostlessRoute, target: { service: 'changed', port: 1 } };
  for (let i = 0; i < 15; i++) {
    rebuildFull.push(timeMs(() => void compileRouteTable(changedList, { defaultTarget: table.defaultTarget })));
    rebuildUpdate.push(timeMs(() => void table.update({ upsert: [changedIngress] })));
    rebuildTraefik.push(timeMs(() => void table.update({ upsert: [changedHostless] })));
  }

  const mix = buildRequests();
  const requests = mix.map((m) => m.req);
  const rate = await lookupRate(table, requests, SECONDS);
  const perCategory: [Category, number, number][] = [];
  for (const category of ['exact host', 'wildcard host', 'traefik rule', 'unknown host', 'host with port/case'] as const) {
    const subset = mix.filter((m) => m.category === category).map((m) => m.req);
    const r = await lookupRate(table, pow2(subset), Math.min(0.5, SECONDS / 4));
    perCategory.push([category, r.median, subset.length / mix.length]);
  }

  console.log('');
  console.log(`routes                          ${kinds.ingress} ingress + ${kinds.traefik} traefik (${hostless.length} host-less)`);
  console.log(`parse+compile Traefik rules     ${fmt(parseMs)} ms for ${compiled.size} rules`);
  console.log(`full build (median of 7)        ${fmt(median(builds))} ms`);
  console.log(`rebuild, one route changed:`);
  console.log(`  full recompile (median)       ${fmt(median(rebuildFull))} ms`);
  console.log(`  update(), ingress route       ${fmt(median(rebuildUpdate), 2)} ms`);
  console.log(`  update(), host-less route     ${fmt(median(rebuildTraefik), 2)} ms`);
  console.log(`lookups/s, one core, the mix    ${fmt(rate.median / 1e6, 2)} M median pass, ${fmt(rate.best / 1e6, 2)} M best  (${fmt(1e9 / rate.median, 0)} ns/lookup; ${fmt(rate.routed * 100)}% routed, rest default backend)`);
  console.log(`  by kind of request (median):`);
  for (const [category, perSec, share] of perCategory) {
    console.log(`    ${`${category} (${fmt(share * 100, 0)}%)`.padEnd(27)}${fmt(perSec / 1e6, 2)} M  (${fmt(1e9 / perSec, 0)} ns)`);
  }
  console.log(`GCs during the mix loop         ${rate.gcs}`);
  console.log(`heap retained by the table      ${fmt(heapTable - heap0)} MB (rules + routes + index)`);
  console.log('');
  console.log(`goals: rebuild < 100 ms: ${median(rebuildFull) < 100 ? 'yes' : 'NO'} (full), ${median(rebuildUpdate) < 100 ? 'yes' : 'NO'} (update); >= 2M lookups/s: ${rate.median >= 2e6 ? 'yes' : 'NO'} (median pass)`);
}

await main();
