// MetalLB users' objects on a real API server: the metallb.io CRDs from
// manifests/, MetalLB's documented IPAddressPool examples applied as they are
// written (addresses moved into 198.18.0.0/15) and honoured by the
// controller; bad objects refused by `kubectl apply` itself (schema and CEL,
// no webhook); what CEL cannot see (overlap across pools) refused by the
// controller with the last good state kept.
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Controller } from '../../../src/controller/controller.ts';
import { POOL_ANNOTATION } from '../../../src/kube/object-names.ts';
import { startController } from '../helpers/controller.ts';
import { createService, ensureNamespace, ingressIPs, lbService, useCluster, waitFor, waitForEvent, waitForIPs } from '../helpers/cluster.ts';

const cluster = useCluster();
const POOLS = 'metallb-system';
const repo = join(import.meta.dirname, '../../..');
let controller: Controller;
let custom: k8s.CustomObjectsApi;

type PoolStatus = { assignedIPv4?: number; availableIPv4?: number; conditions?: Array<{ type: string; status: string; reason: string; message: string }> };
async function poolStatus(name: string): Promise<PoolStatus> {
  const o = (await custom.getNamespacedCustomObject({ group: 'metallb.io', version: 'v1beta1', namespace: POOLS, plural: 'ipaddresspools', name })) as { status?: PoolStatus };
  return o.status ?? {};
}

async function apply(yaml: string): Promise<void> {
  await cluster().cp.kubectl(['apply', '-f', '-'], yaml);
}

beforeAll(async () => {
  const { cp, core, kc } = cluster();
  custom = kc.makeApiClient(k8s.CustomObjectsApi);
  await cp.kubectl(['apply', '-f', join(repo, 'manifests/01-metallb-crds.yaml')]);
  await cp.kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd/ipaddresspools.metallb.io', 'crd/l2advertisements.metallb.io', 'crd/bgppeers.metallb.io']);
  for (const ns of [POOLS, 'docs', 'team-a', 'team-b']) await ensureNamespace(core, ns);
  controller = startController(kc, { poolStatusDelayMs: 100 });
}, 120_000);
afterAll(async () => controller?.stop());

describe('MetalLB documented examples, applied unchanged', () => {
  test('a pool with a CIDR and a range: Services get its IPs, the annotation MetalLB sets, status counts and printer columns', async () => {
    const { core, cp } = cluster();
    await apply(`apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata:
  name: first-pool
  namespace: metallb-system
spec:
  addresses:
  - 198.18.10.0/30
  - 198.18.9.1-198.18.9.5
`);
    await createService(core, lbService('docs', 'one'));
    expect(await waitForIPs(core, 'docs', 'one')).toEqual(['198.18.9.1']);
    const svc = await waitFor(async () => {
      const s = await core.readNamespacedService({ name: 'one', namespace: 'docs' });
      return s.metadata?.annotations?.[POOL_ANNOTATION] === 'first-pool' && s;
    }, 'pool annotation');
    expect(svc.metadata!.annotations![POOL_ANNOTATION]).toBe('first-pool');
    const status = await waitFor(async () => {
      const s = await poolStatus('first-pool');
      return s.assignedIPv4 === 1 && s;
    }, 'pool status counts');
    expect(status).toMatchObject({ assignedIPv4: 1, availableIPv4: 8, conditions: [{ type: 'Ready', status: 'True', reason: 'Ready' }] });
    const table = await cp.kubectl(['get', 'ipaddresspools', '-n', POOLS, 'first-pool']);
    expect(table).toMatch(/NAME\s+AUTO ASSIGN\s+AVOID BUGGY IPS\s+ADDRESSES\s+ASSIGNED V4\s+AVAILABLE V4\s+READY\s+AGE/);
    expect(table).toMatch(/first-pool\s+true\s+false\s+\["198\.18\.10\.0\/30","198\.18\.9\.1-198\.18\.9\.5"\]\s+1\s+8\s+True/);
  });

  test('autoAssign: false: only a Service that asks for the pool by annotation gets its addresses', async () => {
    const { core } = cluster();
    await apply(`apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata:
  name: expensive
  namespace: metallb-system
spec:
  addresses:
  - 198.18.42.64/30
  autoAssign: false
`);
    await waitForEvent(core, POOLS, 'IPAddressPool', 'expensive', 'PoolReady');
    await createService(core, lbService('docs', 'cheap'));
    await createService(core, lbService('docs', 'pricey', {}, { 'metallb.io/address-pool': 'expensive' }));
    await createService(core, lbService('docs', 'pricey-old-spelling', {}, { 'metallb.universe.tf/address-pool': 'expensive' }));
    expect((await waitForIPs(core, 'docs', 'cheap'))[0]).toMatch(/^198\.18\.(9|10)\./);
    expect(await waitForIPs(core, 'docs', 'pricey')).toEqual(['198.18.42.64']);
    expect(await waitForIPs(core, 'docs', 'pricey-old-spelling')).toEqual(['198.18.42.65']);
  });

  test('a pool per namespace with priorities: each namespace takes its own pools first, by priority', async () => {
    const { core } = cluster();
    await apply(`apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata:
  name: team-a-high
  namespace: metallb-system
spec:
  addresses:
  - 198.18.50.0/32
  serviceAllocation:
    priority: 50
    namespaces:
    - team-a
---
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata:
  name: team-a-low
  namespace: metallb-system
spec:
  addresses:
  - 198.18.51.0/30
  serviceAllocation:
    priority: 100
    namespaces:
    - team-a
---
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata:
  name: labelled
  namespace: metallb-system
spec:
  addresses:
  - 198.18.52.0/30
  serviceAllocation:
    priority: 10
    namespaceSelectors:
    - matchLabels:
        tenant: b
    serviceSelectors:
    - matchExpressions:
      - key: tier
        operator: In
        values: [gold]
`);
    for (const n of ['team-a-high', 'team-a-low', 'labelled']) await waitForEvent(core, POOLS, 'IPAddressPool', n, 'PoolReady');
    await core.patchNamespace({ name: 'team-b', body: { metadata: { labels: { tenant: 'b' } } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
    await createService(core, lbService('team-a', 'first'));
    expect(await waitForIPs(core, 'team-a', 'first')).toEqual(['198.18.50.0']);
    await createService(core, lbService('team-a', 'second'));
    expect(await waitForIPs(core, 'team-a', 'second')).toEqual(['198.18.51.0']);
    const gold = lbService('team-b', 'gold');
    gold.metadata!.labels = { tier: 'gold' };
    await createService(core, gold);
    expect(await waitForIPs(core, 'team-b', 'gold')).toEqual(['198.18.52.0']);
    // Not gold: the pools without serviceAllocation.
    await createService(core, lbService('team-b', 'plain'));
    expect((await waitForIPs(core, 'team-b', 'plain'))[0]).toMatch(/^198\.18\.(9|10)\./);
  });

  test('BGP kinds are accepted as MetalLB writes them', async () => {
    await apply(`apiVersion: metallb.io/v1beta2
kind: BGPPeer
metadata:
  name: sample
  namespace: metallb-system
spec:
  myASN: 64500
  peerASN: 64501
  peerAddress: 198.18.0.1
---
apiVersion: metallb.io/v1beta1
kind: BGPAdvertisement
metadata:
  name: external
  namespace: metallb-system
spec:
  ipAddressPools:
  - first-pool
  communities:
  - 65535:65282
---
apiVersion: metallb.io/v1beta1
kind: BFDProfile
metadata:
  name: testbfdprofile
  namespace: metallb-system
spec:
  receiveInterval: 380
  transmitInterval: 270
---
apiVersion: metallb.io/v1beta1
kind: Community
metadata:
  name: communities
  namespace: metallb-system
spec:
  communities:
  - name: NO_ADVERTISE
    value: 65535:65282
`);
    const out = await cluster().cp.kubectl(['get', 'bgppeers,bgpadvertisements,bfdprofiles,communities', '-n', POOLS, '-o', 'name']);
    expect(out.trim().split('\n').sort()).toEqual(['bfdprofile.metallb.io/testbfdprofile', 'bgpadvertisement.metallb.io/external', 'bgppeer.metallb.io/sample', 'community.metallb.io/communities']);
  });
});

// Each bad object with what `kubectl apply` must answer (a part of the message).
const POOL = (spec: string, name = 'bad') => `apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {name: ${name}, namespace: metallb-system}\n${spec}\n`;
const L2 = (spec: string) => `apiVersion: metallb.io/v1beta1\nkind: L2Advertisement\nmetadata: {name: bad-l2, namespace: metallb-system}\n${spec}\n`;
const CIDR_OR_RANGE = 'an address entry must be a CIDR (198.18.0.0/24, 2001:db8::/120) or a range of two addresses joined by a dash';
const TWO_ADDRESSES = 'an address range must be two IP addresses joined by one dash';
const BAD: Array<[string, string, string]> = [
  ['no spec', POOL(''), 'spec: Required value'],
  ['no addresses', POOL('spec: {autoAssign: true}'), 'spec.addresses: Required value'],
  ['empty addresses', POOL('spec: {addresses: []}'), 'spec.addresses in body should have at least 1 items'],
  ['prefix too long', POOL('spec: {addresses: [198.18.0.0/33]}'), CIDR_OR_RANGE],
  ['an address without prefix', POOL('spec: {addresses: [198.18.0.1]}'), CIDR_OR_RANGE],
  ['IPv6 prefix too long', POOL('spec: {addresses: ["2001:db8::/129"]}'), CIDR_OR_RANGE],
  ['not an address', POOL('spec: {addresses: [pool-of-ips]}'), TWO_ADDRESSES],
  ['octet out of range', POOL('spec: {addresses: [198.18.1.256-198.18.2.1]}'), TWO_ADDRESSES],
  ['three parts', POOL('spec: {addresses: [198.18.1.1-198.18.1.5-198.18.1.9]}'), TWO_ADDRESSES],
  ['reversed range', POOL('spec: {addresses: [198.18.1.20-198.18.1.10]}'), 'an address range must not end before it starts'],
  ['mixed families', POOL('spec: {addresses: ["198.18.1.1-2001:db8::1"]}'), 'an address range must not mix IPv4 and IPv6'],
  ['entry too long', POOL(`spec: {addresses: ["${'1'.repeat(101)}"]}`), 'Too long'],
  ['autoAssign misspelt', POOL('spec: {addresses: [198.18.0.0/24], autoassign: false}'), 'unknown field "spec.autoassign"'],
  ['autoAssign not a boolean', POOL('spec: {addresses: [198.18.0.0/24], autoAssign: "no"}'), 'spec.autoAssign in body must be of type boolean'],
  ['avoidBuggyIPs not a boolean', POOL('spec: {addresses: [198.18.0.0/24], avoidBuggyIPs: 1}'), 'spec.avoidBuggyIPs in body must be of type boolean'],
  ['negative priority', POOL('spec: {addresses: [198.18.0.0/24], serviceAllocation: {priority: -1}}'), 'should be greater than or equal to 0'],
  ['a namespace twice', POOL('spec: {addresses: [198.18.0.0/24], serviceAllocation: {namespaces: [a, a]}}'), 'Duplicate value'],
  ['a bad namespace name', POOL('spec: {addresses: [198.18.0.0/24], serviceAllocation: {namespaces: [Team_A]}}'), 'spec.serviceAllocation.namespaces[0] in body should match'],
  ['serviceAllocation field misspelt', POOL('spec: {addresses: [198.18.0.0/24], serviceAllocation: {namespace: [a]}}'), 'unknown field "spec.serviceAllocation.namespace"'],
  ['In without values', POOL('spec: {addresses: [198.18.0.0/24], serviceAllocation: {namespaceSelectors: [{matchExpressions: [{key: a, operator: In}]}]}}'), 'operators In and NotIn need at least one value'],
  ['Exists with values', POOL('spec: {addresses: [198.18.0.0/24], serviceAllocation: {serviceSelectors: [{matchExpressions: [{key: a, operator: Exists, values: [x]}]}]}}'), 'operators Exists and DoesNotExist take no values'],
  ['an unknown operator', POOL('spec: {addresses: [198.18.0.0/24], serviceAllocation: {serviceSelectors: [{matchExpressions: [{key: a, operator: Equals, values: [x]}]}]}}'), 'Unsupported value: "Equals"'],
  ['a bad label key', POOL('spec: {addresses: [198.18.0.0/24], serviceAllocation: {serviceSelectors: [{matchLabels: {"bad key!": x}}]}}'), 'every matchLabels key must be a label key'],
  ['a bad label value', POOL('spec: {addresses: [198.18.0.0/24], serviceAllocation: {serviceSelectors: [{matchLabels: {tier: "-gold-"}}]}}'), 'every matchLabels value must be a label value'],
  ['an interface with a slash', L2('spec: {interfaces: [eth0/1]}'), 'an interface name has no slash or blank'],
  ['an interface name too long', L2('spec: {interfaces: [a-very-long-ifname]}'), 'spec.interfaces[0]: Too long'],
  ['an empty pool name', L2('spec: {ipAddressPools: [""]}'), 'spec.ipAddressPools[0] in body should be at least 1 chars long'],
  ['a node selector without key', L2('spec: {nodeSelectors: [{matchExpressions: [{operator: Exists}]}]}'), 'spec.nodeSelectors[0].matchExpressions[0].key: Required value'],
  ['interface misspelt', L2('spec: {interface: [eth0]}'), 'unknown field "spec.interface"'],
];

describe('bad objects are refused by kubectl apply itself', () => {
  test(`${BAD.length} cases, each with its message`, async () => {
    expect(BAD.length).toBeGreaterThanOrEqual(25);
    const answers: string[] = [];
    for (const [what, yaml] of BAD) {
      try {
        await apply(yaml);
        answers.push(`${what}: ACCEPTED`);
      } catch (err) {
        answers.push(`${what}: ${String((err as { stderr?: string }).stderr ?? err)}`);
      }
    }
    for (const [i, [what, , message]] of BAD.entries()) {
      expect(answers[i], what).toContain(message);
      expect(answers[i], what).not.toContain('ACCEPTED');
    }
    // Nothing of them got in.
    const names = await cluster().cp.kubectl(['get', 'ipaddresspools,l2advertisements', '-n', POOLS, '-o', 'name']);
    expect(names).not.toMatch(/\/bad(-l2)?$/m);
  });
});

describe('what CEL cannot see: the controller refuses, the last good state stays', () => {
  test('a new pool overlapping one in service is refused (status, Event); no IP moves', async () => {
    const { core } = cluster();
    const before = ingressIPs(await core.readNamespacedService({ name: 'one', namespace: 'docs' }));
    await apply(POOL('spec: {addresses: [198.18.9.0/29]}', 'aaa-overlap'));
    const ev = await waitForEvent(core, POOLS, 'IPAddressPool', 'aaa-overlap', 'PoolRefused');
    expect(ev.message).toBe('not served: address "198.18.9.0/29" overlaps "198.18.9.1-198.18.9.5" of IPAddressPool metallb-system/first-pool');
    const status = await waitFor(async () => {
      const s = await poolStatus('aaa-overlap');
      return s.conditions?.[0]?.reason === 'Overlap' && s;
    }, 'Overlap condition');
    expect(status.conditions![0]).toMatchObject({ type: 'Ready', status: 'False' });
    expect(ingressIPs(await core.readNamespacedService({ name: 'one', namespace: 'docs' }))).toEqual(before);
    // A Service created now still gets first-pool's addresses, not the refused pool's.
    await createService(core, lbService('docs', 'after-overlap'));
    expect((await waitForIPs(core, 'docs', 'after-overlap'))[0]).toMatch(/^198\.18\.(9|10)\./);
  });

  test('an edit CEL lets through but the controller refuses (a loopback block) keeps the last good version serving', async () => {
    const { core } = cluster();
    await apply(POOL('spec: {addresses: [127.0.0.0/30], autoAssign: false}', 'expensive'));
    const ev = await waitForEvent(core, POOLS, 'IPAddressPool', 'expensive', 'PoolKeptLastGood');
    expect(ev.message).toMatch(/^this version is refused \(spec\.addresses\[0\] "127\.0\.0\.0\/30": includes 127\.0\.0\.0\/8.*\); the last good version stays in force: serving 198\.18\.42\.64\/30 \(not auto-assigned\)$/);
    // The pool still serves its old addresses.
    await createService(core, lbService('docs', 'pricey-2', {}, { 'metallb.io/address-pool': 'expensive' }));
    expect(await waitForIPs(core, 'docs', 'pricey-2')).toEqual(['198.18.42.66']);
    expect(await waitForIPs(core, 'docs', 'pricey')).toEqual(['198.18.42.64']);
  });
});
