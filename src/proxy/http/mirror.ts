// Traffic mirroring (Middleware.mirror): a copy of the request, head and body
// as they are sent to the real upstream, goes to a mirror backend; its answer
// is read and dropped and never delays the client. A mirror that cannot keep
// up (more than MAX_BUFFERED bytes waiting) is abandoned, not waited for.
// A copy may go to another request-target and Host, and without the body
// (ingress-nginx mirror-target, mirror-host, mirror-request-body: off).

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
  /** Whether the request body goes to the copy too. */
  private readonly body: boolean;

  private constructor(pool: UpstreamPool, up: UpstreamConn, body: boolean) {
    this.pool = pool;
    this.up = up;
    this.body = body;
  }

  /** Starts a copy on an endpoint of `backend`; undefined when it has none. `head` must frame no body when `body` is false. */
  static start(pool: UpstreamPool, backend: Backend, series: BackendSeries, clientIp: string, method: string, head: Buffer, t: UpstreamTimeouts, body = true): MirrorCopy | undefined {
    const ep = backend.pick(clientIp);
    if (ep === undefined) return undefined;
    let up = pool.acquire(ep, backend);
    const fresh = up === undefined;
    up ??= pool.connect(ep, backend, series, t.connectMs);
    const m = new MirrorCopy(pool, up, body);
    up.begin(m, method, t.readMs, t.sendMs);
    if (fresh) m.queue!.push(head);
    else m.flush(head);
    return m;
  }

  write(buf: Buffer): void {
    const up = this.up;
    if (up === null || buf.length === 0 || !this.body) return;
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

/** Fields that frame a request body: left out of a copy sent without it. */
const BODY_FRAMING = new Set(['content-length', 'transfer-encoding', 'expect']);

/**
 * An upstream request head (as the engine wrote it: request line, then one
 * field per CRLF line) sent to `target` with Host `host` (each when given),
 * and without the fields that frame a body when `body` is false. Pure.
 */
export function retargetRequestHead(head: Buffer, target: string | undefined, host: string | undefined, body: boolean): Buffer {
  const text = head.toString('latin1');
  const lines = text.split('\r\n');
  const [method, oldTarget, version] = lines[0]!.split(' ') as [string, string, string];
  const out = [`${method} ${target ?? oldTarget} ${version}`];
  if (host !== undefined) out.push(`host: ${host}`);
  for (const line of lines.slice(1)) {
    if (line === '') continue;
    const name = line.slice(0, line.indexOf(':')).toLowerCase();
    if ((host !== undefined && name === 'host') || (!body && BODY_FRAMING.has(name))) continue;
    out.push(line);
  }
  return Buffer.from(`${out.join('\r\n')}\r\n\r\n`, 'latin1');
}
