// The election's demand side, read from Kubernetes objects: every IP in the
// status of a LoadBalancer Service we serve, the Services on it, and for
// externalTrafficPolicy: Local the nodes that hold a ready endpoint, and
// the pool its Services name (for the L2Advertisements' rule). Pure.

import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import { POOL_ANNOTATION, SERVICE_NAME_LABEL, serviceKeyOf, statusIps } from '../kube/object-names.ts';
import { isOurs, type ClassFilter } from '../ipam/service-request.ts';
import type { AnnounceRule, IpDemand, ServiceOnIp } from './election.ts';
/** A Service announced on an IP, as logs and Events name it. */
export interface ServiceRef {
  namespace: string;
  name: string;
  uid?: string | undefined;
  resourceVersion?: string | undefined;
}

export interface Demand {
  /** One entry per IP (canonical text), Services merged: the election's input. */
  ips: IpDemand[];
  /** IP -> the Services on it, sorted by namespace/name. */
  servicesByIp: Map<string, ServiceRef[]>;
}


/**
 * Nodes with a ready endpoint of each Service, keyed "namespace/name".
 * EndpointSlice semantics: a missing `ready` condition counts as ready;
 * terminating endpoints are not ready.
 */
export function readyNodesByService(slices: readonly V1EndpointSlice[]): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const slice of slices) {
    const service = slice.metadata?.labels?.[SERVICE_NAME_LABEL];
    const namespace = slice.metadata?.namespace;
    if (!service || !namespace) continue;
    const key = `${namespace}/${service}`;
    let nodes = out.get(key);
    if (!nodes) out.set(key, (nodes = new Set()));
    for (const endpoint of slice.endpoints ?? []) {
      if (endpoint.conditions?.ready === false || !endpoint.nodeName) continue;
      nodes.add(endpoint.nodeName);
    }
  }
  return out;
}

/** An IP's announce rule, from the IP and the pool its Services name (AnnounceRules.forIp fits). */
export type RuleLookup = (ip: string, pool: string | undefined) => AnnounceRule | undefined;

export function buildDemand(
  services: readonly V1Service[],
  slices: readonly V1EndpointSlice[],
  filter: ClassFilter,
  ruleFor?: RuleLookup,
): Demand {
  let readyNodes: Map<string, Set<string>> | undefined;
  const byIp = new Map<string, { services: ServiceOnIp[]; refs: ServiceRef[]; pool: string | undefined }>();
  for (const svc of services) {
    if (!isOurs(svc, filter)) continue;
    const ips = statusIps(svc);
    if (ips.length === 0) continue;
    const ref: ServiceRef = {
      namespace: svc.metadata?.namespace ?? 'default',
      name: svc.metadata?.name ?? '',
      uid: svc.metadata?.uid,
      resourceVersion: svc.metadata?.resourceVersion,
    };
    const key = serviceKeyOf(ref);
    const local = svc.spec?.externalTrafficPolicy === 'Local';
    let onIp: ServiceOnIp;
    if (local) {
      readyNodes ??= readyNodesByService(slices);
      onIp = { service: key, local: true, readyNodes: readyNodes.get(key) ?? new Set() };
    } else {
      onIp = { service: key, local: false };
    }
    const pool = svc.metadata?.annotations?.[POOL_ANNOTATION] || undefined;
    for (const ip of ips) {
      let entry = byIp.get(ip);
      if (!entry) byIp.set(ip, (entry = { services: [], refs: [], pool: undefined }));
      entry.services.push(onIp);
      entry.refs.push(ref);
      entry.pool ??= pool;
    }
  }
  const ips: IpDemand[] = [];
  const servicesByIp = new Map<string, ServiceRef[]>();
  for (const ip of [...byIp.keys()].sort()) {
    const entry = byIp.get(ip)!;
    entry.refs.sort((a, b) => (serviceKeyOf(a) < serviceKeyOf(b) ? -1 : serviceKeyOf(a) > serviceKeyOf(b) ? 1 : 0));
    ips.push({ ip, services: entry.services, rule: ruleFor?.(ip, entry.pool) });
    servicesByIp.set(ip, entry.refs);
  }
  return { ips, servicesByIp };
}
