// Kernel forwarding (metalgate.io/l4-dataplane: kernel) on a namespace LAN:
// a client and one node on the lab's bridge, two pods behind the node, the
// Service IPs on the node's LAN interface (as the speaker would hold them).
// KernelForwarding runs here, from the real listen plan and EndpointIndex,
// and writes real nftables rules into the node's namespace with
// `ip netns exec NODE nft -f -`; the client reaches the pods through them.
// Nothing in user space listens on the Service IPs.
// UDP flows a change leaves pointing at a gone endpoint are deleted with
// `conntrack -D` in the same namespace.
// Root and nft only (the UDP flow tests conntrack too); addresses from 198.18.0.0/15 and 2001:db8::/32.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { Counter, Registry } from 'prom-client';
import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import { Lab, type LabHost, type LabNode, type LabPod } from '../../support/lab.ts';
import { hasProgram, labSkipReason, nodeBinary } from '../../support/netns-exec.ts';
import { EndpointIndex } from '../../../src/proxy/endpoints/endpoint-index.ts';
import { KernelForwarding } from '../../../src/proxy/kernel/kernel-forwarding.ts';
import { kernelCommands, type KernelCommands } from '../../../src/proxy/kernel/kernel-commands.ts';
import { NFT_TABLE } from '../../../src/proxy/kernel/nft-script.ts';
import { forwardedByKernel, planListeners } from '../../../src/proxy/listeners/listen-plan.ts';

const skipReason = labSkipReason() ?? (hasProgram('nft') ? null : 'needs nft (apt-get install nftables)');
const noConntrack = hasProgram('conntrack') ? '' : ' (skipped: needs conntrack, apt-get install conntrack)';
const VIP4 = '198.18.0.210';
const VIP6 = '2001:db8::210';
const UDP_ECHO = fileURLToPath(new URL('../../../test/support/udp-echo.ts', import.meta.url));

interface Reply {
  name: string;
  remoteAddress: string;
}

describe.skipIf(skipReason !== null)(`kernel forwarding on a namespace LAN${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  let lab: Lab;
  let node: LabNode;
  let client: LabHost;
  let podA: LabPod;
  let podB: LabPod;
  let kf: KernelForwarding;
  const index = new EndpointIndex('node1');
  const warnings: string[] = [];
  /** The real programs, run inside the node's namespace; KernelForwarding's nft fails while a test wants failures. */
  let real: KernelCommands;
  let failing = false;

  const service = (spec: Partial<V1Service['spec']> = {}): V1Service => ({
    metadata: { namespace: 'lab', name: 'web', uid: 'uid-web', annotations: { 'metalgate.io/l4-dataplane': 'kernel' } },
    spec: {
      type: 'LoadBalancer',
      ipFamilyPolicy: 'PreferDualStack',
      ports: [
        { name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 },
        { name: 'dns', port: 53, protocol: 'UDP', targetPort: 5353 },
      ],
      ...spec,
    },
    status: { loadBalancer: { ingress: [{ ip: VIP4 }, { ip: VIP6 }] } },
  });

  const slices = (pods: LabPod[]): V1EndpointSlice[] =>
    (['IPv4', 'IPv6'] as const).map((family) => ({
      metadata: { namespace: 'lab', name: `web-${family}`, labels: { 'kubernetes.io/service-name': 'web' } },
      addressType: family,
      ports: [
        { name: 'http', port: 8080, protocol: 'TCP' },
        { name: 'dns', port: 5353, protocol: 'UDP' },
      ],
      endpoints: pods.map((p) => ({ addresses: [family === 'IPv4' ? p.ipv4 : p.ipv6!], nodeName: 'node1', conditions: { ready: true } })),
    }));

  /** Feeds the index and the plan as the proxy does, and waits for the rules. */
  const setCluster = async (svc: V1Service, pods: LabPod[]): Promise<void> => {
    index.upsertService(svc);
    for (const s of slices(pods)) index.upsertSlice(s);
    const plan = planListeners(new Set([VIP4, VIP6]), [svc], { ownClassOnly: false, entrypoint: 'metalgate-system/metalgate-ingress' });
    expect(plan.problems).toEqual([]);
    kf.apply(plan.listeners.filter(forwardedByKernel));
    await kf.idle();
  };

  const curl = async (host: string): Promise<Reply> => {
    const url = host.includes(':') ? `http://[${host}]/` : `http://${host}/`;
    const { stdout } = await client.exec('curl', ['-s', '-m', '2', url], { timeoutMs: 5000 });
    const r = JSON.parse(stdout) as Reply;
    return { name: r.name, remoteAddress: r.remoteAddress.replace(/^::ffff:/, '') };
  };

  const names = async (n: number, host = VIP4): Promise<Set<string>> => {
    const seen = new Set<string>();
    for (let i = 0; i < n; i++) seen.add((await curl(host)).name);
    return seen;
  };

  const ruleset = async (): Promise<string> => (await node.exec('nft', ['list', 'table', 'inet', NFT_TABLE])).stdout;

  beforeAll(async () => {
    lab = await Lab.create({ nodes: ['node1'], clients: ['client'], ipv6: true });
    node = lab.nodes[0]!;
    client = lab.client('client');
    await node.exec('sysctl', ['-q', '-w', 'net.ipv4.ip_forward=1']);
    await node.exec('sysctl', ['-q', '-w', 'net.ipv6.conf.all.forwarding=1']);
    await node.ip(['addr', 'add', `${VIP4}/32`, 'dev', node.iface]);
    await node.ip(['addr', 'add', `${VIP6}/128`, 'dev', node.iface, 'nodad']);
    // Connection tracking on for every packet, as kube-proxy or the CNI has it on any Kubernetes node: without a
    // conntrack user in the namespace, traffic to the node's own sockets would leave no flow behind to test.
    await node.exec('nft', ['-f', '-'], { input: 'table inet lab-conntrack {\n chain input { type filter hook input priority 0; policy accept; ct state established accept; }\n}\n' });
    podA = await lab.addPod('node1', 'a');
    podB = await lab.addPod('node1', 'b');
    await Promise.all([podA.serveHttp(8080), podB.serveHttp(8080)]);
    for (const p of [podA, podB]) await p.spawnNode(UDP_ECHO, ['--port', '5353', '--name', p.name]).waitForOutput('udp-echo listening', 15_000);
    real = kernelCommands({ prefix: ['ip', 'netns', 'exec', node.ns] });
    kf = new KernelForwarding({
      log: pino({ level: 'silent' }),
      endpoints: index,
      commands: { ...real, nft: (script) => (failing ? Promise.resolve({ ok: false as const, error: 'Error: injected failure' }) : real.nft(script)) },
      registry: new Registry(),
      warn: (svc, reason, message) => warnings.push(`${svc.service} ${reason} ${message}`),
      retryMs: 300,
      checkMs: 300,
    });
  }, 60_000);

  afterAll(async () => {
    await kf?.close();
    await lab?.destroy();
  });

  it('TCP over IPv4 and IPv6 reaches both pods through DNAT rules, with no socket on the Service IPs; the pods see the node (masquerade)', async () => {
    await setCluster(service(), [podA, podB]);
    expect(kf.forwarding().sort()).toEqual([`TCP ${VIP4}:80`, `TCP [${VIP6}]:80`, `UDP ${VIP4}:53`, `UDP [${VIP6}]:53`].sort());
    expect(await names(30)).toEqual(new Set(['a', 'b']));
    const r6 = await curl(VIP6);
    expect(['a', 'b']).toContain(r6.name);
    const r4 = await curl(VIP4);
    expect(r4.remoteAddress).not.toBe(client.ipv4);
    expect(await ruleset()).toContain(`ip daddr ${VIP4} tcp dport 80`);
    const { stdout } = await node.exec('ss', ['-Hltnu']);
    expect(stdout).not.toContain(VIP4);
  });

  it('UDP datagrams reach a pod and the answer comes back from the Service IP', async () => {
    const p = client.spawnNode(UDP_ECHO, ['--send', VIP4, '53', '--text', 'hello']);
    const line = await p.waitForOutput('udp-echo reply', 10_000);
    const reply = JSON.parse(line.slice(line.indexOf('{'))) as Reply & { text: string };
    expect(reply.text).toBe('hello');
    expect(['a', 'b']).toContain(reply.name);
  });

  /** One UDP exchange from a fixed client port: the same flow to conntrack each time. Undefined: no answer. */
  const udpFrom = async (fromPort: number, host = VIP4, timeoutMs = 1500): Promise<string | undefined> => {
    const args = [UDP_ECHO, '--send', host, '53', '--from-port', String(fromPort), '--timeout-ms', String(timeoutMs)];
    const r = await client.exec(nodeBinary(), args, { timeoutMs: timeoutMs + 5000 }).catch(() => undefined);
    const line = r?.stdout.split('\n').find((l) => l.startsWith('udp-echo reply '));
    return line === undefined ? undefined : (JSON.parse(line.slice('udp-echo reply '.length)) as Reply).name;
  };

  it.skipIf(noConntrack !== '')(`a UDP flow to an endpoint that leaves the slices moves to one that stays (its conntrack entry is deleted)${noConntrack}`, async () => {
    await setCluster(service(), [podA, podB]);
    const first = await udpFrom(41053);
    expect(['a', 'b']).toContain(first);
    // The first pod leaves the slices but keeps running: without the delete, the flow would keep reaching it.
    const stays = first === 'a' ? podB : podA;
    await setCluster(service(), [stays]);
    expect(await udpFrom(41053)).toBe(stays.name);
    // The same over IPv6.
    await setCluster(service(), [podA, podB]);
    const first6 = await udpFrom(41063, VIP6);
    expect(['a', 'b']).toContain(first6);
    const stays6 = first6 === 'a' ? podB : podA;
    await setCluster(service(), [stays6]);
    expect(await udpFrom(41063, VIP6)).toBe(stays6.name);
  });

  it.skipIf(noConntrack !== '')(`a UDP flow answered on the node while the port had no rules (as by the user-space proxy) moves to a pod once rules forward it${noConntrack}`, async () => {
    await setCluster(service(), []);
    expect(kf.forwarding()).toEqual([]);
    // A socket on the node answers port 53 first, as the proxy does for a Service before it is switched to the kernel.
    const onNode = node.spawnNode(UDP_ECHO, ['--port', '53', '--name', 'node']);
    try {
      await onNode.waitForOutput('udp-echo listening', 15_000);
      expect(await udpFrom(41054)).toBe('node');
      await setCluster(service(), [podA]);
      expect(await udpFrom(41054)).toBe('a');
    } finally {
      await lab.kill(onNode);
    }
  });

  it('externalTrafficPolicy: Local keeps the client address', async () => {
    await setCluster(service({ externalTrafficPolicy: 'Local' }), [podA, podB]);
    expect((await curl(VIP4)).remoteAddress).toBe(client.ipv4);
    expect((await curl(VIP6)).remoteAddress).toBe(client.ipv6);
  });

  it('hairpin: a pod reaching its own Service through the Service IP gets its answer, with externalTrafficPolicy Local too', async () => {
    for (const policy of ['Local', 'Cluster'] as const) {
      await setCluster(service({ externalTrafficPolicy: policy }), [podA]);
      for (const vip of [VIP4, VIP6]) {
        const url = vip.includes(':') ? `http://[${vip}]/` : `http://${vip}/`;
        const { stdout } = await podA.exec('curl', ['-s', '-m', '2', url], { timeoutMs: 5000 });
        const r = JSON.parse(stdout) as Reply;
        expect(r.name).toBe('a');
        // The pod cannot be answered from its own address: the node's address stands in.
        expect(r.remoteAddress.replace(/^::ffff:/, '')).not.toBe(vip.includes(':') ? podA.ipv6 : podA.ipv4);
      }
    }
  });

  it('loadBalancerSourceRanges: the client inside them is forwarded; outside them its packets are dropped, over IPv4, IPv6 and UDP', async () => {
    await setCluster(service({ loadBalancerSourceRanges: [`${client.ipv4}/32`, `${client.ipv6}/128`] }), [podA]);
    expect((await curl(VIP4)).name).toBe('a');
    expect((await curl(VIP6)).name).toBe('a');
    // The node's own processes are held to the ranges too (the output hook), as the proxy holds them.
    await expect(node.exec('curl', ['-s', '-m', '1', `http://${VIP4}/`], { timeoutMs: 5000 })).rejects.toThrow();
    await setCluster(service({ loadBalancerSourceRanges: ['198.19.0.0/16'] }), [podA]);
    await expect(curl(VIP4)).rejects.toThrow();
    await expect(curl(VIP6)).rejects.toThrow(); // no IPv6 range: no IPv6 client
    expect(await udpFrom(41070)).toBeUndefined();
    // nft lists a one-element set without braces.
    expect(await ruleset()).toContain(`ip daddr ${VIP4} tcp dport 80 ip saddr != 198.19.0.0/16 drop`);
    // Without ranges the node itself gets through as well.
    await setCluster(service(), [podA]);
    expect((JSON.parse((await node.exec('curl', ['-s', '-m', '2', `http://${VIP4}/`], { timeoutMs: 5000 })).stdout) as Reply).name).toBe('a');
  });

  it('sessionAffinity: ClientIP sends one client to one pod', async () => {
    await setCluster(service({ sessionAffinity: 'ClientIP' }), [podA, podB]);
    expect((await names(12)).size).toBe(1);
  });

  it('while endpoints change under a steady stream of new connections, no connection fails (each apply is one transaction)', async () => {
    await setCluster(service(), [podA, podB]);
    const probe = client.probeHttp(`http://${VIP4}/`, { intervalMs: 10, timeoutMs: 1000, durationS: 30 });
    await probe.waitFor((s) => s.ok, 10_000, 'a first answer');
    for (const pods of [[podA], [podB], [podA, podB], [podB], [podA, podB]]) {
      await setCluster(service(), pods);
      await new Promise((r) => setTimeout(r, 250));
    }
    const samples = await probe.stop();
    expect(samples.length).toBeGreaterThan(20);
    expect(samples.filter((s) => !s.ok)).toEqual([]);
    expect(new Set(samples.map((s) => s.by))).toEqual(new Set(['a', 'b']));
  });

  it('endpoints follow the slices: with pod a gone from them, every new connection reaches b', async () => {
    await setCluster(service(), [podB]);
    expect(await names(12)).toEqual(new Set(['b']));
  });

  it('new connections are counted by Service port from the kernel counters, and the counts go on across rule changes', async () => {
    const registry = new Registry();
    const connections = new Counter({ name: 'c', help: 'c', labelNames: ['service', 'port', 'protocol'] as const, registers: [registry] });
    const count = async (): Promise<number> => {
      await kf.countConnections(connections);
      return (await connections.get()).values.find((v) => v.labels.service === 'lab/web' && v.labels.port === 'http' && v.labels.protocol === 'TCP')?.value ?? 0;
    };
    await setCluster(service(), [podA, podB]);
    const start = await count();
    await names(4);
    await curl(VIP6); // IPv6 connections land in the same Service port's counter
    expect((await count()) - start).toBe(5);
    await setCluster(service(), [podB]);
    await names(3);
    expect((await count()) - start).toBe(8);
  });

  it('forwarding off on the node (net.ipv4.ip_forward=0) is reported: an error in the log and a Warning on the Service', async () => {
    await node.exec('sysctl', ['-q', '-w', 'net.ipv4.ip_forward=0']);
    try {
      await setCluster(service(), [podA]);
      expect(warnings.some((w) => w.startsWith('lab/web KernelForwardingDisabled') && w.includes('net.ipv4.ip_forward is 0'))).toBe(true);
      expect(warnings.some((w) => w.includes('net.ipv6.conf.all.forwarding'))).toBe(false);
    } finally {
      await node.exec('sysctl', ['-q', '-w', 'net.ipv4.ip_forward=1']);
    }
    await setCluster(service(), [podB]);
  });

  it('a failed apply keeps the last good rules serving, warns once on the Service, and is retried', async () => {
    failing = true;
    await setCluster(service(), [podA]);
    expect(warnings.some((w) => w.startsWith('lab/web KernelForwardingFailed') && w.includes('injected failure'))).toBe(true);
    // The kernel still holds the rules for b.
    expect(await names(8)).toEqual(new Set(['b']));
    failing = false;
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && !(await ruleset()).includes(`dnat ip to ${podA.ipv4}:8080`)) await new Promise((r) => setTimeout(r, 100));
    expect(await names(8)).toEqual(new Set(['a']));
  });

  it('a new process with no kernel port removes the table an earlier one left; close removes the rules', async () => {
    const logged: string[] = [];
    const next = new KernelForwarding({
      log: pino({ level: 'info' }, { write: (line: string) => void logged.push(line) }),
      endpoints: index,
      commands: real,
      registry: new Registry(),
    });
    next.apply([]);
    await next.idle();
    // Not `nft list` here: kf's own check (every 300 ms) may already have written its table again.
    expect(logged.some((l) => l.includes('kernel forwarding rules left by an earlier process removed'))).toBe(true);
    // kf notices its table is gone (as after a firewall's `nft flush ruleset`) and writes it again.
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && !(await ruleset().catch(() => '')).includes(`dnat ip to ${podA.ipv4}:8080`)) await new Promise((r) => setTimeout(r, 100));
    expect((await curl(VIP4)).name).toBe('a');
    await kf.close();
    await expect(ruleset()).rejects.toThrow();
  });
});
