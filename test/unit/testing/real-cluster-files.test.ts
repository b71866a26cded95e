// The real-kubelet test cluster's pure parts: its plan and the node files.
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

import { cniConfig, containerdConfig, kubeletConfig, kubeProxyConfig } from '../../support/real-cluster/node-files.ts';
import { nodeNames, planCluster } from '../../support/real-cluster/plan.ts';
import { sectionBlocks } from '../../integration/real-cluster/doc-commands.ts';

const plan = planCluster('abc123', '/tmp/x', [
  { name: 'node1', podCidr: '198.18.101.0/24' },
  { name: 'node2', podCidr: '198.18.102.0/24' },
]);
const [n1, n2] = plan.nodes as [NonNullable<(typeof plan.nodes)[0]>, NonNullable<(typeof plan.nodes)[0]>];

describe('real-cluster plan', () => {
  it('names nodes node1..N within bounds', () => {
    expect(nodeNames(2)).toEqual(['node1', 'node2']);
    expect(() => nodeNames(0)).toThrow(/1 to 9/);
    expect(() => nodeNames(10)).toThrow(/1 to 9/);
  });
  it('gives each node its own directory, pod gateway and cgroup root', () => {
    expect(n1).toEqual({ name: 'node1', podCidr: '198.18.101.0/24', podGateway: '198.18.101.1', dir: '/tmp/x/node1', cgroupRoot: '/metalgate-abc123-node1' });
    expect(n2.cgroupRoot).not.toBe(n1.cgroupRoot);
  });
});

describe('node files', () => {
  it('containerd: restricted oom_score_adj, pod netns under its state, every path its own', () => {
    const toml = containerdConfig(n1);
    expect(toml).toContain('restrict_oom_score_adj = true');
    expect(toml).toContain('netns_mounts_under_state_dir = true');
    expect(toml).toContain('SystemdCgroup = false');
    for (const line of toml.split('\n').filter((l) => /(root|state|address|path|Root|conf_dir) = "\//.test(l))) expect(line).toContain('/tmp/x/node1/');
    expect(toml).not.toContain('/tmp/x/node2');
  });
  it('CNI: the node range on the bridge, IPAM state in the node directory, no masquerade', () => {
    const conf = JSON.parse(cniConfig(n2)) as { plugins: { type: string; ipMasq?: boolean; ipam?: { dataDir: string; ranges: { subnet: string; gateway: string }[][] } }[] };
    const bridge = conf.plugins.find((p) => p.type === 'bridge')!;
    expect(bridge.ipMasq).toBe(false);
    expect(bridge.ipam!.ranges[0]![0]).toEqual({ subnet: '198.18.102.0/24', gateway: '198.18.102.1' });
    expect(bridge.ipam!.dataDir).toBe('/tmp/x/node2/cni/ipam');
  });
  it('kubelet: cgroup v1 allowed, its own cgroup root and runtime socket', () => {
    const k = parse(kubeletConfig(n1, { clientCaFile: '/ca.crt', resolvConf: '/r', podLogsDir: '/logs' })) as Record<string, unknown>;
    expect(k.failCgroupV1).toBe(false);
    expect(k.cgroupDriver).toBe('cgroupfs');
    expect(k.cgroupRoot).toBe('/metalgate-abc123-node1');
    expect(k.containerRuntimeEndpoint).toBe('unix:///tmp/x/node1/containerd.sock');
    expect(k.podLogsDir).toBe('/logs');
    expect(k.protectKernelDefaults).toBe(false);
  });
  it('kube-proxy: iptables mode, no machine-wide conntrack settings', () => {
    const k = parse(kubeProxyConfig(n1, '198.18.0.11', '/kc')) as { mode: string; hostnameOverride: string; conntrack: Record<string, unknown> };
    expect(k.mode).toBe('iptables');
    expect(k.hostnameOverride).toBe('node1');
    expect(k.conntrack).toEqual({ maxPerCore: 0, min: 0, tcpEstablishedTimeout: '0s', tcpCloseWaitTimeout: '0s' });
  });
});

describe('quickstart blocks', () => {
  it('takes the sh commands and yaml documents of one section, comments dropped', () => {
    const md = '# T\n\n## A\n\n```sh\nkubectl get x   \n# expected\n\necho hi\n```\n\n```yaml\nk: v\n```\n\n```\nplain\n```\n\n## B\n\n```sh\nnot this\n```\n';
    expect(sectionBlocks(md, 'A')).toEqual([
      { lang: 'sh', lines: ['kubectl get x', 'echo hi'] },
      { lang: 'yaml', lines: ['k: v\n'] },
    ]);
    expect(() => sectionBlocks(md, 'C')).toThrow(/no "## C" section/);
  });
});
