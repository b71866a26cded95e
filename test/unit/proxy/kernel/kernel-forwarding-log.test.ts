// What KernelForwarding logs when an apply fails, with a stand-in for nft
// that always fails: the line names a few of the ports and counts them all,
// so a node with many Services does not log the whole list at every retry.
import pino from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, test } from 'vitest';
import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import { EndpointIndex } from '../../../../src/proxy/endpoints/endpoint-index.ts';
import type { KernelCommands } from '../../../../src/proxy/kernel/kernel-commands.ts';
import { KernelForwarding } from '../../../../src/proxy/kernel/kernel-forwarding.ts';
import { forwardedByKernel, planListeners } from '../../../../src/proxy/listeners/listen-plan.ts';

const N = 40;
const ipOf = (i: number) => `198.18.0.${10 + i}`;

const service = (i: number): V1Service => ({
  metadata: { namespace: 'lab', name: `s${i}`, uid: `uid-${i}`, annotations: { 'metalgate.io/l4-dataplane': 'kernel' } },
  spec: { type: 'LoadBalancer', ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 }] },
  status: { loadBalancer: { ingress: [{ ip: ipOf(i) }] } },
});

const slice = (i: number): V1EndpointSlice => ({
  metadata: { namespace: 'lab', name: `s${i}-1`, labels: { 'kubernetes.io/service-name': `s${i}` } },
  addressType: 'IPv4',
  ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
  endpoints: [{ addresses: [`198.18.101.${2 + i}`], nodeName: 'node1', conditions: { ready: true } }],
});

const failingNft: KernelCommands = {
  nft: async () => ({ ok: false, error: 'Error: injected failure' }),
  tableExists: async () => false,
  deleteFlows: async () => ({ ok: true, deleted: 0 }),
  counters: async () => ({ ok: true, packets: new Map() }),
  forwardingEnabled: async () => true,
};

describe('KernelForwarding', () => {
  test('a failed apply logs how many ports it concerned and names ten of them, not the whole list', async () => {
    const services = Array.from({ length: N }, (_, i) => service(i));
    const index = new EndpointIndex('node1');
    for (let i = 0; i < N; i++) {
      index.upsertService(services[i]!);
      index.upsertSlice(slice(i));
    }
    const plan = planListeners(new Set(services.map((_, i) => ipOf(i))), services, { ownClassOnly: false, entrypoint: 'metalgate-system/metalgate-ingress' });
    const logged: string[] = [];
    const kf = new KernelForwarding({
      log: pino({ level: 'error' }, { write: (line: string) => void logged.push(line) }),
      endpoints: index,
      commands: failingNft,
      registry: new Registry(),
      retryMs: 60_000,
      checkMs: 60_000,
    });
    kf.apply(plan.listeners.filter(forwardedByKernel));
    await kf.idle();
    const lines = logged.map((l) => JSON.parse(l) as { msg: string; ports?: number; listeners?: string[] }).filter((l) => l.msg.startsWith('kernel forwarding rules not applied'));
    expect(lines).toHaveLength(1);
    expect(lines[0]!.ports).toBe(N);
    expect(lines[0]!.listeners).toEqual(plan.listeners.slice(0, 10).map((l) => l.key));
    await kf.close();
  });
});
