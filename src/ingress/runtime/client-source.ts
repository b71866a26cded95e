// The client identity a middleware keys on (Traefik sourceCriterion):
// a request header, the host, or an IP - by default the peer address; with
// ipStrategy.depth the depth-th address from the right of X-Forwarded-For;
// with ipStrategy.excludedIPs the first address from the right not excluded.

import { networkContains, parseIpInto } from '../match/ip-match.ts';
import type { SourceCriterion } from '../model/service-node.ts';

export interface SourceRequest {
  readonly clientIp: string;
  readonly host: string;
  header(name: string): string | undefined;
  headerValues(name: string): string[];
}

const words = new Uint32Array(4);

function forwardedList(req: SourceRequest): string[] {
  const out: string[] = [];
  for (const line of req.headerValues('x-forwarded-for')) for (const p of line.split(',')) if (p.trim() !== '') out.push(p.trim());
  return out;
}

export function sourceKey(c: SourceCriterion, req: SourceRequest): string {
  if (c.header !== undefined) return req.header(c.header) ?? '';
  if (c.host === true) return req.host;
  return sourceIp(c, req);
}

export function sourceIp(c: SourceCriterion, req: SourceRequest): string {
  if (c.depth > 0) {
    const list = forwardedList(req);
    return list.length >= c.depth ? list[list.length - c.depth]! : '';
  }
  if (c.excluded.length > 0) {
    const list = forwardedList(req);
    for (let i = list.length - 1; i >= 0; i--) {
      const fam = parseIpInto(list[i]!, words);
      if (fam === 0) return list[i]!;
      if (!c.excluded.some((n) => networkContains(n, fam, words))) return list[i]!;
    }
    return req.clientIp;
  }
  return req.clientIp;
}
