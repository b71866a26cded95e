// Whether a client is in a list of networks that a limit does not apply to
// (ingress-nginx's limit-whitelist). The client is the connection's address,
// as nginx's $remote_addr (its geo block reads no forwarded field).

import { networkContains, parseIpInto, type IpNetwork } from '../match/ip-match.ts';
import type { RequestContext } from '../../proxy/http/types.ts';

const words = new Uint32Array(4);

export function isExempt(exempt: readonly IpNetwork[] | undefined, ctx: RequestContext): boolean {
  if (exempt === undefined || exempt.length === 0) return false;
  const family = parseIpInto(ctx.clientIp, words);
  if (family === 0) return false;
  for (const net of exempt) if (networkContains(net, family, words)) return true;
  return false;
}
