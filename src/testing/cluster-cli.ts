// `npm run cluster:up` / `cluster:down`: the test control plane for a person.
// `up` starts a detached supervisor that holds etcd + kube-apiserver and
// writes .metalgate/kubeconfig; `down` stops it by its pid.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startControlPlane } from './control-plane.ts';

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

async function up(): Promise<number> {
  const pid = running();
  if (pid) {
    console.log(`already running (pid ${pid}); KUBECONFIG=${kubeconfig}`);
    return 0;
  }
  await mkdir(stateDir, { recursive: true });
  rmSync(kubeconfig, { force: true });
  const log = openSync(logFile, 'w');
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), 'serve'], { detached: true, stdio: ['ignore', log, log] });
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
      console.log(`\ncontrol plane up (pid ${child.pid}). Use it with:\n  export KUBECONFIG=${kubeconfig}\n  kubectl get ns\nStop it with: npm run cluster:down`);
      return 0;
    }
    if (!running()) {
      console.error('the control plane exited; see above');
      return 1;
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  return 1;
}

async function serve(): Promise<void> {
  const cp = await startControlPlane({ dir: join(stateDir, 'cluster'), progress: (l) => console.log(l) });
  copyFileSync(cp.kubeconfigPath, kubeconfig);
  console.log(`kubectl is at ${cp.binDir}/kubectl`);
  const stop = async () => {
    await cp.stop();
    rmSync(kubeconfig, { force: true });
    rmSync(pidFile, { force: true });
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

async function down(): Promise<number> {
  const pid = running();
  if (!pid) {
    console.log('not running');
    rmSync(pidFile, { force: true });
    return 0;
  }
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + 15_000;
  while (running() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  if (running()) process.kill(pid, 'SIGKILL');
  rmSync(join(stateDir, 'cluster'), { recursive: true, force: true });
  console.log('control plane stopped');
  return 0;
}

const cmd = process.argv[2];
if (cmd === 'up') process.exitCode = await up();
else if (cmd === 'down') process.exitCode = await down();
else if (cmd === 'serve') await serve();
else {
  console.error('usage: cluster-cli.ts up|down');
  process.exitCode = 2;
}
