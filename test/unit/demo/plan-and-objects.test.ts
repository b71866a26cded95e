import { describe, expect, it } from 'vitest';

import { parsePoolConfig } from '../../../src/config/pool-config.ts';
import { APP, DEMO_NODES, httpUrl, inRange, poolConfigYaml, POOL_RANGE, speakerPodName } from '../../../demo/demo-plan.ts';
import { appEndpointSlice, appIngress, appPod, appService, nodeObject, nodeStatus, poolConfigMap, runningPodStatus } from '../../../demo/kube-objects.ts';
import { kubeconfigWithToken } from '../../../demo/kubeconfig.ts';
import { ENABLE_FORWARDING, podRoutes } from '../../../demo/pod-network.ts';
import { LAN_V4_SUBNET, MAX_CLIENTS, MAX_NODES, planLab, planPod } from '../../support/lab-plan.ts';

describe('demo plan', () => {
  it('the pool lies in the lab LAN, clear of every client, node and pod address the lab can hand out', () => {
    expect(LAN_V4_SUBNET).toBe('198.18.0.0/24');
    const [start, end] = POOL_RANGE.split('-');
    expect(start).toMatch(/^198\.18\.0\.\d+$/);
    expect(end).toMatch(/^198\.18\.0\.\d+$/);
    const full = planLab({
      runId: 'x',
      nodes: Array.from({ length: MAX_NODES }, (_, i) => `n${i}`),
      clients: Array.from({ length: MAX_CLIENTS }, (_, i) => `c${i}`),
      ipv6: false,
    });
    const taken = full.hosts.flatMap((h) => (h.role === 'node' ? [h.ipv4, planPod(full, h, 1, 'p').gatewayV4] : [h.ipv4]));
    for (const ip of taken) expect(inRange(ip)).toBe(false);
    expect(inRange('198.18.0.100')).toBe(true);
    expect(inRange('198.18.0.149')).toBe(true);
    expect(inRange('198.18.0.150')).toBe(false);
    expect(inRange('2001:db8::1')).toBe(false);
  });

  it('declares a pool config that the controller accepts without a warning', () => {
    const r = parsePoolConfig(poolConfigYaml());
    expect(r.issues).toEqual([]);
    expect(r.config?.pools.map((p) => [p.name, p.protocol])).toEqual([['demo', 'layer2']]);
    expect(poolConfigMap().data?.config).toBe(poolConfigYaml());
    expect(poolConfigMap().metadata).toMatchObject({ name: 'config', namespace: 'metalgate-system' });
  });

  it('names and URLs', () => {
    expect(speakerPodName('node1')).toBe('metalgate-speaker-node1');
    expect(httpUrl('198.18.0.100')).toBe('http://198.18.0.100/');
    expect(httpUrl('2001:db8::100', 8080, '/x')).toBe('http://[2001:db8::100]:8080/x');
    expect(APP.pods.map((p) => p.node)).toEqual([...DEMO_NODES]);
  });
});

describe('demo objects', () => {
  const now = new Date('2026-01-01T00:00:00Z');
  const node = { name: 'node1', ipv4: '198.18.0.11', podCidrV4: '198.18.101.0/24' };

  it('Node: the lab address as InternalIP, its pod CIDR, Ready and network available', () => {
    expect(nodeObject(node).spec).toEqual({ podCIDR: '198.18.101.0/24', podCIDRs: ['198.18.101.0/24'] });
    const st = nodeStatus(node, now);
    expect(st.addresses).toEqual([
      { type: 'InternalIP', address: '198.18.0.11' },
      { type: 'Hostname', address: 'node1' },
    ]);
    expect(st.conditions?.map((c) => [c.type, c.status])).toEqual([
      ['Ready', 'True'],
      ['NetworkUnavailable', 'False'],
    ]);
  });

  it('app Pod, its running status, and the slice listing the pods by IP with the Service port name', () => {
    const pod = appPod({ name: 'hello-1', node: 'node1' });
    expect(pod.spec?.nodeName).toBe('node1');
    expect(pod.metadata?.labels?.app).toBe(APP.name);
    const st = runningPodStatus(pod, { ip: '198.18.101.2', hostIp: '198.18.0.11' }, now);
    expect(st).toMatchObject({ phase: 'Running', podIP: '198.18.101.2', podIPs: [{ ip: '198.18.101.2' }], hostIP: '198.18.0.11' });
    expect(st.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
    expect(st.containerStatuses?.map((c) => [c.name, c.ready])).toEqual([['echo', true]]);
    expect(runningPodStatus(pod, {}, now).podIP).toBeUndefined();

    const slice = appEndpointSlice(
      [
        { name: 'hello-1', node: 'node1', ip: '198.18.101.2', hostIp: '198.18.0.11' },
        { name: 'hello-2', node: 'node2', ip: '198.18.102.2', hostIp: '198.18.0.12' },
      ],
      new Map([['hello-1', 'uid-1']]),
    );
    expect(slice.metadata?.labels?.['kubernetes.io/service-name']).toBe(APP.name);
    expect(slice.addressType).toBe('IPv4');
    expect(slice.ports).toEqual([{ name: 'http', port: 8080, protocol: 'TCP' }]);
    expect(slice.endpoints!.map((e) => [e.addresses[0], e.nodeName, e.conditions?.ready, e.targetRef?.uid])).toEqual([
      ['198.18.101.2', 'node1', true, 'uid-1'],
      ['198.18.102.2', 'node2', true, undefined],
    ]);
  });

  it('Service and Ingress as a user writes them', () => {
    const svc = appService();
    expect(svc.spec).toMatchObject({ type: 'LoadBalancer', selector: { app: 'hello' }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] });
    const ing = appIngress();
    expect(ing.spec?.ingressClassName).toBe('metalgate');
    expect(ing.spec?.rules?.[0]?.host).toBe('hello.demo.test');
    expect(ing.spec?.rules?.[0]?.http?.paths[0]).toMatchObject({ path: '/', pathType: 'Prefix', backend: { service: { name: 'hello', port: { number: 80 } } } });
  });
});

describe('pod network', () => {
  it('each node routes every other node\'s pod CIDR through that node', () => {
    const routes = podRoutes([
      { name: 'node1', ns: 'a', ipv4: '198.18.0.11', podCidrV4: '198.18.101.0/24' },
      { name: 'node2', ns: 'b', ipv4: '198.18.0.12', podCidrV4: '198.18.102.0/24' },
      { name: 'node3', ns: 'c', ipv4: '198.18.0.13', podCidrV4: '198.18.103.0/24' },
    ]);
    expect(routes.get('node1')).toEqual(['route add 198.18.102.0/24 via 198.18.0.12 dev eth0', 'route add 198.18.103.0/24 via 198.18.0.13 dev eth0']);
    expect(routes.get('node3')).toEqual(['route add 198.18.101.0/24 via 198.18.0.11 dev eth0', 'route add 198.18.102.0/24 via 198.18.0.12 dev eth0']);
    expect(ENABLE_FORWARDING).toContain('/proc/sys/net/ipv4/ip_forward');
  });
});

describe('kubeconfigWithToken', () => {
  it('keeps the cluster, replaces the user by the token', () => {
    const admin = [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      '- name: c',
      '  cluster: {server: "https://127.0.0.1:6443", certificate-authority-data: Q0E=}',
      'users:',
      '- name: admin',
      '  user: {token: admintoken}',
      'contexts:',
      '- name: ctx',
      '  context: {cluster: c, user: admin}',
      'current-context: ctx',
    ].join('\n');
    const out = kubeconfigWithToken(admin, 'system:serviceaccount:ns:sa', 'satoken');
    expect(out).not.toContain('admintoken');
    expect(out).toContain('satoken');
    expect(out).toContain('https://127.0.0.1:6443');
    expect(out).toContain('certificate-authority-data: Q0E=');
    expect(out).toContain('current-context: system:serviceaccount:ns:sa');
    expect(() => kubeconfigWithToken('apiVersion: v1\n', 'u', 't')).toThrow(/no current context/);
  });
});
