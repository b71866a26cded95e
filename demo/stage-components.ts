// Stage: metalgate running. The controller in the host namespace and one
// speaker (with its proxy workers) inside each node's namespace, with
// the arguments and environment of their pod templates; the kubeconfig
// (their bound token) reaches the API server through the lab's relays. Each
// is ready when its /readyz says so, as the kubelet's probe would see it.
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { freePort } from '../test/support/control-plane.ts';
import { LabProcess, type LabHost, type LabNode } from '../test/support/lab.ts';
import { nodeBinary, repoRoot } from '../test/support/netns-exec.ts';
import type { ComponentSetup, Demo } from './demo-state.ts';
import { CONTROLLER_NODE, CONTROLLER_POD, speakerPodName, SYSTEM_NAMESPACE } from './demo-plan.ts';
import { runningPodStatus } from './kube-objects.ts';
import { componentRun, containerPort } from './pod-spec.ts';
import { condenseLog, seconds } from './report.ts';

export const CLI = join(repoRoot, 'src/cli.ts');
const READY_TIMEOUT_MS = 45_000;

export async function startComponentsStage(demo: Demo): Promise<void> {
  const r = demo.report;
  r.stage('Run metalgate: the controller, and a speaker with its proxy on each node');
  const t0 = Date.now();
  await startController(demo);
  demo.step();
  await Promise.all(demo.nodes.map((n) => startSpeaker(demo, n)));
  r.info(`all ready in ${seconds(Date.now() - t0)}; logs in ${demo.logDir}`);
  const cp = demo.need(demo.cp, 'the control plane');
  r.command('kubectl get pods -n metalgate-system -o wide', await cp.kubectl(['get', 'pods', '-n', SYSTEM_NAMESPACE, '-o', 'wide']));
  demo.step();
}

async function startController(demo: Demo): Promise<void> {
  const setup = demo.need(demo.controllerSetup, 'the controller setup');
  const run = componentRun(setup.template, { name: CONTROLLER_POD, namespace: SYSTEM_NAMESPACE, nodeName: CONTROLLER_NODE });
  // The host namespace is shared with the rest of the machine: the metrics
  // port moves to a free loopback port instead of 0.0.0.0:7472.
  const port = await freePort('127.0.0.1');
  const env = {
    ...run.env,
    KUBECONFIG: setup.kubeconfigs.get(CONTROLLER_POD)!,
    METALGATE_METRICS_ADDRESS: '127.0.0.1',
    METALGATE_METRICS_PORT: String(port),
  };
  const proc = new LabProcess(undefined, [nodeBinary(), CLI, ...run.args], join(demo.logDir, 'controller.log'), { env });
  demo.controller = proc;
  process.on('exit', () => proc.signal('SIGKILL'));
  await waitReady(proc, () => fetchReadyz(`http://127.0.0.1:${port}/readyz`), 'controller');
  await markRunning(demo, CONTROLLER_POD, undefined);
  demo.report.info(`controller (host namespace)  ${describe(run.args, run.env)}  ready  log ${proc.logFile}`);
}

async function startSpeaker(demo: Demo, node: LabNode): Promise<LabProcess> {
  const setup = demo.need(demo.speakerSetup, 'the speaker setup');
  const pod = speakerPodName(node.name);
  const run = componentRun(setup.template, { name: pod, namespace: SYSTEM_NAMESPACE, nodeName: node.name }, node.ipv4);
  const env = { ...run.env, KUBECONFIG: setup.kubeconfigs.get(pod)! };
  const proc = node.spawnNode(CLI, run.args, { env, logFile: join(demo.logDir, `speaker-${node.name}.log`) });
  demo.speakers.set(node.name, proc);
  const port = containerPort(setup.template, 'monitoring') ?? 7473;
  await waitReady(proc, () => curlReadyz(node, port), `speaker on ${node.name}`);
  await markRunning(demo, pod, node.ipv4);
  demo.report.info(`speaker on ${node.name} (netns ${node.ns})  ${describe(run.args, run.env)}  ready  log ${proc.logFile}`);
  return proc;
}

/** Starts a node's speaker again (after the failover), same Pod, same token. */
export async function restartSpeaker(demo: Demo, node: LabNode): Promise<LabProcess> {
  return startSpeaker(demo, node);
}

function describe(args: readonly string[], env: Record<string, string>): string {
  const vars = Object.entries(env).map(([k, v]) => `${k}=${v}`);
  return `metalgate ${args.join(' ')} [${vars.join(' ')}]`;
}

/** The kubelet's part: the Pod is Running and Ready once its process is. */
async function markRunning(demo: Demo, pod: string, ip: string | undefined): Promise<void> {
  const { core } = demo.need(demo.api, 'the API clients');
  const current = await core.readNamespacedPod({ name: pod, namespace: SYSTEM_NAMESPACE });
  await core.replaceNamespacedPodStatus({ name: pod, namespace: SYSTEM_NAMESPACE, body: { ...current, status: runningPodStatus(current, { ip, hostIp: ip }, new Date()) } });
}

async function fetchReadyz(url: string): Promise<string | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
    const text = await res.text();
    return res.status === 200 ? undefined : text.trim();
  } catch (err) {
    return (err as Error).message;
  }
}

async function curlReadyz(host: LabHost, port: number): Promise<string | undefined> {
  try {
    await host.exec('curl', ['-sf', '-m', '2', `http://127.0.0.1:${port}/readyz`], { timeoutMs: 5000 });
    return undefined;
  } catch (err) {
    return (err as Error).message.split('\n')[0];
  }
}

/** Polls `probe` (undefined = ready) until ready; fails at once when the process exits, with its log tail. */
async function waitReady(proc: LabProcess, probe: () => Promise<string | undefined>, what: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let last: string | undefined = 'not probed';
  while (Date.now() < deadline) {
    if (!proc.running) throw new Error(`${what} exited (${JSON.stringify(proc.exitStatus)}); last lines of ${proc.logFile}:\n${condenseLog(proc.output())}`);
    last = await probe();
    if (last === undefined) return;
    await sleep(250);
  }
  throw new Error(`${what} not ready after ${seconds(READY_TIMEOUT_MS)} (${last}); last lines of ${proc.logFile}:\n${condenseLog(proc.output())}`);
}
