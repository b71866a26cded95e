import type { V1Service } from '@kubernetes/client-node';
import { describe, expect, test } from 'vitest';
import type { AllocationRequest } from '../../../src/ipam/allocation-request.ts';
import { isOurs, METALGATE_CLASS, serviceKey, toAllocationRequest } from '../../../src/ipam/service-request.ts';

interface SvcSpec {
  namespace?: string;
  annotations?: Record<string, string>;
  spec?: V1Service['spec'];
}

function svc({ namespace = 'shop', annotations, spec }: SvcSpec = {}): V1Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web', namespace, ...(annotations ? { annotations } : {}) },
    spec: { type: 'LoadBalancer', ports: [{ port: 80 }], selector: { app: 'web' }, ...spec },
  };
}

function requestOf(service: V1Service): AllocationRequest {
  const result = toAllocationRequest(service);
  if (!result.ok) throw new Error(`expected a request, got: ${result.error}`);
  return result.request;
}

function errorOf(service: V1Service): string {
  const result = toAllocationRequest(service);
  if (result.ok) throw new Error('expected an error');
  return result.error;
}

describe('toAllocationRequest', () => {
  test('a plain Service', () => {
    expect(requestOf(svc())).toEqual({
      key: 'shop/web',
      families: [4],
      policy: 'SingleStack',
      requestedIps: [],
      pool: undefined,
      sharingKey: '',
      ports: [{ protocol: 'TCP', port: 80 }],
      localTraffic: false,
      backendKey: 'selector:app=web',
      namespace: 'shop',
      labels: {},
      namespaceLabels: undefined,
    });
  });

  test('labels and the namespace labels go with the request, for pools that select by them', () => {
    const s = svc();
    s.metadata!.labels = { tier: 'gold' };
    const r = toAllocationRequest(s, { env: 'prod' });
    expect(r.ok && [r.request.namespace, r.request.labels, r.request.namespaceLabels]).toEqual(['shop', { tier: 'gold' }, { env: 'prod' }]);
  });

  test('key defaults the namespace', () => {
    const s = svc();
    delete s.metadata!.namespace;
    expect(serviceKey(s)).toBe('default/web');
    expect(requestOf(s).key).toBe('default/web');
  });

  test.each<[string, V1Service['spec'], (4 | 6)[], string]>([
    ['absent ipFamilies', {}, [4], 'SingleStack'],
    ['SingleStack takes the first', { ipFamilies: ['IPv6', 'IPv4'], ipFamilyPolicy: 'SingleStack' }, [6], 'SingleStack'],
    ['PreferDualStack takes both', { ipFamilies: ['IPv4', 'IPv6'], ipFamilyPolicy: 'PreferDualStack' }, [4, 6], 'PreferDualStack'],
    ['PreferDualStack with one listed', { ipFamilies: ['IPv6'], ipFamilyPolicy: 'PreferDualStack' }, [6], 'PreferDualStack'],
    ['RequireDualStack keeps the order', { ipFamilies: ['IPv6', 'IPv4'], ipFamilyPolicy: 'RequireDualStack' }, [6, 4], 'RequireDualStack'],
    ['RequireDualStack adds the missing family', { ipFamilies: ['IPv4'], ipFamilyPolicy: 'RequireDualStack' }, [4, 6], 'RequireDualStack'],
    ['RequireDualStack without ipFamilies', { ipFamilyPolicy: 'RequireDualStack' }, [4, 6], 'RequireDualStack'],
  ])('families: %s', (_name, spec, families, policy) => {
    const request = requestOf(svc({ spec }));
    expect(request.families).toEqual(families);
    expect(request.policy).toBe(policy);
  });

  test.each<[string, SvcSpec, { ips: string[]; pool?: string; sharingKey?: string }]>([
    ['spec.loadBalancerIP', { spec: { loadBalancerIP: '198.18.0.7' } }, { ips: ['198.18.0.7'] }],
    ['universe.tf loadBalancerIPs', { annotations: { 'metallb.universe.tf/loadBalancerIPs': '198.18.0.7' } }, { ips: ['198.18.0.7'] }],
    [
      'metallb.io loadBalancerIPs, dual-stack, spaces, IPv6 canonicalised',
      {
        annotations: { 'metallb.io/loadBalancerIPs': ' 198.18.0.7 , 2001:DB8:0::7 ' },
        spec: { ipFamilies: ['IPv4', 'IPv6'], ipFamilyPolicy: 'RequireDualStack' },
      },
      { ips: ['198.18.0.7', '2001:db8::7'] },
    ],
    ['both spellings agreeing', { annotations: { 'metallb.io/loadBalancerIPs': '198.18.0.7', 'metallb.universe.tf/loadBalancerIPs': '198.18.0.7' } }, { ips: ['198.18.0.7'] }],
    ['spec and annotation agreeing', { annotations: { 'metallb.io/loadBalancerIPs': '198.18.0.7' }, spec: { loadBalancerIP: '198.18.0.7' } }, { ips: ['198.18.0.7'] }],
    ['empty annotation is absent', { annotations: { 'metallb.io/loadBalancerIPs': '' } }, { ips: [] }],
    ['pool (universe.tf)', { annotations: { 'metallb.universe.tf/address-pool': 'prod' } }, { ips: [], pool: 'prod' }],
    ['pool (metallb.io)', { annotations: { 'metallb.io/address-pool': 'prod' } }, { ips: [], pool: 'prod' }],
    ['sharing key (universe.tf)', { annotations: { 'metallb.universe.tf/allow-shared-ip': 'dns' } }, { ips: [], sharingKey: 'dns' }],
    ['sharing key (metallb.io)', { annotations: { 'metallb.io/allow-shared-ip': ' dns ' } }, { ips: [], sharingKey: 'dns' }],
  ])('annotations: %s', (_name, spec, expected) => {
    const request = requestOf(svc(spec));
    expect(request.requestedIps.map((r) => r.text)).toEqual(expected.ips);
    expect(request.pool).toBe(expected.pool);
    expect(request.sharingKey).toBe(expected.sharingKey ?? '');
  });

  test.each<[string, SvcSpec, string]>([
    ['not an IP', { annotations: { 'metallb.io/loadBalancerIPs': '198.18.0.300' } }, 'annotation metallb.io/loadBalancerIPs: invalid IPv4 address "198.18.0.300": octet 300 is above 255'],
    ['a CIDR', { spec: { loadBalancerIP: '198.18.0.0/24' } }, 'spec.loadBalancerIP: invalid IPv4 address "198.18.0.0/24": unexpected character "/"'],
    ['a zone', { annotations: { 'metallb.io/loadBalancerIPs': 'fe80::1%eth0' } }, 'annotation metallb.io/loadBalancerIPs: invalid IPv6 address "fe80::1%eth0": zone "%eth0" not allowed'],
    ['empty item', { annotations: { 'metallb.io/loadBalancerIPs': '198.18.0.1,' } }, 'annotation metallb.io/loadBalancerIPs: empty entry in "198.18.0.1,"'],
    [
      'two of one family',
      { annotations: { 'metallb.io/loadBalancerIPs': '198.18.0.1,198.18.0.2' } },
      'annotation metallb.io/loadBalancerIPs: more than one IPv4 address (at most one per family)',
    ],
    [
      'family the Service lacks',
      { annotations: { 'metallb.io/loadBalancerIPs': '2001:db8::1' } },
      "annotation metallb.io/loadBalancerIPs: 2001:db8::1 is IPv6 but the Service's IP families are IPv4",
    ],
    [
      'IPv4 on SingleStack IPv6',
      { spec: { loadBalancerIP: '198.18.0.1', ipFamilies: ['IPv6'] } },
      "spec.loadBalancerIP: 198.18.0.1 is IPv4 but the Service's IP families are IPv6",
    ],
    [
      'spellings disagree',
      { annotations: { 'metallb.universe.tf/address-pool': 'a', 'metallb.io/address-pool': 'b' } },
      'annotations metallb.universe.tf/address-pool ("a") and metallb.io/address-pool ("b") disagree; set one of them',
    ],
    [
      'spec and annotation disagree',
      { annotations: { 'metallb.io/loadBalancerIPs': '198.18.0.1' }, spec: { loadBalancerIP: '198.18.0.2' } },
      'spec.loadBalancerIP (198.18.0.2) and annotation metallb.io/loadBalancerIPs (198.18.0.1) disagree; set one of them',
    ],
    [
      'octal-looking octet',
      { annotations: { 'metallb.universe.tf/loadBalancerIPs': '198.018.0.1' } },
      'annotation metallb.universe.tf/loadBalancerIPs: invalid IPv4 address "198.018.0.1": octet "018" has a leading zero',
    ],
    ['bad family', { spec: { ipFamilies: ['IPv5'] } }, 'spec.ipFamilies has "IPv5"; expected IPv4 or IPv6'],
    ['family twice', { spec: { ipFamilies: ['IPv4', 'IPv4'], ipFamilyPolicy: 'PreferDualStack' } }, 'spec.ipFamilies lists IPv4 twice'],
    ['bad policy', { spec: { ipFamilyPolicy: 'DualStack' } }, 'spec.ipFamilyPolicy "DualStack" is not SingleStack, PreferDualStack or RequireDualStack'],
    ['bad port', { spec: { ports: [{ port: 0 }] } }, 'spec.ports has an invalid port 0'],
  ])('error: %s', (_name, spec, error) => {
    expect(errorOf(svc(spec))).toBe(error);
  });

  test('the error names the Service', () => {
    const result = toAllocationRequest(svc({ spec: { ipFamilyPolicy: 'x' } }));
    expect(result.ok === false && result.key).toBe('shop/web');
  });

  test('ports: protocol defaults to TCP, all listed', () => {
    const request = requestOf(
      svc({ spec: { ports: [{ port: 53, protocol: 'UDP' }, { port: 53 }, { port: 9000, protocol: 'SCTP' }] } }),
    );
    expect(request.ports).toEqual([
      { protocol: 'UDP', port: 53 },
      { protocol: 'TCP', port: 53 },
      { protocol: 'SCTP', port: 9000 },
    ]);
  });

  test('externalTrafficPolicy Local and a canonical backend key', () => {
    const a = requestOf(svc({ spec: { externalTrafficPolicy: 'Local', selector: { tier: 'front', app: 'web' } } }));
    const b = requestOf(svc({ spec: { externalTrafficPolicy: 'Cluster', selector: { app: 'web', tier: 'front' } } }));
    expect(a.localTraffic).toBe(true);
    expect(b.localTraffic).toBe(false);
    expect(a.backendKey).toBe('selector:app=web,tier=front');
    expect(b.backendKey).toBe(a.backendKey);
  });

  test('a Service without a selector has a backend key of its own', () => {
    const s = svc();
    delete s.spec!.selector;
    expect(requestOf(s).backendKey).toBe('service:shop/web');
  });
});

describe('isOurs', () => {
  test.each<[string, V1Service['spec'], boolean, boolean]>([
    ['no class, default implementation', {}, false, true],
    ['no class, own class only', {}, true, false],
    ['our class', { loadBalancerClass: METALGATE_CLASS }, true, true],
    ['our class when default', { loadBalancerClass: METALGATE_CLASS }, false, true],
    ['another class', { loadBalancerClass: 'example.com/other' }, false, false],
    ['not a LoadBalancer', { type: 'ClusterIP' }, false, false],
    ['NodePort with our class', { type: 'NodePort', loadBalancerClass: METALGATE_CLASS }, false, false],
  ])('%s', (_name, spec, ownClassOnly, expected) => {
    expect(isOurs(svc({ spec }), { ownClassOnly })).toBe(expected);
  });

  test('a configured class name replaces the default one', () => {
    const s = svc({ spec: { loadBalancerClass: 'example.com/lb' } });
    expect(isOurs(s, { ownClassOnly: true, className: 'example.com/lb' })).toBe(true);
    expect(isOurs(svc({ spec: { loadBalancerClass: METALGATE_CLASS } }), { ownClassOnly: true, className: 'example.com/lb' })).toBe(false);
  });
});
