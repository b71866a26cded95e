// `npm run demo`: metalgate's whole user flow on one machine, as a cluster in
// a box. Stages (one file each): control plane, namespace LAN, manifests and
// address pool, the components, a sample app, the user's checks, a failover.
// Then it stays up until Ctrl-C, or with --once tears down at once; the exit
// code says whether every check held. Without root it says what it needs.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { APP, ENTRYPOINT, httpUrl } from './demo-plan.ts';
import { Demo } from './demo-state.ts';
import { sweepStaleDemos, WORK_DIR_PREFIX, writeDemoOwner } from './demo-sweep.ts';
import { DEMO_USAGE, parseDemoArgs, type DemoOptions } from './options.ts';
import { runRealDemo } from './real-demo.ts';
import { exitCodeOf, Reporter, seconds, summaryLine } from './report.ts';
import { missingRequirements, probeMachine, refusalMessage, requirements } from './requirements.ts';
import { startSampleAppStage } from './stage-app.ts';
import { checksStage } from './stage-checks.ts';
import { startControlPlaneStage, startLabStage } from './stage-cluster.ts';
import { startComponentsStage } from './stage-components.ts';
import { failoverStage } from './stage-failover.ts';
import { applyManifestsStage } from './stage-manifests.ts';
import { teardown } from './teardown.ts';

/** Exit codes: 0 every check held; 1 a check failed or a stage broke; 2 cannot run here; 130 interrupted during set-up. */
export async function runDemo(argv: readonly string[]): Promise<number> {
  let opts: DemoOptions;
  try {
    opts = parseDemoArgs(argv);
  } catch (err) {
    process.stderr.write(`npm run demo: ${(err as Error).message}\n`);
    return 2;
  }
  if (opts.help) {
    process.stdout.write(`${DEMO_USAGE}\n`);
    return 0;
  }
  if (opts.real) return runRealDemo(opts);
  const facts = probeMachine();
  const missing = missingRequirements(facts);
  if (missing.length > 0) {
    process.stderr.write(`${refusalMessage(requirements(facts), facts.go)}\n`);
    return 2;
  }

  const report = new Reporter(opts.failover ? 7 : 6);
  const abort = new AbortController();
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (++signals === 1) {
      report.line(`\n${sig}: tearing everything down (${sig} again to quit at once, which may leave processes behind)`);
      abort.abort(new Error(`interrupted by ${sig}`));
    } else {
      process.exit(130);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const t0 = Date.now();
  const swept = await sweepStaleDemos(tmpdir());
  const workDir = await mkdtemp(join(tmpdir(), WORK_DIR_PREFIX));
  await writeDemoOwner(workDir);
  const demo = new Demo(opts, report, workDir, abort.signal);
  report.line(`metalgate demo: a cluster in a box on this machine, with a SIMULATED kubelet (npm run demo -- --real for real kubelets)${opts.once ? ' (--once)' : ''}`);
  if (swept.dirs.length) report.line(`removed what ${swept.dirs.length} demo(s) killed earlier left: ${swept.killed.length} process(es), ${swept.dirs.join(', ')}`);
  report.line(`work directory ${workDir}`);

  let broken: Error | undefined;
  let upAndWaiting = false;
  try {
    await startControlPlaneStage(demo);
    await startLabStage(demo);
    await applyManifestsStage(demo);
    await startComponentsStage(demo);
    await startSampleAppStage(demo);
    await checksStage(demo);
    if (opts.failover) await failoverStage(demo);
    report.line('');
    report.line(`${summaryLine(report.checks)} (${seconds(Date.now() - t0)} since start)`);
    if (!opts.once) {
      printHowToPoke(demo);
      upAndWaiting = true;
      await waitForSignal(demo);
    }
  } catch (err) {
    // Ctrl-C while up is the normal end of an interactive demo.
    if (!upAndWaiting) broken = err as Error;
  }
  const interrupted = signals > 0;
  if (broken && !interrupted) {
    report.line('');
    report.line(`STOPPED: ${broken.message}`);
  }

  report.line('');
  const t1 = Date.now();
  report.line('Tearing down: speakers, controller, pods, namespaces, control plane ...');
  const failed = broken !== undefined || exitCodeOf(report.checks) !== 0;
  const down = await teardown(demo, opts.keepLogs || (failed && !interrupted));
  for (const e of down.errors) report.line(`  teardown: ${e}`);
  report.line(`Torn down in ${seconds(Date.now() - t1)}${down.errors.length ? ' WITH ERRORS (above)' : ''}.${down.keptLogs ? ` Logs kept in ${down.keptLogs}` : ''}`);
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);

  if (broken) {
    report.line(interrupted ? 'RESULT: interrupted before the end.' : `RESULT: stopped before the end. ${summaryLine(report.checks)}`);
    return interrupted ? 130 : 1;
  }
  report.line(`RESULT: ${summaryLine(report.checks)}`);
  return down.errors.length ? 1 : exitCodeOf(report.checks);
}

function printHowToPoke(demo: Demo): void {
  const r = demo.report;
  const cp = demo.need(demo.cp, 'the control plane');
  const client = demo.client;
  r.line('');
  r.line('The demo is up. In another terminal, as root:');
  r.line(`  export KUBECONFIG=${cp.kubeconfigPath}`);
  r.line(`  alias kubectl=${demo.kubectlPath()}`);
  r.line('  kubectl get svc,pods,ingress -A -o wide');
  r.line(`  kubectl get events -A              # IPAllocated, nodeAssigned, ...`);
  if (demo.externalIp) r.line(`  ${demo.netnsExec(client, `curl -s ${httpUrl(demo.externalIp)}`)}`);
  if (demo.entrypointIp) r.line(`  ${demo.netnsExec(client, `curl -s --resolve ${APP.host}:80:${demo.entrypointIp} http://${APP.host}/`)}   # via ${ENTRYPOINT.name}`);
  r.line(`  ${demo.netnsExec(client, 'ip neigh')}                # which MAC the client uses for the IPs`);
  for (const n of demo.nodes) r.line(`  ${demo.netnsExec(n, 'ip addr show metalgate0')}`);
  for (const [node, p] of demo.speakers) r.line(`  tail -f ${p.logFile}    # speaker on ${node} (JSON lines)`);
  if (demo.controller) r.line(`  tail -f ${demo.controller.logFile}`);
  r.line(`  kill -9 <pid of a speaker>          # pids: ${[...demo.speakers].map(([n, p]) => `${n} ${p.pid}`).join(', ')}`);
  r.line('Press Ctrl-C to tear everything down.');
}

/** Until Ctrl-C; says so when a component exits on its own meanwhile. */
async function waitForSignal(demo: Demo): Promise<never> {
  const watched = new Set<number>();
  const watch = (): void => {
    for (const [node, p] of [...demo.speakers, ['controller', demo.controller] as const]) {
      if (!p || watched.has(p.pid)) continue;
      watched.add(p.pid);
      void p.exited.then((s) => {
        if (!demo.signal.aborted) demo.report.line(`note: ${node === 'controller' ? 'the controller' : `the speaker on ${node}`} (pid ${p.pid}) exited: ${JSON.stringify(s)}`);
      });
    }
  };
  watch();
  const timer = setInterval(watch, 1000);
  try {
    await new Promise<never>((_, reject) => {
      if (demo.signal.aborted) reject(demo.signal.reason);
      demo.signal.addEventListener('abort', () => reject(demo.signal.reason), { once: true });
    });
  } finally {
    clearInterval(timer);
  }
  throw new Error('unreachable');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  runDemo(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`npm run demo: ${(err as Error)?.stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}
