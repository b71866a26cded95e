// Builders for allocator tests: pools from CIDR/range text, requests from a
// few readable fields.
import type { AddressPool, IpRange, ServiceAllocation } from '../../../src/config/types.ts';
import type { AllocationRequest, FamilyPolicy } from '../../../src/ipam/allocation-request.ts';
import { formatIp, isParseError, parseCidr, parseIp, parseIpRange } from '../../../src/config/ip-range.ts';

/**
 * A CIDR or `A-B` range; throws on a typo in a test. Read without the config's
 * refusals (special-purpose blocks): the allocator's arithmetic is tested
 * on any range, 0.0.0.0/0 included.
 */
export function range(text: string): IpRange {
  const parsed = text.includes('-') ? parseIpRange(text) : parseCidr(text);
  if (isParseError(parsed)) throw new Error(`${text}: ${parsed.error}`);
  return 'range' in parsed ? { ...parsed.range, source: text } : parsed;
}

export function pool(
  name: string,
  ranges: string[],
  opts: { autoAssign?: boolean; avoidBuggyIps?: boolean; serviceAllocation?: Partial<ServiceAllocation> } = {},
): AddressPool {
  return {
    name,
    protocol: 'layer2',
    ranges: ranges.map(range),
    autoAssign: opts.autoAssign ?? true,
    avoidBuggyIps: opts.avoidBuggyIps ?? false,
    ...(opts.serviceAllocation
      ? { serviceAllocation: { priority: 0, namespaces: [], namespaceSelectors: [], serviceSelectors: [], ...opts.serviceAllocation } }
      : {}),
  };
}

export interface RequestSpec {
  families?: (4 | 6)[];
  policy?: FamilyPolicy;
  ips?: string[];
  pool?: string;
  share?: string;
  /** 'TCP/80' style. */
  ports?: string[];
  local?: boolean;
  backend?: string;
  labels?: Record<string, string>;
  namespaceLabels?: Record<string, string>;
}

export function req(key: string, spec: RequestSpec = {}): AllocationRequest {
  return {
    key,
    families: spec.families ?? [4],
    policy: spec.policy ?? 'SingleStack',
    requestedIps: (spec.ips ?? []).map((text) => {
      const ip = parseIp(text);
      if (isParseError(ip)) throw new Error(ip.error);
      return { family: ip.family, address: ip.value, text: formatIp(ip.family, ip.value) };
    }),
    pool: spec.pool,
    sharingKey: spec.share ?? '',
    ports: (spec.ports ?? ['TCP/80']).map((p) => {
      const [protocol, port] = p.split('/') as [string, string];
      return { protocol, port: Number(port) };
    }),
    localTraffic: spec.local ?? false,
    namespace: key.split('/')[0]!,
    labels: spec.labels ?? {},
    namespaceLabels: spec.namespaceLabels,
    backendKey: spec.backend ?? `service:${key}`,
  };
}
