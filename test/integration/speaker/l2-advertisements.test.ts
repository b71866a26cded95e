// MetalLB's L2Advertisement honoured by the speakers' election, on a real API
// server with the metallb.io CRDs from manifests/: a pool no advertisement
// selects is not announced (with an Event saying so), nodeSelectors and
// interfaces limit which node may announce, IPs outside the objects' pools
// (the ConfigMap's) are announced as before. Speakers without the dataplane;
// the ARP side is in lab-l2-advertisement.test.ts.
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Speaker } from '../../../src/speaker/speaker.ts';
import { createService, ensureNamespace, eventsFor, lbService, useCluster, waitFor } from '../helpers/cluster.ts';
import { createNode, setServiceIps, startSpeaker } from './helpers.ts';

const cluster = useCluster();
const repo = join(import.meta.dirname, '../../..');
const ns = 'l2ads';
const speakers: Speaker[] = [];
const POOL_IP = '198.18.30.5';
const CONFIGMAP_IP = '198.18.40.1';

interface L2Status {
  metadata: { name: string; labels: Record<string, string> };
  status?: { node?: string; serviceName?: string; serviceNamespace?: string; interfaces?: Array<{ name: string }> };
}

/** The ServiceL2Status objects of Service web, as node and interfaces. */
async function l2StatusesOfWeb(): Promise<string[]> {
  const custom = cluster().kc.makeApiClient(k8s.CustomObjectsApi);
  const list = (await custom.listNamespacedCustomObject({ group: 'metallb.io', version: 'v1beta1', namespace: 'metalgate-system', plural: 'servicel2statuses' })) as { items: L2Status[] };
  return list.items
    .filter((o) => o.status?.serviceName === 'web' && o.status.serviceNamespace === ns)
    .map((o) => `${o.status!.node} [${(o.status!.interfaces ?? []).map((i) => i.name).join(',')}] ${o.metadata.labels['metallb.io/node']}`)
    .sort();
}

async function apply(yaml: string): Promise<void> {
  await cluster().cp.kubectl(['apply', '-f', '-'], yaml);
}

/** The owner every speaker's latest election agrees on (undefined: agreed no owner), once the holder matches. */
async function agreed(ip: string, want: string | undefined, what: string): Promise<void> {
  await waitFor(() => {
    const names = speakers.map((s) => s.owners().get(ip));
    if (!names.every((n) => n === want)) return false;
    const holders = speakers.filter((s) => s.ownedIps().includes(ip)).map((s) => s.nodeName);
    return holders.join(',') === (want ?? '');
  }, what, 20_000);
}

beforeAll(async () => {
  const { cp, core, kc } = cluster();
  await cp.kubectl(['apply', '-f', join(repo, 'manifests/01-metallb-crds.yaml')]);
  await cp.kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd/ipaddresspools.metallb.io', 'crd/l2advertisements.metallb.io']);
  for (const n of [ns, 'metallb-system']) await ensureNamespace(core, n);
  await createNode(core, 'node-a', { zone: 'x' });
  await createNode(core, 'node-b', { zone: 'y', 'metalgate.example/edge': 'true' });
  await createNode(core, 'node-c', { zone: 'x' });
  await apply(`apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata:
  name: blue
  namespace: metallb-system
  labels:
    tier: lan
spec:
  addresses:
  - 198.18.30.0/24
`);
  // Every node in the subnet; only node-b has eth1.
  const subnets = ['198.18.0.0/15'];
  speakers.push(await startSpeaker(kc, 'node-a', { staticCapability: { subnets, anyIp: false, interfaces: ['eth0'] }, crdRetryMs: 500 }));
  speakers.push(await startSpeaker(kc, 'node-b', { staticCapability: { subnets, anyIp: false, interfaces: ['eth0', 'eth1'] }, crdRetryMs: 500 }));
  speakers.push(await startSpeaker(kc, 'node-c', { staticCapability: { subnets, anyIp: false, interfaces: ['eth0'] }, crdRetryMs: 500 }));
  await waitFor(() => speakers.every((s) => s.liveSpeakers().length === 3), 'three live speakers');
  await createService(core, lbService(ns, 'web'));
  await setServiceIps(core, ns, 'web', [POOL_IP]);
  await createService(core, lbService(ns, 'legacy'));
  await setServiceIps(core, ns, 'legacy', [CONFIGMAP_IP]);
}, 120_000);

afterAll(async () => {
  await Promise.all(speakers.splice(0).map((s) => s.stop()));
});

describe('L2Advertisement', () => {
  test('a pool no L2Advertisement selects is not announced, with a Warning Event saying so; other IPs are announced as before', async () => {
    const { core } = cluster();
    await agreed(POOL_IP, undefined, `no owner for ${POOL_IP}`);
    const legacyOwner = await waitFor(() => speakers.find((s) => s.ownedIps().includes(CONFIGMAP_IP))?.nodeName, `an owner for ${CONFIGMAP_IP}`);
    expect(legacyOwner).toBeDefined();
    const event = await waitFor(async () => (await eventsFor(core, ns, 'Service', 'web')).find((e) => e.reason === 'NoAnnouncingNode'), 'NoAnnouncingNode on web');
    expect(event.type).toBe('Warning');
    expect(event.message).toBe(`no node announces ${POOL_IP}: no L2Advertisement announces pool "blue"`);
  });

  test('nodeSelectors: only the selected node announces; a second advertisement adds nodes, its removal takes them away', async () => {
    await apply(`apiVersion: metallb.io/v1beta1
kind: L2Advertisement
metadata:
  name: edge-only
  namespace: metallb-system
spec:
  ipAddressPools:
  - blue
  nodeSelectors:
  - matchLabels:
      metalgate.example/edge: "true"
`);
    await agreed(POOL_IP, 'node-b', `node-b owns ${POOL_IP}`);
    // Widen it to zone x by a second advertisement: the election now picks among a, b and c.
    await apply(`apiVersion: metallb.io/v1beta1
kind: L2Advertisement
metadata:
  name: zone-x
  namespace: metallb-system
spec:
  ipAddressPoolSelectors:
  - matchLabels:
      tier: lan
  nodeSelectors:
  - matchExpressions:
    - key: zone
      operator: In
      values: [x]
`);
    await waitFor(() => speakers.every((s) => s.owners().get(POOL_IP) !== undefined), 'an owner under two advertisements');
    await cluster().cp.kubectl(['delete', '-n', 'metallb-system', 'l2advertisement', 'zone-x']);
    await agreed(POOL_IP, 'node-b', `node-b owns ${POOL_IP} again`);
  });

  test('interfaces: only a node with a named interface may announce', async () => {
    await cluster().cp.kubectl(['delete', '-n', 'metallb-system', 'l2advertisement', 'edge-only']);
    await apply(`apiVersion: metallb.io/v1beta1
kind: L2Advertisement
metadata:
  name: eth0-everywhere
  namespace: metallb-system
spec:
  ipAddressPools: [blue]
  interfaces: [eth0]
`);
    // eth0 everywhere: whichever node the hash picks.
    await waitFor(() => speakers.every((s) => s.owners().get(POOL_IP) !== undefined), 'an owner on eth0');
    await apply(`apiVersion: metallb.io/v1beta1
kind: L2Advertisement
metadata:
  name: eth0-everywhere
  namespace: metallb-system
spec:
  ipAddressPools: [blue]
  interfaces: [eth1]
`);
    await agreed(POOL_IP, 'node-b', `node-b (the only one with eth1) owns ${POOL_IP}`);
    // MetalLB's ServiceL2Status: one object, naming the node and the interface.
    await waitFor(async () => (await l2StatusesOfWeb()).join(' | ') === 'node-b [eth1] node-b', 'the ServiceL2Status of web on node-b, eth1');
  });

  test('the pool object deleted: its IPs are no longer limited (the ConfigMap rule applies)', async () => {
    await cluster().cp.kubectl(['delete', '-n', 'metallb-system', 'l2advertisement', 'eth0-everywhere']);
    await agreed(POOL_IP, undefined, `no owner for ${POOL_IP} without an advertisement`);
    await waitFor(async () => (await l2StatusesOfWeb()).length === 0, 'no ServiceL2Status for web once nobody announces it');
    await cluster().cp.kubectl(['delete', '-n', 'metallb-system', 'ipaddresspool', 'blue']);
    await waitFor(() => speakers.every((s) => s.owners().get(POOL_IP) !== undefined), `an owner for ${POOL_IP} once no object pool holds it`);
  });
});
