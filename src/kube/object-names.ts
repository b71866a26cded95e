// How the code base names Kubernetes objects and reads the fields every
// component reads the same way: one definition each. Pure (shapes only).

import type { V1Service } from '@kubernetes/client-node';
import { formatAddress, isParseError, parseIp } from '../config/ip-range.ts';

/** The label every EndpointSlice of a Service carries. */
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

/** Set on a Service to the pool its IPs came from, as MetalLB 0.14+ does (tools and the speaker read it). */
export const POOL_ANNOTATION = 'metallb.io/ip-allocated-from-pool';

/** "namespace/name" of a namespaced object ("default" when the namespace is unset). */
export function serviceKeyOf(obj: { metadata?: { namespace?: string; name?: string } } | { namespace: string; name: string }): string {
  if ('namespace' in obj && typeof obj.namespace === 'string') return `${obj.namespace}/${obj.name}`;
  const m = (obj as { metadata?: { namespace?: string; name?: string } }).metadata;
  return `${m?.namespace ?? 'default'}/${m?.name ?? ''}`;
}

/** Canonical text of each status IP of the Service; invalid entries are skipped. */
export function statusIps(svc: V1Service): string[] {
  const out: string[] = [];
  for (const entry of svc.status?.loadBalancer?.ingress ?? []) {
    if (!entry.ip) continue;
    const ip = parseIp(entry.ip);
    if (isParseError(ip)) continue;
    const text = formatAddress(ip);
    if (!out.includes(text)) out.push(text);
  }
  return out;
}
