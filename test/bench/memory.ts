// Resident memory of the product's processes on a real API server, the way
// they run in the cluster (the CLI, as the manifests start it):
//   - `metalgate controller` with N LoadBalancer Services allocated;
//   - `metalgate speaker --proxy-workers 4` (the speaker's process with its 4
//     proxy worker threads), idle and with N Services (one endpoint each)
//     and N Ingress rules.
// RSS from /proc/<pid>/smaps_rollup: at rest, 10 s after the work is done
// ("loaded") and 40 s after it ("loaded, settled": every thread has had the
// chance to give back, once quiet, what the work left).
// The processes run the built CLI with the manifests' node flags and the
// image's environment.
//
// Where the speaker runs:
//   - by default, with --no-dataplane and --l4-dataplane proxy in the
//     machine's own network namespace: nothing leaves loopback, no address,
//     route or nftables rule of the machine is touched; its node has no Node
//     object, so it owns no IP and its workers listen on nothing (they hold
//     the routes and the Services' endpoints);
//   - with --lab, as the manifests run it (addresses, announcements, kernel
//     forwarding of the Services' ports, the ingress entrypoint Service
//     serving the Ingress rules) on a node of a namespace LAN
//     (test/support/lab.ts, root only); --lab --l4-dataplane proxy puts the
//     Services' ports on the workers' listeners there too. There the
//     speaker is then restarted, to time one election that hands it every
//     IP at once (until ready, until its holder device carries them all,
//     until it announces them all).
//
//   node_modules/.bin/node test/bench/memory.ts [n=1000] [workers=4] [--lab [--l4-dataplane kernel|proxy]]
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { kubeConfigFromString } from '../support/kube-config.ts';
import { freePort, startControlPlane } from '../support/control-plane.ts';
import { nodeFlagsOf } from '../support/image-node-flags.ts';
import { jsonKubeconfig } from '../support/json-kubeconfig.ts';
import { Lab, type LabNode } from '../support/lab.ts';
import { labSkipReason, nodeBinary } from '../support/netns-exec.ts';

const flagArgs = process.argv.slice(2);
const positional = flagArgs.filter((a, i) => !a.startsWith('--') && !flagArgs[i - 1]?.startsWith('--l4'));
const N = Number(positional[0] ?? 1000);
const WORKERS = Number(positional[1] ?? 4);
const IN_LAB = flagArgs.includes('--lab');
const LAB_L4 = flagArgs.includes('--l4-dataplane') ? flagArgs[flagArgs.indexOf('--l4-dataplane') + 1] : 'kernel';
if (LAB_L4 !== 'kernel' && LAB_L4 !== 'proxy') throw new Error('--l4-dataplane must be kernel or proxy');
if (IN_LAB && labSkipReason() !== null) throw new Error(`--lab: ${labSkipReason()}`);
// The built CLI, as the image runs it (`npm run build:ts` first): running the .ts
// sources through Node's type stripping costs each process ~100 MiB more.
const cli = join(import.meta.dirname, '../../dist/cli.js');
// Each component's node flags as the manifests run it (the image's ENTRYPOINT,
// the controller's command); IMAGE_FLAGS=none runs without them, to compare.
const imageFlags = (component: 'controller' | 'speaker') => (process.env.IMAGE_FLAGS === 'none' ? [] : nodeFlagsOf(component));
// Extra V8/Node flags for both processes, to compare (NODE_FLAGS='--optimize-for-size').
const NODE_FLAGS = (process.env.NODE_FLAGS ?? '').split(' ').filter(Boolean);
// glibc's malloc arenas as the image sets them (Dockerfile: MALLOC_ARENA_MAX=2); ARENAS=1 to compare.
const ARENAS = process.env.ARENAS ?? '2';
// A command the lab speaker runs under, to see where its C heap goes
// (SPEAKER_WRAP="heaptrack -o /tmp/speaker"; kill the speaker at "speaker
// settled:" and `heaptrack_print --print-leaks 1` lists what was live then).
const SPEAKER_WRAP = (process.env.SPEAKER_WRAP ?? '').split(' ').filter(Boolean);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// MEMORY=pss counts each shared page (the node binary's text, shared libraries)
// once across the processes, as the pod's memory cgroup does; RSS counts it in
// every process.
const MEASURE = process.env.MEMORY === 'pss' ? 'Pss' : 'Rss';
async function rssKiB(pid: number): Promise<number> {
  const rollup = await readFile(`/proc/${pid}/smaps_rollup`, 'utf8').catch(() => '');
  return Number(new RegExp(`^${MEASURE}:\\s+(\\d+)`, 'm').exec(rollup)?.[1] ?? 0);
}

/** The highest RSS the process has had (VmHWM: the burst's peak, which the samples may miss), MiB. */
async function peakRssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  return Math.round(Number(/^VmHWM:\s+(\d+)/m.exec(status)?.[1] ?? 0) / 102.4) / 10;
}

/** CPU seconds (user + system) of a process (`/proc/<pid>/stat`) or of one of its threads (`/proc/<pid>/task/<tid>/stat`). */
async function cpuSeconds(statPath: string): Promise<number> {
  const stat = await readFile(statPath, 'utf8').catch(() => '');
  // Fields after the command name, which may hold spaces: utime and stime are the 12th and 13th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // USER_HZ: 100 on Linux
}

/** The share of one core the speaker's process and its main thread use over `ms` (at rest: what its timers and watches cost). */
async function idleCpu(pid: number, ms: number): Promise<{ processPercent: number; mainThreadPercent: number }> {
  const [p0, t0] = [await cpuSeconds(`/proc/${pid}/stat`), await cpuSeconds(`/proc/${pid}/task/${pid}/stat`)];
  await sleep(ms);
  const [p1, t1] = [await cpuSeconds(`/proc/${pid}/stat`), await cpuSeconds(`/proc/${pid}/task/${pid}/stat`)];
  const pct = (d: number) => Math.round((d / (ms / 1000)) * 1000) / 10;
  return { processPercent: pct(p1 - p0), mainThreadPercent: pct(t1 - t0) };
}

/** The process and its child processes, if any, by /proc/<pid>/task/<pid>/children. */
async function treeRssMiB(pid: number): Promise<{ total: number; parts: number[] }> {
  const kids = (await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => '')).trim().split(/\s+/).filter(Boolean).map(Number);
  const parts = [await rssKiB(pid), ...(await Promise.all(kids.map(rssKiB)))].map((k) => Math.round(k / 102.4) / 10);
  return { total: Math.round(parts.reduce((a, b) => a + b, 0) * 10) / 10, parts };
}

/** A process's metrics port: reached from here, or from inside the lab node it runs in. */
interface MetricsPort {
  port: number;
  node?: LabNode;
}

/** The body of GET path on the metrics port, or undefined when it does not answer 200. */
async function getText(at: MetricsPort, path: string): Promise<string | undefined> {
  const url = `http://127.0.0.1:${at.port}${path}`;
  if (at.node === undefined) {
    const r = await fetch(url).catch(() => undefined);
    return r?.status === 200 ? r.text() : undefined;
  }
  return (await at.node.exec('curl', ['-sf', '-m', '5', url], { timeoutMs: 10_000 }).catch(() => undefined))?.stdout;
}

/** V8's used heap (MiB) as the process's /metrics reports it (the primary's own, for the speaker). */
async function heapUsedMiB(at: MetricsPort, what = 'heap_size_used_bytes'): Promise<number> {
  const text = (await getText(at, '/metrics')) ?? '';
  const own = text.split('\n').filter((l) => new RegExp(`^metalgate_\\w+_nodejs_${what}`).test(l));
  return Math.round(Number(own[0]?.split(' ')[1] ?? 0) / 104857.6) / 10;
}

async function waitReady(at: MetricsPort, what: string): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if ((await getText(at, '/readyz')) !== undefined) return;
    await sleep(200);
  }
  throw new Error(`${what} not ready`);
}

// In the lab, the node's LAN carries the pool's subnet too (a second address
// on its interface): a speaker announces only IPs of a subnet it is on.
const POOL = '198.18.64.16-198.18.127.250';
const LAN_ADDRESS_IN_POOL_SUBNET = '198.18.64.1/18';

interface Started {
  pid: number;
  at: MetricsPort;
  /** What it printed, when known (a lab process's log). */
  output?: () => string;
  /** Ends it (lab processes: SIGTERM, then SIGKILL after 30 s). */
  stop?: () => Promise<void>;
}

const procs: ChildProcess[] = [];
let lab: Lab | undefined;
const cp = await startControlPlane({ progress: (l) => console.error(l) });
try {
  const kc = kubeConfigFromString(cp.kubeconfigYaml);
  // JSON: the components load no YAML parser, as in a pod (test/support/json-kubeconfig.ts).
  const kubeconfig = jsonKubeconfig(cp.kubeconfigPath);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  for (const ns of ['metalgate-system', 'bench']) await core.createNamespace({ body: { metadata: { name: ns } } });
  await core.createNamespacedConfigMap({
    namespace: 'metalgate-system',
    body: { metadata: { name: 'config' }, data: { config: `address-pools:\n- name: bench\n  protocol: layer2\n  addresses: [${POOL}]\n` } },
  });
  await cp.kubectl(['apply', '-f', '-'], 'apiVersion: networking.k8s.io/v1\nkind: IngressClass\nmetadata: {name: metalgate}\nspec: {controller: metalgate.io/ingress-controller}\n');

  const nodeArgs = (component: 'controller' | 'speaker', args: string[], port: number): string[] => [
    ...imageFlags(component),
    ...NODE_FLAGS,
    cli,
    ...args,
    '--kubeconfig',
    kubeconfig,
    '--metrics-address',
    '127.0.0.1',
    '--metrics-port',
    String(port),
    '--log-level',
    'warn',
  ];
  // As the manifests run it (node flags, the image's MALLOC_ARENA_MAX; ARENAS=N to compare).
  const start = async (component: 'controller' | 'speaker', args: string[]): Promise<Started> => {
    const port = await freePort();
    const proc = spawn(process.execPath, nodeArgs(component, args, port), { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, MALLOC_ARENA_MAX: ARENAS } });
    procs.push(proc);
    return { pid: proc.pid!, at: { port } };
  };
  // The speaker as its DaemonSet runs it, on a node of a namespace LAN: the
  // API server through the lab's relay, its Node object, the ingress
  // entrypoint Service the manifests create (ports 80 and 443, which serve
  // the Ingress rules).
  const startInLab = async (): Promise<Started> => {
    lab = await Lab.create({ nodes: ['node1'], ipv6: false, apiServer: cp, progress: (l) => console.error(l) });
    const node = lab.node('node1');
    await node.ip(['addr', 'add', LAN_ADDRESS_IN_POOL_SUBNET, 'dev', node.iface]);
    // A Kubernetes node forwards (kube-proxy and the CNI need it), and kernel forwarding does too; the namespace's own sysctl.
    await node.exec('sysctl', ['-q', '-w', 'net.ipv4.ip_forward=1']);
    await core.createNode({ body: { metadata: { name: node.name } } });
    await core.createNamespacedService({
      namespace: 'metalgate-system',
      body: {
        metadata: { name: 'metalgate-ingress', namespace: 'metalgate-system' },
        spec: { type: 'LoadBalancer', ports: [{ name: 'http', port: 80, targetPort: 80 }, { name: 'https', port: 443, targetPort: 443 }] },
      },
    });
    return spawnLabSpeaker(node);
  };
  const spawnLabSpeaker = async (node: LabNode): Promise<Started> => {
    const port = await freePort();
    const args = [nodeBinary(), ...nodeArgs('speaker', ['speaker', '--node-name', node.name, '--l4-dataplane', LAB_L4, '--proxy-workers', String(WORKERS)], port)];
    // SPEAKER_WRAP: the first speaker only, under a tool (its figures then include the tool's).
    const command = [...SPEAKER_WRAP.splice(0), ...args];
    const proc = lab!.spawnInNs(node.ns, command[0]!, command.slice(1), { env: { MALLOC_ARENA_MAX: ARENAS } });
    return { pid: proc.pid, at: { port, node }, output: () => proc.output(), stop: () => lab!.kill(proc, 'SIGTERM', 30_000).then(() => {}) };
  };

  const speaker = IN_LAB
    ? await startInLab()
    : // --l4-dataplane proxy: this speaker runs in the machine's own network namespace, whose ruleset it must never write.
      await start('speaker', ['speaker', '--node-name', 'bench-node', '--no-dataplane', '--l4-dataplane', 'proxy', '--proxy-workers', String(WORKERS)]);
  await waitReady(speaker.at, 'speaker').catch((error: unknown) => {
    console.error(speaker.output?.() ?? '');
    throw error;
  });
  // At rest: every thread gives back what starting left at its first quiet sample (src/common/heap-reclaimer.ts; samples every 5 s).
  await sleep(15_000);
  const speakerIdle = await treeRssMiB(speaker.pid);
  console.error(`speaker idle: ${JSON.stringify(speakerIdle)}`);

  const controller = await start('controller', ['controller']);
  await waitReady(controller.at, 'controller');
  const controllerIdle = await treeRssMiB(controller.pid);

  // N Services with one ready endpoint each (no pod behind it: nothing is
  // sent there), and N Ingress rules (one host each, over N/10 Ingresses).
  const docs: string[] = [];
  for (let i = 0; i < N; i++) {
    docs.push(`apiVersion: v1\nkind: Service\nmetadata: {name: s${i}, namespace: bench}\nspec: {type: LoadBalancer, ports: [{name: http, port: 80, targetPort: 8080}]}\n`);
    docs.push(
      `apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: s${i}-1, namespace: bench, labels: {kubernetes.io/service-name: s${i}}}\naddressType: IPv4\n` +
        `ports: [{name: http, port: 8080, protocol: TCP}]\nendpoints: [{addresses: [198.18.${128 + Math.floor(i / 250)}.${2 + (i % 250)}], conditions: {ready: true}}]\n`,
    );
  }
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
  // On a lab node, the work is done once the speaker holds every IP (it lags the controller under this burst).
  const held = async (): Promise<number | undefined> =>
    speaker.at.node
      ? (JSON.parse(await speaker.at.node.ip(['-j', 'addr', 'show', 'dev', 'metalgate0'])) as Array<{ addr_info: unknown[] }>)[0]?.addr_info.length
      : undefined;
  /** Polls until the holder device carries N IPs (bounded at 300 s); what it carries then. */
  const untilAllHeld = async (pollMs: number): Promise<number> => {
    const deadline = Date.now() + 300_000;
    for (;;) {
      const count = (await held()) ?? 0;
      if (count >= N || Date.now() >= deadline) return count;
      await sleep(pollMs);
    }
  };
  /** Polls the speaker's metrics until it announces N IPs (its announced-IPs gauge; bounded at 300 s); how many it announces then. */
  const untilAllAnnounced = async (at: MetricsPort): Promise<number> => {
    const deadline = Date.now() + 300_000;
    for (;;) {
      const text = (await getText(at, '/metrics')) ?? '';
      const count = Number(/^metalgate_speaker_announced_ips\{family="ipv4"\} (\d+)/m.exec(text)?.[1] ?? 0);
      if (count >= N || Date.now() >= deadline) return count;
      await sleep(100);
    }
  };
  if (speaker.at.node !== undefined) {
    // Polled as often as the allocations above: the lag it shows is within 500 ms.
    const count = await untilAllHeld(500);
    console.error(`${count} IPs held by the speaker ${Math.round(performance.now() - t0)} ms after the apply`);
  }
  await sleep(10_000);
  const controllerLoaded = await treeRssMiB(controller.pid);
  const speakerLoaded = await treeRssMiB(speaker.pid);
  // Settled: 40 s after, once every thread has had its reclaim (at most one per 30 s, when quiet).
  await sleep(30_000);
  const controllerSettled = await treeRssMiB(controller.pid);
  const speakerSettled = await treeRssMiB(speaker.pid);
  // Printed as sampled: the moment to look at the process with other tools (smaps, an inspector).
  console.error(`speaker settled: ${JSON.stringify(speakerSettled)}`);
  // What keeping 1,000 Services costs the speaker once settled, in CPU.
  const speakerSettledCpu = await idleCpu(speaker.pid, 10_000);
  // On a lab node: how many IPs its holder device carries (the speaker owns them all: it is the only node).
  const ipsHeld = await held();
  const config = JSON.parse((await getText(speaker.at, '/config')) ?? '{}') as { version: number; routes: { web: unknown[] }; endpoints: object };
  // Read before the restart below ends this speaker.
  const metricsText = (await getText(speaker.at, '/metrics')) ?? '';
  const counter = (name: string) => Number(new RegExp(`^${name} (\\d+)`, 'm').exec(metricsText)?.[1] ?? 0);
  // Memory-reducing collections once quiet (src/common/heap-reclaimer.ts): the speaker's thread's, and its workers' summed.
  const speakerReclaims = { speakerThread: counter('metalgate_speaker_heap_reclaims_total'), workers: counter('metalgate_proxy_heap_reclaims_total') };
  const speakerHeap = {
    speakerHeapUsedMiB: await heapUsedMiB(speaker.at),
    speakerHeapTotalMiB: await heapUsedMiB(speaker.at, 'heap_size_total_bytes'),
    speakerExternalMiB: await heapUsedMiB(speaker.at, 'external_memory_bytes'),
  };
  const speakerPeak = await peakRssMiB(speaker.pid);
  // On a lab node: the speaker restarted, so that one election hands it all
  // N IPs at once (its clean stop gave them up; it is the only node), timed
  // from its start until it is ready and until its holder device carries
  // them all.
  let retake: { readyMs: number; allHeldMs: number; allAnnouncedMs: number } | undefined;
  const labNode = speaker.at.node;
  if (labNode !== undefined && speaker.stop !== undefined) {
    await speaker.stop();
    await labNode.ip(['addr', 'flush', 'dev', 'metalgate0']).catch(() => '');
    const t1 = performance.now();
    const again = await spawnLabSpeaker(labNode);
    await waitReady(again.at, 'restarted speaker').catch((error: unknown) => {
      console.error(again.output?.() ?? '');
      throw error;
    });
    const readyMs = Math.round(performance.now() - t1);
    const count = await untilAllHeld(100);
    const allHeldMs = Math.round(performance.now() - t1);
    const announced = await untilAllAnnounced(again.at);
    retake = { readyMs, allHeldMs, allAnnouncedMs: Math.round(performance.now() - t1) };
    console.error(`restarted speaker: ready after ${retake.readyMs} ms, ${count} IPs held after ${retake.allHeldMs} ms, ${announced} announced after ${retake.allAnnouncedMs} ms`);
    // A clean stop, so that a profiled run (NODE_FLAGS="--cpu-prof --cpu-prof-dir=...") writes the takeover's profile.
    await again.stop?.();
  }
  console.log(
    JSON.stringify(
      {
        speakerAs: IN_LAB ? `on a lab node, --l4-dataplane ${LAB_L4}` : 'loopback, --no-dataplane --l4-dataplane proxy',
        services: N,
        ingressRules: (N / 10) * 10,
        routesServed: config.routes.web.length,
        // Updates the speaker sent each worker since it started (listeners, endpoints, routes, certificates).
        configVersion: config.version,
        ...(retake === undefined ? {} : { speakerRestartedMs: retake }),
        ...(ipsHeld === undefined ? {} : { ipsHeld }),
        workers: WORKERS,
        controllerMiB: { idle: controllerIdle.total, loaded: controllerLoaded.total, loadedSettled: controllerSettled.total, peak: await peakRssMiB(controller.pid), heapUsedLoaded: await heapUsedMiB(controller.at) },
        ...speakerHeap,
        speakerSettledCpu,
        speakerReclaims,
        speakerMiB: { idle: speakerIdle.total, idleParts: speakerIdle.parts, loaded: speakerLoaded.total, loadedParts: speakerLoaded.parts, loadedSettled: speakerSettled.total, peak: speakerPeak },
      },
      null,
      2,
    ),
  );
} finally {
  for (const p of procs) if (p.exitCode === null) p.kill('SIGTERM');
  await sleep(3000);
  for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
  await lab?.destroy();
  await cp.stop();
}
