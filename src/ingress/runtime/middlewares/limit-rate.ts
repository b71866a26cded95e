// ingress-nginx limit-rate / limit-rate-after (nginx's limit_rate and
// limit_rate_after): a response body is sent no faster than `bytesPerSecond`
// once its first `afterBytes` are out. As nginx's write filter paces it, by
// the bytes allowed since the request began: afterBytes + rate x (seconds
// + 1). The body is paced through a transform, so the client gets it
// chunked (nginx keeps Content-Length). The timers are per response and
// end with it.

import { Transform, type TransformCallback } from 'node:stream';
import type { Middleware, RequestContext, ResponseContext } from '../../../proxy/http/types.ts';
import type { LimitRateSpec } from '../../model/middleware-spec.ts';

class Pacer extends Transform {
  readonly #rate: number;
  readonly #after: number;
  readonly #t0 = performance.now();
  #sent = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(bytesPerSecond: number, afterBytes: number) {
    super();
    this.#rate = bytesPerSecond;
    this.#after = afterBytes;
  }

  /** Bytes the pace allows to have been sent by now. */
  #allowed(): number {
    return this.#after + this.#rate * ((performance.now() - this.#t0) / 1000 + 1);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.#send(chunk, done);
  }

  #send(chunk: Buffer, done: TransformCallback): void {
    const room = Math.floor(this.#allowed() - this.#sent);
    if (room >= chunk.length) {
      this.#sent += chunk.length;
      done(null, chunk);
      return;
    }
    if (room > 0) {
      this.push(chunk.subarray(0, room));
      this.#sent += room;
      chunk = chunk.subarray(room);
    }
    // Wait until a quarter of a second's worth (or the rest) is allowed.
    const want = Math.min(chunk.length, Math.max(1, Math.ceil(this.#rate / 4)));
    const waitMs = Math.max(1, Math.ceil(((this.#sent + want - this.#allowed()) / this.#rate) * 1000));
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#send(chunk, done);
    }, waitMs);
  }

  override _destroy(err: Error | null, cb: (error: Error | null) => void): void {
    clearTimeout(this.#timer);
    cb(err);
  }
}

export function limitRate(name: string, spec: LimitRateSpec): Middleware {
  return {
    name,
    onResponse(_ctx: RequestContext, res: ResponseContext): void {
      if (res.hasBody) res.setBodyTransform(new Pacer(spec.bytesPerSecond, spec.afterBytes));
    },
  };
}
