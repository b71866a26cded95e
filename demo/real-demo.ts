// `npm run demo -- --real`: the user's flow on a real cluster built on this
// machine (test/support/real-cluster): kubelets, containerd, runc and
// kube-proxy run the pods from the image the Dockerfile builds. Slower to
// start than the default demo (whose kubelet is simulated), and nothing in it
// is played by the demo itself: it types what a person types.

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { outages, restoredAfter } from '../test/support/probe-stats.ts';
import { realClusterSkipReason, startRealCluster, type RealCluster } from '../test/support/real-cluster/real-cluster.ts';
import { repoRoot } from '../test/support/netns-exec.ts';
import { condenseLog, exitCodeOf, failureKinds, Reporter, seconds, summaryLine } from './report.ts';
import type { DemoOptions } from './options.ts';

const NS = 'metalgate-system';
const POOL = `apiVersion: v1
kind: ConfigMap
metadata:
  name: config
  namespace: metalgate-system
data:
  config: |
    address-pools:
    - name: default
      protocol: layer2
      addresses:
      - 198.18.0.200-198.18.0.250
`;

async function until<T>(timeoutMs: number, fn: () => Promise<T | undefined>): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    await sleep(300);
  }
  return undefined;
}

export async function runRealDemo(opts: DemoOptions): Promise<number> {
  const cannot = realClusterSkipReason();
  if (cannot !== null) {
    process.stderr.write(`npm run demo -- --real: cannot run here: it ${cannot}\n`);
    return 2;
  }
  const r = new Reporter(opts.failover ? 5 : 4);
  r.line('metalgate demo on a REAL kubelet cluster: kube-apiserver, controller-manager, scheduler; two nodes with containerd, kubelet, kube-proxy');
  const work = await mkdtemp(join(tmpdir(), 'metalgate-real-demo-'));
  let cluster: RealCluster | undefined;
  let interrupted = false;
  const onSignal = (): void => {
    interrupted = true;
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    r.stage('The cluster: built from the Go module proxy and Debian packages, images from the Dockerfile (first run: minutes)');
    const t0 = Date.now();
    cluster = await startRealCluster({ nodes: 2, dir: join(work, 'cluster'), progress: (l) => r.info(l) });
    r.ok('cluster up', `2 nodes Ready in ${seconds(Date.now() - t0)}`);
    const c = cluster;
    const kubectl = async (args: string[], input?: string): Promise<string> => {
      const out = await c.kubectl(args, input === undefined ? {} : { input });
      r.command(`kubectl ${args.join(' ')}`, condenseLog(out, 8));
      return out;
    };

    r.stage('Install metalgate: the manifests, an address pool');
    await kubectl(['apply', '-k', join(repoRoot, 'manifests')]);
    await c.kubectl(['-n', NS, 'wait', '--for=condition=Ready', 'pods', '--all', '--timeout=180s'], { timeoutMs: 200_000 });
    await kubectl(['-n', NS, 'get', 'pods', '-o', 'wide']);
    await writeFile(join(work, 'pool.yaml'), POOL);
    await kubectl(['apply', '-f', join(work, 'pool.yaml')]);

    r.stage('An app: nginx, two replicas, a LoadBalancer Service');
    await kubectl(['create', 'deployment', 'hello', '--image=nginx:stable', '--replicas=2']);
    await kubectl(['expose', 'deployment', 'hello', '--type=LoadBalancer', '--port=80']);
    await c.kubectl(['rollout', 'status', 'deployment/hello', '--timeout=120s'], { timeoutMs: 130_000 });
    const ip = await until(30_000, () => c.externalIp('default', 'hello'));
    await kubectl(['get', 'svc', '-A']);
    if (!ip) throw new Error('Service hello got no EXTERNAL-IP in 30 s');
    r.ok('EXTERNAL-IP assigned', ip);

    r.stage('Check it as a user would: curl from the client, the announcements in kubectl logs');
    const body = await until(20_000, async () => {
      const out = (await c.client.exec('curl', ['-sS', '-m', '3', `http://${ip}/`])).stdout;
      return out.includes('Welcome to nginx') ? out : undefined;
    });
    r.command(`ip netns exec ${c.client.ns} curl http://${ip}/`, body ? '<title>Welcome to nginx!</title>' : '(no answer)');
    if (body) r.ok('curl from the client reaches a pod', `http://${ip}/`);
    else r.fail('curl from the client reaches a pod', 'no nginx page in 20 s');
    const logs = await c.kubectl(['-n', NS, 'logs', '-l', 'app.kubernetes.io/component=speaker', '--prefix', '--tail=-1']);
    const announced = logs.split('\n').filter((l) => l.includes('"msg":"announced IP') && l.includes(ip));
    r.command(`kubectl -n ${NS} logs -l app.kubernetes.io/component=speaker --prefix --tail=-1 | grep 'announced IP'`, condenseLog(announced.join('\n'), 3));
    if (announced.length > 0) r.ok('announcements in kubectl logs', `${announced.length} line(s) for ${ip}`);
    else r.fail('announcements in kubectl logs', `no "announced IP" line for ${ip}`);

    if (opts.failover) {
      r.stage('Failover: the owner\'s speaker pod deleted under a steady client');
      const pods = JSON.parse(await c.kubectl(['-n', NS, 'get', 'pods', '-l', 'app.kubernetes.io/component=speaker', '-o', 'json'])) as { items: { metadata: { name: string }; spec: { nodeName: string } }[] };
      const owner = await c.ownerOf(ip);
      const pod = pods.items.find((p) => p.spec.nodeName === owner)?.metadata.name;
      if (!pod) throw new Error(`no speaker pod on the owner node (${owner ?? 'none found'})`);
      const probe = c.client.probeHttp(`http://${ip}/`, { intervalMs: 20, timeoutMs: 500, durationS: 60 });
      await probe.waitFor((s) => s.ok, 10_000, 'a first answer');
      const t1 = Date.now();
      await kubectl(['-n', NS, 'delete', 'pod', pod, '--wait=false']);
      await sleep(5000);
      const samples = (await probe.stop()).filter((s) => s.t >= t1);
      const longest = Math.max(0, ...outages(samples).map((o) => o.ms ?? 0));
      const back = restoredAfter(samples, t1);
      const failed = samples.filter((s) => !s.ok);
      const detail = `${samples.length} probes over 5 s, ${failed.length} failed${failed.length ? ` (${failureKinds(failed)})` : ''}, longest outage ${seconds(longest)}`;
      if (back !== undefined && longest <= 3000) r.ok('traffic kept flowing while the speaker pod was replaced', detail);
      else r.fail('traffic kept flowing while the speaker pod was replaced', detail);
    }

    r.line('');
    r.line(summaryLine(r.checks));
    if (!opts.once && !interrupted) {
      r.line('');
      r.line('The cluster is up. In another terminal, as root:');
      r.line(`  export KUBECONFIG=${c.kubeconfigPath}`);
      r.line(`  alias kubectl=${c.binDir}/kubectl`);
      r.line('  kubectl get nodes,pods -A -o wide');
      r.line(`  ip netns exec ${c.client.ns} curl http://${ip}/`);
      r.line(`  ls ${c.logDir}    # kubelet, containerd, kube-proxy and control-plane logs`);
      r.line('Press Ctrl-C to tear everything down.');
      while (!interrupted) await sleep(500);
    }
  } catch (err) {
    r.line('');
    r.line(`STOPPED: ${(err as Error).message}`);
    r.fail('demo ran to the end', (err as Error).message.split('\n')[0]!);
  } finally {
    r.line('');
    r.line('Tearing down: pods, kubelets, containerd, kube-proxy, control plane, namespaces ...');
    const t = Date.now();
    await cluster?.stop();
    await rm(work, { recursive: true, force: true }).catch(() => {});
    r.line(`Torn down in ${seconds(Date.now() - t)}.`);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  r.line(`RESULT: ${summaryLine(r.checks)}`);
  return exitCodeOf(r.checks);
}
