import { describe, expect, it } from 'vitest';

import {
  hostBatch,
  labNamespace,
  lanBatch,
  planLab,
  planPod,
  podBatch,
  podNodeBatch,
  runIdOfNamespace,
} from '../../support/lab-plan.ts';
import { groupRuns, parseStatStartTime, staleRuns, type LabOwner } from '../../support/lab-sweep.ts';
import { apiLoopbackAddress } from '../../support/lab.ts';

const inBenchmarkBlock = (ip: string): boolean => /^198\.1[89]\.\d+\.\d+$/.test(ip) || /^2001:db8:/.test(ip);

describe('planLab', () => {
  const plan = planLab({ runId: 'r1', nodes: ['node1', 'node2', 'node3'], clients: ['client'], ipv6: true });

  it('puts clients at .1.. and nodes at .11.., with MACs and namespaces per run', () => {
    expect(plan.lanNs).toBe('mgl-r1-lan');
    expect(plan.hosts.map((h) => [h.name, h.role, h.ns, h.lanPort, h.mac, h.ipv4Cidr, h.ipv6Cidr])).toEqual([
      ['client', 'client', 'mgl-r1-client', 'l-client', '02:6d:67:00:00:01', '198.18.0.1/24', '2001:db8::1/64'],
      ['node1', 'node', 'mgl-r1-node1', 'l-node1', '02:6d:67:00:00:0b', '198.18.0.11/24', '2001:db8::11/64'],
      ['node2', 'node', 'mgl-r1-node2', 'l-node2', '02:6d:67:00:00:0c', '198.18.0.12/24', '2001:db8::12/64'],
      ['node3', 'node', 'mgl-r1-node3', 'l-node3', '02:6d:67:00:00:0d', '198.18.0.13/24', '2001:db8::13/64'],
    ]);
    expect(plan.hosts.filter((h) => h.role === 'node').map((h) => [h.podCidrV4, h.podCidrV6])).toEqual([
      ['198.18.101.0/24', '2001:db8:0:101::/64'],
      ['198.18.102.0/24', '2001:db8:0:102::/64'],
      ['198.18.103.0/24', '2001:db8:0:103::/64'],
    ]);
    expect(plan.hosts[0]!.podCidrV4).toBeUndefined();
  });

  it('uses only benchmark/documentation addresses, and pod CIDRs stay out of the Service range 198.19/16', () => {
    const big = planLab({ runId: 'x', nodes: Array.from({ length: 89 }, (_, i) => `n${i}`), clients: Array.from({ length: 9 }, (_, i) => `c${i}`), ipv6: true });
    const pods = big.hosts.filter((h) => h.role === 'node').map((h) => planPod(big, h, 253, 'last'));
    for (const ip of [...big.hosts.flatMap((h) => [h.ipv4, h.ipv6!]), ...pods.flatMap((p) => [p.ipv4, p.ipv6!, p.gatewayV4])]) {
      expect(inBenchmarkBlock(ip), ip).toBe(true);
      expect(ip.startsWith('198.19.'), ip).toBe(false);
    }
    expect(new Set(big.hosts.map((h) => h.mac)).size).toBe(98);
    expect(new Set(big.hosts.map((h) => h.ipv4)).size).toBe(98);
    expect(big.hosts.at(-1)!.ipv4).toBe('198.18.0.99');
    expect(pods.at(-1)!.ipv4).toBe('198.18.189.254');
  });

  it('leaves IPv6 out when asked', () => {
    const v4 = planLab({ runId: 'r1', nodes: ['n'], clients: [], ipv6: false });
    expect(v4.hosts[0]).toMatchObject({ ipv6: undefined, ipv6Cidr: undefined, podCidrV6: undefined });
    expect(hostBatch(v4.hosts[0]!).some((l) => l.includes('nodad'))).toBe(false);
    const pod = planPod(v4, v4.hosts[0]!, 1, 'p');
    expect(pod.ipv6).toBeUndefined();
    expect([...podNodeBatch(pod), ...podBatch(pod)].join('\n')).not.toMatch(/fe80|2001/);
  });

  it('keeps every interface name within 15 bytes', () => {
    const p = planLab({ runId: 'abcdefghijkl', nodes: ['a234567890123'], clients: [], ipv6: true });
    const names = [p.bridge, ...p.hosts.flatMap((h) => [h.iface, h.lanPort]), planPod(p, p.hosts[0]!, 253, 'x').nodeIface];
    for (const n of names) expect(n.length, n).toBeLessThanOrEqual(15);
  });

  it('rejects bad names, duplicates, the reserved name and too many hosts', () => {
    const mk = (nodes: string[], clients: string[] = [], runId = 'r') => () => planLab({ runId, nodes, clients, ipv6: true });
    expect(mk(['Node1'])).toThrow(/lowercase/);
    expect(mk(['a2345678901234'])).toThrow(/up to 12/); // l-<name> would be 16 bytes
    expect(mk(['a.b'])).toThrow(/lab host name/);
    expect(mk(['n1'], ['n1'])).toThrow(/used twice/);
    expect(mk(['lan'])).toThrow(/reserved/);
    expect(mk(Array.from({ length: 90 }, (_, i) => `n${i}`))).toThrow(/at most 89 nodes/);
    expect(mk([], Array.from({ length: 10 }, (_, i) => `c${i}`))).toThrow(/at most 9 clients/);
    expect(mk(['n'], [], 'R-1')).toThrow(/run id/);
  });
});

describe('planPod', () => {
  const plan = planLab({ runId: 'r1', nodes: ['node1', 'node2'], clients: ['client'], ipv6: true });
  const node2 = plan.hosts.find((h) => h.name === 'node2')!;

  it('numbers pods within the node CIDR, gateway .1 and fe80::1 on the node side', () => {
    expect(planPod(plan, node2, 1, 'web-1')).toEqual({
      name: 'web-1',
      node: 'node2',
      index: 1,
      ns: 'mgl-r1-node2.web-1',
      iface: 'eth0',
      nodeIface: 'pod1',
      ipv4: '198.18.102.2',
      ipv6: '2001:db8:0:102::2',
      gatewayV4: '198.18.102.1',
      gatewayV6: 'fe80::1',
    });
    expect(planPod(plan, node2, 10, 'x')).toMatchObject({ ipv4: '198.18.102.11', ipv6: '2001:db8:0:102::11', nodeIface: 'pod10' });
  });

  it('refuses clients, bad names and a full CIDR', () => {
    expect(() => planPod(plan, plan.hosts[0]!, 1, 'p')).toThrow(/pods run on nodes/);
    expect(() => planPod(plan, node2, 1, 'Web')).toThrow(/pod name/);
    expect(() => planPod(plan, node2, 1, 'a.b')).toThrow(/pod name/);
    expect(() => planPod(plan, node2, 254, 'p')).toThrow(/no pod address left/);
  });
});

describe('ip batch scripts', () => {
  const plan = planLab({ runId: 'r1', nodes: ['node1'], clients: ['client'], ipv6: true });

  it('builds the switch: bridge without snooping or IPv6 addresses, one port per host', () => {
    expect(lanBatch(plan)).toEqual([
      'link add br0 type bridge mcast_snooping 0',
      'link set br0 addrgenmode none',
      'link set br0 up',
      'link add l-client type veth peer name eth0 address 02:6d:67:00:00:01 netns mgl-r1-client',
      'link set l-client addrgenmode none',
      'link set l-client master br0',
      'link set l-client up',
      'link add l-node1 type veth peer name eth0 address 02:6d:67:00:00:0b netns mgl-r1-node1',
      'link set l-node1 addrgenmode none',
      'link set l-node1 master br0',
      'link set l-node1 up',
    ]);
  });

  it('addresses a host, IPv6 (link-local too) without DAD so it is usable at once', () => {
    expect(hostBatch(plan.hosts[1]!)).toEqual([
      'link set lo up',
      'addr add 198.18.0.11/24 dev eth0',
      'link set eth0 addrgenmode none',
      'addr add fe80::11/64 dev eth0 nodad',
      'addr add 2001:db8::11/64 dev eth0 nodad',
      'link set eth0 up',
    ]);
    // Without IPv6 the kernel keeps its own link-local.
    const v4 = planLab({ runId: 'r1', nodes: ['node1'], clients: [], ipv6: false });
    expect(hostBatch(v4.hosts[0]!)).toEqual(['link set lo up', 'addr add 198.18.0.11/24 dev eth0', 'link set eth0 up']);
  });

  it('routes a pod like a CNI: /32 and /128 on the node, default via the node in the pod', () => {
    const pod = planPod(plan, plan.hosts[1]!, 1, 'web');
    expect(podNodeBatch(pod)).toEqual([
      'link add pod1 type veth peer name eth0 netns mgl-r1-node1.web',
      'link set pod1 addrgenmode none',
      'addr add 198.18.101.1/32 dev pod1',
      'addr add fe80::1/64 dev pod1 nodad',
      'link set pod1 up',
      'route add 198.18.101.2/32 dev pod1 src 198.18.101.1',
      'route add 2001:db8:0:101::2/128 dev pod1',
    ]);
    expect(podBatch(pod)).toEqual([
      'link set lo up',
      'link set eth0 addrgenmode none',
      'addr add 198.18.101.2/32 dev eth0',
      'addr add fe80::2/64 dev eth0 nodad',
      'addr add 2001:db8:0:101::2/128 dev eth0 nodad',
      'link set eth0 up',
      'route add 198.18.101.1/32 dev eth0 scope link',
      'route add default via 198.18.101.1 dev eth0',
      'route add default via fe80::1 dev eth0',
    ]);
  });
});

describe('lab namespace names', () => {
  it('round-trips the run id', () => {
    expect(runIdOfNamespace(labNamespace('k3x9a', 'node1'))).toBe('k3x9a');
    expect(runIdOfNamespace('mgl-k3x9a-node1.web-1')).toBe('k3x9a');
    for (const other of ['mgl-', 'mgl--x', 'mgl-nodash', 'mgl-UPPER-x', 'mgl2-ab-x', 'cni-1234', 'mgl-a_b-x']) {
      expect(runIdOfNamespace(other), other).toBeNull();
    }
  });
});

describe('sweep decisions', () => {
  it('reads the start time from /proc/<pid>/stat, whatever the command name holds', () => {
    const fields = Array.from({ length: 50 }, (_, i) => String(i + 3));
    fields[22 - 3] = '987654';
    expect(parseStatStartTime(`1234 (node) ${fields.join(' ')}`)).toBe('987654');
    expect(parseStatStartTime(`1234 (a) (b c) ${fields.join(' ')}`)).toBe('987654');
    expect(parseStatStartTime('garbage')).toBeUndefined();
    expect(parseStatStartTime('1 (x) S 0')).toBeUndefined();
  });

  it('groups namespaces and run directories by run, and removes only runs without a live owner', () => {
    const live: LabOwner = { pid: 10, startTime: '100' };
    const dead: LabOwner = { pid: 11, startTime: '200' };
    const runs = groupRuns(
      ['mgl-aaa-lan', 'mgl-aaa-node1', 'mgl-bbb-lan', 'mgl-bbb-node1.web', 'mgl-ccc-lan', 'other-ns'],
      ['aaa', 'bbb', 'ddd'],
      new Map([
        ['aaa', live],
        ['bbb', dead],
        ['ddd', dead],
      ]),
    );
    expect(runs).toEqual([
      { runId: 'aaa', namespaces: ['mgl-aaa-lan', 'mgl-aaa-node1'], hasDir: true, owner: live },
      { runId: 'bbb', namespaces: ['mgl-bbb-lan', 'mgl-bbb-node1.web'], hasDir: true, owner: dead },
      { runId: 'ccc', namespaces: ['mgl-ccc-lan'], hasDir: false, owner: undefined },
      { runId: 'ddd', namespaces: [], hasDir: true, owner: dead },
    ]);
    const alive = (o: LabOwner): boolean => o === live;
    expect(staleRuns(runs, alive).map((r) => r.runId)).toEqual(['bbb', 'ccc', 'ddd']);
    expect(staleRuns(runs, alive, true).map((r) => r.runId)).toEqual(['aaa', 'bbb', 'ccc', 'ddd']);
  });
});

describe('apiLoopbackAddress', () => {
  it('takes the loopback host and port the relays mirror', () => {
    expect(apiLoopbackAddress('https://127.0.0.1:41234')).toEqual({ host: '127.0.0.1', port: 41234 });
    expect(apiLoopbackAddress('https://127.0.0.2')).toEqual({ host: '127.0.0.2', port: 443 });
    expect(() => apiLoopbackAddress('https://198.18.0.1:6443')).toThrow(/127\.x/);
    expect(() => apiLoopbackAddress('https://localhost:6443')).toThrow(/127\.x/);
  });
});
