// The controller's memory beside MetalLB's, on the same work: a real API
// server, one IPAddressPool (metallb.io/v1beta1) and N LoadBalancer Services,
// each controller alone on a control plane of its own. Resident (RSS) and
// proportional (PSS) size and the anonymous part (heap and stacks: what is
// not pages of a file, such as the program's own code) from
// /proc/<pid>/smaps_rollup: at rest 5 s after start, and 10 s and 40 s
// ("settled") after the last Service got its IP.
//
//   node_modules/.bin/node test/bench/controller-memory.ts [n=1000] [--only metalgate|metallb] [--hold seconds]
//
// Also the CPU time the allocations took, and a restart: from a new process's
// start until a Service created then has its IP. --hold keeps the settled
// controller running that long and prints the range its RSS (and, where its
// metrics say it, V8's committed heap) moves in, sampled every 10 s: whether
// what the settled sample shows is growth or a point in a steady range.
//
// metalgate: the built CLI (`npm run build:ts` first) as the manifests run it
// (the node flags of its container's command, the image's MALLOC_ARENA_MAX=2;
// NODE_FLAGS adds more, to compare), with the metallb.io
// CRDs of manifests/. MetalLB: its controller built from the Go module proxy
// by scripts/build-metallb.sh (once per machine, a few minutes), with its own
// CRDs, webhooks off (no certificates to serve here), as its manifests run it
// otherwise. Both read the API server's kubeconfig in JSON, which metalgate
// reads without loading a YAML parser, as in a pod, where it reads its
// ServiceAccount. Loopback only; every process started here is stopped by pid.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { kubeConfigFromString } from '../support/kube-config.ts';
import { freePort, startControlPlane } from '../support/control-plane.ts';
import { nodeFlagsOf } from '../support/image-node-flags.ts';
import { jsonKubeconfig } from '../support/json-kubeconfig.ts';

const N = Number(process.argv[2] && !process.argv[2].startsWith('--') ? process.argv[2] : 1000);
const onlyAt = process.argv.indexOf('--only');
const ONLY = onlyAt > 0 ? process.argv[onlyAt + 1] : undefined;
const holdAt = process.argv.indexOf('--hold');
const HOLD_S = holdAt > 0 ? Number(process.argv[holdAt + 1]) : 0;
const root = join(import.meta.dirname, '../..');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function sizesMiB(pid: number): Promise<{ rss: number; pss: number; anon: number }> {
  const rollup = await readFile(`/proc/${pid}/smaps_rollup`, 'utf8');
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(rollup)?.[1] ?? 0);
  const mib = (field: string) => Math.round(kib(field) / 102.4) / 10;
  return { rss: mib('Rss'), pss: mib('Pss'), anon: mib('Anonymous') };
}

const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/** CPU seconds (user + system) the process has used so far. */
async function cpuSeconds(pid: number): Promise<number> {
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

/** SIGTERM, and SIGKILL when the process has not exited 5 s later. */
async function stop(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGTERM');
  if ((await Promise.race([exited.then(() => true), sleep(5000).then(() => false)])) === false) {
    proc.kill('SIGKILL');
    await exited;
  }
}

/** V8's committed heap (MiB) as the process's /metrics says it, if it does. */
async function heapTotalMiB(metricsPort: number): Promise<number | undefined> {
  const text = await fetch(`http://127.0.0.1:${metricsPort}/metrics`).then((r) => r.text(), () => '');
  const m = /^\w*nodejs_heap_size_total_bytes (\S+)/m.exec(text);
  return m ? Math.round(Number(m[1]) / 104857.6) / 10 : undefined;
}

/** RSS (and committed heap) range over `seconds`, sampled every 10 s. */
async function hold(pid: number, metricsPort: number, seconds: number): Promise<{ seconds: number; rss: [number, number]; heapTotal?: [number, number] }> {
  const rss: number[] = [];
  const heap: number[] = [];
  for (let t = 0; t < seconds; t += 10) {
    await sleep(10_000);
    rss.push((await sizesMiB(pid)).rss);
    const h = await heapTotalMiB(metricsPort);
    if (h !== undefined) heap.push(h);
  }
  const range = (xs: number[]): [number, number] => [Math.min(...xs), Math.max(...xs)];
  return { seconds, rss: range(rss), ...(heap.length > 0 ? { heapTotal: range(heap) } : {}) };
}

interface Peer {
  readonly name: string;
  /** CRD manifests to apply. */
  readonly crds: string[];
  start(kubeconfigPath: string, metricsPort: number): ChildProcess;
}

function metalgate(): Peer {
  return {
    name: 'metalgate',
    crds: [readFileSync(join(root, 'manifests/01-metallb-crds.yaml'), 'utf8')],
    start: (kubeconfig, port) =>
      spawn(process.execPath, [...nodeFlagsOf('controller'), ...(process.env.NODE_FLAGS ?? '').split(' ').filter(Boolean), join(root, 'dist/cli.js'), 'controller', '--kubeconfig', kubeconfig, '--metrics-address', '127.0.0.1', '--metrics-port', String(port), '--log-level', 'warn'], {
        stdio: ['ignore', 'ignore', 'inherit'],
        env: { ...process.env, MALLOC_ARENA_MAX: '2' },
      }),
  };
}

function metallb(): Peer {
  const built = spawnSync('bash', [join(root, 'scripts/build-metallb.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (built.status !== 0) throw new Error('scripts/build-metallb.sh failed');
  const dir = built.stdout.trim().split('\n').at(-1)!;
  const crdDir = join(dir, 'crds');
  return {
    name: 'MetalLB v0.15.2',
    crds: readdirSync(crdDir).filter((f) => f.endsWith('.yaml')).map((f) => readFileSync(join(crdDir, f), 'utf8')),
    start: (kubeconfig, port) =>
      spawn(join(dir, 'bin/controller'), ['--namespace', 'metallb-system', '--webhook-mode', 'disabled', '--disable-cert-rotation', '--port', String(port), '--log-level', 'warn'], {
        stdio: ['ignore', 'ignore', 'inherit'],
        env: { ...process.env, KUBECONFIG: kubeconfig },
      }),
  };
}

async function measure(peer: Peer): Promise<object> {
  const cp = await startControlPlane({ progress: (l) => console.error(l) });
  let proc: ChildProcess | undefined;
  try {
    const core = kubeConfigFromString(cp.kubeconfigYaml).makeApiClient(k8s.CoreV1Api);
    for (const ns of ['metallb-system', 'metalgate-system', 'bench']) await core.createNamespace({ body: { metadata: { name: ns } } });
    for (const crd of peer.crds) await cp.kubectl(['apply', '--server-side', '-f', '-'], crd);
    await cp.kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd/ipaddresspools.metallb.io']);
    await cp.kubectl(['apply', '-f', '-'], 'apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {name: bench, namespace: metallb-system}\nspec: {addresses: [198.18.64.0/18]}\n');
    const kubeconfig = jsonKubeconfig(cp.kubeconfigPath);
    const metricsPort = await freePort();
    proc = peer.start(kubeconfig, metricsPort);
    await sleep(5000);
    if (proc.exitCode !== null) throw new Error(`${peer.name} exited with ${proc.exitCode}`);
    const idle = await sizesMiB(proc.pid!);
    const cpuAtRest = await cpuSeconds(proc.pid!);
    const docs = Array.from({ length: N }, (_, i) => `apiVersion: v1\nkind: Service\nmetadata: {name: s${i}, namespace: bench}\nspec: {type: LoadBalancer, ports: [{name: http, port: 80, targetPort: 8080}]}\n`);
    const t0 = performance.now();
    await cp.kubectl(['apply', '--server-side', '-f', '-'], docs.join('---\n'));
    const deadline = Date.now() + 300_000;
    for (;;) {
      const list = await core.listNamespacedService({ namespace: 'bench' });
      if (list.items.filter((s) => (s.status?.loadBalancer?.ingress?.length ?? 0) > 0).length === N) break;
      if (Date.now() > deadline) throw new Error(`${peer.name}: not every Service got an IP in 300 s`);
      await sleep(500);
    }
    const allocatedMs = Math.round(performance.now() - t0);
    await sleep(10_000);
    const loaded = await sizesMiB(proc.pid!);
    const allocationCpuS = Math.round(((await cpuSeconds(proc.pid!)) - cpuAtRest) * 100) / 100;
    // Settled: 40 s after, once a quiet metalgate has had its reclaim (at
    // most one per 30 s) and Go's scavenger a while to return pages.
    await sleep(30_000);
    const settled = await sizesMiB(proc.pid!);
    const held = HOLD_S > 0 ? await hold(proc.pid!, metricsPort, HOLD_S) : undefined;
    // A restart over the N allocated Services: from the new process's start
    // until a Service created with it has its IP, which takes reading back
    // every allocation first.
    await stop(proc);
    const t1 = performance.now();
    proc = peer.start(kubeconfig, await freePort());
    await core.createNamespacedService({ namespace: 'bench', body: { metadata: { name: 'after-restart' }, spec: { type: 'LoadBalancer', ports: [{ name: 'http', port: 80, targetPort: 8080 }] } } });
    while (((await core.readNamespacedServiceStatus({ namespace: 'bench', name: 'after-restart' })).status?.loadBalancer?.ingress?.length ?? 0) === 0) {
      if (performance.now() - t1 > 120_000) throw new Error(`${peer.name}: no IP 120 s after a restart`);
      await sleep(50);
    }
    const restartMs = Math.round(performance.now() - t1);
    const restartCpuS = Math.round((await cpuSeconds(proc.pid!)) * 100) / 100;
    return { controller: peer.name, services: N, allocatedMs, allocationCpuS, restartMs, restartCpuS, idleMiB: idle, loadedMiB: loaded, settledMiB: settled, ...(held ? { heldMiB: held } : {}) };
  } finally {
    if (proc !== undefined) await stop(proc);
    await cp.stop();
  }
}

const peers = [metalgate, metallb].filter((p) => ONLY === undefined || p.name === ONLY);
for (const make of peers) console.log(JSON.stringify(await measure(make())));
