import { describe, expect, test, vi } from 'vitest';
import { EndpointSetBackend, endpointAffinityKey } from '../../../../src/proxy/http/backend.ts';
import type { Endpoint } from '../../../../src/proxy/http/types.ts';

const ep = (n: number, ready = true): Endpoint => ({ ip: `198.18.78.${n}`, port: 8080, ready, serving: ready, terminating: !ready });
const ports = (b: EndpointSetBackend, ip: string, times: number) => Array.from({ length: times }, () => b.pick(ip)?.ip);

describe('EndpointSetBackend', () => {
  test('round-robin over ready endpoints only; none ready is undefined', () => {
    const b = new EndpointSetBackend({ name: 'ns/s:80', endpoints: [ep(1), ep(2, false), ep(3)] });
    expect(ports(b, 'c', 4)).toEqual(['198.18.78.1', '198.18.78.3', '198.18.78.1', '198.18.78.3']);
    b.setEndpoints([ep(2, false)]);
    expect(b.pick('c')).toBeUndefined();
    expect(b.readyCount).toBe(0);
    b.setEndpoints([ep(4)]);
    expect(b.pick('c')?.ip).toBe('198.18.78.4');
  });

  test('affinity key picks its endpoint while it is ready, else balancing goes on', () => {
    const b = new EndpointSetBackend({ name: 'ns/s:80', endpoints: [ep(1), ep(2), ep(3)] });
    const key = b.affinityKeyOf(ep(2));
    expect(key).toBe(endpointAffinityKey(ep(2)));
    expect(key).toMatch(/^[0-9a-f]{8}$/);
    expect(ports(b, 'c', 3).map(() => b.pick('c', key)?.ip)).toEqual(['198.18.78.2', '198.18.78.2', '198.18.78.2']);
    b.setEndpoints([ep(1), ep(2, false), ep(3)]);
    expect(b.pick('c', key)?.ip).not.toBe('198.18.78.2');
    expect(b.pick('c', 'unknown')).toBeDefined();
    b.setEndpoints([ep(1), ep(2), ep(3)]);
    expect(b.pick('c', key)?.ip).toBe('198.18.78.2');
  });

  test('ClientIP affinity: a client stays on its endpoint, moves when it goes, forgets after the timeout', () => {
    vi.useFakeTimers();
    try {
      const b = new EndpointSetBackend({ name: 'ns/s:80', endpoints: [ep(1), ep(2), ep(3)], clientIpAffinity: { timeoutMs: 1000 } });
      const first = b.pick('198.51.100.1')!.ip;
      expect(new Set(ports(b, '198.51.100.1', 5))).toEqual(new Set([first]));
      const other = b.pick('198.51.100.2')!.ip;
      expect(other).not.toBe(first);
      // Its endpoint is replaced by an equal new object: still sticky.
      b.setEndpoints([ep(1), ep(2), ep(3)]);
      expect(b.pick('198.51.100.1')!.ip).toBe(first);
      b.setEndpoints([ep(1), ep(2), ep(3)].filter((e) => e.ip !== first));
      const moved = b.pick('198.51.100.1')!.ip;
      expect(moved).not.toBe(first);
      expect(b.pick('198.51.100.1')!.ip).toBe(moved);
      vi.advanceTimersByTime(1500);
      b.setEndpoints([ep(1), ep(2), ep(3)]);
      const picks = new Set(Array.from({ length: 6 }, (_, i) => b.pick(`198.51.100.${10 + i}`)!.ip));
      expect(picks.size).toBe(3);
    } finally {
      vi.useRealTimers();
    }
  });

  test('the ClientIP table is bounded', () => {
    const b = new EndpointSetBackend({ name: 'ns/s:80', endpoints: [ep(1), ep(2)], clientIpAffinity: { maxClients: 100 } });
    for (let i = 0; i < 1000; i++) b.pick(`client-${i}`);
    expect((b as unknown as { clients: Map<string, unknown> }).clients.size).toBeLessThanOrEqual(100);
  });
});
