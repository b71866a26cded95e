// Resource usage of metalgate's pods as the kubelet reports it
// (/stats/summary through the API server's node proxy, what metrics-server
// reads), on a real two-node cluster (test/support/real-cluster): at rest,
// then while a client on the LAN opens new connections to a LoadBalancer
// Service as fast as one HTTP prober goes. Prints a table; asserts nothing.
//
//   sudo node test/bench/real-cluster-resources.ts [--load-seconds 20]

import { setTimeout as sleep } from 'node:timers/promises';

import { startRealCluster } from '../support/real-cluster/real-cluster.ts';
import { repoRoot } from '../support/netns-exec.ts';
import { join } from 'node:path';

interface ContainerStats {
  name: string;
  cpu?: { usageNanoCores?: number };
  memory?: { workingSetBytes?: number; rssBytes?: number };
}
interface PodStats {
  podRef: { name: string; namespace: string };
  containers?: ContainerStats[];
}
interface Summary {
  pods: PodStats[];
}

const loadSeconds = Number(process.argv[process.argv.indexOf('--load-seconds') + 1] ?? 20) || 20;

const cluster = await startRealCluster({ nodes: 2, progress: (l) => console.error(l) });
try {
  const k = (args: string[], input?: string) => cluster.kubectl(args, input === undefined ? { timeoutMs: 200_000 } : { input, timeoutMs: 200_000 });
  await k(['apply', '-k', join(repoRoot, 'manifests')]);
  await k(['-n', 'metalgate-system', 'wait', '--for=condition=Ready', 'pods', '--all', '--timeout=180s']);
  await k(['create', 'deployment', 'hello', '--image=nginx:stable', '--replicas=2']);
  await k(['expose', 'deployment', 'hello', '--type=LoadBalancer', '--port=80']);
  await k(['rollout', 'status', 'deployment/hello', '--timeout=120s']);
  let ip: string | undefined;
  for (let i = 0; i < 60 && !ip; i++) {
    ip = await cluster.externalIp('default', 'hello');
    if (!ip) await sleep(500);
  }
  if (!ip) throw new Error('no EXTERNAL-IP');

  const sample = async (): Promise<Map<string, { cpuMilli: number; memMiB: number; node: string }>> => {
    const out = new Map<string, { cpuMilli: number; memMiB: number; node: string }>();
    for (const n of cluster.nodes) {
      const s = JSON.parse(await k(['get', '--raw', `/api/v1/nodes/${n.name}/proxy/stats/summary`])) as Summary;
      for (const p of s.pods.filter((p) => p.podRef.namespace === 'metalgate-system')) {
        let cpu = 0;
        let mem = 0;
        for (const c of p.containers ?? []) {
          cpu += (c.cpu?.usageNanoCores ?? 0) / 1e6;
          mem += (c.memory?.workingSetBytes ?? 0) / 2 ** 20;
        }
        out.set(p.podRef.name, { cpuMilli: cpu, memMiB: mem, node: n.name });
      }
    }
    return out;
  };

  console.error('settling 30 s after install ...');
  await sleep(30_000);
  const rest = await sample();
  const probe = cluster.client.probeHttp(`http://${ip}/`, { intervalMs: 0, timeoutMs: 1000, durationS: loadSeconds + 30 });
  await sleep(loadSeconds * 1000);
  const busy = await sample();
  const samples = await probe.stop();
  const ok = samples.filter((s) => s.ok).length;

  console.log(`metalgate pods on a real 2-node cluster (kubelet /stats/summary; CPU in millicores over the kubelet's last sampling window, memory = working set)`);
  console.log(`load: one client opening a new connection per request to ${ip}, ${ok} requests in ${loadSeconds} s (${(ok / loadSeconds).toFixed(0)}/s), ${samples.length - ok} failed`);
  console.log('');
  console.log('| pod | node | CPU at rest (m) | memory at rest (MiB) | CPU under load (m) | memory under load (MiB) |');
  console.log('|---|---|---|---|---|---|');
  for (const [name, r] of [...rest].sort()) {
    const b = busy.get(name);
    console.log(`| ${name} | ${r.node} | ${r.cpuMilli.toFixed(1)} | ${r.memMiB.toFixed(1)} | ${b ? b.cpuMilli.toFixed(1) : '-'} | ${b ? b.memMiB.toFixed(1) : '-'} |`);
  }
} finally {
  await cluster.stop();
}
