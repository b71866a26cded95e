// Service + its EndpointSlices -> one EndpointSet per Service port. Pure.
//
// Rules (discovery.k8s.io/v1, as kube-proxy reads them):
// - a slice belongs to the Service named by its `kubernetes.io/service-name`
//   label, in the same namespace; FQDN slices are ignored;
// - a Service port is matched to slice ports by name and protocol (the slice
//   port carries the resolved target port);
// - an endpoint's first address is used (the others are fungible);
// - conditions: `ready` nil means true; `serving` nil defers to ready;
//   `terminating` nil means false;
// - ready endpoints get new work; serving && terminating ones keep what they
//   hold; when no endpoint is ready, the serving-and-terminating ones take
//   new work rather than refusing it (kube-proxy since 1.28);
// - the same endpoint in two slices (a controller moving it) counts once,
//   from the slice whose name sorts first;
// - externalTrafficPolicy: Local keeps only endpoints on this node.

import net from 'node:net';
import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import { SERVICE_NAME_LABEL, serviceKeyOf } from '../../kube/object-names.ts';
import { endpointKey, type BackendEndpoint, type EndpointSet } from './endpoint-set.ts';

/** Kubernetes' default sessionAffinityConfig.clientIP.timeoutSeconds (3 hours). */
const DEFAULT_AFFINITY_TIMEOUT_SECONDS = 10_800;

export interface ServiceEndpointOptions {
  /** This node, for externalTrafficPolicy: Local. */
  nodeName: string;
}

/** The "namespace/name" of the Service a slice belongs to, or undefined. */
export function sliceServiceKey(slice: V1EndpointSlice): string | undefined {
  const name = slice.metadata?.labels?.[SERVICE_NAME_LABEL];
  const ns = slice.metadata?.namespace;
  return name && ns ? `${ns}/${name}` : undefined;
}

/** The affinity timeout of a Service in ms, or undefined without ClientIP affinity. */
function affinityTimeoutMs(svc: V1Service): number | undefined {
  if (svc.spec?.sessionAffinity !== 'ClientIP') return undefined;
  const s = svc.spec.sessionAffinityConfig?.clientIP?.timeoutSeconds;
  const seconds = typeof s === 'number' && Number.isFinite(s) && s > 0 ? s : DEFAULT_AFFINITY_TIMEOUT_SECONDS;
  return seconds * 1000;
}

/**
 * One EndpointSet per Service port, keyed by port name ("" for an unnamed
 * port). `slices` may hold slices of other Services; they are skipped.
 */
export function serviceEndpointSets(svc: V1Service, slices: readonly V1EndpointSlice[], opts: ServiceEndpointOptions): Record<string, EndpointSet> {
  const key = serviceKeyOf(svc);
  const localOnly = svc.spec?.externalTrafficPolicy === 'Local';
  const affinity = affinityTimeoutMs(svc);
  const own = slices
    .filter((s) => sliceServiceKey(s) === key && (s.addressType === 'IPv4' || s.addressType === 'IPv6'))
    .sort((a, b) => compare(a.metadata?.name ?? '', b.metadata?.name ?? ''));
  const out: Record<string, EndpointSet> = {};
  for (const sp of svc.spec?.ports ?? []) {
    const portName = sp.name ?? '';
    const protocol = sp.protocol ?? 'TCP';
    const seen = new Set<string>();
    const ready: BackendEndpoint[] = [];
    const draining: BackendEndpoint[] = [];
    for (const slice of own) {
      const port = slicePort(slice, portName, protocol, sp.targetPort);
      if (port === undefined) continue;
      for (const ep of slice.endpoints ?? []) {
        const ip = ep.addresses?.[0];
        if (ip === undefined || net.isIP(ip) === 0) continue;
        if (localOnly && ep.nodeName !== opts.nodeName) continue;
        const k = endpointKey(ip, port);
        if (seen.has(k)) continue;
        seen.add(k);
        const c = ep.conditions ?? {};
        const isReady = c.ready ?? true;
        const isServing = c.serving ?? isReady;
        const isTerminating = c.terminating ?? false;
        const be: BackendEndpoint = {
          ip,
          port,
          key: k,
          nodeName: ep.nodeName ?? undefined,
          podName: ep.targetRef?.kind === 'Pod' ? ep.targetRef.name : undefined,
          ready: isReady,
          serving: isServing,
          terminating: isTerminating,
        };
        if (isReady) ready.push(be);
        else if (isServing && isTerminating) draining.push(be);
      }
    }
    ready.sort(byKey);
    draining.sort(byKey);
    const fallback = ready.length === 0 && draining.length > 0;
    out[portName] = {
      service: key,
      portName,
      protocol,
      active: fallback ? draining : ready,
      draining: fallback ? [] : draining,
      fallback,
      localOnly,
      affinityTimeoutMs: affinity,
    };
  }
  return out;
}

/** The port number of the slice port matching the Service port, if any. */
function slicePort(slice: V1EndpointSlice, name: string, protocol: string, targetPort: number | string | undefined): number | undefined {
  for (const p of slice.ports ?? []) {
    if ((p.name ?? '') !== name || (p.protocol ?? 'TCP') !== protocol) continue;
    if (typeof p.port === 'number' && p.port > 0 && p.port < 65536) return p.port;
    // A slice port without a number "is interpreted in the context of the
    // consumer": a numeric targetPort is the only reading we can give it.
    return typeof targetPort === 'number' ? targetPort : undefined;
  }
  return undefined;
}

function byKey(a: BackendEndpoint, b: BackendEndpoint): number {
  return compare(a.key, b.key);
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
