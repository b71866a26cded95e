// `npm run cluster:up` / `cluster:down`: a test cluster for a person.
//   npm run cluster:up                 etcd + kube-apiserver on loopback
//   npm run cluster:up -- --nodes 2    a real cluster: control plane, 2 nodes
//                                      with containerd, kubelet and kube-proxy,
//                                      a client, all in network namespaces
//                                      (root; real-cluster/real-cluster.ts)
// `up` starts a detached supervisor that holds the cluster and writes
// .metalgate/kubeconfig; `down` stops it by its pid, and with it everything
// the cluster started.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startControlPlane } from './control-plane.ts';
import { startRealCluster } from './real-cluster/real-cluster.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const stateDir = join(root, '.metalgate');
const pidFile = join(stateDir, 'cluster.pid');
const kubeconfig = join(stateDir, 'kubeconfig');
const logFile = join(stateDir, 'cluster.log');

function running(): number | undefined {
  if (!existsSync(pidFile)) return undefined;
  const pid = Number(readFileSync(pidFile, 'utf8'));
  try {
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

async function up(nodes: number | undefined): Promise<number> {
  const pid = running();
  if (pid) {
    console.log(`already running (pid ${pid}); KUBECONFIG=${kubeconfig}`);
    return 0;
  }
  await mkdir(stateDir, { recursive: true });
  rmSync(kubeconfig, { force: true });
  const log = openSync(logFile, 'w');
  const serveArgs = nodes === undefined ? ['serve'] : ['serve', '--nodes', String(nodes)];
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), ...serveArgs], { detached: true, stdio: ['ignore', log, log] });
  closeSync(log);
  child.unref();
  writeFileSync(pidFile, String(child.pid));
  // Building the binaries takes minutes the first time: show the progress.
  let shown = 0;
  const deadline = Date.now() + 30 * 60_000;
  while (Date.now() < deadline) {
    const text = existsSync(logFile) ? readFileSync(logFile, 'utf8') : '';
    const lines = text.split('\n');
    for (; shown < lines.length - 1; shown++) console.log(lines[shown]);
    if (existsSync(kubeconfig)) {
      console.log(`\n${nodes === undefined ? 'control plane' : `cluster with ${nodes} node(s)`} up (pid ${child.pid}). Use it with:\n  export KUBECONFIG=${kubeconfig}\n  kubectl get nodes\nStop it with: npm run cluster:down`);
      return 0;
    }
    if (!running()) {
      console.error('the cluster supervisor exited; see above');
      return 1;
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  return 1;
}

async function serve(nodes: number | undefined): Promise<void> {
  const dir = join(stateDir, 'cluster');
  let stopCluster: () => Promise<void>;
  if (nodes === undefined) {
    const cp = await startControlPlane({ dir, progress: (l) => console.log(l) });
    copyFileSync(cp.kubeconfigPath, kubeconfig);
    console.log(`kubectl is at ${cp.binDir}/kubectl`);
    stopCluster = () => cp.stop();
  } else {
    rmSync(dir, { recursive: true, force: true });
    const cluster = await startRealCluster({ nodes, dir, progress: (l) => console.log(l) });
    copyFileSync(cluster.kubeconfigPath, kubeconfig);
    console.log(`kubectl is at ${cluster.binDir}/kubectl; logs in ${cluster.logDir}`);
    console.log(`client namespace (curl from outside the cluster): ip netns exec ${cluster.client.ns} curl ...`);
    for (const n of cluster.nodes) console.log(`node ${n.name}: ip netns exec ${n.ns} ...`);
    stopCluster = () => cluster.stop();
  }
  const stop = async () => {
    await stopCluster();
    rmSync(kubeconfig, { force: true });
    rmSync(pidFile, { force: true });
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

function nodesFlag(args: readonly string[]): number | undefined {
  const i = args.indexOf('--nodes');
  if (i < 0) return undefined;
  const n = Number(args[i + 1]);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--nodes needs a number of nodes, got ${args[i + 1]}`);
  return n;
}

async function down(): Promise<number> {
  const pid = running();
  if (!pid) {
    console.log('not running');
    rmSync(pidFile, { force: true });
    return 0;
  }
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + 120_000;
  while (running() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  if (running()) process.kill(pid, 'SIGKILL');
  rmSync(join(stateDir, 'cluster'), { recursive: true, force: true });
  console.log('cluster stopped');
  return 0;
}

const cmd = process.argv[2];
if (cmd === 'up') process.exitCode = await up(nodesFlag(process.argv.slice(3)));
else if (cmd === 'down') process.exitCode = await down();
else if (cmd === 'serve') await serve(nodesFlag(process.argv.slice(3)));
else {
  console.error('usage: cluster-cli.ts up [--nodes N] | down');
  process.exitCode = 2;
}
