// ingress-nginx `satisfy: any`: nginx's access phase where one yes is
// enough. The allow/deny lines go first (deny lists, then allow lists, then
// `deny all` when there are allow lists): a client they allow passes with no
// auth asked. Otherwise each auth (basic or digest, then auth-url) is asked
// in turn; the first that accepts lets the request through. When none does,
// the client gets the 401 an auth gave (with its challenge, or the sign-in
// redirect nginx's error_page makes of it), else 403; an auth that fails
// (auth-url's 500) ends the request at once, as nginx finalizes it.
// Checked side by side with nginx (test/integration/ingress/satisfy.test.ts).

import type { Middleware, RequestContext, RequestOutcome, ResponseContext, SimpleResponse } from '../../../proxy/http/types.ts';
import { networkContains, parseIpInto } from '../../match/ip-match.ts';
import type { SatisfyAnySpec } from '../../model/middleware-spec.ts';

const words = new Uint32Array(4);
const FORBIDDEN: SimpleResponse = { status: 403, body: 'Forbidden\n' };

/** `auths`: the live middlewares of spec.auths, in the same order. */
export function satisfyAny(name: string, spec: SatisfyAnySpec, auths: readonly Middleware[]): Middleware {
  const linesAllow = (ctx: RequestContext): 'allow' | 'deny' | 'none' => {
    const family = parseIpInto(ctx.clientIp, words);
    if (family === 0) return 'deny';
    for (const net of spec.deny) if (networkContains(net, family, words)) return 'deny';
    if (spec.allow === undefined) return 'none';
    for (const net of spec.allow) if (networkContains(net, family, words)) return 'allow';
    return 'deny';
  };
  /** A 401, or auth-signin's redirect of one. */
  const unauthorized = (i: number, res: SimpleResponse): boolean => {
    const a = spec.auths[i]!;
    return res.status === 401 || (res.status === 302 && a.type === 'externalAuth' && a.signin !== undefined);
  };
  const askAuths = async (ctx: RequestContext, lines: 'deny' | 'none'): Promise<SimpleResponse | undefined> => {
    let challenge: SimpleResponse | undefined;
    for (let i = 0; i < auths.length; i++) {
      const res = await auths[i]!.onRequest?.(ctx);
      if (res === undefined) return undefined;
      if (unauthorized(i, res)) challenge ??= res;
      else if (res.status !== 403) return res;
    }
    return challenge ?? (lines === 'deny' || auths.length > 0 ? FORBIDDEN : undefined);
  };
  return {
    name,
    onRequest(ctx: RequestContext): SimpleResponse | undefined | Promise<SimpleResponse | undefined> {
      const lines = linesAllow(ctx);
      if (lines === 'allow') return undefined;
      return askAuths(ctx, lines);
    },
    onResponse(ctx: RequestContext, res: ResponseContext): void {
      for (const a of auths) a.onResponse?.(ctx, res);
    },
    onDone(ctx: RequestContext, outcome: RequestOutcome): void {
      for (const a of auths) a.onDone?.(ctx, outcome);
    },
  };
}
