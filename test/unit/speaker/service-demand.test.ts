import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import { describe, expect, test } from 'vitest';
import { statusIps } from '../../../src/kube/object-names.ts';
import { buildDemand, readyNodesByService } from '../../../src/speaker/service-demand.ts';

function svc(ns: string, name: string, ips: string[], extra: Partial<NonNullable<V1Service['spec']>> = {}): V1Service {
  return {
    metadata: { namespace: ns, name, uid: `uid-${name}` },
    spec: { type: 'LoadBalancer', ...extra },
    status: { loadBalancer: { ingress: ips.map((ip) => ({ ip })) } },
  };
}

function slice(ns: string, service: string, endpoints: Array<{ node?: string; ready?: boolean }>): V1EndpointSlice {
  return {
    addressType: 'IPv4',
    metadata: { namespace: ns, name: `${service}-x`, labels: { 'kubernetes.io/service-name': service } },
    endpoints: endpoints.map((e, i) => ({
      addresses: [`198.19.1.${i + 1}`],
      ...(e.node ? { nodeName: e.node } : {}),
      ...(e.ready === undefined ? {} : { conditions: { ready: e.ready } }),
    })),
  };
}

const filter = { ownClassOnly: false, className: 'metalgate.io/metalgate' };

describe('statusIps', () => {
  test('canonical text, duplicates and garbage dropped', () => {
    expect(statusIps(svc('a', 'b', ['198.18.0.1', '2001:DB8:0::1', '198.18.0.1', 'nope']))).toEqual(['198.18.0.1', '2001:db8::1']);
  });
});

describe('readyNodesByService', () => {
  test('ready (or unknown) endpoints with a node count; not-ready ones and node-less ones do not', () => {
    const m = readyNodesByService([slice('a', 'web', [{ node: 'n1' }, { node: 'n2', ready: false }, { node: 'n3', ready: true }, {}])]);
    expect([...m.get('a/web')!].sort()).toEqual(['n1', 'n3']);
  });
});

describe('buildDemand', () => {
  test('merges Services sharing an IP, reads Local readiness, honours the class filter', () => {
    const services = [
      svc('a', 'web', ['198.18.0.1'], { externalTrafficPolicy: 'Local' }),
      svc('a', 'dns', ['198.18.0.1']),
      svc('b', 'other-class', ['198.18.0.2'], { loadBalancerClass: 'example.com/other' }),
      svc('b', 'cluster-ip', ['198.18.0.3'], { type: 'ClusterIP' }),
      svc('b', 'no-ip', []),
    ];
    const d = buildDemand(services, [slice('a', 'web', [{ node: 'n2' }])], filter);
    expect(d.ips.map((x) => x.ip)).toEqual(['198.18.0.1']);
    const onIp = d.ips[0]!.services;
    expect(onIp.map((s) => s.service).sort()).toEqual(['a/dns', 'a/web']);
    const web = onIp.find((s) => s.service === 'a/web')!;
    expect(web.local).toBe(true);
    expect([...web.readyNodes!]).toEqual(['n2']);
    expect(d.servicesByIp.get('198.18.0.1')!.map((s) => s.name)).toEqual(['dns', 'web']);
  });

  test('a Local Service without any slice has no ready node', () => {
    const d = buildDemand([svc('a', 'web', ['198.18.0.1'], { externalTrafficPolicy: 'Local' })], [], filter);
    expect(d.ips[0]!.services[0]!.readyNodes!.size).toBe(0);
  });

  test('ownClassOnly drops class-less Services', () => {
    const d = buildDemand([svc('a', 'web', ['198.18.0.1'])], [], { ...filter, ownClassOnly: true });
    expect(d.ips).toEqual([]);
  });
});
