// ipAllowList / ipWhiteList (Traefik) and whitelist-source-range
// (ingress-nginx): requests from outside the ranges are answered with the
// reject status (403 by default). With `deny` (denylist-source-range) the
// ranges are those rejected.

import type { Middleware, RequestContext, SimpleResponse } from '../../../proxy/http/types.ts';
import { networkContains, parseIpInto } from '../../match/ip-match.ts';
import type { IpAllowListSpec } from '../../model/middleware-spec.ts';
import { sourceIp } from '../client-source.ts';

const words = new Uint32Array(4);

export function ipAllowList(name: string, spec: IpAllowListSpec): Middleware {
  const reject: SimpleResponse = { status: spec.rejectStatus, body: 'Forbidden\n' };
  return {
    name,
    onRequest(ctx: RequestContext): SimpleResponse | undefined {
      const ip = sourceIp(spec.source, ctx);
      const family = parseIpInto(ip, words);
      // An address that cannot be read is refused either way.
      if (family === 0) return reject;
      let inside = false;
      for (const net of spec.ranges) if (networkContains(net, family, words)) inside = true;
      return inside === (spec.deny === true) ? reject : undefined;
    },
  };
}
