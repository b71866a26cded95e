// Translates a Service object into what it asks of the allocator. Pure: a
// malformed field or annotation becomes an error in words, never a throw.
//
// Families: spec.ipFamilies in order (IPv4 when absent). SingleStack takes
// the first; PreferDualStack takes what is listed, the second optional
// (the API server lists one family in a single-stack cluster, and an IP of
// a family the cluster cannot route would be of no use); RequireDualStack
// takes both, adding the missing one.
import type { V1Service } from '@kubernetes/client-node';
import type { IpFamily } from '../config/types.ts';
import { formatIp, isParseError, parseIp } from '../config/ip-range.ts';
import { familyName, type AllocationRequest, type FamilyPolicy, type RequestedIp, type ServicePort } from './allocation-request.ts';

export const METALGATE_CLASS = 'metalgate.io/metalgate';

const ANNOTATION_PREFIXES = ['metallb.universe.tf/', 'metallb.io/'] as const;
const POOL_ANNOTATION = 'address-pool';
const IPS_ANNOTATION = 'loadBalancerIPs';
const SHARING_ANNOTATION = 'allow-shared-ip';

export type ServiceRequestResult =
  | { ok: true; request: AllocationRequest }
  | { ok: false; key: string; error: string };

export interface ClassFilter {
  /** Serve only Services that name our class (we are not the default implementation). */
  ownClassOnly: boolean;
  /** Our loadBalancerClass; METALGATE_CLASS when absent. */
  className?: string;
}

/** `ns/name`, the key the allocator and the controller use. */
export function serviceKey(svc: V1Service): string {
  return `${svc.metadata?.namespace ?? 'default'}/${svc.metadata?.name ?? ''}`;
}

/** A LoadBalancer Service of our class, or of no class when we serve those. */
export function isOurs(svc: V1Service, filter: ClassFilter): boolean {
  if (svc.spec?.type !== 'LoadBalancer') return false;
  const cls = svc.spec.loadBalancerClass;
  if (cls === undefined || cls === null || cls === '') return !filter.ownClassOnly;
  return cls === (filter.className ?? METALGATE_CLASS);
}

/** `namespaceLabels`: the labels of the Service's Namespace, for pools that select namespaces by label. */
export function toAllocationRequest(svc: V1Service, namespaceLabels?: Readonly<Record<string, string>>): ServiceRequestResult {
  const key = serviceKey(svc);
  const fail = (error: string): ServiceRequestResult => ({ ok: false, key, error });
  const spec = svc.spec ?? {};
  const annotations = svc.metadata?.annotations ?? {};

  const policy = spec.ipFamilyPolicy ?? 'SingleStack';
  if (policy !== 'SingleStack' && policy !== 'PreferDualStack' && policy !== 'RequireDualStack') {
    return fail(`spec.ipFamilyPolicy "${policy}" is not SingleStack, PreferDualStack or RequireDualStack`);
  }
  const families = familiesOf(spec.ipFamilies ?? [], policy);
  if (typeof families === 'string') return fail(families);

  const pool = annotationOf(annotations, POOL_ANNOTATION);
  if (pool !== undefined && 'error' in pool) return fail(pool.error);
  const sharingKey = annotationOf(annotations, SHARING_ANNOTATION);
  if (sharingKey !== undefined && 'error' in sharingKey) return fail(sharingKey.error);
  const requestedIps = requestedIpsOf(spec.loadBalancerIP, annotations, families);
  if (typeof requestedIps === 'string') return fail(requestedIps);
  const ports = portsOf(spec.ports ?? []);
  if (typeof ports === 'string') return fail(ports);

  return {
    ok: true,
    request: {
      key,
      families,
      policy,
      requestedIps,
      pool: pool?.value,
      sharingKey: sharingKey?.value ?? '',
      ports,
      localTraffic: spec.externalTrafficPolicy === 'Local',
      namespace: svc.metadata?.namespace ?? 'default',
      labels: svc.metadata?.labels ?? {},
      namespaceLabels,
      backendKey: backendKeyOf(key, spec.selector),
    },
  };
}

function familiesOf(listed: readonly string[], policy: FamilyPolicy): IpFamily[] | string {
  const families: IpFamily[] = [];
  for (const name of listed) {
    const family = name === 'IPv4' ? 4 : name === 'IPv6' ? 6 : undefined;
    if (family === undefined) return `spec.ipFamilies has "${name}"; expected IPv4 or IPv6`;
    if (families.includes(family)) return `spec.ipFamilies lists ${name} twice`;
    families.push(family);
  }
  if (families.length === 0) families.push(4);
  if (policy === 'SingleStack') return families.slice(0, 1);
  if (policy === 'RequireDualStack' && families.length === 1) families.push(families[0] === 4 ? 6 : 4);
  return families;
}

interface FoundAnnotation {
  /** The spelling found, for messages. */
  name: string;
  /** Trimmed, never empty. */
  value: string;
}

/**
 * An annotation under either spelling; undefined when absent or empty.
 * Both spellings with different values is an error.
 */
function annotationOf(annotations: Record<string, string>, name: string): FoundAnnotation | undefined | { error: string } {
  let found: FoundAnnotation | undefined;
  for (const prefix of ANNOTATION_PREFIXES) {
    const value = annotations[prefix + name]?.trim();
    if (value === undefined || value === '') continue;
    if (found !== undefined && found.value !== value) {
      return { error: `annotations ${found.name} ("${found.value}") and ${prefix + name} ("${value}") disagree; set one of them` };
    }
    found = { name: prefix + name, value };
  }
  return found;
}

function requestedIpsOf(
  loadBalancerIP: string | undefined,
  annotations: Record<string, string>,
  families: readonly IpFamily[],
): RequestedIp[] | string {
  const annotation = annotationOf(annotations, IPS_ANNOTATION);
  if (annotation !== undefined && 'error' in annotation) return annotation.error;
  const fromSpec = loadBalancerIP?.trim() || undefined;
  const source = annotation !== undefined ? `annotation ${annotation.name}` : 'spec.loadBalancerIP';
  const text = annotation?.value ?? fromSpec;
  if (text === undefined) return [];

  const wanted: RequestedIp[] = [];
  for (const raw of text.split(',')) {
    const item = raw.trim();
    if (item === '') return `${source}: empty entry in "${text}"`;
    const parsed = parseIp(item);
    if (isParseError(parsed)) return `${source}: ${parsed.error}`;
    const canonical = formatIp(parsed.family, parsed.value);
    if (!families.includes(parsed.family)) {
      return `${source}: ${canonical} is ${familyName(parsed.family)} but the Service's IP families are ${families.map(familyName).join(', ')}`;
    }
    if (wanted.some((w) => w.family === parsed.family)) {
      return `${source}: more than one ${familyName(parsed.family)} address (at most one per family)`;
    }
    wanted.push({ family: parsed.family, address: parsed.value, text: canonical });
  }
  if (annotation !== undefined && fromSpec !== undefined) {
    const specIp = parseIp(fromSpec);
    const same =
      !isParseError(specIp) && wanted.length === 1 && wanted[0]!.address === specIp.value && wanted[0]!.family === specIp.family;
    if (!same) return `spec.loadBalancerIP (${fromSpec}) and annotation ${annotation.name} (${annotation.value}) disagree; set one of them`;
  }
  return wanted;
}

function portsOf(specPorts: readonly { protocol?: string; port: number }[]): ServicePort[] | string {
  const ports: ServicePort[] = [];
  for (const p of specPorts) {
    const protocol = (p.protocol ?? 'TCP').toUpperCase();
    if (!Number.isInteger(p.port) || p.port < 1 || p.port > 65535) return `spec.ports has an invalid port ${String(p.port)}`;
    ports.push({ protocol, port: p.port });
  }
  return ports;
}

/**
 * The selector as sorted `k=v` pairs. A Service without a selector has
 * hand-managed endpoints we cannot compare, so it gets a key of its own and
 * never matches another Service under the Local rule.
 */
function backendKeyOf(key: string, selector: Record<string, string> | undefined): string {
  const pairs = Object.entries(selector ?? {});
  if (pairs.length === 0) return `service:${key}`;
  return `selector:${pairs
    .map(([k, v]) => `${k}=${v}`)
    .sort()
    .join(',')}`;
}
