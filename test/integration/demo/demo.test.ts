// `npm run demo -- --once` end to end, as a child process, the way CI and a
// person run it: the real control plane, the namespace LAN, the manifests,
// the controller and speakers as in their pods, the sample app, curl from
// the client, the announcements, one owner-node kill. Exit 0 only if every
// check held; nothing (namespace, process) may be left behind. Before it, a
// demo SIGKILLed mid-run, whose leftovers the --once run must remove first.
// Root only (network namespaces); bounded (2 + 4 minutes).
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import { pidsMentioning } from '../../../demo/demo-sweep.ts';
import { asNobody, nobodySkipReason } from '../helpers/as-nobody.ts';
import { hasProgram, labSkipReason, listNamespaces, nodeBinary, repoRoot } from '../../support/netns-exec.ts';

const DEMO = join(repoRoot, 'demo/main.ts');
const LIMIT_MS = 4 * 60_000;
/** The hard-killed run before it only has to get its components running. */
const KILLED_RUN_LIMIT_MS = 2 * 60_000;
const skipReason = labSkipReason() ?? (hasProgram('curl') ? null : 'needs curl');

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  out: string;
}

/**
 * Starts the demo (interactive: it stays up) and SIGKILLs it, by pid, once
 * it has printed `marker`: everything it started is left behind, as after a
 * CI timeout. Returns its output.
 */
function killDemoAt(marker: string, limitMs: number): Promise<string> {
  return new Promise((resolve) => {
    const child = spawn(nodeBinary(), [DEMO], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const onData = (b: Buffer): void => {
      out += b.toString();
      if (out.includes(marker)) child.kill('SIGKILL');
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const timer = setTimeout(() => child.kill('SIGKILL'), limitMs);
    child.on('close', () => {
      clearTimeout(timer);
      resolve(out);
    });
  });
}

/** Runs the demo; SIGTERM at `limitMs` (it tears down on SIGTERM), SIGKILL 30 s later. */
function runDemo(args: string[], limitMs: number, spawnArgs: { argv?: string[] } = {}): Promise<Run> {
  return new Promise((resolve) => {
    const argv = spawnArgs.argv ?? [nodeBinary(), DEMO, ...args];
    const child = spawn(argv[0]!, argv.slice(1), { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (out += b.toString()));
    const term = setTimeout(() => {
      out += `\n[test] no exit after ${limitMs} ms: SIGTERM\n`;
      child.kill('SIGTERM');
    }, limitMs);
    const kill = setTimeout(() => child.kill('SIGKILL'), limitMs + 30_000);
    child.on('close', (code, signal) => {
      clearTimeout(term);
      clearTimeout(kill);
      resolve({ code, signal, out });
    });
  });
}

describe.skipIf(skipReason !== null)(`npm run demo --once${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  it(
    'runs the whole user flow, every check holds, the owner node is killed once and traffic comes back, and nothing is left behind (not even by a demo killed hard before it)',
    async () => {
      // First a demo killed hard once its speakers run: control plane, controller and namespaces stay behind.
      const killed = await killDemoAt('[5/7]', KILLED_RUN_LIMIT_MS);
      const killedRun = /lab (\w+): LAN up/.exec(killed)?.[1];
      const killedDir = /work directory (\S+)/.exec(killed)?.[1];
      expect(killedRun, killed).toBeDefined();
      expect(pidsMentioning(`${killedDir!}/`).length, killed).toBeGreaterThanOrEqual(3); // etcd, kube-apiserver, controller

      // The next run removes those leftovers first, then does its own work.
      const run = await runDemo(['--once'], LIMIT_MS);
      const out = run.out;
      expect.soft(out).toMatch(new RegExp(`removed what 1 demo\\(s\\) killed earlier left: [1-9]\\d* process\\(es\\), ${killedDir}`));
      expect.soft(pidsMentioning(`${killedDir!}/`)).toEqual([]);
      expect.soft((await listNamespaces()).filter((ns) => ns.includes(`-${killedRun}-`))).toEqual([]);

      const runId = /lab (\w+): LAN up/.exec(out)?.[1];
      const workDir = /work directory (\S+)/.exec(out)?.[1];
      expect(runId, out).toBeDefined();
      expect(workDir, out).toBeDefined();

      // Nothing left behind, whatever the checks said.
      expect.soft((await listNamespaces()).filter((ns) => ns.includes(`-${runId}-`))).toEqual([]);
      expect.soft(pidsMentioning(`${workDir!}/`)).toEqual([]);
      expect.soft(out).toMatch(/Torn down in [\d.]+ m?s\./);
      expect.soft(out).not.toMatch(/WITH ERRORS/);

      // The key lines a person reads.
      const external = /\[ok\] +EXTERNAL-IP assigned: (198\.18\.0\.\d+) from pool/.exec(out)?.[1];
      expect(external, out).toBeDefined();
      expect(out).toMatch(/\$ kubectl apply -k manifests\//);
      expect(out).toMatch(new RegExp(`\\$ kubectl get svc -A\\n(.*\\n)*.*demo +hello +LoadBalancer +\\S+ +${external!.replace(/\./g, '\\.')} +80`));
      expect(out).toMatch(new RegExp(`\\[ok\\] +${external!.replace(/\./g, '\\.')} announced: .* owned by node[12]`));
      expect(out).toMatch(/\$ ip netns exec mgl-\w+-client curl -sS -m 3 http:\/\/198\.18\.0\.\d+\//);
      expect(out).toMatch(/\[ok\] +curl EXTERNAL-IP from the client: 4\/4 answered by the app/);
      expect(out).toMatch(/\[ok\] +curl http:\/\/hello\.demo\.test\/ via the entrypoint: answered by pod hello-[12]/);
      expect(out).toMatch(/\[ok\] +Ingress ADDRESS: Ingress demo\/hello shows 198\.18\.0\.\d+, the entrypoint's IP/);
      expect(out).toMatch(/node[12]: 198\.18\.0\.\d+ on eth0 02:6d:67:00:00:0[bc] reason=takeover/);
      expect(out).toMatch(/reason=reply \(reply to 198\.18\.0\.1 /);
      expect(out).toMatch(/\$ kill -9 \d+ +# metalgate speaker on node[12]/);
      expect(out).toMatch(/\[ok\] +IP moved to another node: node[12] took over/);
      expect(out).toMatch(/\[ok\] +traffic back after the owner died: answered again [\d.]+ m?s after the kill/);
      expect(out).toMatch(/RESULT: All \d+ checks held\./);
      expect(run.code, out).toBe(0);
    },
    KILLED_RUN_LIMIT_MS + LIMIT_MS + 60_000,
  );
});

const nobodySkip = nobodySkipReason();
describe.skipIf(nobodySkip !== null)(`npm run demo without root${nobodySkip ? ` (skipped: ${nobodySkip})` : ''}`, () => {
  it('says what it needs (root, iproute2, Go for the first build) and exits non-zero at once, wherever the checkout lives', async () => {
    const nobody = asNobody([nodeBinary(), DEMO, '--once']);
    const run = await runDemo([], 30_000, { argv: nobody.argv });
    nobody.cleanup();
    expect(run.code, run.out).toBe(2);
    expect(run.out).toMatch(/cannot run here/);
    expect(run.out).toMatch(/MISSING root: .*network namespaces/);
    expect(run.out).toMatch(/iproute2/);
    expect(run.out).toMatch(/Go, only the first time/);
    expect(run.out).not.toMatch(/Control plane/);
  });
});
