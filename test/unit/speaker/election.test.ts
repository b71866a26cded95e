import { describe, expect, test } from 'vitest';
import {
  EXCLUDE_FROM_LB_LABEL,
  OwnerElection,
  electOwners,
  ipsOwnedBy,
  nodeExclusionReason,
  type ElectionInput,
  type ElectionNode,
  type IpDemand,
  type Ownership,
} from '../../../src/speaker/election.ts';

const SUBNETS = ['198.18.0.5/15', '2001:db8::5/64'];
const THREE = ['node-a', 'node-b', 'node-c'];

function nodes(names: string[], extra: Partial<ElectionNode> = {}): ElectionNode[] {
  return names.map((name) => ({ name, subnets: SUBNETS, ...extra }));
}

function v4(i: number): string {
  return `198.18.${(i >> 8) & 255}.${i & 255}`;
}

function plainIps(count: number): IpDemand[] {
  return Array.from({ length: count }, (_, i) => ({ ip: v4(i + 1), services: [] }));
}

function owners(result: Map<string, Ownership>): Record<string, string | undefined> {
  return Object.fromEntries([...result.values()].map((o) => [o.ip, o.owner]));
}

function count(result: Map<string, Ownership>): Record<string, number> {
  const c: Record<string, number> = {};
  for (const o of result.values()) if (o.owner) c[o.owner] = (c[o.owner] ?? 0) + 1;
  return c;
}

describe('nodeExclusionReason', () => {
  test.each([
    [{}, undefined],
    [{ metadata: { labels: { [EXCLUDE_FROM_LB_LABEL]: '' } } }, `label ${EXCLUDE_FROM_LB_LABEL}`],
    [{ metadata: { labels: { [EXCLUDE_FROM_LB_LABEL]: 'false' } } }, `label ${EXCLUDE_FROM_LB_LABEL}`],
    [{ metadata: { labels: { 'node-role.kubernetes.io/control-plane': '' } } }, undefined],
    [{ status: { conditions: [{ type: 'NetworkUnavailable', status: 'True' }] } }, 'condition NetworkUnavailable=True'],
    [{ status: { conditions: [{ type: 'NetworkUnavailable', status: 'False' }] } }, undefined],
    [{ status: { conditions: [{ type: 'NetworkUnavailable', status: 'Unknown' }] } }, undefined],
    [{ status: { conditions: [{ type: 'Ready', status: 'False' }] } }, undefined],
  ])('%j -> %s', (node, reason) => {
    expect(nodeExclusionReason(node)).toBe(reason);
  });
});

describe('election: eligibility, one rule at a time', () => {
  const ips = plainIps(300);
  const base: ElectionInput = { live: new Set(THREE), nodes: nodes(THREE), ips };
  const all = electOwners(base);

  test('with every node eligible, all three own some IPs', () => {
    expect(Object.keys(count(all)).sort()).toEqual(THREE);
  });

  const cases: Array<[string, (input: ElectionInput) => ElectionInput]> = [
    ['not a live speaker', (i) => ({ ...i, live: new Set(['node-a', 'node-c']) })],
    ['no Node object', (i) => ({ ...i, nodes: i.nodes.filter((n) => n.name !== 'node-b') })],
    ['excluded by label', (i) => ({ ...i, nodes: i.nodes.map((n) => (n.name === 'node-b' ? { ...n, excluded: 'label' } : n)) })],
    ['no interface subnet', (i) => ({ ...i, nodes: i.nodes.map((n) => (n.name === 'node-b' ? { ...n, subnets: ['198.51.100.0/24'] } : n)) })],
    ['no subnets known', (i) => ({ ...i, nodes: i.nodes.map((n) => (n.name === 'node-b' ? { name: n.name } : n)) })],
    [
      'no ready local endpoint',
      (i) => ({
        ...i,
        ips: i.ips.map((d) => ({ ...d, services: [{ service: 'ns/web', local: true, readyNodes: new Set(['node-a', 'node-c']) }] })),
      }),
    ],
  ];
  test.each(cases)('%s: node-b owns nothing and only its IPs move', (_name, change) => {
    const after = electOwners(change(base));
    for (const [ip, o] of after) {
      expect(o.owner).not.toBe('node-b');
      if (all.get(ip)!.owner !== 'node-b') expect(o.owner).toBe(all.get(ip)!.owner);
      else expect(['node-a', 'node-c']).toContain(o.owner);
    }
  });

  test('a live speaker whose Node is ineligible does not hide the others', () => {
    const r = electOwners({ live: new Set(['node-x', 'node-a']), nodes: nodes(['node-a']), ips: plainIps(5) });
    expect(new Set(Object.values(owners(r)))).toEqual(new Set(['node-a']));
  });

  test('anyIp (pinned interface) makes a node without matching subnets eligible', () => {
    const r = electOwners({
      live: new Set(['node-a']),
      nodes: [{ name: 'node-a', subnets: [], anyIp: true }],
      ips: [{ ip: '203.0.113.7', services: [] }],
    });
    expect(r.get('203.0.113.7')?.owner).toBe('node-a');
  });

  test('families do not mix: an IPv6 IP needs an IPv6 subnet', () => {
    const r = electOwners({
      live: new Set(['v4only', 'dual']),
      nodes: [
        { name: 'v4only', subnets: ['198.18.0.0/15'] },
        { name: 'dual', subnets: ['198.18.0.0/15', '2001:db8::/64'] },
      ],
      ips: Array.from({ length: 20 }, (_, i) => ({ ip: `2001:db8::${(i + 1).toString(16)}`, services: [] })),
    });
    expect(count(r)).toEqual({ dual: 20 });
  });

  test('Cluster-policy Services place no endpoint constraint', () => {
    const r = electOwners({
      ...base,
      ips: ips.map((d) => ({ ...d, services: [{ service: 'ns/web', local: false, readyNodes: new Set<string>() }] })),
    });
    expect(owners(r)).toEqual(owners(all));
  });
});

describe('election: no owner, with a reason', () => {
  const ip = '198.18.0.10';
  const one = (input: Partial<ElectionInput>): Ownership =>
    electOwners({ live: new Set(THREE), nodes: nodes(THREE), ips: [{ ip, services: [] }], ...input }).get(ip)!;

  test.each<[string, Partial<ElectionInput>, string, string]>([
    ['no live speaker', { live: new Set() }, 'no-live-speaker', 'no live speaker'],
    ['live speakers without Node objects', { nodes: [] }, 'no-live-speaker', 'no live speaker'],
    ['all excluded', { nodes: nodes(THREE, { excluded: 'label' }) }, 'all-excluded', 'every live speaker is on an excluded node'],
    [
      'no interface',
      { nodes: nodes(THREE, { subnets: ['198.51.100.1/24'] }) },
      'no-interface',
      'no live node has an interface whose subnet contains 198.18.0.10',
    ],
    [
      'no local endpoint',
      { ips: [{ ip, services: [{ service: 'ns/web', local: true, readyNodes: new Set(['node-z']) }] }] },
      'no-local-endpoint',
      'no node with a ready local endpoint for ns/web',
    ],
    [
      'local endpoints on a node without an interface',
      {
        nodes: [...nodes(['node-a', 'node-b']), { name: 'node-c', subnets: [] }],
        ips: [{ ip, services: [{ service: 'ns/web', local: true, readyNodes: new Set(['node-c']) }] }],
      },
      'no-local-endpoint',
      'no node with a ready local endpoint for ns/web',
    ],
    ['Local without endpoint data', { ips: [{ ip, services: [{ service: 'ns/web', local: true }] }] }, 'no-local-endpoint', 'no node with a ready local endpoint for ns/web'],
  ])('%s', (_name, input, code, message) => {
    const o = one(input);
    expect(o.owner).toBeUndefined();
    expect(o.reason).toEqual({ code, message });
  });

  test('an unparsable IP', () => {
    const r = electOwners({ live: new Set(THREE), nodes: nodes(THREE), ips: [{ ip: '198.18.0.300', services: [] }] });
    expect(r.get('198.18.0.300')?.reason?.code).toBe('invalid-ip');
  });
});

describe('election: shared IPs', () => {
  const ip = '198.18.0.42';
  const svc = (service: string, local: boolean, ready: string[] = []) => ({ service, local, readyNodes: new Set(ready) });

  test('Services on one IP (given as separate entries) get one owner', () => {
    const r = electOwners({
      live: new Set(THREE),
      nodes: nodes(THREE),
      ips: [
        { ip, services: [svc('ns/a', false)] },
        { ip, services: [svc('ns/b', false)] },
      ],
    });
    expect(r.size).toBe(1);
  });

  test('every Local Service on the IP needs a ready endpoint on the owner (intersection)', () => {
    const r = electOwners({
      live: new Set(THREE),
      nodes: nodes(THREE),
      ips: [
        { ip, services: [svc('ns/a', true, ['node-a', 'node-b'])] },
        { ip, services: [svc('ns/b', true, ['node-b', 'node-c']), svc('ns/c', false)] },
      ],
    });
    expect(r.get(ip)?.owner).toBe('node-b');
  });

  test('disjoint Local endpoint sets leave the IP unowned and name both Services', () => {
    const r = electOwners({
      live: new Set(THREE),
      nodes: nodes(THREE),
      ips: [{ ip, services: [svc('ns/a', true, ['node-a']), svc('ns/b', true, ['node-c'])] }],
    });
    expect(r.get(ip)?.reason?.message).toBe('no node with a ready local endpoint for all of ns/a, ns/b');
  });

  test('spellings of one IPv6 address are one IP, keyed by its canonical text', () => {
    const r = electOwners({
      live: new Set(THREE),
      nodes: nodes(THREE),
      ips: [
        { ip: '2001:DB8::0:7', services: [svc('ns/a', true, ['node-c'])] },
        { ip: '2001:db8:0::7', services: [] },
      ],
    });
    expect([...r.keys()]).toEqual(['2001:db8::7']);
    expect(r.get('2001:db8::7')?.owner).toBe('node-c');
  });
});

describe('election: hash', () => {
  test('golden owners: the score function is a protocol between speakers and must not drift', () => {
    const ips = ['198.18.0.1', '198.18.0.2', '198.18.0.3', '198.18.0.4', '198.18.1.200', '2001:db8::1', '2001:db8::2'];
    const r = electOwners({ live: new Set(THREE), nodes: nodes(THREE), ips: ips.map((ip) => ({ ip, services: [] })) });
    expect(owners(r)).toEqual({
      '198.18.0.1': 'node-a',
      '198.18.0.2': 'node-c',
      '198.18.0.3': 'node-b',
      '198.18.0.4': 'node-b',
      '198.18.1.200': 'node-b',
      '2001:db8::1': 'node-c',
      '2001:db8::2': 'node-a',
    });
  });

  test('the same answer whatever the order of nodes, IPs and the live set', () => {
    const names = Array.from({ length: 12 }, (_, i) => `worker-${i}`);
    const ips = plainIps(500);
    const a = electOwners({ live: new Set(names), nodes: nodes(names), ips });
    const rev = [...names].reverse();
    const shuffled = [...ips].sort((x, y) => (x.ip.split('').reverse().join('') < y.ip.split('').reverse().join('') ? -1 : 1));
    const b = electOwners({ live: new Set(rev), nodes: nodes(rev), ips: shuffled });
    expect(owners(b)).toEqual(owners(a));
  });

  test('a reused OwnerElection (warm caches) answers like a fresh one', () => {
    const election = new OwnerElection();
    const input = { live: new Set(THREE), nodes: nodes(THREE), ips: plainIps(200) };
    election.elect({ ...input, ips: plainIps(50) });
    election.elect({ ...input, live: new Set(['node-a']) });
    expect(owners(election.elect(input))).toEqual(owners(electOwners(input)));
  });

  test('roughly even over 3 nodes for 3,000 IPs', () => {
    const c = count(electOwners({ live: new Set(THREE), nodes: nodes(THREE), ips: plainIps(3000) }));
    // Expected 1000 each, standard deviation about 26: +-100 is about 4 sigma.
    for (const n of THREE) expect(Math.abs(c[n]! - 1000)).toBeLessThan(100);
  });

  test('roughly even over 100 nodes (chi-square), IPv6 included', () => {
    const names = Array.from({ length: 100 }, (_, i) => `node-${i}`);
    const ips = Array.from({ length: 3000 }, (_, i) => ({ ip: i % 2 ? v4(i) : `2001:db8::${i.toString(16)}`, services: [] }));
    const c = count(electOwners({ live: new Set(names), nodes: nodes(names), ips }));
    let chi2 = 0;
    for (const n of names) chi2 += ((c[n] ?? 0) - 30) ** 2 / 30;
    // 99 degrees of freedom: the 99.9th percentile is about 149.
    expect(chi2).toBeLessThan(149);
  });

  test('minimal movement: when one of 3 nodes dies only its IPs move, split between the others', () => {
    const ips = plainIps(3000);
    const before = electOwners({ live: new Set(THREE), nodes: nodes(THREE), ips });
    const after = electOwners({ live: new Set(['node-a', 'node-c']), nodes: nodes(THREE), ips });
    let movedToA = 0;
    let movedToC = 0;
    for (const [ip, o] of before) {
      const now = after.get(ip)!.owner;
      if (o.owner !== 'node-b') expect(now).toBe(o.owner);
      else if (now === 'node-a') movedToA++;
      else movedToC++;
    }
    expect(movedToA + movedToC).toBe(ipsOwnedBy(before, 'node-b').length);
    expect(Math.abs(movedToA - movedToC)).toBeLessThan(150);
    // And when it comes back, exactly those IPs return.
    expect(owners(electOwners({ live: new Set(THREE), nodes: nodes(THREE), ips }))).toEqual(owners(before));
  });

  test('a joining node takes about 1/n, each IP from its previous owner only', () => {
    const ips = plainIps(3000);
    const four = [...THREE, 'node-d'];
    const before = electOwners({ live: new Set(THREE), nodes: nodes(four), ips });
    const after = electOwners({ live: new Set(four), nodes: nodes(four), ips });
    let moved = 0;
    for (const [ip, o] of after) {
      if (o.owner !== before.get(ip)!.owner) {
        expect(o.owner).toBe('node-d');
        moved++;
      }
    }
    expect(Math.abs(moved - 750)).toBeLessThan(100);
  });
});

describe('L2Advertisement rules', () => {
  const live = new Set(THREE);
  const rule = (entries: Array<[string, string[] | undefined]>) => ({
    source: 'pool "blue"',
    nodes: new Map(entries.map(([n, i]) => [n, i === undefined ? undefined : new Set(i)])),
  });

  test('only the nodes a rule selects may own the IP; IPs without a rule are unaffected', () => {
    const ips: IpDemand[] = plainIps(60).map((d, i) => (i % 2 === 0 ? { ...d, rule: rule([['node-b', undefined]]) } : d));
    const result = electOwners({ live, nodes: nodes(THREE), ips });
    const ruled = ips.filter((_, i) => i % 2 === 0).map((d) => result.get(d.ip)!.owner);
    expect(new Set(ruled)).toEqual(new Set(['node-b']));
    const free = ips.filter((_, i) => i % 2 === 1).map((d) => result.get(d.ip)!.owner);
    expect(new Set(free)).toEqual(new Set(THREE));
    // Among the selected nodes, the same rendezvous order as without a rule.
    const two = rule([['node-a', undefined], ['node-c', undefined]]);
    const withRule = electOwners({ live, nodes: nodes(THREE), ips: plainIps(40).map((d) => ({ ...d, rule: two })) });
    const without = electOwners({ live, nodes: nodes(['node-a', 'node-c']), ips: plainIps(40) });
    expect(owners(withRule)).toEqual(owners(without));
  });

  test('a rule with no node: not announced, saying no L2Advertisement announces the pool', () => {
    const o = electOwners({ live, nodes: nodes(THREE), ips: [{ ip: '198.18.0.9', services: [], rule: rule([]) }] }).get('198.18.0.9')!;
    expect(o.owner).toBeUndefined();
    expect(o.reason).toEqual({ code: 'not-advertised', message: 'no L2Advertisement announces pool "blue"' });
  });

  test('selected nodes that are not live: not-advertised, naming the pool', () => {
    const o = electOwners({ live, nodes: nodes(THREE), ips: [{ ip: '198.18.0.9', services: [], rule: rule([['node-z', undefined]]) }] }).get('198.18.0.9')!;
    expect(o.reason).toEqual({ code: 'not-advertised', message: 'no live node is selected by the L2Advertisements of pool "blue"' });
  });

  test('named interfaces: a node needs one of them, whatever its subnets', () => {
    const withIfaces: ElectionNode[] = [
      { name: 'node-a', subnets: SUBNETS, interfaces: ['eth0'] },
      { name: 'node-b', subnets: [], interfaces: ['eth0', 'eth1'] },
      { name: 'node-c', subnets: SUBNETS, interfaces: ['eth0', 'eth1'] },
    ];
    const r = rule([['node-a', ['eth1']], ['node-b', ['eth1']], ['node-c', undefined]]);
    // 2001:db8:ff::/64 is in no node's subnets: node-b (eth1, no address) is the only one eligible.
    const result = electOwners({ live, nodes: withIfaces, ips: Array.from({ length: 20 }, (_, i) => ({ ip: `2001:db8:ff::${i + 1}`, services: [], rule: r })) });
    expect(new Set([...result.values()].map((o) => o.owner))).toEqual(new Set(['node-b']));
    // In node-c's subnets, node-c (any interface, by subnet) competes too; node-a (no eth1) never.
    const both = electOwners({ live, nodes: withIfaces, ips: plainIps(60).map((d) => ({ ...d, rule: r })) });
    expect(new Set([...both.values()].map((o) => o.owner))).toEqual(new Set(['node-b', 'node-c']));
  });

  test('no selected node has a named interface: no-interface, naming them', () => {
    const r = rule([['node-a', ['eth7']]]);
    const o = electOwners({ live, nodes: nodes(THREE, { interfaces: ['eth0'] }), ips: [{ ip: '198.18.0.9', services: [], rule: r }] }).get('198.18.0.9')!;
    expect(o.reason).toEqual({
      code: 'no-interface',
      message: 'no live node the L2Advertisements of pool "blue" select has a usable interface named eth7',
    });
  });

  test('Services sharing an IP share its rule', () => {
    const r = rule([['node-c', undefined]]);
    const result = electOwners({
      live,
      nodes: nodes(THREE),
      ips: [
        { ip: '198.18.0.9', services: [{ service: 'ns/a', local: false }], rule: r },
        { ip: '198.18.0.9', services: [{ service: 'ns/b', local: false }] },
      ],
    });
    expect(result.get('198.18.0.9')!.owner).toBe('node-c');
  });
});
