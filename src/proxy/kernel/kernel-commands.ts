// The programs kernel forwarding runs: `nft` for the rules (one `nft -f -`
// transaction, all or nothing) and `conntrack` to delete UDP flows pinned to
// an endpoint that is gone. The only I/O of kernel forwarding: no npm package
// encodes nf_tables or ctnetlink messages, and these two binaries are what
// every nftables user and kube-proxy rely on (docs/dependencies.md).

import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';

export type CommandResult = { ok: true } | { ok: false; error: string };
export type FlowDeleteResult = { ok: true; deleted: number } | { ok: false; error: string };
export type CountersResult = { ok: true; packets: Map<string, number> } | { ok: false; error: string };

export interface KernelCommands {
  /** Applies an nftables script as one transaction. */
  nft(script: string): Promise<CommandResult>;
  /**
   * Whether `inet <table>` exists, read-only (`nft list table`). False as
   * well where nft is missing or nf_tables is unavailable: nothing to clear.
   */
  tableExists(table: string): Promise<boolean>;
  /** `conntrack -D <filter>`: deletes the matching flows and says how many. */
  deleteFlows(filter: readonly string[]): Promise<FlowDeleteResult>;
  /** The packet counts of the named counters in `inet <table>` (`nft -j list counters`). */
  counters(table: string): Promise<CountersResult>;
  /** Whether the kernel forwards packets of this family between interfaces (net.ipv4.ip_forward, net.ipv6.conf.all.forwarding); undefined: unknown. */
  forwardingEnabled(family: 4 | 6): Promise<boolean | undefined>;
}

export interface KernelCommandOptions {
  /** Default "nft" from PATH. */
  readonly nft?: string;
  /** Default "conntrack" from PATH (Debian package `conntrack`). */
  readonly conntrack?: string;
  /** Runs every program through another one (tests: `ip netns exec NS`). */
  readonly prefix?: readonly string[];
}

const TIMEOUT_MS = 10_000;

export function kernelCommands(o: KernelCommandOptions = {}): KernelCommands {
  const nft = o.nft ?? 'nft';
  const conntrack = o.conntrack ?? 'conntrack';
  const prefix = o.prefix ?? [];
  return {
    async nft(script) {
      const r = await runProgram([...prefix, nft, '-f', '-'], script);
      if (r.code === 0) return { ok: true };
      return { ok: false, error: r.error ?? (r.stderr.trim() || `${nft} exited with ${r.code}`) };
    },
    async tableExists(table) {
      const r = await runProgram([...prefix, nft, 'list', 'table', 'inet', table]);
      return r.code === 0;
    },
    async deleteFlows(filter) {
      const r = await runProgram([...prefix, conntrack, '-D', ...filter]);
      if (r.error !== undefined) return { ok: false, error: r.error };
      // conntrack exits 1 when nothing matched; the count line is the answer either way.
      const m = /(\d+) flow entries have been deleted/.exec(r.stderr);
      if (m) return { ok: true, deleted: Number(m[1]) };
      return { ok: false, error: r.stderr.trim() || `${conntrack} exited with ${r.code}` };
    },
    async forwardingEnabled(family) {
      // /proc/sys/net shows the reader's network namespace: with a prefix, read through it.
      const text =
        prefix.length === 0
          ? await readFile(FORWARDING_SYSCTL[family], 'utf8').catch(() => undefined)
          : await runProgram([...prefix, 'cat', FORWARDING_SYSCTL[family]], '', true).then((r) => (r.code === 0 ? r.stdout : undefined));
      const v = text?.trim();
      return v === '1' ? true : v === '0' ? false : undefined;
    },
    async counters(table) {
      const r = await runProgram([...prefix, nft, '-j', 'list', 'counters', 'table', 'inet', table], '', true);
      if (r.code !== 0) return { ok: false, error: r.error ?? (r.stderr.trim() || `${nft} exited with ${r.code}`) };
      try {
        return { ok: true, packets: counterPackets(JSON.parse(r.stdout) as unknown) };
      } catch (err) {
        return { ok: false, error: `${nft} -j list counters: ${(err as Error).message}` };
      }
    },
  };
}

const FORWARDING_SYSCTL = { 4: '/proc/sys/net/ipv4/ip_forward', 6: '/proc/sys/net/ipv6/conf/all/forwarding' } as const;

/** Packets per counter name from nft's JSON (`{"nftables": [{"metainfo": ...}, {"counter": {"name", "packets", ...}}]}`). */
export function counterPackets(doc: unknown): Map<string, number> {
  const out = new Map<string, number>();
  const items = (doc as { nftables?: unknown } | null)?.nftables;
  if (!Array.isArray(items)) throw new Error('no "nftables" array');
  for (const item of items) {
    const c = (item as { counter?: { name?: unknown; packets?: unknown } } | null)?.counter;
    if (c && typeof c.name === 'string' && typeof c.packets === 'number') out.set(c.name, c.packets);
  }
  return out;
}

interface ProgramResult {
  readonly code: number | null;
  readonly stderr: string;
  /** Kept only when asked for (1 MiB at most). */
  readonly stdout: string;
  /** Set when the program could not run or did not finish. */
  readonly error?: string;
}

/** Runs argv[0] with the rest as arguments, `input` on stdin, stderr kept (8 KiB), stdout when `keepStdout`. */
function runProgram(argv: readonly string[], input = '', keepStdout = false): Promise<ProgramResult> {
  const [cmd, ...args] = argv as [string, ...string[]];
  return new Promise((resolve) => {
    let stderr = '';
    let stdout = '';
    let done = false;
    const finish = (r: ProgramResult): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(r);
    };
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      finish({ code: null, stderr, stdout, error: `${argv.join(' ')} did not finish within ${TIMEOUT_MS} ms` });
    }, TIMEOUT_MS);
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => {
      if (stderr.length < 8192) stderr += d;
    });
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => {
      if (keepStdout && stdout.length < 1 << 20) stdout += d;
    });
    child.on('error', (err) => finish({ code: null, stderr, stdout, error: `${cmd}: ${err.message}` }));
    child.on('close', (code, signal) => finish({ code: code ?? null, stderr, stdout, ...(code === null ? { error: `${cmd} ended by ${signal}` } : {}) }));
    child.stdin.on('error', () => {}); // a missing binary fails through 'error' above
    child.stdin.end(input);
  });
}
