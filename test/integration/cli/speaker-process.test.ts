// `metalgate speaker` as a process, without a reachable API server: it waits
// for its proxy (worker threads, the default) before joining the election,
// says so on /readyz, and a SIGTERM while it waits ends it at once, workers
// included. No root needed: --no-dataplane, nothing leaves loopback.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { freePort } from '../../support/control-plane.ts';
import { waitFor } from '../helpers/cluster.ts';

const cli = join(import.meta.dirname, '../../../src/cli.ts');
const dirs: string[] = [];
const procs: ChildProcess[] = [];
afterAll(async () => {
  // Also when a test timed out (its finally never ran): no speaker left behind.
  for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('metalgate speaker (process)', () => {
  test('waits for its proxy (caches, workers) before joining the election; a SIGTERM meanwhile stops it and its workers, exit 0', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'metalgate-speaker-cli-'));
    dirs.push(dir);
    // A port nothing listens on: the API never answers, so the proxy never syncs.
    const deadPort = await freePort();
    const kubeconfig = join(dir, 'kubeconfig');
    await writeFile(
      kubeconfig,
      `apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:${deadPort}\n    insecure-skip-tls-verify: true\nusers:\n- name: u\n  user:\n    token: t\ncontexts:\n- name: x\n  context: {cluster: c, user: u}\ncurrent-context: x\n`,
    );
    const port = await freePort();
    const proc = spawn(
      process.execPath,
      [cli, 'speaker', '--node-name', 'n1', '--kubeconfig', kubeconfig, '--no-dataplane', '--l4-dataplane', 'proxy', '--proxy-workers', '2', '--metrics-address', '127.0.0.1', '--metrics-port', String(port), '--log-format', 'json'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    procs.push(proc);
    let out = '';
    proc.stdout.on('data', (b: Buffer) => (out += b.toString()));
    proc.stderr.on('data', (b: Buffer) => (out += b.toString()));
    const exited = once(proc, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    try {
      await waitFor(() => out.includes('waiting for the proxy to be ready before joining the election'), 'the speaker waiting for its proxy', 20_000);
      const readyz = await waitFor(async () => {
        const r = await fetch(`http://127.0.0.1:${port}/readyz`);
        const body = await r.text();
        return r.status === 503 && body.includes('caches not synced') ? body : undefined;
      }, 'readyz naming the caches the proxy waits for', 10_000);
      expect(readyz).toMatch(/not ready: caches not synced: \/api\/v1\/services/);
      // The workers need no API: they serve the (empty) configuration at once.
      await waitFor(() => [...out.matchAll(/"worker":(\d),"thread":(\d+)/g)].length === 2, 'both proxy workers ready', 10_000);
      expect(out).not.toContain('published announce subnets');
      const t0 = Date.now();
      proc.kill('SIGTERM');
      const [code] = await exited;
      expect(code).toBe(0);
      expect(Date.now() - t0).toBeLessThan(10_000);
      expect(out).toContain('stopping before the start completed');
    } finally {
      if (proc.exitCode === null) proc.kill('SIGKILL');
    }
  });
});
