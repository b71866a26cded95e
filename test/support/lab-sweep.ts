// Who owns a lab, and removal of what crashed runs left behind.
//
// Every lab writes <base>/<runId>/owner.json (its process's pid and kernel
// start time) before it creates anything, and removes the directory last.
// A run is stale when that owner is gone (pid dead or reused, told apart by
// the start time) or the file is missing; its namespaces, the processes in
// them (killed by pid) and its directory are then removed. Live runs, such
// as parallel test files, are left alone.

import { readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { runIdOfNamespace } from './lab-plan.ts';
import { ip, listNamespaces, namespacePids } from './netns-exec.ts';

/** Labs need root, so their run directories live on /run (emptied at boot, as namespaces are). */
export const LAB_BASE_DIR = '/run/metalgate-lab';

export interface LabOwner {
  pid: number;
  /** Field 22 of /proc/<pid>/stat: tells a live owner from a reused pid. */
  startTime: string;
}

/** The start time field of a /proc/<pid>/stat line (the command name may hold spaces and parentheses). */
export function parseStatStartTime(stat: string): string | undefined {
  const close = stat.lastIndexOf(')');
  if (close < 0) return undefined;
  // After "pid (comm)" come fields 3.. ; starttime is field 22.
  const fields = stat.slice(close + 2).split(' ');
  const value = fields[22 - 3];
  return value !== undefined && /^\d+$/.test(value) ? value : undefined;
}

function startTimeOf(pid: number): string | undefined {
  try {
    return parseStatStartTime(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

export function currentOwner(): LabOwner {
  const startTime = startTimeOf(process.pid);
  if (startTime === undefined) throw new Error('cannot read /proc/self/stat');
  return { pid: process.pid, startTime };
}

export function ownerAlive(owner: LabOwner): boolean {
  return startTimeOf(owner.pid) === owner.startTime;
}

/**
 * Creates the run directory with its owner file in one step (a complete
 * directory renamed into place), so a sweep running at the same moment in
 * another process never sees the directory without its owner.
 */
export async function writeOwner(runDir: string, owner: LabOwner = currentOwner()): Promise<void> {
  const staging = join(dirname(runDir), `.staging-${basename(runDir)}`);
  await mkdir(staging, { recursive: true, mode: 0o700 });
  await writeFile(join(staging, 'owner.json'), `${JSON.stringify(owner)}\n`);
  await rename(staging, runDir);
}

async function readOwner(runDir: string): Promise<LabOwner | undefined> {
  try {
    const o = JSON.parse(await readFile(join(runDir, 'owner.json'), 'utf8')) as Partial<LabOwner>;
    return typeof o.pid === 'number' && typeof o.startTime === 'string' ? { pid: o.pid, startTime: o.startTime } : undefined;
  } catch {
    return undefined;
  }
}

export interface LabRunState {
  runId: string;
  namespaces: string[];
  hasDir: boolean;
  owner: LabOwner | undefined;
}

/** Groups lab namespaces and run directories by run id. Pure. */
export function groupRuns(namespaces: readonly string[], runDirs: readonly string[], owners: ReadonlyMap<string, LabOwner>): LabRunState[] {
  const runs = new Map<string, LabRunState>();
  const get = (runId: string): LabRunState => {
    let r = runs.get(runId);
    if (!r) runs.set(runId, (r = { runId, namespaces: [], hasDir: false, owner: owners.get(runId) }));
    return r;
  };
  for (const ns of namespaces) {
    const runId = runIdOfNamespace(ns);
    if (runId !== null) get(runId).namespaces.push(ns);
  }
  for (const dir of runDirs) get(dir).hasDir = true;
  return [...runs.values()].sort((a, b) => a.runId.localeCompare(b.runId));
}

/** The runs to remove: every one without a live owner (or all, with includeLive). Pure. */
export function staleRuns(runs: readonly LabRunState[], alive: (o: LabOwner) => boolean, includeLive = false): LabRunState[] {
  return runs.filter((r) => includeLive || r.owner === undefined || !alive(r.owner));
}

export interface SweepOptions {
  /** Also remove labs whose owner still runs (a manual clean-up). */
  includeLive?: boolean;
  baseDir?: string;
  /** Skip this run (the caller's own). */
  exceptRunId?: string;
}

export interface SweepReport {
  runs: string[];
  namespaces: string[];
  /** Processes killed (by pid) because they were inside a removed namespace. */
  killed: number[];
  errors: string[];
}

/** Removes what stale lab runs left: processes in their namespaces, the namespaces, run directories. */
export async function sweepLabs(opts: SweepOptions = {}): Promise<SweepReport> {
  const baseDir = opts.baseDir ?? LAB_BASE_DIR;
  const report: SweepReport = { runs: [], namespaces: [], killed: [], errors: [] };
  const namespaces = await listNamespaces();
  let dirs: string[] = [];
  try {
    // Dot entries are directories being staged by writeOwner.
    dirs = (await readdir(baseDir, { withFileTypes: true })).filter((d) => d.isDirectory() && !d.name.startsWith('.')).map((d) => d.name);
  } catch {
    // no base directory: no run ever wrote one
  }
  const owners = new Map<string, LabOwner>();
  for (const d of dirs) {
    const o = await readOwner(join(baseDir, d));
    if (o) owners.set(d, o);
  }
  const stale = staleRuns(groupRuns(namespaces, dirs, owners), ownerAlive, opts.includeLive).filter((r) => r.runId !== opts.exceptRunId);
  for (const run of stale) {
    report.runs.push(run.runId);
    await removeNamespaces(run.namespaces, report);
    if (run.hasDir) {
      await rm(join(baseDir, run.runId), { recursive: true, force: true }).catch((e: Error) => report.errors.push(e.message));
    }
  }
  return report;
}

/**
 * Kills (SIGKILL, by pid) every process inside the namespaces, waits up to
 * 3 s for them to go, then deletes the namespaces (their veths go with them).
 * Used by the sweep and by a lab's own teardown.
 */
export async function removeNamespaces(namespaces: readonly string[], report: SweepReport): Promise<void> {
  const deadline = Date.now() + 3000;
  for (;;) {
    const pids = (await Promise.all(namespaces.map((ns) => namespacePids(ns)))).flat();
    if (pids.length === 0) break;
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
        if (!report.killed.includes(pid)) report.killed.push(pid);
      } catch {
        // already gone
      }
    }
    if (Date.now() > deadline) {
      report.errors.push(`processes still in lab namespaces after SIGKILL: ${pids.join(', ')}`);
      break;
    }
    await sleep(50);
  }
  for (const ns of namespaces) {
    try {
      await ip(undefined, ['netns', 'del', ns]);
      report.namespaces.push(ns);
    } catch (e) {
      report.errors.push((e as Error).message);
    }
  }
}
