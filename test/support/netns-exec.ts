// Thin, bounded wrappers around iproute2 for the lab: run `ip` (alone or as
// a batch), run a command inside a named network namespace, list namespaces
// and the processes inside one. Every call has a time limit.

import { execFile, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Node 24 for scripts run inside namespaces: this process's when it is 24+, else the repo's. */
export function nodeBinary(): string {
  const major = Number(process.versions.node.split('.')[0]);
  if (major >= 24) return process.execPath;
  const local = resolve(repoRoot, 'node_modules/.bin/node');
  return existsSync(local) ? local : process.execPath;
}

export class CommandError extends Error {
  override name = 'CommandError';
  readonly argv: readonly string[];
  readonly code: number | string | null;
  readonly stdout: string;
  readonly stderr: string;
  constructor(argv: readonly string[], code: number | string | null, stdout: string, stderr: string, why: string) {
    super(`${argv.join(' ')}: ${why}${stderr.trim() ? `\n${stderr.trim()}` : ''}`);
    this.argv = argv;
    this.code = code;
    this.stdout = stdout;
    this.stderr = stderr;
  }
}

export interface RunOptions {
  /** Written to stdin, then stdin is closed. */
  input?: string;
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export interface RunResult {
  stdout: string;
  stderr: string;
}

/** Runs a program to completion; rejects with CommandError on a non-zero exit or timeout. */
export function run(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const timeoutMs = opts.timeoutMs ?? 15_000;
  return new Promise((resolvePromise, reject) => {
    const child = execFile(
      argv[0]!,
      argv.slice(1),
      {
        timeout: timeoutMs,
        killSignal: 'SIGKILL',
        maxBuffer: 64 << 20,
        encoding: 'utf8',
        ...(opts.env ? { env: { ...process.env, ...opts.env } } : {}),
        ...(opts.cwd ? { cwd: opts.cwd } : {}),
      },
      (err, stdout, stderr) => {
        if (!err) return resolvePromise({ stdout, stderr });
        const e = err as NodeJS.ErrnoException & { killed?: boolean; code?: number | string | null };
        const why = e.killed ? `timed out after ${timeoutMs} ms` : typeof e.code === 'number' ? `exit code ${e.code}` : String(e.code ?? e.message);
        reject(new CommandError(argv, e.code ?? null, stdout, stderr, why));
      },
    );
    child.stdin?.on('error', () => {}); // a program that exits before reading its input
    if (opts.input !== undefined) child.stdin!.end(opts.input);
    else child.stdin?.end();
  });
}

/** `ip [-n ns] args...` */
export async function ip(ns: string | undefined, args: readonly string[], timeoutMs = 10_000): Promise<string> {
  return (await run(['ip', ...(ns ? ['-n', ns] : []), ...args], { timeoutMs })).stdout;
}

/** `ip [-n ns] -batch -`: many commands for one process; stops at the first failure. */
export async function ipBatch(ns: string | undefined, lines: readonly string[], timeoutMs = 15_000): Promise<void> {
  if (lines.length === 0) return;
  await run(['ip', ...(ns ? ['-n', ns] : []), '-batch', '-'], { input: `${lines.join('\n')}\n`, timeoutMs });
}

/** `ip netns exec ns argv...` to completion. */
export function execInNamespace(ns: string, argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return run(['ip', 'netns', 'exec', ns, ...argv], opts);
}

/** Names of every named network namespace on the machine. */
export async function listNamespaces(): Promise<string[]> {
  const out = (await ip(undefined, ['-j', 'netns', 'list'])).trim();
  if (out === '') return [];
  return (JSON.parse(out) as Array<{ name: string }>).map((n) => n.name);
}

/** Pids of the processes whose network namespace is `ns` ([] when it is gone). */
export async function namespacePids(ns: string): Promise<number[]> {
  try {
    const out = await ip(undefined, ['netns', 'pids', ns]);
    return out
      .split(/\s+/)
      .filter((s) => /^\d+$/.test(s))
      .map(Number);
  } catch {
    return [];
  }
}

/** Same as namespacePids, blocking: for the process 'exit' safety net only. */
export function namespacePidsSync(ns: string): number[] {
  const r = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8', timeout: 5000 });
  if (r.status !== 0) return [];
  return r.stdout
    .split(/\s+/)
    .filter((s) => /^\d+$/.test(s))
    .map(Number);
}

/** Why namespace labs cannot run here, or null when they can. */
export function labSkipReason(): string | null {
  if (process.platform !== 'linux') return 'needs Linux network namespaces';
  if (process.getuid?.() !== 0) return 'needs root (network namespaces)';
  if (spawnSync('ip', ['-V'], { stdio: 'ignore', timeout: 5000 }).status !== 0) return 'needs iproute2 (`ip`)';
  return null;
}

/** True when `program` is on PATH. */
export function hasProgram(program: string): boolean {
  return spawnSync('sh', ['-c', `command -v "$1" >/dev/null`, 'sh', program], { stdio: 'ignore', timeout: 5000 }).status === 0;
}
