// WeightedPicker: a Traefik TCP/UDP route's weighted Services. Over a whole
// cycle each Service gets exactly its weight's share; a Service without a
// ready endpoint is passed over while another has some; weight 0 never.
import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import { describe, expect, test } from 'vitest';
import { EndpointIndex } from '../../../../src/proxy/endpoints/endpoint-index.ts';
import { EndpointPicker } from '../../../../src/proxy/endpoints/endpoint-picker.ts';
import { WeightedPicker } from '../../../../src/proxy/endpoints/weighted-picker.ts';

const svc = (name: string): V1Service => ({ metadata: { name, namespace: 'app' }, spec: { type: 'ClusterIP', ports: [{ name: 'tcp', port: 5432, protocol: 'TCP' }] } });
const slice = (service: string, ips: string[]): V1EndpointSlice =>
  ({
    metadata: { name: `${service}-1`, namespace: 'app', labels: { 'kubernetes.io/service-name': service } },
    addressType: 'IPv4',
    ports: [{ name: 'tcp', port: 5432, protocol: 'TCP' }],
    endpoints: ips.map((ip) => ({ addresses: [ip], conditions: { ready: true } })),
  }) as V1EndpointSlice;

function setup(weights: number[]) {
  const index = new EndpointIndex('n1');
  const names = weights.map((_, i) => `s${i}`);
  names.forEach((n, i) => {
    index.upsertService(svc(n));
    index.upsertSlice(slice(n, [`198.18.${i}.1`, `198.18.${i}.2`]));
  });
  const picker = new WeightedPicker(
    names.map((n) => new EndpointPicker(index.slot(`app/${n}`, 'tcp'))),
    weights,
  );
  const serviceOf = (ip: string | undefined) => (ip === undefined ? 'none' : `s${ip.split('.')[2]}`);
  const counts = (n: number) => {
    const c: Record<string, number> = {};
    for (let k = 0; k < n; k++) {
      const s = serviceOf(picker.pick()?.ip);
      c[s] = (c[s] ?? 0) + 1;
    }
    return c;
  };
  return { index, picker, counts };
}

describe('WeightedPicker', () => {
  test('each Service gets exactly its share of a cycle, spread evenly, and its endpoints in turn', () => {
    const { picker, counts } = setup([3, 1]);
    expect(counts(400)).toEqual({ s0: 300, s1: 100 });
    // Smooth: never four of s0 in a row.
    const run = Array.from({ length: 8 }, () => picker.pick()!.ip.split('.')[2]).join('');
    expect(run).not.toContain('0000');
    expect(new Set(Array.from({ length: 4 }, () => picker.pick()!.ip)).size).toBeGreaterThan(1);
  });

  test('a Service without ready endpoints is passed over, and gets its share back when it has some', () => {
    const { index, counts } = setup([1, 1, 2]);
    index.upsertSlice(slice('s2', []));
    expect(counts(100)).toEqual({ s0: 50, s1: 50 });
    index.upsertSlice(slice('s2', ['198.18.2.9']));
    expect(counts(400)).toEqual({ s0: 100, s1: 100, s2: 200 });
  });

  test('weight 0 is never chosen, not even when the others have no endpoint', () => {
    const { index, counts } = setup([0, 1]);
    expect(counts(10)).toEqual({ s1: 10 });
    index.upsertSlice(slice('s1', []));
    expect(counts(3)).toEqual({ none: 3 });
  });
});
