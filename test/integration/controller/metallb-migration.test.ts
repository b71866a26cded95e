// Moving from the legacy ConfigMap to IPAddressPool objects, as the migration
// doc tells users to: `metalgate convert` writes the objects, `kubectl apply`
// them, delete the ConfigMap. Then the controller restarts twice with the
// objects alone. Not one of 200 Services changes IP.
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type * as k8s from '@kubernetes/client-node';
import { describe, expect, test } from 'vitest';
import type { Controller } from '../../../src/controller/controller.ts';
import { POOL_ANNOTATION } from '../../../src/kube/object-names.ts';
import { startController } from '../helpers/controller.ts';
import { createService, ensureNamespace, ingressIPs, lbService, setPoolConfig, useCluster, waitFor, waitForEvent } from '../helpers/cluster.ts';

const cluster = useCluster();
const repo = join(import.meta.dirname, '../../..');
const cli = join(repo, 'src/cli.ts');
const NS = 'migrate';
const N = 200;

const CONFIGMAP = `apiVersion: v1
kind: ConfigMap
metadata:
  name: config
  namespace: metalgate-system
data:
  config: |
    address-pools:
    - name: default
      protocol: layer2
      addresses:
      - 198.18.80.0/25
      - 198.18.81.10-198.18.81.200
    - name: reserved
      protocol: layer2
      auto-assign: false
      addresses:
      - 198.18.82.0/27
`;

async function ips(core: k8s.CoreV1Api): Promise<Map<string, string>> {
  const list = await core.listNamespacedService({ namespace: NS });
  return new Map(list.items.map((s) => [s.metadata!.name!, ingressIPs(s).join(',')]));
}

async function allAssigned(core: k8s.CoreV1Api, n: number): Promise<Map<string, string>> {
  return waitFor(async () => {
    const m = await ips(core);
    return m.size === n && [...m.values()].every((v) => v !== '') && m;
  }, `${n} Services with IPs`, 90_000, 250);
}

describe('from the ConfigMap to IPAddressPool objects, and restarts', () => {
  test('metalgate convert, apply, delete the ConfigMap, restart twice: 0 IP changes over 200 Services', async () => {
    const { core, kc, cp } = cluster();
    await cp.kubectl(['apply', '-f', join(repo, 'manifests/01-metallb-crds.yaml')]);
    await cp.kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd/ipaddresspools.metallb.io']);
    await ensureNamespace(core, 'metallb-system');
    await ensureNamespace(core, NS);
    const cmFile = join(cp.dir, 'configmap.yaml');
    await writeFile(cmFile, CONFIGMAP);
    await cp.kubectl(['apply', '-f', cmFile]);

    let controller: Controller = startController(kc, { poolStatusDelayMs: 100 });
    // Every tenth Service asks for the reserved pool by annotation.
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < N) {
          const i = next++;
          await createService(core, lbService(NS, `s${i}`, {}, i % 10 === 0 ? { 'metallb.universe.tf/address-pool': 'reserved' } : {}));
        }
      }),
    );
    const before = await allAssigned(core, N);
    expect([...before.values()].filter((ip) => ip.startsWith('198.18.82.')).length).toBe(N / 10);

    // metalgate convert, as a user runs it.
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [cli, 'convert', '-f', cmFile]);
    expect(stderr).toBe('');
    await cp.kubectl(['apply', '-f', '-'], stdout);
    await waitForEvent(core, 'metalgate-system', 'ConfigMap', 'config', 'PoolsReplaced');
    await waitForEvent(core, 'metallb-system', 'IPAddressPool', 'default', 'PoolReady');
    await waitForEvent(core, 'metallb-system', 'IPAddressPool', 'reserved', 'PoolReady');
    await core.deleteNamespacedConfigMap({ name: 'config', namespace: 'metalgate-system' });
    // The Services are annotated with the pool their IPs came from, as MetalLB does.
    await waitFor(async () => {
      const list = await core.listNamespacedService({ namespace: NS });
      return list.items.every((s) => s.metadata?.annotations?.[POOL_ANNOTATION] === (ingressIPs(s)[0]!.startsWith('198.18.82.') ? 'reserved' : 'default'));
    }, 'pool annotations', 60_000, 250);
    expect(await ips(core)).toEqual(before);

    for (let round = 0; round < 2; round++) {
      await controller.stop();
      controller = startController(kc, { poolStatusDelayMs: 100 });
      // A new Service after the restart gets an IP from the objects' pools: they are read.
      await createService(core, lbService(NS, `after-${round}`));
      const now = await allAssigned(core, N + round + 1);
      expect(now.get(`after-${round}`)).toMatch(/^198\.18\.8[01]\./);
      for (const [name, ip] of before) expect(now.get(name), name).toBe(ip);
    }
    await controller.stop();
  }, 240_000);
});
