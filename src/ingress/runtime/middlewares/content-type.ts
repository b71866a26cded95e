// Traefik's contentType: a response the backend sent without Content-Type
// gets the media type sniffed from its first bytes (proxy/http/sniff.ts, the
// rules Go's net/http applies for Traefik). The bytes are those of the first
// read of the body, as Go's server sniffs its first write: those that came
// with the response head, or else the head waits for the next read. A body
// that ends empty gets no field rather than one guessed from nothing.

import type { Middleware, RequestContext, ResponseContext } from '../../../proxy/http/types.ts';
import { sniffContentType } from '../../../proxy/http/sniff.ts';

export function contentType(name: string): Middleware {
  return {
    name,
    onResponse(_ctx: RequestContext, res: ResponseContext): void {
      if (!res.hasBody || res.header('content-type') !== undefined) return;
      const early = res.firstBody();
      if (early.length > 0) res.setHeader('content-type', sniffContentType(early));
      else res.setHeaderFromFirstBody('content-type', sniffContentType);
    },
  };
}
