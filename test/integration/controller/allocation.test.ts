// The controller against a real API server: what a user sees in
// `kubectl get svc` and `kubectl describe svc`.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Controller } from '../../../src/controller/controller.ts';
import { apiStatus } from '../../../src/kube/client.ts';
import { startController } from '../helpers/controller.ts';
import {
  createService,
  ensureNamespace,
  ingressIPs,
  lbService,
  setPoolConfig,
  useCluster,
  waitFor,
  waitForEvent,
  waitForIPs,
} from '../helpers/cluster.ts';

const cluster = useCluster();
const ns = 'alloc';
let controller: Controller;

const CONFIG = `
address-pools:
- name: default
  protocol: layer2
  addresses:
  - 198.18.100.0/29
  - 2001:db8:100::/125
- name: reserved
  protocol: layer2
  auto-assign: false
  addresses:
  - 198.18.101.0/30
- name: tiny
  protocol: layer2
  auto-assign: false
  addresses:
  - 198.18.102.1-198.18.102.2
`;

beforeAll(async () => {
  const { core, kc } = cluster();
  await ensureNamespace(core, ns);
  await setPoolConfig(core, CONFIG);
  controller = startController(kc);
});

afterAll(async () => {
  await controller?.stop();
});

describe('controller allocation', () => {
  test('assigns the lowest free IP with ipMode Proxy and an IPAllocated Event', async () => {
    const { core } = cluster();
    await createService(core, lbService(ns, 'web'));
    const ips = await waitForIPs(core, ns, 'web');
    expect(ips).toEqual(['198.18.100.0']);
    const svc = await core.readNamespacedService({ name: 'web', namespace: ns });
    expect(svc.status?.loadBalancer?.ingress?.[0]?.ipMode).toBe('Proxy');
    const ev = await waitForEvent(core, ns, 'Service', 'web', 'IPAllocated');
    expect(ev.type).toBe('Normal');
    expect(ev.message).toContain('198.18.100.0');
  });

  test('spec.loadBalancerIP inside a pool is honoured, even in an auto-assign: false pool', async () => {
    const { core } = cluster();
    await createService(core, lbService(ns, 'pinned', { loadBalancerIP: '198.18.101.2' }));
    expect(await waitForIPs(core, ns, 'pinned')).toEqual(['198.18.101.2']);
    await createService(core, lbService(ns, 'pinned-annot', {}, { 'metallb.universe.tf/loadBalancerIPs': '198.18.100.5' }));
    expect(await waitForIPs(core, ns, 'pinned-annot')).toEqual(['198.18.100.5']);
  });

  test('a requested IP outside every pool gets AllocationFailed and no IP', async () => {
    const { core } = cluster();
    await createService(core, lbService(ns, 'outside', { loadBalancerIP: '198.18.200.1' }));
    const ev = await waitForEvent(core, ns, 'Service', 'outside', 'AllocationFailed');
    expect(ev.type).toBe('Warning');
    expect(ev.message).toContain('198.18.200.1');
    const svc = await core.readNamespacedService({ name: 'outside', namespace: ns });
    expect(ingressIPs(svc)).toEqual([]);
  });

  test('the address-pool annotation picks the pool', async () => {
    const { core } = cluster();
    await createService(core, lbService(ns, 'from-reserved', {}, { 'metallb.io/address-pool': 'reserved' }));
    const [ip] = await waitForIPs(core, ns, 'from-reserved');
    expect(ip).toMatch(/^198\.18\.101\.[0-3]$/);
    expect(ip).not.toBe('198.18.101.2');
  });

  test('sharing: same key and disjoint ports share one IP; a different key is refused', async () => {
    const { core } = cluster();
    const key = { 'metallb.universe.tf/allow-shared-ip': 'team-a' };
    await createService(core, lbService(ns, 'share-a', { loadBalancerIP: '198.18.100.6', ports: [{ name: 'http', port: 80, protocol: 'TCP' }] }, key));
    await createService(core, lbService(ns, 'share-b', { loadBalancerIP: '198.18.100.6', ports: [{ name: 'dns', port: 53, protocol: 'UDP' }] }, key));
    expect(await waitForIPs(core, ns, 'share-a')).toEqual(['198.18.100.6']);
    expect(await waitForIPs(core, ns, 'share-b')).toEqual(['198.18.100.6']);
    await createService(
      core,
      lbService(ns, 'share-other', { loadBalancerIP: '198.18.100.6', ports: [{ name: 'https', port: 443, protocol: 'TCP' }] }, { 'metallb.universe.tf/allow-shared-ip': 'team-b' }),
    );
    const ev = await waitForEvent(core, ns, 'Service', 'share-other', 'AllocationFailed');
    expect(ev.message).toContain('198.18.100.6');
    await createService(core, lbService(ns, 'share-port-clash', { loadBalancerIP: '198.18.100.6', ports: [{ name: 'http', port: 80, protocol: 'TCP' }] }, key));
    const ev2 = await waitForEvent(core, ns, 'Service', 'share-port-clash', 'AllocationFailed');
    expect(ev2.message).toMatch(/80/);
  });

  test('dual-stack: RequireDualStack gets one IPv4 and one IPv6 address', async () => {
    const { core } = cluster();
    await createService(core, lbService(ns, 'dual', { ipFamilyPolicy: 'RequireDualStack', ipFamilies: ['IPv4', 'IPv6'] }));
    const ips = await waitForIPs(core, ns, 'dual', 2);
    expect(ips[0]).toMatch(/^198\.18\.100\./);
    expect(ips[1]).toBe('2001:db8:100::');
    await createService(core, lbService(ns, 'v6only', { ipFamilyPolicy: 'SingleStack', ipFamilies: ['IPv6'] }));
    expect(await waitForIPs(core, ns, 'v6only')).toEqual(['2001:db8:100::1']);
  });

  test('exhaustion: AllocationFailed, then an IP as soon as one frees', async () => {
    const { core } = cluster();
    const tiny = { 'metallb.universe.tf/address-pool': 'tiny' };
    await createService(core, lbService(ns, 'tiny-1', {}, tiny));
    await createService(core, lbService(ns, 'tiny-2', {}, tiny));
    const got = [...(await waitForIPs(core, ns, 'tiny-1')), ...(await waitForIPs(core, ns, 'tiny-2'))].sort();
    expect(got).toEqual(['198.18.102.1', '198.18.102.2']);
    await createService(core, lbService(ns, 'tiny-3', {}, tiny));
    const ev = await waitForEvent(core, ns, 'Service', 'tiny-3', 'AllocationFailed');
    expect(ev.message).toContain('tiny');
    const freed = ingressIPs(await core.readNamespacedService({ name: 'tiny-1', namespace: ns }))[0];
    await core.deleteNamespacedService({ name: 'tiny-1', namespace: ns });
    expect(await waitForIPs(core, ns, 'tiny-3')).toEqual([freed]);
  });

  test('a Service that stops being a LoadBalancer releases its IP (IPReleased)', async () => {
    const { core } = cluster();
    await createService(core, lbService(ns, 'flip', { loadBalancerIP: '198.18.100.7' }));
    await waitForIPs(core, ns, 'flip');
    // Read and replace, again when the controller wrote the Service in between (409), as kubectl edit would.
    for (let attempt = 1; ; attempt++) {
      const svc = await core.readNamespacedService({ name: 'flip', namespace: ns });
      svc.spec!.type = 'ClusterIP';
      try {
        await core.replaceNamespacedService({ name: 'flip', namespace: ns, body: svc });
        break;
      } catch (err) {
        if (apiStatus(err) !== 409 || attempt >= 5) throw err;
      }
    }
    await waitForEvent(core, ns, 'Service', 'flip', 'IPReleased');
    await waitFor(async () => ingressIPs(await core.readNamespacedService({ name: 'flip', namespace: ns })).length === 0, 'status cleared');
    await createService(core, lbService(ns, 'reuse', { loadBalancerIP: '198.18.100.7' }));
    expect(await waitForIPs(core, ns, 'reuse')).toEqual(['198.18.100.7']);
  });

  test('Services of another loadBalancerClass are left alone; ours are served', async () => {
    const { core } = cluster();
    await createService(core, lbService(ns, 'other-class', { loadBalancerClass: 'example.com/other' }));
    await createService(core, lbService(ns, 'our-class', { loadBalancerClass: 'metalgate.io/metalgate' }));
    await waitForIPs(core, ns, 'our-class');
    await new Promise((r) => setTimeout(r, 500));
    const other = await core.readNamespacedService({ name: 'other-class', namespace: ns });
    expect(ingressIPs(other)).toEqual([]);
  });
});
