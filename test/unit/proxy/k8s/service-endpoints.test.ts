import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import { describe, expect, test } from 'vitest';
import { EndpointIndex } from '../../../../src/proxy/endpoints/endpoint-index.ts';
import { EndpointPicker } from '../../../../src/proxy/endpoints/endpoint-picker.ts';
import { AffinityTable } from '../../../../src/proxy/endpoints/affinity-table.ts';
import { serviceEndpointSets } from '../../../../src/proxy/endpoints/service-endpoints.ts';

type Cond = { ready?: boolean; serving?: boolean; terminating?: boolean };
interface Ep {
  ip: string;
  node?: string;
  c?: Cond;
}

function svc(spec: Partial<NonNullable<V1Service['spec']>> = {}, name = 'web', ns = 'app'): V1Service {
  return {
    metadata: { name, namespace: ns },
    spec: { type: 'LoadBalancer', ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 }], ...spec },
  };
}

function slice(
  name: string,
  endpoints: Ep[],
  ports: Array<{ name?: string; port?: number; protocol?: string }> = [{ name: 'http', port: 8080, protocol: 'TCP' }],
  opts: { service?: string; ns?: string; addressType?: string } = {},
): V1EndpointSlice {
  return {
    metadata: { name, namespace: opts.ns ?? 'app', labels: { 'kubernetes.io/service-name': opts.service ?? 'web' } },
    addressType: opts.addressType ?? 'IPv4',
    ports,
    endpoints: endpoints.map((e) => ({
      addresses: [e.ip],
      nodeName: e.node,
      conditions: e.c ?? {},
      targetRef: { kind: 'Pod', name: `pod-${e.ip}` },
    })),
  } as V1EndpointSlice;
}

const keys = (eps: readonly { key: string }[]) => eps.map((e) => e.key);

describe('serviceEndpointSets', () => {
  const cases: Array<{ name: string; svc: V1Service; slices: V1EndpointSlice[]; port?: string; active: string[]; draining: string[]; fallback?: boolean }> = [
    {
      name: 'ready endpoints, nil conditions count as ready',
      svc: svc(),
      slices: [slice('a', [{ ip: '198.18.77.2' }, { ip: '198.18.77.1', c: { ready: true } }])],
      active: ['198.18.77.1:8080', '198.18.77.2:8080'],
      draining: [],
    },
    {
      name: 'not ready and not serving: nowhere',
      svc: svc(),
      slices: [slice('a', [{ ip: '198.18.77.1' }, { ip: '198.18.77.2', c: { ready: false } }, { ip: '198.18.77.3', c: { ready: false, serving: false, terminating: true } }])],
      active: ['198.18.77.1:8080'],
      draining: [],
    },
    {
      name: 'serving && terminating: draining (no new work, keeps its connections)',
      svc: svc(),
      slices: [slice('a', [{ ip: '198.18.77.1' }, { ip: '198.18.77.2', c: { ready: false, serving: true, terminating: true } }])],
      active: ['198.18.77.1:8080'],
      draining: ['198.18.77.2:8080'],
    },
    {
      name: 'serving nil defers to ready (false): terminating but not serving',
      svc: svc(),
      slices: [slice('a', [{ ip: '198.18.77.1' }, { ip: '198.18.77.2', c: { ready: false, terminating: true } }])],
      active: ['198.18.77.1:8080'],
      draining: [],
    },
    {
      name: 'no ready endpoint: serving-terminating ones take new work (fallback)',
      svc: svc(),
      slices: [slice('a', [{ ip: '198.18.77.2', c: { ready: false, serving: true, terminating: true } }])],
      active: ['198.18.77.2:8080'],
      draining: [],
      fallback: true,
    },
    {
      name: 'ports matched by name, the slice port carries the target port',
      svc: svc({ ports: [{ name: 'http', port: 80, protocol: 'TCP' }, { name: 'admin', port: 81, protocol: 'TCP' }] }),
      slices: [slice('a', [{ ip: '198.18.77.1' }], [{ name: 'admin', port: 9000, protocol: 'TCP' }, { name: 'http', port: 8080, protocol: 'TCP' }])],
      port: 'admin',
      active: ['198.18.77.1:9000'],
      draining: [],
    },
    {
      name: 'same name, other protocol: no match',
      svc: svc({ ports: [{ name: 'dns', port: 53, protocol: 'UDP' }] }),
      slices: [slice('a', [{ ip: '198.18.77.1' }], [{ name: 'dns', port: 5353, protocol: 'TCP' }])],
      port: 'dns',
      active: [],
      draining: [],
    },
    {
      name: 'unnamed single port',
      svc: svc({ ports: [{ port: 80, protocol: 'TCP', targetPort: 8080 }] }),
      slices: [slice('a', [{ ip: '198.18.77.1' }], [{ port: 8080 }])],
      port: '',
      active: ['198.18.77.1:8080'],
      draining: [],
    },
    {
      name: 'slice port without a number: numeric targetPort',
      svc: svc({ ports: [{ port: 80, protocol: 'TCP', targetPort: 8081 }] }),
      slices: [slice('a', [{ ip: '198.18.77.1' }], [{}])],
      port: '',
      active: ['198.18.77.1:8081'],
      draining: [],
    },
    {
      name: 'slices of other Services, other namespaces and FQDN slices are ignored',
      svc: svc(),
      slices: [
        slice('a', [{ ip: '198.18.77.1' }]),
        slice('b', [{ ip: '198.18.77.2' }], undefined, { service: 'other' }),
        slice('c', [{ ip: '198.18.77.3' }], undefined, { ns: 'elsewhere' }),
        slice('d', [{ ip: 'example.com' }], undefined, { addressType: 'FQDN' }),
      ],
      active: ['198.18.77.1:8080'],
      draining: [],
    },
    {
      name: 'the same endpoint in two slices counts once, from the slice that sorts first',
      svc: svc(),
      slices: [slice('b', [{ ip: '198.18.77.1', c: { ready: false, serving: true, terminating: true } }]), slice('a', [{ ip: '198.18.77.1' }, { ip: '198.18.77.2' }])],
      active: ['198.18.77.1:8080', '198.18.77.2:8080'],
      draining: [],
    },
    {
      name: 'IPv4 and IPv6 slices together',
      svc: svc(),
      slices: [slice('a', [{ ip: '198.18.77.1' }]), slice('b', [{ ip: '2001:db8::1' }], undefined, { addressType: 'IPv6' })],
      active: ['198.18.77.1:8080', '[2001:db8::1]:8080'],
      draining: [],
    },
    {
      name: 'externalTrafficPolicy Local: only this node',
      svc: svc({ externalTrafficPolicy: 'Local' }),
      slices: [slice('a', [{ ip: '198.18.77.1', node: 'n1' }, { ip: '198.18.77.2', node: 'n2' }, { ip: '198.18.77.3' }])],
      active: ['198.18.77.1:8080'],
      draining: [],
    },
    {
      name: 'externalTrafficPolicy Local, no local endpoint: none at all',
      svc: svc({ externalTrafficPolicy: 'Local' }),
      slices: [slice('a', [{ ip: '198.18.77.2', node: 'n2' }])],
      active: [],
      draining: [],
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const sets = serviceEndpointSets(c.svc, c.slices, { nodeName: 'n1' });
      const set = sets[c.port ?? 'http'];
      expect(set).toBeDefined();
      expect(keys(set!.active)).toEqual(c.active);
      expect(keys(set!.draining)).toEqual(c.draining);
      expect(set!.fallback).toBe(c.fallback ?? false);
    });
  }

  test('endpoint details and Service settings', () => {
    const sets = serviceEndpointSets(svc({ sessionAffinity: 'ClientIP', externalTrafficPolicy: 'Local' }), [slice('a', [{ ip: '198.18.77.1', node: 'n1' }])], {
      nodeName: 'n1',
    });
    const set = sets['http']!;
    expect(set).toMatchObject({ service: 'app/web', portName: 'http', protocol: 'TCP', localOnly: true, affinityTimeoutMs: 10_800_000 });
    expect(set.active[0]).toEqual({ ip: '198.18.77.1', port: 8080, key: '198.18.77.1:8080', nodeName: 'n1', podName: 'pod-198.18.77.1', ready: true, serving: true, terminating: false });
    const custom = serviceEndpointSets(svc({ sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } } }), [], { nodeName: 'n1' });
    expect(custom['http']!.affinityTimeoutMs).toBe(60_000);
    expect(serviceEndpointSets(svc(), [], { nodeName: 'n1' })['http']!.affinityTimeoutMs).toBeUndefined();
  });
});

describe('EndpointIndex', () => {
  test('slots are stable; updates swap a new immutable set; the old one is untouched', () => {
    const index = new EndpointIndex('n1');
    const slot = index.slot('app/web', 'http');
    expect(slot.current.active).toEqual([]);
    index.upsertService(svc());
    expect(index.upsertSlice(slice('a', [{ ip: '198.18.77.1' }, { ip: '198.18.77.2' }, { ip: '198.18.77.3' }]))).toBe(true);
    const three = slot.current;
    expect(keys(three.active)).toHaveLength(3);
    // Scale down as the EndpointSlice controller does: terminating first, then gone.
    index.upsertSlice(
      slice('a', [{ ip: '198.18.77.1' }, { ip: '198.18.77.2', c: { ready: false, serving: true, terminating: true } }, { ip: '198.18.77.3', c: { ready: false, serving: true, terminating: true } }]),
    );
    expect(keys(slot.current.active)).toEqual(['198.18.77.1:8080']);
    expect(keys(slot.current.draining)).toEqual(['198.18.77.2:8080', '198.18.77.3:8080']);
    expect(keys(three.active)).toHaveLength(3); // what an in-flight holder saw
    expect(index.slot('app/web', 'http')).toBe(slot);
    const v = slot.version;
    // Same content again: no swap.
    expect(
      index.upsertSlice(
        slice('a', [{ ip: '198.18.77.1' }, { ip: '198.18.77.2', c: { ready: false, serving: true, terminating: true } }, { ip: '198.18.77.3', c: { ready: false, serving: true, terminating: true } }]),
      ),
    ).toBe(false);
    expect(slot.version).toBe(v);
  });

  test('several slices, removal, relabelling and Service deletion', () => {
    const index = new EndpointIndex('n1');
    index.upsertService(svc());
    index.upsertService(svc({}, 'other'));
    const web = index.slot('app/web', 'http');
    const other = index.slot('app/other', 'http');
    index.upsertSlice(slice('a', [{ ip: '198.18.77.1' }]));
    index.upsertSlice(slice('b', [{ ip: '198.18.77.2' }]));
    expect(keys(web.current.active)).toEqual(['198.18.77.1:8080', '198.18.77.2:8080']);
    index.removeSlice(slice('a', []));
    expect(keys(web.current.active)).toEqual(['198.18.77.2:8080']);
    index.upsertSlice(slice('b', [{ ip: '198.18.77.2' }], undefined, { service: 'other' }));
    expect(keys(web.current.active)).toEqual([]);
    expect(keys(other.current.active)).toEqual(['198.18.77.2:8080']);
    index.removeService('app/other');
    expect(other.current.active).toEqual([]);
    index.reset([svc()], [slice('z', [{ ip: '198.18.77.9' }])]);
    expect(keys(web.current.active)).toEqual(['198.18.77.9:8080']);
    expect(keys(index.endpoints('app/web', 'http').active)).toEqual(['198.18.77.9:8080']);
  });

  test('slots are shared and counted: the last release drops one', () => {
    const index = new EndpointIndex('n1');
    const a = index.slot('app/web', 'http');
    const b = index.slot('app/web', 'http');
    expect(a).toBe(b);
    expect(index.slotCount).toBe(1);
    index.releaseSlot('app/web', 'http');
    expect(index.slotCount).toBe(1);
    index.releaseSlot('app/web', 'http');
    expect(index.slotCount).toBe(0);
    expect(index.slot('app/web', 'http')).not.toBe(a);
  });

  test('Service changes that matter: policy Local, affinity, port renames', () => {
    const index = new EndpointIndex('n1');
    index.upsertService(svc());
    index.upsertSlice(slice('a', [{ ip: '198.18.77.1', node: 'n1' }, { ip: '198.18.77.2', node: 'n2' }]));
    const slot = index.slot('app/web', 'http');
    expect(slot.current.active).toHaveLength(2);
    index.upsertService(svc({ externalTrafficPolicy: 'Local' }));
    expect(keys(slot.current.active)).toEqual(['198.18.77.1:8080']);
    index.upsertService(svc({ sessionAffinity: 'ClientIP' }));
    expect(slot.current.affinityTimeoutMs).toBe(10_800_000);
    index.upsertService(svc({ ports: [{ name: 'web', port: 80, protocol: 'TCP' }] }));
    expect(slot.current.active).toEqual([]);
  });
});

describe('EndpointPicker', () => {
  const index = () => {
    const i = new EndpointIndex('n1');
    i.upsertService(svc());
    i.upsertSlice(slice('a', [{ ip: '198.18.77.1' }, { ip: '198.18.77.2' }, { ip: '198.18.77.3' }]));
    return i;
  };

  test('round robin over the active endpoints; none -> undefined', () => {
    const i = index();
    const p = new EndpointPicker(i.slot('app/web', 'http'));
    expect([1, 2, 3, 4].map(() => p.pick()!.key)).toEqual(['198.18.77.1:8080', '198.18.77.2:8080', '198.18.77.3:8080', '198.18.77.1:8080']);
    i.upsertSlice(slice('a', [{ ip: '198.18.77.1', c: { ready: false, serving: false } }]));
    expect(p.pick()).toBeUndefined();
  });

  test('a swapped set applies to the next pick; draining endpoints get nothing new', () => {
    const i = index();
    const p = new EndpointPicker(i.slot('app/web', 'http'));
    i.upsertSlice(slice('a', [{ ip: '198.18.77.1', c: { ready: false, serving: true, terminating: true } }, { ip: '198.18.77.4' }]));
    for (let n = 0; n < 5; n++) expect(p.pick()!.key).toBe('198.18.77.4:8080');
  });

  test('ClientIP affinity: sticky while active, sliding timeout, moves when the endpoint goes', () => {
    let now = 0;
    const i = index();
    i.upsertService(svc({ sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 10 } } }));
    const p = new EndpointPicker(i.slot('app/web', 'http'), () => now);
    const a = p.pick('198.18.0.1')!.key;
    const b = p.pick('198.18.0.2')!.key;
    expect(a).not.toBe(b);
    for (let n = 0; n < 5; n++) {
      now += 9_000; // each use slides the timeout
      expect(p.pick('198.18.0.1')!.key).toBe(a);
    }
    now += 10_001;
    p.pick('198.18.0.9'); // move the round robin on
    const after = p.pick('198.18.0.1')!.key;
    expect(typeof after).toBe('string');
    // The remembered endpoint leaves: the client moves, and sticks to the new one.
    const stuck = p.pick('198.18.0.3')!.key;
    const rest = ['198.18.77.1', '198.18.77.2', '198.18.77.3'].filter((ip) => `${ip}:8080` !== stuck).map((ip) => ({ ip }));
    i.upsertSlice(slice('a', rest));
    const moved = p.pick('198.18.0.3')!.key;
    expect(moved).not.toBe(stuck);
    expect(p.pick('198.18.0.3')!.key).toBe(moved);
    // Without a client address: plain round robin.
    expect(p.pick()).toBeDefined();
  });

  test('AffinityTable is bounded and forgets the least recently used client', () => {
    const t = new AffinityTable(2);
    t.remember('a', 'x', 0, 1000);
    t.remember('b', 'y', 0, 1000);
    t.lookup('a', 1);
    t.remember('a', 'x', 1, 1000); // refreshed: b is now the oldest
    t.remember('c', 'z', 2, 1000);
    expect(t.size).toBe(2);
    expect(t.lookup('b', 3)).toBeUndefined();
    expect(t.lookup('a', 3)).toBe('x');
    expect(t.lookup('a', 1001)).toBeUndefined();
  });
});
