// Builders for allocator tests: pools from CIDR/range text, requests from a
// few readable fields.
import type { AddressPool, IpRange } from '../../../src/config/types.ts';
import type { AllocationRequest, FamilyPolicy } from '../../../src/ipam/allocation-request.ts';
import { formatIp, parseIp } from '../../../src/ipam/ip-text.ts';

export function range(text: string): IpRange {
  if (text.includes('/')) {
    const [addr, bits] = text.split('/') as [string, string];
    const ip = parseIp(addr)!;
    const width = BigInt((ip.family === 4 ? 32 : 128) - Number(bits));
    const first = (ip.address >> width) << width;
    return { family: ip.family, first, last: first + (1n << width) - 1n, source: text };
  }
  const [a, b] = text.split('-') as [string, string];
  const from = parseIp(a)!;
  return { family: from.family, first: from.address, last: parseIp(b)!.address, source: text };
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
      const ip = parseIp(text)!;
      return { family: ip.family, address: ip.address, text: formatIp(ip.family, ip.address) };
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
