// Traefik mirroring: a copy of each request (`percent` of them) goes to each
// mirror through the engine's mirror (src/proxy/http/mirror.ts): the head
// as sent to the main service and, with mirrorBody (the default), the body
// as it streams there. Answers from mirrors are read and dropped, and never
// delay or change the client's. maxBodySize: a request whose body may be
// larger (a Content-Length over it, or a body of unknown length) is not
// copied, as Traefik does not copy a body it cannot hold.

import type { Backend, MirrorTarget, RequestContext } from '../../../proxy/http/types.ts';

export function mirrorTargets(
  mirrors: ReadonlyArray<{ readonly backend: Backend; readonly percent: number }>,
  o: { readonly body: boolean; readonly maxBodySize?: number },
  random: () => number = Math.random,
): MirrorTarget[] {
  const max = o.body ? o.maxBodySize : undefined;
  const fits = (ctx: RequestContext): boolean => {
    if (max === undefined) return true;
    if (ctx.header('transfer-encoding') !== undefined) return false;
    const length = ctx.header('content-length');
    return length === undefined || Number(length) <= max;
  };
  return mirrors.map(({ backend, percent }) => ({
    backend,
    percent: 100,
    body: o.body,
    // The share is drawn here, so a test can fix it; null: no copy of this request.
    retarget: (ctx: RequestContext) => (random() * 100 < percent && fits(ctx) ? undefined : null),
  }));
}
