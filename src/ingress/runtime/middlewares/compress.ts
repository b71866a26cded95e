// compress (Traefik): the response body is encoded with the best encoding
// both sides accept (server order gzip, br, zstd unless configured), when
// the response is not encoded already, its type is allowed (excluded /
// included lists; gRPC never), and its known length reaches
// minResponseBodyBytes (unknown lengths are compressed). Adds
// `Vary: Accept-Encoding`.

import zlib from 'node:zlib';
import type { Middleware, RequestContext, ResponseContext } from '../../../proxy/http/types.ts';
import type { CompressSpec } from '../../model/middleware-spec.ts';

type Encoding = 'gzip' | 'br' | 'zstd';

/** Accept-Encoding -> q value per coding ("*" included). */
function accepted(header: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const part of header.split(',')) {
    const [coding, ...params] = part.trim().split(';');
    if (!coding) continue;
    let q = 1;
    for (const p of params) {
      const m = /^\s*q\s*=\s*([0-9.]+)\s*$/i.exec(p);
      if (m) q = Number(m[1]);
    }
    out.set(coding.trim().toLowerCase(), q);
  }
  return out;
}

export function chooseEncoding(acceptEncoding: string | undefined, offered: readonly Encoding[]): Encoding | undefined {
  if (!acceptEncoding) return undefined;
  const a = accepted(acceptEncoding);
  let best: Encoding | undefined;
  let bestQ = 0;
  for (const e of offered) {
    if (e === 'zstd' && typeof (zlib as { createZstdCompress?: unknown }).createZstdCompress !== 'function') continue;
    const q = a.get(e) ?? a.get('*') ?? 0;
    if (q > bestQ) {
      best = e;
      bestQ = q;
    }
  }
  return best;
}

function encoder(e: Encoding): NodeJS.ReadWriteStream {
  if (e === 'gzip') return zlib.createGzip();
  if (e === 'br') return zlib.createBrotliCompress({ params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 4 } });
  return (zlib as unknown as { createZstdCompress(): NodeJS.ReadWriteStream }).createZstdCompress();
}

export function compress(name: string, spec: CompressSpec): Middleware {
  return {
    name,
    onResponse(ctx: RequestContext, res: ResponseContext): void {
      if (!res.hasBody || res.header('content-encoding') !== undefined) return;
      const type = (res.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
      if (type.startsWith('application/grpc')) return;
      if (spec.includedContentTypes.length > 0 ? !spec.includedContentTypes.includes(type) : spec.excludedContentTypes.includes(type)) return;
      const length = res.header('content-length');
      if (length !== undefined && Number(length) < spec.minResponseBodyBytes) return;
      const e = chooseEncoding(ctx.header('accept-encoding'), spec.encodings);
      if (e === undefined) return;
      res.setHeader('content-encoding', e);
      res.addHeader('vary', 'Accept-Encoding');
      res.setBodyTransform(encoder(e));
    },
  };
}
