// An Ingress or IngressRoute backend (Service + port by number or name) ->
// the Service port it means, whose name is what EndpointSlice ports carry.
// Resolving through the Service also catches typos early: a port the Service
// does not have is reported on the object instead of failing per request.

import type { V1Service } from '@kubernetes/client-node';
import type { BackendLabels, BackendOptions, LeafNode, ServicePortRef } from '../model/service-node.ts';
import type { ClusterView } from './cluster-view.ts';

export type PortResult = { readonly ok: true; readonly ref: ServicePortRef } | { readonly ok: false; readonly reason: string; readonly error: string };

export function resolveServicePort(view: ClusterView, namespace: string, service: string, port: number | string | undefined, protocol: 'TCP' | 'UDP' = 'TCP'): PortResult {
  const svc: V1Service | undefined = view.service(namespace, service);
  if (svc === undefined) return { ok: false, reason: 'MissingService', error: `Service ${namespace}/${service} not found` };
  if (svc.spec?.type === 'ExternalName') {
    return { ok: false, reason: 'UnsupportedService', error: `Service ${namespace}/${service} is of type ExternalName, which has no endpoints to balance over` };
  }
  const ports = svc.spec?.ports ?? [];
  const tcp = ports.filter((p) => (p.protocol ?? 'TCP') === protocol);
  if (port === undefined || port === '') {
    // Traefik requires a port unless the Service has exactly one.
    if (tcp.length === 1) return { ok: true, ref: { namespace, service, portName: tcp[0]!.name ?? '', port: tcp[0]!.port } };
    return { ok: false, reason: 'MissingServicePort', error: `a port is required for Service ${namespace}/${service} (it has ${tcp.length} ${protocol} ports)` };
  }
  const byNumber = typeof port === 'number' || /^[0-9]+$/.test(port);
  const found = byNumber ? tcp.find((p) => p.port === Number(port)) : tcp.find((p) => p.name === port);
  if (found === undefined) {
    const have = tcp.map((p) => (p.name ? `${p.name}/${p.port}` : String(p.port))).join(', ') || 'none';
    return {
      ok: false,
      reason: 'MissingServicePort',
      error: `Service ${namespace}/${service} has no ${protocol} port ${byNumber ? Number(port) : JSON.stringify(port)} (ports: ${have})`,
    };
  }
  return { ok: true, ref: { namespace, service, portName: found.name ?? '', port: found.port } };
}

/** Labels for a Service port backend; `provider` is Traefik's suffix (`kubernetes` for Ingress, `kubernetescrd` for CRDs). */
export function backendLabels(ref: ServicePortRef, declaredPort: number | string | undefined, provider: 'kubernetes' | 'kubernetescrd'): BackendLabels {
  const portText = declaredPort === undefined || declaredPort === '' ? String(ref.port) : String(declaredPort);
  return {
    name: `${ref.namespace}/${ref.service}:${ref.portName || ref.port}`,
    traefikService: `${ref.namespace}-${ref.service}-${portText}@${provider}`,
    nginxService: ref.service,
  };
}

export function leaf(ref: ServicePortRef, options: BackendOptions, labels: BackendLabels): LeafNode {
  return Object.freeze({ kind: 'leaf', ref, options, labels });
}
