// Each integration test file gets its own real control plane (etcd +
// kube-apiserver on loopback, ~3 s to start): components under test watch
// cluster-wide, so files must not share one.
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll } from 'vitest';
import { startControlPlane, type ControlPlane } from '../../support/control-plane.ts';
import { apiStatus, kubeClientFromString, type KubeClient } from '../../../src/kube/client.ts';
import { kubeConfigFromString } from '../../support/kube-config.ts';

export interface Cluster {
  cp: ControlPlane;
  /** The tests' own client (client-node). */
  kc: k8s.KubeConfig;
  /** The product's client, for the components under test. */
  kube: KubeClient;
  core: k8s.CoreV1Api;
  coordination: k8s.CoordinationV1Api;
}

/** Registers beforeAll/afterAll hooks; call the returned getter inside tests. */
export function useCluster(): () => Cluster {
  let cluster: Cluster | undefined;
  beforeAll(async () => {
    const cp = await startControlPlane();
    const kc = kubeConfigFromString(cp.kubeconfigYaml);
    cluster = { cp, kc, kube: kubeClientFromString(cp.kubeconfigYaml), core: kc.makeApiClient(k8s.CoreV1Api), coordination: kc.makeApiClient(k8s.CoordinationV1Api) };
    await ensureNamespace(cluster.core, 'metalgate-system');
  });
  afterAll(async () => {
    await cluster?.cp.stop();
  });
  return () => {
    if (!cluster) throw new Error('cluster not started');
    return cluster;
  };
}

export async function ensureNamespace(core: k8s.CoreV1Api, name: string): Promise<void> {
  try {
    await core.createNamespace({ body: { metadata: { name } } });
  } catch (err) {
    if (apiStatus(err) !== 409) throw err;
  }
}

/** Polls `fn` until it returns something other than undefined/false. */
export async function waitFor<T>(
  fn: () => T | undefined | false | Promise<T | undefined | false>,
  what: string,
  timeoutMs = 20_000,
  intervalMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      lastErr = err;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastErr ? ` (last error: ${String(lastErr)})` : ''}`);
}

export function lbService(namespace: string, name: string, extra: Partial<k8s.V1ServiceSpec> = {}, annotations: Record<string, string> = {}): k8s.V1Service {
  return {
    metadata: { name, namespace, annotations },
    spec: { type: 'LoadBalancer', ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 }], selector: { app: name }, ...extra },
  };
}

export async function createService(core: k8s.CoreV1Api, svc: k8s.V1Service): Promise<k8s.V1Service> {
  return core.createNamespacedService({ namespace: svc.metadata!.namespace!, body: svc });
}

export function ingressIPs(svc: k8s.V1Service | undefined): string[] {
  return (svc?.status?.loadBalancer?.ingress ?? []).map((i) => i.ip!).filter(Boolean);
}

export async function waitForIPs(core: k8s.CoreV1Api, namespace: string, name: string, count = 1, timeoutMs = 20_000): Promise<string[]> {
  return waitFor(async () => {
    const svc = await core.readNamespacedService({ name, namespace });
    const ips = ingressIPs(svc);
    return ips.length >= count ? ips : undefined;
  }, `${namespace}/${name} to get ${count} IP(s)`, timeoutMs);
}

export async function setPoolConfig(core: k8s.CoreV1Api, config: string, namespace = 'metalgate-system', name = 'config'): Promise<void> {
  const body = { metadata: { name, namespace }, data: { config } };
  try {
    await core.createNamespacedConfigMap({ namespace, body });
  } catch (err) {
    if (apiStatus(err) !== 409) throw err;
    await core.replaceNamespacedConfigMap({ name, namespace, body });
  }
}

export async function eventsFor(core: k8s.CoreV1Api, namespace: string, kind: string, name: string): Promise<k8s.CoreV1Event[]> {
  const list = await core.listNamespacedEvent({ namespace, fieldSelector: `involvedObject.kind=${kind},involvedObject.name=${name}` });
  return list.items;
}

export async function waitForEvent(core: k8s.CoreV1Api, namespace: string, kind: string, name: string, reason: string, timeoutMs = 20_000): Promise<k8s.CoreV1Event> {
  return waitFor(async () => (await eventsFor(core, namespace, kind, name)).find((e) => e.reason === reason), `${reason} Event on ${kind} ${namespace}/${name}`, timeoutMs);
}
