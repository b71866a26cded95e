// The proxy on a real LAN of network namespaces (test/support/lab.ts): a client
// and two nodes on a bridge, the real API server reachable from the nodes,
// `metalgate speaker` (speaker and proxy in one process) in each node, one
// pod with an HTTP server on node2, a LoadBalancer Service with
// 198.18.0.200:80 whose EndpointSlice names the pod (port 8080). The nodes
// route each other's pod CIDRs, as a routed CNI would.
//
// The client curls the EXTERNAL-IP, reaches the pod through the owner's
// proxy; after the owner's speaker is killed (kill -9: speaker and proxy go
// together) the client reaches the pod through the new owner. A speaker run
// with --l4-dataplane kernel forwards a Service without the annotation
// through nftables rules.
// Root only; addresses from 198.18.0.0/15.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as k8s from '@kubernetes/client-node';
import { Lab, type LabNode, type LabPod, type LabProcess } from '../../support/lab.ts';
import { labSkipReason } from '../../support/netns-exec.ts';
import { outages, restoredAfter } from '../../support/probe-stats.ts';
import { ensureNamespace, useCluster, waitFor } from '../helpers/cluster.ts';
import { createNode, setServiceIps } from '../speaker/helpers.ts';
import { holdersOf, logLines, startSpeakerIn, VIP4 } from '../speaker/lab-helpers.ts';
import { writeSlice } from './k8s-helpers.ts';

const skipReason = labSkipReason();
const cluster = useCluster();
const URL4 = `http://${VIP4}/`;

interface Reply {
  name: string;
  remoteAddress: string;
}

describe.skipIf(skipReason !== null)(`proxy on a namespace LAN${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  let lab: Lab;
  let pod: LabPod;
  const speakers = new Map<string, LabProcess>();

  /** One GET from the client on a new connection, with a short timeout. */
  const curl = async (): Promise<Reply> => {
    const { stdout } = await lab.client('client').exec('curl', ['-s', '-m', '2', URL4], { timeoutMs: 5000 });
    const r = JSON.parse(stdout) as Reply;
    return { name: r.name, remoteAddress: r.remoteAddress.replace(/^::ffff:/, '') };
  };

  /** The addresses a node's proxy may connect to the pod from: its LAN address, or its pod gateway when the pod is its own. */
  const sourcesOf = (n: LabNode): string[] => [n.ipv4, n.podCidrV4.replace(/0\/24$/, '1')];

  const ownerOf = async (exclude?: string): Promise<string> =>
    waitFor(async () => {
      const h = (await holdersOf(lab.nodes, VIP4)).filter((n) => n !== exclude);
      return h.length === 1 ? h[0] : undefined;
    }, `one holder of ${VIP4}`, 30_000);

  beforeAll(async () => {
    const { cp, core, kc } = cluster();
    lab = await Lab.create({ nodes: ['node1', 'node2'], clients: ['client'], ipv6: false, apiServer: cp });
    // Pod routing between nodes: each node forwards, and routes the other's pod CIDR via its LAN address.
    for (const n of lab.nodes) {
      await n.exec('sysctl', ['-q', '-w', 'net.ipv4.ip_forward=1']);
      for (const m of lab.nodes) if (m !== n) await n.ip(['route', 'add', m.podCidrV4, 'via', m.ipv4]);
    }
    pod = await lab.addPod('node2', 'web');
    await pod.serveHttp(8080);

    await ensureNamespace(core, 'lab');
    for (const n of lab.nodes) await createNode(core, n.name);
    await core.createNamespacedService({
      namespace: 'lab',
      body: { metadata: { name: 'web', namespace: 'lab' }, spec: { type: 'LoadBalancer', ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 }] } },
    });
    await setServiceIps(core, 'lab', 'web', [VIP4]);
    await writeSlice(kc.makeApiClient(k8s.DiscoveryV1Api), 'lab', 'web', 'web-1', [{ name: 'http', port: 8080 }], [{ ip: pod.ipv4, node: 'node2' }]);

    await Promise.all(
      lab.nodes.map(async (n) => {
        const p = startSpeakerIn(lab, n, cp, ['--l4-dataplane', 'proxy']);
        speakers.set(n.name, p);
        await p.waitForOutput('published announce subnets', 30_000);
      }),
    );
  });

  afterAll(async () => {
    await Promise.all([...speakers.values()].map((p) => p.stop('SIGTERM', 5000).catch(() => {})));
    await lab?.destroy();
  });

  it("the client curls the Service's EXTERNAL-IP on the owner and reaches the pod through the owner's proxy", async () => {
    // Right after start the first election may still move the IP once: take an answer seen with the same owner before and after.
    const { owner, r } = await waitFor(
      async () => {
        const before = await ownerOf();
        const answer = await curl().catch(() => undefined);
        return answer !== undefined && (await ownerOf()) === before ? { owner: before, r: answer } : undefined;
      },
      'an answer from the pod with a settled owner',
      20_000,
      100,
    );
    expect(r.name).toBe('web');
    // The pod sees the owner's proxy as its client, not the client host.
    expect(sourcesOf(lab.node(owner))).toContain(r.remoteAddress);
    expect(r.remoteAddress).not.toBe(lab.client('client').ipv4);
    // The log reaches its file a moment after the socket is bound.
    await waitFor(() => logLines(speakers.get(owner)!).some((l) => l.msg === 'binding' && l.listener === `TCP ${VIP4}:80` && l.service === 'lab/web'), `the binding log line on ${owner}`, 5_000);
  });

  it('a Service annotated metalgate.io/l4-dataplane: kernel is forwarded by nftables rules on its owner, not by a listener; with externalTrafficPolicy: Local the pod sees the client', async () => {
    const { core, kc } = cluster();
    const discovery = kc.makeApiClient(k8s.DiscoveryV1Api);
    const kernelVip = '198.18.0.201';
    const localVip = '198.18.0.202';
    for (const [name, vip, policy] of [
      ['web-kernel', kernelVip, 'Cluster'],
      ['web-local', localVip, 'Local'],
    ] as const) {
      await core.createNamespacedService({
        namespace: 'lab',
        body: {
          metadata: { name, namespace: 'lab', annotations: { 'metalgate.io/l4-dataplane': 'kernel' } },
          spec: { type: 'LoadBalancer', externalTrafficPolicy: policy, ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 }] },
        },
      });
      await setServiceIps(core, 'lab', name, [vip]);
      await writeSlice(discovery, 'lab', name, `${name}-1`, [{ name: 'http', port: 8080 }], [{ ip: pod.ipv4, node: 'node2' }]);
    }
    const get = async (vip: string): Promise<Reply> => {
      const { stdout } = await lab.client('client').exec('curl', ['-s', '-m', '2', `http://${vip}/`], { timeoutMs: 5000 });
      const r = JSON.parse(stdout) as Reply;
      return { name: r.name, remoteAddress: r.remoteAddress.replace(/^::ffff:/, '') };
    };
    const r = await waitFor(() => get(kernelVip).catch(() => undefined), 'an answer through the kernel rules', 20_000, 100);
    expect(r.name).toBe('web');
    const owner = (await holdersOf(lab.nodes, kernelVip))[0]!;
    // Masqueraded: the pod sees the owner node (externalTrafficPolicy: Cluster).
    expect(sourcesOf(lab.node(owner))).toContain(r.remoteAddress);
    const logs = logLines(speakers.get(owner)!);
    expect(logs.some((l) => l.msg === 'kernel forwarding rules applied')).toBe(true);
    // The proxy may have served the port while nft wrote the rules; once they are in, no listener is left on it.
    const listenerLog = (msg: string) => logLines(speakers.get(owner)!).filter((l) => l.msg === msg && l.listener === `TCP ${kernelVip}:80`).length;
    await waitFor(() => listenerLog('binding') === listenerLog('unbinding') || undefined, 'no listener left on the kernel-forwarded port', 5_000, 100);
    const { stdout: rules } = await lab.node(owner).exec('nft', ['list', 'table', 'inet', 'metalgate']);
    expect(rules).toContain(`ip daddr ${kernelVip} tcp dport 80`);

    // Local: only node2 (the pod's node) may own it, and no address is rewritten.
    const local = await waitFor(() => get(localVip).catch(() => undefined), 'an answer from the Local Service', 20_000, 100);
    expect(await holdersOf(lab.nodes, localVip)).toEqual(['node2']);
    expect(local.remoteAddress).toBe(lab.client('client').ipv4);
  });

  it('after the owner is killed (kill -9), the client reaches the pod through the new owner', async () => {
    const old = await ownerOf();
    const probe = lab.client('client').probeHttp(URL4, { intervalMs: 50, timeoutMs: 500 });
    await probe.waitFor((s) => s.ok, 10_000, 'a first answer');
    const t0 = Date.now();
    await speakers.get(old)!.stop('SIGKILL');
    const next = await ownerOf(old);
    expect(next).not.toBe(old);
    await probe.waitFor((s) => s.t > t0 && s.ok, 20_000, 'an answer after the kill');
    await new Promise((r) => setTimeout(r, 500));
    const samples = await probe.stop();
    const after = samples.filter((s) => s.t > t0);
    const restored = restoredAfter(samples, t0);
    if (process.env.METALGATE_TEST_VERBOSE) console.info(JSON.stringify({ old, next, restoredMs: restored, outages: outages(after) }));
    expect(restored).toBeLessThan(10_000);
    expect(after.filter((s) => s.ok).every((s) => s.by === 'web')).toBe(true);
    const r = await curl();
    expect(r.name).toBe('web');
    expect(sourcesOf(lab.node(next))).toContain(r.remoteAddress);
  });

  it('SIGTERM of the owner: it exits 0 after handing over, and the client goes on reaching the pod through the other node', async () => {
    // Bring the crashed node back first, so there is someone to hand over to.
    const crashed = lab.nodes.find((n) => !speakers.get(n.name)!.running)!;
    const p = startSpeakerIn(lab, crashed, cluster().cp, ['--l4-dataplane', 'proxy']);
    speakers.set(crashed.name, p);
    await p.waitForOutput('published announce subnets', 30_000);
    await new Promise((r) => setTimeout(r, 3000)); // let it become eligible (its Lease says ready)
    const owner = await ownerOf();
    await waitFor(() => curl().catch(() => undefined), 'an answer', 20_000, 100);

    const probe = lab.client('client').probeHttp(URL4, { intervalMs: 50, timeoutMs: 500 });
    await probe.waitFor((s) => s.ok, 10_000, 'a first answer');
    const t0 = Date.now();
    const status = await speakers.get(owner)!.stop('SIGTERM', 15_000);
    const stoppedAfter = Date.now() - t0;
    await new Promise((r) => setTimeout(r, 1000));
    const samples = (await probe.stop()).filter((s) => s.t > t0);
    const failed = samples.filter((s) => !s.ok);
    if (process.env.METALGATE_TEST_VERBOSE) console.info(JSON.stringify({ owner, stoppedAfter, probes: samples.length, failed: failed.length, outages: outages(samples) }));
    expect(status).toMatchObject({ code: 0, signal: null });
    expect(logLines(speakers.get(owner)!).some((l) => l.msg === 'proxy drained')).toBe(true);
    expect(samples.filter((s) => s.ok).length).toBeGreaterThan(10);
    // A clean handover: at most a probe or two caught between the two owners.
    expect(failed.length).toBeLessThanOrEqual(2);
    const other = lab.nodes.find((n) => n.name !== owner)!;
    expect(sourcesOf(other)).toContain((await curl()).remoteAddress);
  });

  it('a speaker started with --l4-dataplane kernel forwards a Service without the annotation through nftables rules', async () => {
    const { core, kc } = cluster();
    // The node stopped by the last test comes back with the flag; the other one leaves, so the flagged node owns everything.
    const stopped = lab.nodes.find((n) => !speakers.get(n.name)!.running)!;
    const running = lab.nodes.find((n) => n !== stopped)!;
    const p = startSpeakerIn(lab, stopped, cluster().cp, ['--l4-dataplane', 'kernel']);
    speakers.set(stopped.name, p);
    await p.waitForOutput('published announce subnets', 30_000);
    await new Promise((r) => setTimeout(r, 3000)); // eligible once its Lease says ready
    await speakers.get(running.name)!.stop('SIGTERM', 15_000);

    const vip = '198.18.0.203';
    await core.createNamespacedService({
      namespace: 'lab',
      body: { metadata: { name: 'web-plain', namespace: 'lab' }, spec: { type: 'LoadBalancer', ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 }] } },
    });
    await setServiceIps(core, 'lab', 'web-plain', [vip]);
    await writeSlice(kc.makeApiClient(k8s.DiscoveryV1Api), 'lab', 'web-plain', 'web-plain-1', [{ name: 'http', port: 8080 }], [{ ip: pod.ipv4, node: 'node2' }]);
    const r = await waitFor(
      async () => {
        const { stdout } = await lab.client('client').exec('curl', ['-s', '-m', '2', `http://${vip}/`], { timeoutMs: 5000 });
        return JSON.parse(stdout) as Reply;
      },
      'an answer through the kernel rules',
      20_000,
      100,
    ).catch(() => undefined);
    expect(r?.name).toBe('web');
    expect(await holdersOf(lab.nodes, vip)).toEqual([stopped.name]);
    const { stdout: rules } = await stopped.exec('nft', ['list', 'table', 'inet', 'metalgate']);
    expect(rules).toContain(`ip daddr ${vip} tcp dport 80`);
    // Served by the proxy at most while nft wrote the rules.
    const listenerLog = (msg: string) => logLines(p).filter((l) => l.msg === msg && l.listener === `TCP ${vip}:80`).length;
    await waitFor(() => listenerLog('binding') === listenerLog('unbinding') || undefined, 'no listener left on the kernel-forwarded port', 5_000, 100);
  });
});
