// Traffic mirroring (Middleware.mirror): a copy of the request, head and body
// as they are sent to the real upstream, goes to a mirror backend; its answer
// is read and dropped and never delays the client. A mirror that cannot keep
// up (more than MAX_BUFFERED bytes waiting) is abandoned, not waited for.

import type { ResponseHead } from '../http1/response-head.ts';
import type { BackendSeries } from './metrics.ts';
import type { Backend, UpstreamTimeouts } from './types.ts';
import { BODY_RAW, type UpstreamConn, type UpstreamOwner, type UpstreamPool } from './upstream.ts';

const MAX_BUFFERED = 1024 * 1024;

export class MirrorCopy implements UpstreamOwner {
  private up: UpstreamConn | null;
  private queue: Buffer[] | null = [];
  private queued = 0;
  private requestDone = false;
  private readonly pool: UpstreamPool;

  private constructor(pool: UpstreamPool, up: UpstreamConn) {
    this.pool = pool;
    this.up = up;
  }

  /** Starts a copy on an endpoint of `backend`; undefined when it has none. */
  static start(pool: UpstreamPool, backend: Backend, series: BackendSeries, clientIp: string, method: string, head: Buffer, t: UpstreamTimeouts): MirrorCopy | undefined {
    const ep = backend.pick(clientIp);
    if (ep === undefined) return undefined;
    let up = pool.acquire(ep, backend);
    const fresh = up === undefined;
    up ??= pool.connect(ep, backend, series, t.connectMs);
    const m = new MirrorCopy(pool, up);
    up.begin(m, method, t.readMs, t.sendMs);
    if (fresh) m.queue!.push(head);
    else m.flush(head);
    return m;
  }

  write(buf: Buffer): void {
    const up = this.up;
    if (up === null || buf.length === 0) return;
    if (this.queue !== null) {
      this.queued += buf.length;
      if (this.queued > MAX_BUFFERED) this.abort();
      else this.queue.push(Buffer.from(buf)); // the slice's memory may be reused by then
      return;
    }
    if (up.socket.writableLength > MAX_BUFFERED) this.abort();
    else up.write(buf);
  }

  end(): void {
    this.requestDone = true;
    if (this.queue === null) this.up?.requestSent();
  }

  abort(): void {
    const up = this.up;
    this.up = null;
    this.queue = null;
    up?.destroy();
  }

  private flush(first?: Buffer): void {
    const up = this.up!;
    const q = this.queue ?? [];
    this.queue = null;
    if (first !== undefined) up.write(first);
    for (const b of q) up.write(b);
    if (this.requestDone) up.requestSent();
  }

  onUpstreamConnect(): void {
    if (this.up !== null) this.flush();
  }

  onUpstreamInfo(): void {}

  onUpstreamHead(_up: UpstreamConn, _head: ResponseHead): number {
    return BODY_RAW;
  }

  onUpstreamBody(): void {}

  /** The mirrored response is read and dropped. */
  holdsUpstreamBytes(): boolean {
    return false;
  }

  onUpstreamEnd(up: UpstreamConn): void {
    this.up = null;
    if (this.requestDone) this.pool.release(up);
    else up.destroy();
  }

  onUpstreamError(): void {
    this.up = null;
  }

  onUpstreamDrain(): void {}
}
