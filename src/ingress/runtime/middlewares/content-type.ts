// Traefik's contentType: a response the backend sent without Content-Type
// gets the media type sniffed from its first bytes (proxy/http/sniff.ts, the
// rules Go's net/http applies for Traefik). The bytes are those that came
// with the response head; when none did, the field is left out rather than
// guessed from nothing.

import type { Middleware, RequestContext, ResponseContext } from '../../../proxy/http/types.ts';
import { sniffContentType } from '../../../proxy/http/sniff.ts';

export function contentType(name: string): Middleware {
  return {
    name,
    onResponse(_ctx: RequestContext, res: ResponseContext): void {
      if (!res.hasBody || res.header('content-type') !== undefined) return;
      const early = res.firstBody();
      if (early.length > 0) res.setHeader('content-type', sniffContentType(early));
    },
  };
}
