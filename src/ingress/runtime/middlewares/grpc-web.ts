// Traefik's grpcWeb middleware: gRPC-Web requests from browsers reach the
// route's gRPC (HTTP/2) backend. The bridging itself is the engine's
// (`grpcWeb: true`, see proxy/http/grpc-web-codec.ts); this part is the CORS
// of the wrapper Traefik uses (improbable-eng/grpc-web with an origin
// function over allowOrigins, `*` for any): a preflight from an allowed
// origin is answered 204 here, POST only, the requested headers allowed,
// credentials allowed, cached 10 minutes; a gRPC-Web answer to an allowed
// origin carries Access-Control-Allow-Origin and exposes its fields (the
// browser must read grpc-status and grpc-message). Other requests pass as
// they are.

import type { Middleware, RequestContext, ResponseContext, SimpleResponse } from '../../../proxy/http/types.ts';
import type { GrpcWebSpec } from '../../model/middleware-spec.ts';

/** Fields the browser may always read on a gRPC-Web answer. */
const EXPOSED = 'grpc-status, grpc-message, grpc-status-details-bin, content-type';

export function grpcWeb(name: string, spec: GrpcWebSpec): Middleware {
  const any = spec.allowOrigins.includes('*');
  const origins = new Set(spec.allowOrigins);
  const allowed = (origin: string | undefined): origin is string => origin !== undefined && (any || origins.has(origin));
  return {
    name,
    grpcWeb: true,
    onRequest(ctx: RequestContext): SimpleResponse | undefined {
      if (ctx.method !== 'OPTIONS') return undefined;
      const origin = ctx.header('origin');
      const method = ctx.header('access-control-request-method');
      if (method === undefined || !allowed(origin)) return undefined;
      if (method.toUpperCase() !== 'POST') return { status: 204, headers: [['vary', 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers']] };
      const headers: [string, string][] = [
        ['vary', 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers'],
        ['access-control-allow-origin', origin],
        ['access-control-allow-methods', 'POST'],
        ['access-control-allow-credentials', 'true'],
        ['access-control-max-age', '600'],
      ];
      const requested = ctx.header('access-control-request-headers');
      if (requested !== undefined && requested.trim() !== '') headers.push(['access-control-allow-headers', requested]);
      return { status: 204, headers };
    },
    onResponse(ctx: RequestContext, res: ResponseContext): void {
      const origin = ctx.header('origin');
      if (!allowed(origin) || !(ctx.header('content-type') ?? '').toLowerCase().startsWith('application/grpc-web')) return;
      res.setHeader('access-control-allow-origin', origin);
      res.setHeader('access-control-allow-credentials', 'true');
      res.setHeader('access-control-expose-headers', EXPOSED);
      res.addHeader('vary', 'Origin');
    },
  };
}
