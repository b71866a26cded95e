// Builders for allocator tests: pools from CIDR/range text, requests from a
// few readable fields.
import type { AddressPool, IpRange } from '../../../src/config/types.ts';
import type { AllocationRequest, FamilyPolicy } from '../../../src/ipam/allocation-request.ts';
import { formatIp, isParseError, parseAddressEntry, parseIp } from '../../../src/config/ip-range.ts';

/** A CIDR or `A-B` range, as a pool entry; throws on a typo in a test. */
export function range(text: string): IpRange {
  const entry = parseAddressEntry(text);
  if (isParseError(entry)) throw new Error(`${text}: ${entry.error}`);
  return entry.range;
}

export function pool(
  name: string,
  ranges: string[],
  opts: { autoAssign?: boolean; avoidBuggyIps?: boolean } = {},
): AddressPool {
  return {
    name,
    protocol: 'layer2',
    ranges: ranges.map(range),
    autoAssign: opts.autoAssign ?? true,
    avoidBuggyIps: opts.avoidBuggyIps ?? false,
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
    backendKey: spec.backend ?? `service:${key}`,
  };
}
