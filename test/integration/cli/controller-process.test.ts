// `metalgate controller` as a user runs it: a process, flags from the
// environment, health and metrics endpoints, a clean SIGTERM.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { freePort } from '../../support/control-plane.ts';
import { createService, ensureNamespace, lbService, setPoolConfig, useCluster, waitFor, waitForIPs } from '../helpers/cluster.ts';

const cluster = useCluster();
const node = process.execPath;
const cli = join(import.meta.dirname, '../../../src/cli.ts');

async function get(url: string): Promise<{ status: number; body: string }> {
  const res = await fetch(url);
  return { status: res.status, body: await res.text() };
}

describe('metalgate controller (process)', () => {
  test('serves health, readiness and metrics, allocates, and exits 0 on SIGTERM', async () => {
    const { core, cp } = cluster();
    await setPoolConfig(core, 'address-pools:\n- name: p\n  protocol: layer2\n  addresses: [198.18.120.0/29]\n');
    await ensureNamespace(core, 'cli');
    const port = await freePort();
    const proc = spawn(node, [cli, 'controller', '--log-format', 'json'], {
      env: { ...process.env, KUBECONFIG: cp.kubeconfigPath, METALGATE_METRICS_PORT: String(port), METALGATE_METRICS_ADDRESS: '127.0.0.1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    proc.stdout.on('data', (b: Buffer) => (out += b.toString()));
    proc.stderr.on('data', (b: Buffer) => (out += b.toString()));
    try {
      await waitFor(async () => (await get(`http://127.0.0.1:${port}/healthz`)).status === 200, 'healthz', 20_000);
      await waitFor(async () => (await get(`http://127.0.0.1:${port}/readyz`)).status === 200, 'readyz', 20_000);
      await createService(core, lbService('cli', 'web'));
      expect(await waitForIPs(core, 'cli', 'web')).toEqual(['198.18.120.0']);
      const metrics = (await get(`http://127.0.0.1:${port}/metrics`)).body;
      expect(metrics).toContain('metalgate_allocator_addresses_total{pool="p",family="ipv4"} 8');
      expect(metrics).toContain('metalgate_allocator_addresses_in_use_total{pool="p",family="ipv4"} 1');
      expect(metrics).toContain('metalgate_controller_leader 1');
      expect(metrics).toContain('metalgate_config_stale 0');
      expect(out).toContain('"msg":"assigned IP"');
    } finally {
      proc.kill('SIGTERM');
    }
    const [code] = await once(proc, 'exit');
    expect(code).toBe(0);
    expect(out).toContain('released leadership');
  });
});

describe('metalgate CLI', () => {
  const run = async (args: string[], input?: string) => {
    const p = spawn(node, [cli, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    p.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    p.stdin.end(input ?? '');
    const [code] = await once(p, 'exit');
    return { code: code as number, stdout, stderr };
  };

  test('--help lists the commands; a command --help lists its flags with env names', async () => {
    const top = await run(['--help']);
    expect(top.code).toBe(0);
    for (const c of ['controller', 'speaker', 'validate']) expect(top.stdout).toContain(c);
    const ctl = await run(['controller', '--help']);
    expect(ctl.code).toBe(0);
    expect(ctl.stdout).toContain('--config-namespace');
    expect(ctl.stdout).toContain('METALGATE_CONFIG_NAMESPACE');
  });

  test('unknown commands and flags exit 2 with a message', async () => {
    expect((await run(['frobnicate'])).code).toBe(2);
    const bad = await run(['controller', '--no-such-flag']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('no-such-flag');
  });

  test('validate: exit 0 for a good ConfigMap, 1 with one line per error', async () => {
    const dir = cluster().cp.dir;
    const good = join(dir, 'good.yaml');
    await writeFile(good, 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: config, namespace: metalgate-system}\ndata:\n  config: |\n    address-pools:\n    - name: a\n      protocol: layer2\n      addresses: [198.18.0.0/24]\n');
    expect((await run(['validate', '-f', good])).code).toBe(0);
    const bad = await run(['validate', '-f', '-'], 'address-pools:\n- name: a\n  protocol: layer3\n  addresses: [198.18.0.10-198.18.0.1]\n');
    expect(bad.code).toBe(1);
    const errors = bad.stdout.trim().split('\n').filter((l) => l.startsWith('error: '));
    expect(errors).toEqual([
      'error: line 3: pool "a": unknown protocol "layer3" (expected layer2 or bgp)',
      'error: line 4: pool "a": address "198.18.0.10-198.18.0.1": range start 198.18.0.10 is after end 198.18.0.1',
    ]);
  });
});
