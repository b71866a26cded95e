// A process the lab started (usually inside a namespace through
// `ip netns exec`, which execs in place, so the pid is the program's own).
// Its stdout and stderr always go to a log file and to a bounded in-memory
// tail; callers may also listen on child.stdout/stderr. Stopping is by pid,
// bounded: a signal, a grace period, then SIGKILL.

import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the process could not be started at all. */
  error?: Error;
}

export interface LabSpawnOptions {
  /** Added to (and overriding) this process's environment. */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Where stdout and stderr go (appended); the lab picks one in its run directory by default. */
  logFile?: string;
  /** 'pipe' to write to child.stdin; 'ignore' (default) gives it /dev/null. */
  stdin?: 'pipe' | 'ignore';
}

/** How much recent output each process keeps in memory. */
const TAIL_BYTES = 256 * 1024;

export class LabProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Network namespace it runs in (undefined: the host's). */
  readonly ns: string | undefined;
  /** The command as given (without the `ip netns exec` prefix). */
  readonly command: readonly string[];
  readonly logFile: string;
  /** Resolves when the process has exited; never rejects. */
  readonly exited: Promise<ExitStatus>;
  #status: ExitStatus | undefined;
  #tail = '';
  #watchers = new Set<() => void>();

  constructor(ns: string | undefined, command: readonly string[], logFile: string, opts: LabSpawnOptions = {}) {
    this.ns = ns;
    this.command = command;
    this.logFile = logFile;
    const argv = ns === undefined ? [...command] : ['ip', 'netns', 'exec', ns, ...command];
    mkdirSync(dirname(logFile), { recursive: true });
    const log = createWriteStream(logFile, { flags: 'a' });
    log.on('error', () => {});
    log.write(`# ${new Date().toISOString()} ${ns ? `[netns ${ns}] ` : ''}${command.join(' ')}\n`);
    const child = spawn(argv[0]!, argv.slice(1), {
      stdio: [opts.stdin ?? 'ignore', 'pipe', 'pipe'],
      ...(opts.env ? { env: { ...process.env, ...opts.env } } : {}),
      ...(opts.cwd ? { cwd: opts.cwd } : {}),
    });
    this.child = child;
    let settle: (s: ExitStatus) => void = () => {};
    this.exited = new Promise<ExitStatus>((resolve) => (settle = resolve));
    child.once('error', (error) => {
      if (child.pid === undefined) {
        this.#status = { code: null, signal: null, error };
        log.end();
        settle(this.#status);
        this.#notify();
      }
    });
    child.stdin?.on('error', () => {});
    const onData = (chunk: Buffer): void => {
      log.write(chunk);
      this.#tail += chunk.toString();
      if (this.#tail.length > TAIL_BYTES) this.#tail = this.#tail.slice(-TAIL_BYTES);
      this.#notify();
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code, signal) => {
      this.#status = { code, signal };
      settle(this.#status);
      this.#notify();
    });
    child.once('close', () => log.end(`# exited ${JSON.stringify(this.#status)}\n`));
    if (child.pid === undefined) throw new Error(`could not start ${argv.join(' ')}`);
    this.pid = child.pid;
  }

  get running(): boolean {
    return this.#status === undefined;
  }

  get exitStatus(): ExitStatus | undefined {
    return this.#status;
  }

  /** The most recent output (stdout and stderr interleaved), at most 256 KiB. */
  output(): string {
    return this.#tail;
  }

  /**
   * Resolves with the first line of output matching `pattern` (including
   * output already seen); rejects when the process exits first or after
   * `timeoutMs`, with the output so far.
   */
  waitForOutput(pattern: RegExp | string, timeoutMs = 10_000): Promise<string> {
    const matchLine = (): string | undefined => {
      for (const line of this.#tail.split('\n')) {
        if (typeof pattern === 'string' ? line.includes(pattern) : pattern.test(line)) return line;
      }
      return undefined;
    };
    return new Promise((resolve, reject) => {
      const finish = (err: Error | undefined, line?: string): void => {
        clearTimeout(timer);
        this.#watchers.delete(check);
        if (err) reject(err);
        else resolve(line!);
      };
      const describe = (): string => `${this.command.join(' ')}${this.ns ? ` in ${this.ns}` : ''}`;
      const check = (): void => {
        const line = matchLine();
        if (line !== undefined) return finish(undefined, line);
        if (this.#status !== undefined) {
          finish(new Error(`${describe()} exited (${JSON.stringify(this.#status)}) before printing ${String(pattern)}\n${this.#tail.slice(-4000)}`));
        }
      };
      const timer = setTimeout(
        () => finish(new Error(`${describe()} did not print ${String(pattern)} within ${timeoutMs} ms\n${this.#tail.slice(-4000)}`)),
        timeoutMs,
      );
      this.#watchers.add(check);
      check();
    });
  }

  /** Sends a signal by pid without waiting; false when it already exited. */
  signal(signal: NodeJS.Signals): boolean {
    if (!this.running) return false;
    try {
      process.kill(this.pid, signal);
      return true;
    } catch {
      return false;
    }
  }

  /** Sends `signal`, waits up to `graceMs`, then SIGKILL (and waits up to 5 s more). */
  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 5000): Promise<ExitStatus> {
    if (!this.running) return this.#status!;
    this.signal(signal);
    if (signal !== 'SIGKILL' && !(await this.#exitWithin(graceMs))) this.signal('SIGKILL');
    if (!(await this.#exitWithin(5000))) {
      throw new Error(`pid ${this.pid} (${this.command.join(' ')}) did not exit after SIGKILL`);
    }
    return this.#status!;
  }

  async #exitWithin(ms: number): Promise<boolean> {
    if (!this.running) return true;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
    const result = await Promise.race([this.exited.then(() => true as const), timedOut]);
    clearTimeout(timer);
    return result;
  }

  #notify(): void {
    for (const w of [...this.#watchers]) w();
  }
}
