// No IP churn and no duplicates under restarts, load, two replicas and an
// API server restart.
import type * as k8s from '@kubernetes/client-node';
import { describe, expect, test } from 'vitest';
import type { Controller } from '../../../src/controller/controller.ts';
import { startController } from '../helpers/controller.ts';
import { createService, ensureNamespace, ingressIPs, lbService, setPoolConfig, useCluster, waitFor, waitForIPs } from '../helpers/cluster.ts';

const cluster = useCluster();

const CONFIG = `
address-pools:
- name: big
  protocol: layer2
  addresses:
  - 198.18.64.0/20
`;

async function ipsByService(core: k8s.CoreV1Api, namespace: string): Promise<Map<string, string[]>> {
  const list = await core.listNamespacedService({ namespace });
  return new Map(list.items.map((s) => [s.metadata!.name!, ingressIPs(s)]));
}

async function createMany(core: k8s.CoreV1Api, namespace: string, prefix: string, n: number, concurrency: number): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        const i = next++;
        await createService(core, lbService(namespace, `${prefix}-${i}`));
      }
    }),
  );
}

async function waitAllAssigned(core: k8s.CoreV1Api, namespace: string, n: number, timeoutMs = 60_000): Promise<Map<string, string[]>> {
  return waitFor(async () => {
    const m = await ipsByService(core, namespace);
    const done = [...m.values()].filter((ips) => ips.length > 0).length;
    return m.size === n && done === n ? m : undefined;
  }, `${n} Services in ${namespace} to have IPs`, timeoutMs, 250);
}

function assertUnique(m: Map<string, string[]>): void {
  const all = [...m.values()].flat();
  expect(new Set(all).size).toBe(all.length);
}

describe('controller restarts, scale and high availability', () => {
  test('200 Services, controller restarted twice: zero IP changes', async () => {
    const { core, kc } = cluster();
    await setPoolConfig(core, CONFIG);
    await ensureNamespace(core, 'restart');
    let c: Controller = startController(kc);
    await createMany(core, 'restart', 'svc', 200, 16);
    const before = await waitAllAssigned(core, 'restart', 200);
    assertUnique(before);
    for (let round = 0; round < 2; round++) {
      await c.stop();
      // Churn while the controller is down: a new Service and a deleted one;
      // the restarted controller must give the new one a *free* IP.
      await createService(core, lbService('restart', `late-${round}`));
      c = startController(kc);
      await waitForIPs(core, 'restart', `late-${round}`);
      const after = await ipsByService(core, 'restart');
      for (const [name, ips] of before) expect(after.get(name), name).toEqual(ips);
      assertUnique(after);
    }
    await c.stop();
  });

  test('500 Services created at once: every IP unique', async () => {
    const { core, kc } = cluster();
    await ensureNamespace(core, 'burst');
    const c = startController(kc);
    await createMany(core, 'burst', 'b', 500, 32);
    const m = await waitAllAssigned(core, 'burst', 500, 90_000);
    const all = [...(await core.listServiceForAllNamespaces()).items.flatMap((s) => ingressIPs(s))];
    expect(new Set(all).size).toBe(all.length);
    expect(m.size).toBe(500);
    await c.stop();
  });

  test('two replicas side by side: one leads and allocates, no duplicates, the other takes over on stop', async () => {
    const { core, kc } = cluster();
    await ensureNamespace(core, 'ha');
    const a = startController(kc);
    const b = startController(kc);
    await waitFor(() => a.isLeader() !== b.isLeader() && (a.isLeader() || b.isLeader()), 'exactly one leader');
    await createMany(core, 'ha', 'h', 50, 8);
    await waitAllAssigned(core, 'ha', 50);
    expect(a.isLeader() && b.isLeader()).toBe(false);
    const leader = a.isLeader() ? a : b;
    const standby = leader === a ? b : a;
    await leader.stop(); // releases the Lease: the standby takes over at once
    await waitFor(() => standby.isLeader(), 'standby to lead', 10_000);
    await createService(core, lbService('ha', 'after-failover'));
    await waitForIPs(core, 'ha', 'after-failover');
    const all = (await core.listServiceForAllNamespaces()).items.flatMap((s) => ingressIPs(s));
    expect(new Set(all).size).toBe(all.length);
    await standby.stop();
  });

  test('the API server restarted under the controller: it carries on without moving an IP', async () => {
    const { core, kc, cp } = cluster();
    await ensureNamespace(core, 'apirestart');
    const c = startController(kc, { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 500 });
    await waitFor(() => c.isLeader(), 'leader');
    await createMany(core, 'apirestart', 'r', 20, 8);
    const before = await waitAllAssigned(core, 'apirestart', 20);
    await cp.stopApiServer();
    await new Promise((r) => setTimeout(r, 3000));
    await cp.startApiServer();
    await createService(core, lbService('apirestart', 'after-restart'));
    await waitForIPs(core, 'apirestart', 'after-restart', 1, 30_000);
    const after = await ipsByService(core, 'apirestart');
    for (const [name, ips] of before) expect(after.get(name), name).toEqual(ips);
    assertUnique(after);
    await c.stop();
  });
});
