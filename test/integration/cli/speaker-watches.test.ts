// One cluster view per node, measured where it matters: the API server's
// own count of open watches (apiserver_longrunning_requests, verb WATCH, by
// resource). A `metalgate speaker` with 4 proxy workers and the ingress
// engine on must add exactly one watch per resource type it reads - the
// workers hold no API connection - and the same as one with the proxy in
// its own process. No root needed: --no-dataplane, loopback only.
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, describe, expect, test } from 'vitest';
import { join } from 'node:path';
import { freePort } from '../../support/control-plane.ts';
import { useCluster, waitFor } from '../helpers/cluster.ts';

const cli = join(import.meta.dirname, '../../../src/cli.ts');
const cluster = useCluster();
const procs: ChildProcess[] = [];
afterAll(() => {
  for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
});

/** Open WATCH requests by resource, from the API server's /metrics. */
async function watchesByResource(): Promise<Map<string, number>> {
  const text = await cluster().cp.kubectl(['get', '--raw', '/metrics']);
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line.startsWith('apiserver_longrunning_requests{') || !line.includes('verb="WATCH"')) continue;
    const resource = /resource="([^"]*)"/.exec(line)?.[1] ?? '?';
    out.set(resource, (out.get(resource) ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1)));
  }
  return out;
}

function added(before: Map<string, number>, after: Map<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [r, n] of after) if (n - (before.get(r) ?? 0) !== 0) out[r] = n - (before.get(r) ?? 0);
  return out;
}

/** The resources `metalgate speaker` reads (the Traefik CRDs are not installed here, so not watched). */
const ONE_EACH = { configmaps: 1, endpointslices: 1, ingressclasses: 1, ingresses: 1, leases: 1, nodes: 1, secrets: 1, services: 1 };

async function speakerWatches(workers: number): Promise<Record<string, number>> {
  const before = await watchesByResource();
  const port = await freePort();
  const proc = spawn(
    process.execPath,
    [cli, 'speaker', '--node-name', `n${workers}`, '--kubeconfig', cluster().cp.kubeconfigPath, '--no-dataplane', '--l4-dataplane', 'proxy', '--proxy-workers', String(workers), '--metrics-address', '127.0.0.1', '--metrics-port', String(port), '--log-level', 'warn'],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  procs.push(proc);
  try {
    await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.status === 200, `speaker with ${workers} proxy workers ready`, 30_000, 100);
    // Every watch is open once ready; give a late one the chance to show up.
    await new Promise((r) => setTimeout(r, 1000));
    return added(before, await watchesByResource());
  } finally {
    proc.kill('SIGTERM');
    await new Promise((r) => proc.once('exit', r));
    await waitFor(async () => Object.keys(added(before, await watchesByResource())).length === 0, 'its watches closed', 15_000, 200);
  }
}

describe('watches on the API server', () => {
  test('a speaker with 4 proxy workers holds exactly one watch per resource type; the workers hold none', async () => {
    expect(await speakerWatches(4)).toEqual(ONE_EACH);
  }, 90_000);

  test('the same with the proxy in the speaker process', async () => {
    expect(await speakerWatches(1)).toEqual(ONE_EACH);
  }, 90_000);
});
