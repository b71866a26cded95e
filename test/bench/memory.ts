// Resident memory of the product's processes on a real API server, the way
// they run in the cluster (the CLI, as the manifests start it):
//   - `metalgate controller` with N LoadBalancer Services allocated;
//   - `metalgate speaker --proxy-workers 4` (the speaker's process with its 4
//     proxy worker threads), idle and with N Services and N Ingress rules.
// RSS from /proc/<pid>/smaps_rollup: at rest, 10 s after the work is done
// ("loaded") and 40 s after it ("loaded, settled": every thread has had the
// chance to give back, once quiet, what the work left).
// The processes run the built CLI with the manifests' node flags and the
// image's environment.
// Speaker with --no-dataplane and --l4-dataplane proxy: nothing leaves
// loopback, no address, route or nftables rule of the machine is touched.
//
//   node_modules/.bin/node test/bench/memory.ts [n=1000] [workers=4]
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { kubeConfigFromString } from '../support/kube-config.ts';
import { freePort, startControlPlane } from '../support/control-plane.ts';
import { nodeFlagsOf } from '../support/image-node-flags.ts';
import { jsonKubeconfig } from '../support/json-kubeconfig.ts';

const N = Number(process.argv[2] ?? 1000);
const WORKERS = Number(process.argv[3] ?? 4);
// The built CLI, as the image runs it (`npm run build:ts` first): running the .ts
// sources through Node's type stripping costs each process ~100 MiB more.
const cli = join(import.meta.dirname, '../../dist/cli.js');
// Each component's node flags as the manifests run it (the image's ENTRYPOINT,
// the controller's command); IMAGE_FLAGS=none runs without them, to compare.
const imageFlags = (component: 'controller' | 'speaker') => (process.env.IMAGE_FLAGS === 'none' ? [] : nodeFlagsOf(component));
// Extra V8/Node flags for both processes, to compare (NODE_FLAGS='--optimize-for-size').
const NODE_FLAGS = (process.env.NODE_FLAGS ?? '').split(' ').filter(Boolean);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// MEMORY=pss counts each shared page (the node binary's text, shared libraries)
// once across the processes, as the pod's memory cgroup does; RSS counts it in
// every process.
const MEASURE = process.env.MEMORY === 'pss' ? 'Pss' : 'Rss';
async function rssKiB(pid: number): Promise<number> {
  const rollup = await readFile(`/proc/${pid}/smaps_rollup`, 'utf8').catch(() => '');
  return Number(new RegExp(`^${MEASURE}:\\s+(\\d+)`, 'm').exec(rollup)?.[1] ?? 0);
}

/** The process and its child processes, if any, by /proc/<pid>/task/<pid>/children. */
async function treeRssMiB(pid: number): Promise<{ total: number; parts: number[] }> {
  const kids = (await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => '')).trim().split(/\s+/).filter(Boolean).map(Number);
  const parts = [await rssKiB(pid), ...(await Promise.all(kids.map(rssKiB)))].map((k) => Math.round(k / 102.4) / 10);
  return { total: Math.round(parts.reduce((a, b) => a + b, 0) * 10) / 10, parts };
}

/** V8's used heap (MiB) as the process's /metrics reports it (the primary's own, for the speaker). */
async function heapUsedMiB(port: number, what = 'heap_size_used_bytes'): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const own = text.split('\n').filter((l) => new RegExp(`^metalgate_\\w+_nodejs_${what}`).test(l));
  return Math.round(Number(own[0]?.split(' ')[1] ?? 0) / 104857.6) / 10;
}

async function waitReady(port: number, what: string): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if ((await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.status === 200) return;
    await sleep(200);
  }
  throw new Error(`${what} not ready`);
}

const procs: ChildProcess[] = [];
const cp = await startControlPlane({ progress: (l) => console.error(l) });
try {
  const kc = kubeConfigFromString(cp.kubeconfigYaml);
  // JSON: the components load no YAML parser, as in a pod (test/support/json-kubeconfig.ts).
  const kubeconfig = jsonKubeconfig(cp.kubeconfigPath);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  for (const ns of ['metalgate-system', 'bench']) await core.createNamespace({ body: { metadata: { name: ns } } });
  await core.createNamespacedConfigMap({
    namespace: 'metalgate-system',
    body: { metadata: { name: 'config' }, data: { config: 'address-pools:\n- name: bench\n  protocol: layer2\n  addresses: [198.18.64.0/18]\n' } },
  });
  await cp.kubectl(['apply', '-f', '-'], 'apiVersion: networking.k8s.io/v1\nkind: IngressClass\nmetadata: {name: metalgate}\nspec: {controller: metalgate.io/ingress-controller}\n');

  const start = async (args: string[]): Promise<{ proc: ChildProcess; port: number }> => {
    const port = await freePort();
    // As the manifests run it (node flags, the image's MALLOC_ARENA_MAX).
    const proc = spawn(process.execPath, [...imageFlags(args[0] === 'controller' ? 'controller' : 'speaker'), ...NODE_FLAGS, cli, ...args, '--kubeconfig', kubeconfig, '--metrics-address', '127.0.0.1', '--metrics-port', String(port), '--log-level', 'warn'], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, MALLOC_ARENA_MAX: '2' } });
    procs.push(proc);
    return { proc, port };
  };

  // --l4-dataplane proxy: this speaker runs in the machine's own network namespace, whose ruleset it must never write.
  const speaker = await start(['speaker', '--node-name', 'bench-node', '--no-dataplane', '--l4-dataplane', 'proxy', '--proxy-workers', String(WORKERS)]);
  await waitReady(speaker.port, 'speaker');
  // At rest: every thread gives back what starting left at its first quiet sample (src/common/heap-reclaimer.ts; samples every 5 s).
  await sleep(15_000);
  const speakerIdle = await treeRssMiB(speaker.proc.pid!);
  console.error(`speaker idle: ${JSON.stringify(speakerIdle)}`);

  const controller = await start(['controller']);
  await waitReady(controller.port, 'controller');
  const controllerIdle = await treeRssMiB(controller.proc.pid!);

  // N Services, and N Ingress rules (one host each, over N/10 Ingresses).
  const docs: string[] = [];
  for (let i = 0; i < N; i++) docs.push(`apiVersion: v1\nkind: Service\nmetadata: {name: s${i}, namespace: bench}\nspec: {type: LoadBalancer, ports: [{name: http, port: 80, targetPort: 8080}]}\n`);
  for (let i = 0; i < N / 10; i++) {
    const rules = Array.from({ length: 10 }, (_, j) => `  - host: h${i * 10 + j}.bench.example\n    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: s${i * 10 + j}, port: {number: 80}}}}]}\n`).join('');
    docs.push(`apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: i${i}, namespace: bench}\nspec:\n  ingressClassName: metalgate\n  rules:\n${rules}`);
  }
  const t0 = performance.now();
  await cp.kubectl(['apply', '--server-side', '-f', '-'], docs.join('---\n'));
  for (;;) {
    const list = await core.listNamespacedService({ namespace: 'bench' });
    if (list.items.filter((s) => (s.status?.loadBalancer?.ingress?.length ?? 0) > 0).length === N) break;
    await sleep(500);
  }
  console.error(`${N} Services allocated in ${Math.round(performance.now() - t0)} ms`);
  await sleep(10_000);
  const controllerLoaded = await treeRssMiB(controller.proc.pid!);
  const speakerLoaded = await treeRssMiB(speaker.proc.pid!);
  // Settled: 40 s after, once every thread has had its reclaim (at most one per 30 s, when quiet).
  await sleep(30_000);
  const controllerSettled = await treeRssMiB(controller.proc.pid!);
  const speakerSettled = await treeRssMiB(speaker.proc.pid!);
  const config = (await (await fetch(`http://127.0.0.1:${speaker.port}/config`)).json()) as { routes: { web: unknown[] }; endpoints: object };
  console.log(
    JSON.stringify(
      {
        services: N,
        ingressRules: (N / 10) * 10,
        routesServed: config.routes.web.length,
        workers: WORKERS,
        controllerMiB: { idle: controllerIdle.total, loaded: controllerLoaded.total, loadedSettled: controllerSettled.total, heapUsedLoaded: await heapUsedMiB(controller.port) },
        speakerHeapUsedMiB: await heapUsedMiB(speaker.port),
        speakerHeapTotalMiB: await heapUsedMiB(speaker.port, 'heap_size_total_bytes'),
        speakerExternalMiB: await heapUsedMiB(speaker.port, 'external_memory_bytes'),
        speakerMiB: { idle: speakerIdle.total, idleParts: speakerIdle.parts, loaded: speakerLoaded.total, loadedParts: speakerLoaded.parts, loadedSettled: speakerSettled.total },
      },
      null,
      2,
    ),
  );
} finally {
  for (const p of procs) if (p.exitCode === null) p.kill('SIGTERM');
  await sleep(3000);
  for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
  await cp.stop();
}
