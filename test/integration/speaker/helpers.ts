// In-process speakers for API-level tests: no dataplane (in-process speakers
// share the host's network namespace), the real Lease/election/Event path.
import type * as k8s from '@kubernetes/client-node';
import { createLogger, silentLogger } from '../../../src/common/log.ts';
import { apiStatus } from '../../../src/kube/client.ts';
import { defaultSpeakerOptions, Speaker, type SpeakerOptions } from '../../../src/speaker/speaker.ts';
import { productClient } from '../../support/kube-config.ts';

export function testLogger() {
  return process.env.METALGATE_TEST_LOG ? createLogger({ level: process.env.METALGATE_TEST_LOG, pretty: false }) : silentLogger();
}

export async function startSpeaker(kc: k8s.KubeConfig, nodeName: string, overrides: Partial<SpeakerOptions> = {}): Promise<Speaker> {
  const speaker = new Speaker(productClient(kc), testLogger().child({ node: nodeName }), {
    ...defaultSpeakerOptions,
    nodeName,
    dataplane: false,
    ...overrides,
  });
  await speaker.start();
  return speaker;
}

export async function createNode(core: k8s.CoreV1Api, name: string, labels: Record<string, string> = {}): Promise<void> {
  try {
    await core.createNode({ body: { metadata: { name, labels } } });
  } catch (err) {
    if (apiStatus(err) !== 409) throw err;
  }
}

/** Writes status.loadBalancer.ingress as the controller would (no controller runs in these tests). */
export async function setServiceIps(core: k8s.CoreV1Api, namespace: string, name: string, ips: string[]): Promise<void> {
  await core.replaceNamespacedServiceStatus({
    name,
    namespace,
    body: {
      ...(await core.readNamespacedService({ name, namespace })),
      status: { loadBalancer: { ingress: ips.map((ip) => ({ ip, ipMode: 'Proxy' as const })) } },
    },
  });
}

export async function readLease(coordination: k8s.CoordinationV1Api, name: string, namespace = 'metalgate-system'): Promise<k8s.V1Lease | undefined> {
  try {
    return await coordination.readNamespacedLease({ name, namespace });
  } catch (err) {
    if (apiStatus(err) === 404) return undefined;
    throw err;
  }
}
