// Runs an nftables script through the `nft` binary (`nft -f -`): one
// transaction, all or nothing. The only I/O of kernel forwarding; no nf_tables
// netlink encoder exists on npm, and nft's own parser and checks are what
// every nftables user relies on (docs/dependencies.md).

import { spawn } from 'node:child_process';

export type NftResult = { ok: true } | { ok: false; error: string };

export type NftRunner = (script: string) => Promise<NftResult>;

const TIMEOUT_MS = 10_000;

/**
 * Whether `inet <table>` exists, read-only (`nft list table`). False as well
 * where nft is missing or nf_tables is unavailable: there is nothing to clear.
 */
export function nftTableExists(table: string, binary = 'nft', prefix: readonly string[] = []): Promise<boolean> {
  const argv = [...prefix, binary, 'list', 'table', 'inet', table];
  const cmd = argv[0]!;
  const args = argv.slice(1);
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: 'ignore', timeout: TIMEOUT_MS });
    child.on('error', () => resolve(false));
    child.on('close', (code) => resolve(code === 0));
  });
}

/**
 * A runner for the given binary ("nft" from PATH by default). `prefix` runs
 * it through another program (tests: `ip netns exec NS`).
 */
export function nftRunner(binary = 'nft', prefix: readonly string[] = []): NftRunner {
  const argv = [...prefix, binary, '-f', '-'];
  const cmd = argv[0]!;
  const args = argv.slice(1);
  return (script) =>
    new Promise<NftResult>((resolve) => {
      let stderr = '';
      let done = false;
      const finish = (r: NftResult): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        resolve(r);
      };
      const child = spawn(cmd, args, { stdio: ['pipe', 'ignore', 'pipe'] });
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        finish({ ok: false, error: `${binary} did not finish within ${TIMEOUT_MS} ms` });
      }, TIMEOUT_MS);
      child.stderr.setEncoding('utf8');
      child.stderr.on('data', (d: string) => {
        if (stderr.length < 8192) stderr += d;
      });
      child.on('error', (err) => finish({ ok: false, error: `${binary}: ${err.message}` }));
      child.on('close', (code, signal) => {
        if (code === 0) finish({ ok: true });
        else finish({ ok: false, error: stderr.trim() || `${binary} exited with ${code ?? signal}` });
      });
      child.stdin.on('error', () => {}); // a missing binary fails through 'error' above
      child.stdin.end(script);
    });
}
