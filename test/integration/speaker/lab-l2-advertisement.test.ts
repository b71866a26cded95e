// MetalLB's documented L2Advertisement with nodeSelectors and interfaces, on
// a namespace LAN (test/support/lab.ts) with a second segment: every node and
// the client have eth0 on the lab's LAN and eth1 on a second bridge (no
// address on the nodes' eth1). The advertisement selects node2 and names
// eth1: only node2 holds the IP, only its eth1 answers ARP for it, and
// nothing about the IP is heard on eth0's segment.
// Root only; addresses from 198.18.0.0/15.
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ARP_OP_REPLY, decodeArp } from '../../../src/l2/arp.ts';
import { Lab, type Capture, type LabProcess } from '../../support/lab.ts';
import { hasProgram, labSkipReason, repoRoot } from '../../support/netns-exec.ts';
import { ensureNamespace, useCluster, waitFor } from '../helpers/cluster.ts';
import { createNode } from './helpers.ts';
import { holdersOf, logLines, setupCluster, startSpeakerIn } from './lab-helpers.ts';

const skipReason = labSkipReason() ?? (hasProgram('tcpdump') ? null : 'needs tcpdump');
const cluster = useCluster();
/** In the lab LAN's subnet (198.18.0.0/24), so by subnet alone eth0 would announce it. */
const VIP = '198.18.0.210';
const SECOND_BRIDGE = 'br1';

describe.skipIf(skipReason !== null)(`L2Advertisement on a namespace LAN${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  let lab: Lab;
  const speakers: LabProcess[] = [];
  let eth0Capture: Capture;
  let eth1Capture: Capture;
  const eth1Mac = new Map<string, string>();

  /** A second switch: a bridge in the LAN namespace, and an eth1 on every host plugged into it. */
  async function secondSegment(): Promise<void> {
    await lab.ip(lab.lan.ns, ['link', 'add', SECOND_BRIDGE, 'type', 'bridge']);
    await lab.ip(lab.lan.ns, ['link', 'set', SECOND_BRIDGE, 'up']);
    for (const [i, host] of [...lab.nodes, ...lab.clients].entries()) {
      const port = `s1p${i}`;
      await lab.ip(lab.lan.ns, ['link', 'add', port, 'type', 'veth', 'peer', 'name', 'eth1', 'netns', host.ns]);
      await lab.ip(lab.lan.ns, ['link', 'set', port, 'master', SECOND_BRIDGE, 'up']);
      await host.ip(['link', 'set', 'eth1', 'up']);
      const link = JSON.parse(await host.ip(['-j', 'link', 'show', 'eth1'])) as Array<{ address: string }>;
      eth1Mac.set(host.name, link[0]!.address);
    }
    // The client reaches the VIP on the second segment only by this route.
    const client = lab.client('client');
    await client.ip(['addr', 'add', '198.19.1.2/24', 'dev', 'eth1']);
  }

  beforeAll(async () => {
    const { cp, core } = cluster();
    lab = await Lab.create({ nodes: ['node1', 'node2', 'node3'], clients: ['client'], apiServer: cp });
    await secondSegment();
    await cp.kubectl(['apply', '-f', join(repoRoot, 'manifests/01-metallb-crds.yaml')]);
    await cp.kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd/ipaddresspools.metallb.io', 'crd/l2advertisements.metallb.io']);
    await ensureNamespace(core, 'metallb-system');
    await cp.kubectl(
      ['apply', '-f', '-'],
      `apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata:
  name: second-segment
  namespace: metallb-system
spec:
  addresses:
  - 198.18.0.208/29
---
apiVersion: metallb.io/v1beta1
kind: L2Advertisement
metadata:
  name: l2-on-eth1
  namespace: metallb-system
spec:
  ipAddressPools:
  - second-segment
  nodeSelectors:
  - matchLabels:
      kubernetes.io/hostname: node2
  interfaces:
  - eth1
`,
    );
    for (const n of lab.nodes) await createNode(core, n.name, { 'kubernetes.io/hostname': n.name });
    eth0Capture = await lab.capture(lab.client('client'), 'eth0', 'arp');
    eth1Capture = await lab.capture(lab.client('client'), 'eth1', 'arp');
    await setupCluster(core, lab.nodes, 'lab', 'web', [VIP]);
    for (const n of lab.nodes) {
      const p = startSpeakerIn(lab, n, cp);
      speakers.push(p);
      await p.waitForOutput('published announce subnets', 30_000);
    }
  }, 180_000);

  afterAll(async () => {
    await Promise.all(speakers.map((p) => p.stop('SIGTERM', 5000).catch(() => {})));
    await lab?.destroy();
  });

  it('only the selected node holds the IP, and only its eth1 answers ARP for it', async () => {
    await waitFor(async () => (await holdersOf(lab.nodes, VIP)).join(',') === 'node2', `node2 alone holds ${VIP}`, 30_000);
    // The takeover burst went out on eth1, from node2's eth1.
    const garp = await waitFor(async () => {
      const frames = (await eth1Capture.frames()).map((f) => decodeArp(f.data)).filter((a) => a?.senderIp === VIP);
      return frames.length > 0 && frames;
    }, 'gratuitous ARP on the second segment', 10_000);
    expect(new Set(garp.map((a) => a!.senderMac))).toEqual(new Set([eth1Mac.get('node2')]));

    // The client asks on each segment (a connection attempt makes the kernel resolve the VIP there).
    const client = lab.client('client');
    const ask = async (dev: string) => {
      await client.ip(['route', 'replace', `${VIP}/32`, 'dev', dev]);
      await client.ip(['neigh', 'flush', 'to', VIP]).catch(() => '');
      await client.exec('curl', ['-s', '-m', '1', `http://${VIP}:9/`], { timeoutMs: 5000 }).catch(() => undefined);
    };
    await ask('eth1');
    const reply = await waitFor(async () => {
      const frames = (await eth1Capture.frames()).map((f) => decodeArp(f.data)).filter((a) => a?.op === ARP_OP_REPLY && a.senderIp === VIP && a.targetIp !== VIP);
      return frames.length > 0 && frames;
    }, 'an ARP reply on the second segment', 10_000);
    expect(new Set(reply.map((a) => a!.senderMac))).toEqual(new Set([eth1Mac.get('node2')]));

    await ask('eth0');
    await sleep(1500);
    // On eth0's segment: requests from the client, and no frame from anyone claiming the VIP.
    const eth0 = (await eth0Capture.frames()).map((f) => decodeArp(f.data));
    expect(eth0.some((a) => a?.targetIp === VIP && a.senderIp !== VIP)).toBe(true);
    expect(eth0.filter((a) => a?.senderIp === VIP)).toEqual([]);
    await client.ip(['route', 'del', `${VIP}/32`]).catch(() => '');
  });

  it('the selected node stopped: no other node takes the IP over (none is selected)', async () => {
    const node2 = speakers[1]!;
    const stoppedAt = Date.now();
    await node2.stop('SIGTERM', 5000);
    // Reported once the reason has held for 3 s (node1's log, after the stop).
    await waitFor(
      () =>
        logLines(speakers[0]!).some(
          (l) => Date.parse(String(l.time)) > stoppedAt && String(l.msg).includes(`no node can announce ${VIP}: no live node is selected by the L2Advertisements of pool "second-segment"`),
        ),
      "the reason in node1's log",
      15_000,
    );
    expect(await holdersOf(lab.nodes, VIP)).toEqual([]);
  });
});
