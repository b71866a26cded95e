import type { V1Service } from '@kubernetes/client-node';
import { describe, expect, test } from 'vitest';
import { parseDuration } from '../../../../src/proxy/k8s/duration.ts';
import { DEFAULT_L4_SETTINGS, parseL4Annotations } from '../../../../src/proxy/k8s/l4-annotations.ts';
import { bindRetryDelayMs, shouldWarnBindFailure } from '../../../../src/proxy/listeners/bind-backoff.ts';
import { forwardedByKernel, listenerKey, planListeners, type ListenPlanOptions } from '../../../../src/proxy/listeners/listen-plan.ts';

function svc(
  ns: string,
  name: string,
  ips: string[],
  ports: Array<{ name?: string; port: number; protocol?: string }>,
  extra: { annotations?: Record<string, string>; cls?: string; type?: string } = {},
): V1Service {
  return {
    metadata: { namespace: ns, name, uid: `uid-${name}`, annotations: extra.annotations ?? {} },
    spec: { type: extra.type ?? 'LoadBalancer', ports, ...(extra.cls ? { loadBalancerClass: extra.cls } : {}) },
    status: { loadBalancer: { ingress: ips.map((ip) => ({ ip })) } },
  };
}

const opts: ListenPlanOptions = { ownClassOnly: false, entrypoint: 'metalgate-system/metalgate-ingress' };

describe('planListeners', () => {
  test('every port of every owned status IP; others ignored', () => {
    const plan = planListeners(
      new Set(['198.18.0.200', '2001:db8::200']),
      [
        svc('a', 'web', ['198.18.0.200', '2001:db8::200'], [{ name: 'http', port: 80 }, { name: 'dns', port: 53, protocol: 'UDP' }]),
        svc('a', 'elsewhere', ['198.18.0.201'], [{ name: 'http', port: 80 }]),
        svc('a', 'cluster', ['198.18.0.200'], [{ port: 81 }], { type: 'ClusterIP' }),
        svc('a', 'foreign', ['198.18.0.200'], [{ port: 82 }], { cls: 'other.io/lb' }),
      ],
      opts,
    );
    expect(plan.listeners.map((l) => l.key)).toEqual([
      'TCP 198.18.0.200:80',
      'TCP [2001:db8::200]:80',
      'UDP 198.18.0.200:53',
      'UDP [2001:db8::200]:53',
    ]);
    expect(plan.listeners[0]).toMatchObject({ ip: '198.18.0.200', port: 80, protocol: 'TCP', service: 'a/web', serviceUid: 'uid-web', portName: 'http', mode: 'l4', l4: DEFAULT_L4_SETTINGS });
    expect(plan.problems).toEqual([]);
  });

  test('l4Dataplane kernel: L4 ports of Services that do not say go to the kernel; the L7 entrypoint and an annotated proxy Service do not', () => {
    const plan = planListeners(
      new Set(['198.18.0.200', '198.18.0.201']),
      [
        svc('a', 'plain', ['198.18.0.201'], [{ name: 'dns', port: 53, protocol: 'UDP' }, { name: 'db', port: 5432 }]),
        svc('a', 'kept', ['198.18.0.201'], [{ port: 6379 }], { annotations: { 'metalgate.io/l4-dataplane': 'proxy' } }),
        svc('metalgate-system', 'metalgate-ingress', ['198.18.0.200'], [{ name: 'web', port: 80 }, { name: 'ssh', port: 22 }]),
      ],
      { ...opts, l4Dataplane: 'kernel' },
    );
    expect(plan.listeners.map((l) => [l.key, forwardedByKernel(l) ? 'kernel' : l.mode])).toEqual([
      ['TCP 198.18.0.200:22', 'kernel'],
      ['TCP 198.18.0.200:80', 'http'],
      ['TCP 198.18.0.201:5432', 'kernel'],
      ['TCP 198.18.0.201:6379', 'l4'],
      ['UDP 198.18.0.201:53', 'kernel'],
    ]);
    expect(plan.problems).toEqual([]);
  });

  test('loadBalancerSourceRanges ride with the L4 settings of every port; a bad entry is a BadSourceRange problem', () => {
    const s = svc('a', 'web', ['198.18.0.200'], [{ name: 'http', port: 80 }, { name: 'dns', port: 53, protocol: 'UDP' }]);
    s.spec!.loadBalancerSourceRanges = ['198.18.1.0/24', 'bad'];
    const plan = planListeners(new Set(['198.18.0.200']), [s], opts);
    expect(plan.listeners.map((l) => l.l4.sourceRanges)).toEqual([['198.18.1.0/24'], ['198.18.1.0/24']]);
    expect(plan.problems).toEqual([expect.objectContaining({ service: 'a/web', reason: 'BadSourceRange', message: expect.stringMatching(/"bad" is not a CIDR/) })]);
  });

  test('status IPs are compared in canonical form', () => {
    const plan = planListeners(new Set(['2001:db8::200']), [svc('a', 'web', ['2001:DB8:0::200'], [{ port: 80 }])], opts);
    expect(plan.listeners.map((l) => l.key)).toEqual(['TCP [2001:db8::200]:80']);
    expect(plan.listeners[0]!.portName).toBe('');
  });

  test('the ingress entrypoint: 80 -> http, 443 -> https, other ports and UDP stay L4', () => {
    const plan = planListeners(
      new Set(['198.18.0.200']),
      [svc('metalgate-system', 'metalgate-ingress', ['198.18.0.200'], [{ name: 'web', port: 80 }, { name: 'websecure', port: 443 }, { name: 'x', port: 8443 }, { name: 'q', port: 443, protocol: 'UDP' }])],
      opts,
    );
    expect(plan.listeners.map((l) => [l.key, l.mode])).toEqual([
      ['TCP 198.18.0.200:443', 'https'],
      ['TCP 198.18.0.200:80', 'http'],
      ['TCP 198.18.0.200:8443', 'l4'],
      ['UDP 198.18.0.200:443', 'l4'],
    ]);
  });

  test('class filter as the speaker and controller apply it', () => {
    const services = [svc('a', 'none', ['198.18.0.200'], [{ port: 80 }]), svc('a', 'ours', ['198.18.0.200'], [{ port: 81 }], { cls: 'metalgate.io/metalgate' })];
    expect(planListeners(new Set(['198.18.0.200']), services, { ...opts, ownClassOnly: true }).listeners.map((l) => l.service)).toEqual(['a/ours']);
    expect(planListeners(new Set(['198.18.0.200']), services, opts).listeners.map((l) => l.service)).toEqual(['a/none', 'a/ours']);
  });

  test('conflicting claims: the first by namespace/name keeps the port, the other gets a problem; SCTP is refused', () => {
    const plan = planListeners(
      new Set(['198.18.0.200']),
      [svc('b', 'second', ['198.18.0.200'], [{ port: 80 }]), svc('a', 'first', ['198.18.0.200'], [{ port: 80 }, { port: 9, protocol: 'SCTP' }])],
      opts,
    );
    expect(plan.listeners.map((l) => `${l.key} ${l.service}`)).toEqual(['TCP 198.18.0.200:80 a/first']);
    expect(plan.problems).toEqual([
      { service: 'a/first', serviceUid: 'uid-first', reason: 'UnsupportedProtocol', message: 'port 9/SCTP: only TCP and UDP are proxied' },
      { service: 'b/second', serviceUid: 'uid-second', reason: 'PortConflict', message: 'TCP 198.18.0.200:80 is already served for a/first: not listening for this Service' },
    ]);
  });

  test('annotations become settings; bad ones problems', () => {
    const plan = planListeners(
      new Set(['198.18.0.200']),
      [svc('a', 'pp', ['198.18.0.200'], [{ port: 80 }], { annotations: { 'metalgate.io/proxy-protocol': 'V2', 'metalgate.io/idle-timeout': 'x' } })],
      opts,
    );
    expect(plan.listeners[0]!.l4.proxyProtocol).toBe('v2');
    expect(plan.problems.map((p) => p.reason)).toEqual(['BadAnnotation']);
  });

  test('listenerKey brackets IPv6', () => {
    expect(listenerKey('UDP', '2001:db8::1', 53)).toBe('UDP [2001:db8::1]:53');
    expect(listenerKey('TCP', '198.18.0.1', 80)).toBe('TCP 198.18.0.1:80');
  });
});

describe('parseL4Annotations', () => {
  const cases: Array<[string, Record<string, string>, Partial<typeof DEFAULT_L4_SETTINGS>, RegExp[]]> = [
    ['none', {}, {}, []],
    ['proxy protocol v1', { 'metalgate.io/proxy-protocol': 'v1' }, { proxyProtocol: 'v1' }, []],
    ['proxy protocol off', { 'metalgate.io/proxy-protocol': 'none' }, { proxyProtocol: undefined }, []],
    ['proxy protocol bad', { 'metalgate.io/proxy-protocol': 'v3' }, { proxyProtocol: undefined }, [/"v3" is not v1 or v2/]],
    ['timeouts', { 'metalgate.io/connect-timeout': '1500ms', 'metalgate.io/idle-timeout': '1m30s', 'metalgate.io/udp-idle-timeout': '5' }, { connectTimeoutMs: 1500, idleTimeoutMs: 90_000, udpIdleTimeoutMs: 5000 }, []],
    ['idle timeout 0 disables', { 'metalgate.io/idle-timeout': '0s' }, { idleTimeoutMs: 0 }, []],
    ['connect timeout 0 refused', { 'metalgate.io/connect-timeout': '0' }, { connectTimeoutMs: 5000 }, [/outside 1 ms\.\.24h/]],
    ['bad duration', { 'metalgate.io/connect-timeout': '5 seconds' }, { connectTimeoutMs: 5000 }, [/is not a duration/]],
    ['attempts', { 'metalgate.io/connect-attempts': '5' }, { connectAttempts: 5 }, []],
    ['attempts bad', { 'metalgate.io/connect-attempts': '0' }, { connectAttempts: 3 }, [/not a whole number from 1 to 16/]],
    ['attempts empty', { 'metalgate.io/connect-attempts': ' ' }, { connectAttempts: 3 }, [/not a whole number/]],
    ['kernel dataplane', { 'metalgate.io/l4-dataplane': 'Kernel' }, { dataplane: 'kernel' }, []],
    ['proxy dataplane', { 'metalgate.io/l4-dataplane': 'proxy' }, { dataplane: 'proxy' }, []],
    ['dataplane bad', { 'metalgate.io/l4-dataplane': 'ebpf' }, { dataplane: 'proxy' }, [/"ebpf" is not proxy or kernel/]],
    [
      'kernel dataplane with PROXY protocol stays in the proxy',
      { 'metalgate.io/l4-dataplane': 'kernel', 'metalgate.io/proxy-protocol': 'v2' },
      { dataplane: 'proxy', proxyProtocol: 'v2' },
      [/cannot send a PROXY protocol header/],
    ],
  ];
  for (const [name, annotations, expected, problems] of cases) {
    test(name, () => {
      const r = parseL4Annotations(annotations);
      expect(r.settings).toEqual({ ...DEFAULT_L4_SETTINGS, ...expected });
      expect(r.problems).toHaveLength(problems.length);
      problems.forEach((re, i) => expect(r.problems[i]).toMatch(re));
    });
  }

  describe('with the node-wide default kernel (--l4-dataplane kernel)', () => {
    const withKernel = (a: Record<string, string>) => parseL4Annotations(a, 'kernel');
    test('a Service that does not say is forwarded by the kernel', () => {
      expect(withKernel({})).toEqual({ settings: { ...DEFAULT_L4_SETTINGS, dataplane: 'kernel' }, problems: [] });
    });
    test('the annotation proxy keeps a Service on the proxy', () => {
      expect(withKernel({ 'metalgate.io/l4-dataplane': 'proxy' }).settings.dataplane).toBe('proxy');
    });
    test('a Service asking for PROXY protocol stays on the proxy, without a problem: it never asked for the kernel', () => {
      expect(withKernel({ 'metalgate.io/proxy-protocol': 'v1' })).toEqual({ settings: { ...DEFAULT_L4_SETTINGS, proxyProtocol: 'v1' }, problems: [] });
    });
    test('a bad value falls back to the node default, and says so', () => {
      const r = withKernel({ 'metalgate.io/l4-dataplane': 'ebpf' });
      expect(r.settings.dataplane).toBe('kernel');
      expect(r.problems).toEqual([expect.stringMatching(/"ebpf" is not proxy or kernel; using kernel/)]);
    });
  });
});

describe('parseDuration', () => {
  test.each([
    ['5s', 5000],
    ['500ms', 500],
    ['1m30s', 90_000],
    ['2h', 7_200_000],
    ['1.5s', 1500],
    ['30', 30_000],
    ['0.25', 250],
  ])('%s', (text, ms) => expect(parseDuration(text)).toEqual({ ms }));
  test.each(['', 's', '5x', '5 s', '-1s', '1s2'])('refuses %j', (text) => expect(parseDuration(text)).toHaveProperty('error'));
});

describe('bind backoff', () => {
  test('doubles from the minimum up to the maximum', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 100].map((n) => bindRetryDelayMs(n))).toEqual([50, 100, 200, 400, 800, 1600, 2000, 2000]);
  });
  test('warns on the first failure and every tenth', () => {
    expect([1, 2, 9, 10, 11, 20].map(shouldWarnBindFailure)).toEqual([true, false, false, true, false, true]);
  });
});
