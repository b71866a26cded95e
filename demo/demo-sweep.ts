// What a demo killed hard (SIGKILL, a CI timeout) leaves outside the lab:
// its etcd and kube-apiserver still running, and its work directory. Every
// demo writes owner.json (pid and start time, as the lab does) into its work
// directory; the next demo removes the directories whose owner is gone,
// after killing, by pid, the processes whose command line names that
// directory (only the demo's own children do: --data-dir, --cert-dir,
// KUBECONFIG=...).
// The lab's namespaces are swept by Lab.create itself.
import { readdirSync, readFileSync } from 'node:fs';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { currentOwner, ownerAlive, type LabOwner } from '../test/support/lab-sweep.ts';

export const WORK_DIR_PREFIX = 'metalgate-demo-';
const OWNER_FILE = 'owner.json';

export async function writeDemoOwner(workDir: string): Promise<void> {
  await writeFile(join(workDir, OWNER_FILE), `${JSON.stringify(currentOwner())}\n`);
}

/** Work directories to remove: those with an owner file whose owner is gone. Pure. */
export function staleDemoDirs(dirs: ReadonlyArray<{ dir: string; owner: LabOwner | undefined }>, alive: (o: LabOwner) => boolean): string[] {
  return dirs.filter((d) => d.owner !== undefined && !alive(d.owner)).map((d) => d.dir);
}

/**
 * Pids (not this process) whose command line or environment contains
 * `text`: etcd and kube-apiserver name the work directory in their flags,
 * the controller in its KUBECONFIG.
 */
export function pidsMentioning(text: string): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    for (const file of ['cmdline', 'environ']) {
      try {
        if (readFileSync(`/proc/${entry}/${file}`, 'utf8').includes(text)) {
          out.push(Number(entry));
          break;
        }
      } catch {
        // exited meanwhile, or not ours to read
      }
    }
  }
  return out;
}

export interface DemoSweepReport {
  dirs: string[];
  killed: number[];
}

export async function sweepStaleDemos(baseDir: string): Promise<DemoSweepReport> {
  const report: DemoSweepReport = { dirs: [], killed: [] };
  const candidates: Array<{ dir: string; owner: LabOwner | undefined }> = [];
  for (const name of await readdir(baseDir).catch(() => [] as string[])) {
    if (!name.startsWith(WORK_DIR_PREFIX)) continue;
    const dir = join(baseDir, name);
    let owner: LabOwner | undefined;
    try {
      const o = JSON.parse(await readFile(join(dir, OWNER_FILE), 'utf8')) as Partial<LabOwner>;
      if (typeof o.pid === 'number' && typeof o.startTime === 'string') owner = { pid: o.pid, startTime: o.startTime };
    } catch {
      // no owner file: not ours to judge
    }
    candidates.push({ dir, owner });
  }
  for (const dir of staleDemoDirs(candidates, ownerAlive)) {
    const deadline = Date.now() + 3000;
    for (let pids = pidsMentioning(`${dir}/`); pids.length > 0 && Date.now() < deadline; pids = pidsMentioning(`${dir}/`)) {
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
          if (!report.killed.includes(pid)) report.killed.push(pid);
        } catch {
          // gone
        }
      }
      await sleep(50);
    }
    await rm(dir, { recursive: true, force: true });
    report.dirs.push(dir);
  }
  return report;
}
