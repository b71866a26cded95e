// Failover time of the speaker, as a client on the LAN sees it: the
// network-namespace lab (a client, three nodes, the real API server), one
// `metalgate speaker` per node with default settings, an echo server on
// every node, and a client probing http://198.18.0.200:8080/ on a new
// connection every 20 ms (150 ms timeout). Each fault is repeated --rounds
// times (default 10) against whichever node owns the IP then:
//   kill -9      the owner's speaker is SIGKILLed (the node itself lives on)
//   link cut     the owner's switch port goes down (its eth0 loses carrier)
//   node death   the owner's port silently stops forwarding and its API
//                path blackholes (it notices nothing: its Lease must expire)
//   clean stop   the owner's speaker gets SIGTERM
// Figures per fault: time from the fault until the client is served by
// another node (the failover), and the client-visible outage (from the
// first failed probe to the next answered one; 0 when none failed).
// Probe granularity: 20 ms plus, while packets go to a dead MAC, the 150 ms
// timeout.
// With --extra-ips N, N more Services (one IP each, 198.18.0.100 up) share
// the nodes with the probed one: the nodes own about a third each, and the
// new owner of the probed IP takes the failed node's other IPs too.
// Root only. Run: node_modules/.bin/node test/bench/failover.ts [--rounds 10]
//   [--faults clean-stop,kill-9,...] [--speaker-arg --no-handover-forward ...]
//   [--extra-ips 99]
// The last line counts every failed probe of the whole run, the speakers'
// restarts (which hand the IP back) included.

import * as k8s from '@kubernetes/client-node';
import { setTimeout as sleep } from 'node:timers/promises';
import { apiStatus } from '../../src/kube/client.ts';
import { startControlPlane, type ControlPlane } from '../support/control-plane.ts';
import { ECHO_SERVER_SCRIPT, Lab, type LabNode, type LabProcess } from '../support/lab.ts';
import { labSkipReason, repoRoot } from '../support/netns-exec.ts';
import { outages, type ProbeSample } from '../support/probe-stats.ts';
import { percentile } from './bench-utils.ts';

const VIP = '198.18.0.200';
const PORT = 8080;
const HOLDER = 'metalgate0';
const CLI = `${repoRoot}/src/cli.ts`;

type Fault = 'kill -9' | 'link cut' | 'node death' | 'clean stop';
const FAULTS: Fault[] = ['kill -9', 'link cut', 'node death', 'clean stop'];

interface Round {
  fault: Fault;
  from: string;
  to: string;
  failoverMs: number;
  outageMs: number;
  failed: number;
}

/** --faults kill-9,link-cut,node-death,clean-stop (default: all, in that order). */
function argFaults(): Fault[] {
  const i = process.argv.indexOf('--faults');
  if (i < 0) return FAULTS;
  const flag = (f: Fault) => (f === 'kill -9' ? 'kill-9' : f.replace(' ', '-'));
  const names = (process.argv[i + 1] ?? '').split(',').map((f) => f.trim());
  const out = FAULTS.filter((f) => names.includes(flag(f)));
  if (out.length !== names.length) throw new Error(`--faults: a list of ${FAULTS.map(flag).join(', ')}`);
  return out;
}

/** Every --speaker-arg value, in order: extra flags for each `metalgate speaker`. */
function argSpeaker(): string[] {
  const out: string[] = [];
  process.argv.forEach((a, i) => {
    if (a === '--speaker-arg') out.push(process.argv[i + 1]!);
  });
  return out;
}

/** --extra-ips N: more Services with an IP each, 198.18.0.100-199 and 201-254 (at most 154). */
function argExtraIps(): string[] {
  const i = process.argv.indexOf('--extra-ips');
  const n = i >= 0 ? Number(process.argv[i + 1]) : 0;
  if (!Number.isInteger(n) || n < 0 || n > 154) throw new Error('--extra-ips needs an integer from 0 to 154');
  return Array.from({ length: 155 }, (_, k) => `198.18.0.${100 + k}`)
    .filter((ip) => ip !== VIP)
    .slice(0, n);
}

function argRounds(): number {
  const i = process.argv.indexOf('--rounds');
  const n = i >= 0 ? Number(process.argv[i + 1]) : 10;
  if (!Number.isInteger(n) || n < 1) throw new Error('--rounds needs a positive integer');
  return n;
}

/** Nearest-rank percentile. */
async function holders(lab: Lab): Promise<string[]> {
  const out: string[] = [];
  for (const n of lab.nodes) {
    try {
      const j = JSON.parse(await n.ip(['-j', 'addr', 'show', 'dev', HOLDER])) as Array<{ addr_info: Array<{ local: string }> }>;
      if ((j[0]?.addr_info ?? []).some((a) => a.local === VIP)) out.push(n.name);
    } catch {
      // no holder device yet
    }
  }
  return out;
}

async function until<T>(what: string, timeoutMs: number, fn: () => Promise<T | undefined> | T | undefined): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

async function setupCluster(cp: ControlPlane, nodes: readonly LabNode[], extraIps: readonly string[]): Promise<void> {
  const kc = new k8s.KubeConfig();
  kc.loadFromString(cp.kubeconfigYaml);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const ignoreExists = (err: unknown) => {
    if (apiStatus(err) !== 409) throw err;
  };
  for (const ns of ['metalgate-system', 'bench']) await core.createNamespace({ body: { metadata: { name: ns } } }).catch(ignoreExists);
  for (const n of nodes) await core.createNode({ body: { metadata: { name: n.name } } }).catch(ignoreExists);
  const withIp = async (name: string, ip: string): Promise<void> => {
    await core.createNamespacedService({
      namespace: 'bench',
      body: { metadata: { name, namespace: 'bench' }, spec: { type: 'LoadBalancer', ports: [{ port: PORT, targetPort: PORT, protocol: 'TCP' }] } },
    });
    const svc = await core.readNamespacedService({ name, namespace: 'bench' });
    await core.replaceNamespacedServiceStatus({ name, namespace: 'bench', body: { ...svc, status: { loadBalancer: { ingress: [{ ip, ipMode: 'Proxy' }] } } } });
  };
  await withIp('web', VIP);
  for (const [i, ip] of extraIps.entries()) await withIp(`extra-${i}`, ip);
}

async function main(): Promise<void> {
  const skip = labSkipReason();
  if (skip !== null) {
    process.stdout.write(`failover benchmark skipped: the lab ${skip}\n`);
    return;
  }
  const rounds = argRounds();
  const faults = argFaults();
  const speakerArgs = argSpeaker();
  const extraIps = argExtraIps();
  const log = (line: string) => process.stderr.write(`[failover] ${line}\n`);
  const cp = await startControlPlane({ progress: log });
  let lab: Lab | undefined;
  const speakers = new Map<string, LabProcess>();
  try {
    lab = await Lab.create({ nodes: ['node1', 'node2', 'node3'], clients: ['client'], ipv6: false, apiServer: cp, progress: log });
    const l = lab;
    await setupCluster(cp, l.nodes, extraIps);
    for (const n of l.nodes) {
      await n.spawnNode(ECHO_SERVER_SCRIPT, ['--port', String(PORT), '--name', n.name]).waitForOutput('echo-server listening', 15_000);
    }
    const startSpeaker = async (name: string): Promise<void> => {
      const p = l.node(name).spawnNode(CLI, ['speaker', '--node-name', name, '--kubeconfig', cp.kubeconfigPath, '--metrics-port', '0', '--log-format', 'json', ...speakerArgs]);
      speakers.set(name, p);
      await p.waitForOutput('published announce subnets', 30_000);
    };
    await Promise.all(l.nodes.map((n) => startSpeaker(n.name)));
    const probe = l.client('client').probeHttp(`http://${VIP}:${PORT}/`, { intervalMs: 20, timeoutMs: 150, durationS: 3600 });

    /** One holder, the client served there, and still so a second later. */
    const settle = async (): Promise<string> =>
      until('the IP to settle on one node', 60_000, async () => {
        const h = await holders(l);
        if (h.length !== 1) return undefined;
        const since = Date.now();
        await sleep(1000);
        const recent = probe.samples().filter((s) => s.t >= since);
        const h2 = await holders(l);
        const served = recent.length > 10 && recent.every((s) => s.ok && s.by === h[0]);
        return served && h2.length === 1 && h2[0] === h[0] ? h[0] : undefined;
      });

    const results: Round[] = [];
    const probesFrom = Date.now();
    for (const fault of faults) {
      for (let r = 0; r < rounds; r++) {
        const old = await settle();
        const t0 = Date.now();
        if (fault === 'kill -9') await speakers.get(old)!.stop('SIGKILL');
        else if (fault === 'clean stop') void speakers.get(old)!.stop('SIGTERM', 5000);
        else if (fault === 'link cut') await l.setLink(old, 'down');
        else {
          await l.isolateApi(old, true, 'blackhole');
          await l.setLink(old, 'down', 'silent');
        }
        const served = await probe.waitFor((s) => s.t >= t0 && s.ok && s.by !== old, 20_000, `the client served by a node other than ${old}`);
        await sleep(300);
        const after = probe.samples().filter((s: ProbeSample) => s.t >= t0 && s.t <= served.t + 300);
        const outs = outages(after);
        results.push({
          fault,
          from: old,
          to: served.by!,
          failoverMs: Math.round(served.t + served.ms - t0),
          outageMs: Math.round(outs.reduce((sum, o) => sum + (o.ms ?? 0), 0)),
          failed: outs.reduce((sum, o) => sum + o.failures, 0),
        });
        const last = results.at(-1)!;
        log(`${fault} #${r + 1}: ${last.from} -> ${last.to} in ${last.failoverMs} ms, outage ${last.outageMs} ms (${last.failed} failed probes)`);
        // Repair, and let the cluster settle before the next round.
        if (fault === 'kill -9' || fault === 'clean stop') {
          await speakers.get(old)!.exited;
          await startSpeaker(old);
        } else if (fault === 'link cut') {
          await l.setLink(old, 'up');
        } else {
          await l.setLink(old, 'up', 'silent');
          await l.isolateApi(old, false);
        }
      }
    }
    const all = (await probe.stop()).filter((x) => x.t >= probesFrom);

    const rows = faults.map((fault) => {
      const rs = results.filter((r) => r.fault === fault);
      const f = rs.map((r) => r.failoverMs);
      const o = rs.map((r) => r.outageMs);
      return { fault, n: rs.length, p50: percentile(f, 0.5), p99: percentile(f, 0.99), max: Math.max(...f), outP50: percentile(o, 0.5), outP99: percentile(o, 0.99), failed: rs.reduce((s, r) => s + r.failed, 0) };
    });
    const pad = (v: string | number, w: number) => String(v).padStart(w);
    process.stdout.write(
      `speaker failover, defaults (Lease renew 500 ms, duration 2 s)${speakerArgs.length > 0 ? ` and ${speakerArgs.join(' ')}` : ''}, ${rounds} rounds per fault${extraIps.length > 0 ? `, ${extraIps.length} more IPs on the nodes` : ''}\n`,
    );
    process.stdout.write(`${'fault'.padEnd(12)}${pad('n', 4)}${pad('failover p50', 14)}${pad('p99', 8)}${pad('max', 8)}${pad('outage p50', 12)}${pad('p99', 8)}${pad('failed probes', 15)}\n`);
    for (const r of rows) {
      process.stdout.write(
        `${r.fault.padEnd(12)}${pad(r.n, 4)}${pad(`${r.p50} ms`, 14)}${pad(`${r.p99} ms`, 8)}${pad(`${r.max} ms`, 8)}${pad(`${r.outP50} ms`, 12)}${pad(`${r.outP99} ms`, 8)}${pad(r.failed, 15)}\n`,
      );
    }
    process.stdout.write('failover: fault -> first answer from another node; outage: first failed probe -> next answered probe.\n');
    process.stdout.write('after kill -9 the old node keeps serving (its kernel still has the IP) until the client follows the new owner: no outage.\n');
    const failedAll = all.filter((x) => !x.ok);
    const errs = new Map<string, number>();
    for (const f of failedAll) errs.set(f.err ?? String(f.status), (errs.get(f.err ?? String(f.status)) ?? 0) + 1);
    process.stdout.write(`whole run, restarts included: ${all.length} probes, ${failedAll.length} failed (${[...errs].map(([k, v]) => `${k} x${v}`).join(', ') || 'none'})\n`);
  } finally {
    await Promise.all([...speakers.values()].map((p) => p.stop('SIGTERM', 5000).catch(() => {})));
    await lab?.destroy().catch((e: Error) => log(e.message));
    await cp.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
