// Bad input never costs what is already allocated: the last good config
// stays in force and the user is told (log, Event, metric).
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Controller } from '../../../src/controller/controller.ts';
import { startController } from '../helpers/controller.ts';
import { createService, ensureNamespace, eventsFor, ingressIPs, lbService, setPoolConfig, useCluster, waitFor, waitForEvent, waitForIPs } from '../helpers/cluster.ts';

const cluster = useCluster();
const ns = 'cfg';
let controller: Controller;

const GOOD = `
address-pools:
- name: first
  protocol: layer2
  addresses: [198.18.110.0/30]
`;

async function metric(c: Controller, name: string): Promise<number | undefined> {
  const json = await c.registry.getMetricsAsJSON();
  const m = json.find((x) => x.name === name);
  return m?.values[0]?.value;
}

beforeAll(async () => {
  const { core, kc } = cluster();
  await ensureNamespace(core, ns);
  await setPoolConfig(core, GOOD);
  controller = startController(kc);
});
afterAll(async () => controller?.stop());

describe('controller config handling', () => {
  test('loads the config, reports ConfigLoaded and pool metrics', async () => {
    const { core } = cluster();
    await waitForEvent(core, 'metalgate-system', 'ConfigMap', 'config', 'ConfigLoaded');
    await createService(core, lbService(ns, 'a'));
    expect(await waitForIPs(core, ns, 'a')).toEqual(['198.18.110.0']);
    await waitFor(async () => (await metric(controller, 'metalgate_allocator_addresses_total')) === 4, 'pool size metric');
    const text = await controller.registry.metrics();
    expect(text).toMatch(/metalgate_allocator_addresses_in_use_total\{pool="first",family="ipv4"\} 1/);
    expect(await metric(controller, 'metalgate_config_stale')).toBe(0);
  });

  test('an invalid config keeps the last good one: Event, metric, and allocation goes on from the old pools', async () => {
    const { core } = cluster();
    await setPoolConfig(core, `
address-pools:
- name: first
  protocol: layer2
  addresses: [198.18.110.0/30]
  colour: blue
`);
    const ev = await waitForEvent(core, 'metalgate-system', 'ConfigMap', 'config', 'ConfigInvalid');
    expect(ev.type).toBe('Warning');
    expect(ev.message).toContain('colour');
    await waitFor(async () => (await metric(controller, 'metalgate_config_stale')) === 1, 'config_stale = 1');
    await createService(core, lbService(ns, 'b'));
    expect(await waitForIPs(core, ns, 'b')).toEqual(['198.18.110.1']);
    expect(ingressIPs(await core.readNamespacedService({ name: 'a', namespace: ns }))).toEqual(['198.18.110.0']);
  });

  test('overlapping pools are rejected the same way', async () => {
    const { core } = cluster();
    await setPoolConfig(core, `
address-pools:
- name: first
  protocol: layer2
  addresses: [198.18.110.0/30]
- name: second
  protocol: layer2
  addresses: [198.18.110.2-198.18.110.9]
`);
    await waitFor(async () => (await eventsFor(core, 'metalgate-system', 'ConfigMap', 'config')).some((e) => e.reason === 'ConfigInvalid' && /overlap/i.test(e.message ?? '')), 'overlap Event');
    expect(await metric(controller, 'metalgate_config_stale')).toBe(1);
  });

  test('a bgp pool is reported as not supported while the layer2 pools work; an IP that left every pool is kept with a Warning', async () => {
    const { core } = cluster();
    await setPoolConfig(core, `
address-pools:
- name: moved
  protocol: layer2
  addresses: [198.18.111.0/30]
- name: routers
  protocol: bgp
  addresses: [198.18.112.0/30]
`);
    const warn = await waitForEvent(core, 'metalgate-system', 'ConfigMap', 'config', 'ConfigWarning');
    expect(warn.message).toMatch(/bgp/i);
    await waitFor(async () => (await metric(controller, 'metalgate_config_stale')) === 0, 'config_stale = 0');
    const ev = await waitForEvent(core, ns, 'Service', 'a', 'IPOutsidePools');
    expect(ev.message).toContain('198.18.110.0');
    expect(ingressIPs(await core.readNamespacedService({ name: 'a', namespace: ns }))).toEqual(['198.18.110.0']);
    await createService(core, lbService(ns, 'c'));
    expect(await waitForIPs(core, ns, 'c')).toEqual(['198.18.111.0']);
  });

  test('--own-class-only serves only Services of our class', async () => {
    const { core, kc } = cluster();
    await controller.stop();
    controller = startController(kc, { ownClassOnly: true });
    await ensureNamespace(core, 'cls');
    await createService(core, lbService('cls', 'no-class'));
    await createService(core, lbService('cls', 'ours', { loadBalancerClass: 'metalgate.io/metalgate' }));
    expect(await waitForIPs(core, 'cls', 'ours')).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 500));
    expect(ingressIPs(await core.readNamespacedService({ name: 'no-class', namespace: 'cls' }))).toEqual([]);
    // Services it does not serve keep their IPs untouched (a restart in this
    // mode must not strip IPs other instances gave).
    expect(ingressIPs(await core.readNamespacedService({ name: 'a', namespace: ns }))).toEqual(['198.18.110.0']);
  });

  test('a ConfigMap created after the start is read: its parser loads with it', async () => {
    const { core, kc } = cluster();
    await controller.stop();
    // Started without its ConfigMap, the controller has not loaded the YAML parser (pool-sources.ts).
    controller = startController(kc, { configName: 'late-config' });
    await waitFor(async () => controller.notReadyReason() === undefined, 'the controller ready without its ConfigMap');
    await setPoolConfig(core, 'address-pools:\n- name: late\n  protocol: layer2\n  addresses: [198.18.112.0/30]\n', 'metalgate-system', 'late-config');
    await waitForEvent(core, 'metalgate-system', 'ConfigMap', 'late-config', 'ConfigLoaded');
    await createService(core, lbService(ns, 'late', {}, { 'metallb.universe.tf/address-pool': 'late' }));
    // Services of the earlier tests waiting for an IP may take the pool's first addresses.
    expect((await waitForIPs(core, ns, 'late'))[0]).toMatch(/^198\.18\.112\.[0-3]$/);
  });
});
