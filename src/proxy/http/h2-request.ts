// One HTTP/2 request (node:http2 compatibility API), proxied to an HTTP/1.1
// upstream through the same pool, routing and middlewares as HTTP/1. Not the
// measured hot path: it allocates per request and uses the stream API.

import { constants as h2c, type Http2ServerRequest, type Http2ServerResponse } from 'node:http2';
import { TLSSocket } from 'node:tls';
import type { ResponseHead } from '../http1/response-head.ts';
import { responseBodyKind } from '../http1/response-head.ts';
import { assertValidField } from '../http1/forward-headers.ts';
import { plainIp } from './h1-connection.ts';
import { ProxyRequest, type EntrypointCore } from './proxy-request.ts';
import { needsNormalizing, normalizePath, queryStart } from './request-path.ts';
import { responseFieldsForH2 } from './response-head-out.ts';
import type { SimpleResponse } from './types.ts';
import { forwardingFields, type ForwardingIdentity } from './upstream-head.ts';
import { BODY_DECODED, type UpstreamConn } from './upstream.ts';

/** Request fields never forwarded from HTTP/2 (connection-specific, or set by us). */
const NOT_FORWARDED = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'transfer-encoding',
  'upgrade',
  'host',
  'content-length',
  'expect',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-forwarded-port',
  'x-real-ip',
  'http2-settings',
]);

const LAST_CHUNK = Buffer.from('0\r\n\r\n', 'latin1');
const CRLF = Buffer.from('\r\n', 'latin1');

export class H2Request extends ProxyRequest {
  private readonly req: Http2ServerRequest;
  private readonly res: Http2ServerResponse;
  private readonly identity: ForwardingIdentity;
  private record: Record<string, string | string[]> | undefined;
  /** -1: unknown (chunked upstream), else the declared length. */
  private contentLength = -1;
  private bodyless = false;
  private reqDone = false;
  private bodyBytes = 0;
  private chunkedUp = false;
  private finished = false;
  private listening = false;

  constructor(core: EntrypointCore, req: Http2ServerRequest, res: Http2ServerResponse, localPort: number) {
    const ip = plainIp(req.socket?.remoteAddress);
    super(core, ip, true, localPort);
    this.req = req;
    this.res = res;
    this.identity = { clientIp: ip, proto: 'https', port: localPort, forwardedFor: core.forwardedFor };
    res.stream.on('close', this.onStreamClose);
  }

  protected clientTls(): TLSSocket | undefined {
    const s = this.req.socket as unknown;
    return s instanceof TLSSocket ? s : undefined;
  }

  start(): void {
    const req = this.req;
    this.method = req.method;
    this.host = (req.headers[':authority'] as string | undefined) ?? (req.headers.host as string | undefined) ?? '';
    const target = req.url;
    this.rawTarget = target;
    // RFC 9113 §8.3.1: Host may stand beside :authority only with the same
    // value; two names for the target would be routed by one and read by the
    // backend as the other (nginx answers 400 too).
    const authority = req.headers[':authority'] as string | undefined;
    const hostField = req.headers.host as string | undefined;
    if (authority !== undefined && hostField !== undefined && authority.toLowerCase() !== hostField.toLowerCase()) {
      this.t0 = performance.now();
      this.core.inFlight++;
      this.answerError(400, 'bad request: the host field differs from :authority', 'bad-host');
      return;
    }
    const cl = req.headers['content-length'];
    if (cl !== undefined) this.contentLength = Number(cl);
    this.bodyless = this.contentLength === 0 || req.stream.endAfterHeaders || req.readableEnded;
    this.reqDone = this.bodyless;
    const q = queryStart(target);
    this.query = q === target.length ? '' : target.slice(q + 1);
    let path = q === target.length ? target : target.slice(0, q);
    if (needsNormalizing(path, path.length)) {
      const p = normalizePath(path, path.length);
      if (p === null) {
        this.t0 = performance.now();
        this.core.inFlight++;
        this.answerError(400, 'bad request: the path decodes to a control character', 'bad-path');
        return;
      }
      path = p;
    }
    this.path = path;
    this.startRouting();
  }

  get headers(): Record<string, string | string[]> {
    if (this.record !== undefined) return this.record;
    const rec: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(this.req.headers)) if (!k.startsWith(':') && v !== undefined) rec[k] = v;
    return (this.record = rec);
  }

  protected receivedValues(lower: string): string[] {
    const v = this.req.headers[lower];
    return v === undefined ? [] : Array.isArray(v) ? v : [v];
  }

  protected receivedTarget(): string {
    return this.req.url;
  }

  protected pauseClient(): void {
    this.req.pause();
  }

  protected resumeClient(): void {
    if (this.listening) this.req.resume();
  }

  protected bodyTooLarge(max: number): boolean {
    if (this.contentLength <= max) return false;
    this.answerError(413, `payload too large: the request body is larger than ${max} bytes`, 'body-too-large');
    return true;
  }

  protected replayable(): boolean {
    return this.bodyless;
  }

  protected rewind(): void {}

  protected sendRequest(up: UpstreamConn): void {
    const req = this.req;
    let head = `${this.method} ${this.upstreamTarget} HTTP/1.1\r\nHost: ${this.upstreamHost}\r\n`;
    const raw = req.rawHeaders;
    const edits = this.edits;
    const underscores = this.core.underscoresInHeaders;
    let cookie = '';
    for (let i = 0; i + 1 < raw.length; i += 2) {
      const name = raw[i]!;
      if (name.charCodeAt(0) === 0x3a) continue; // pseudo-header
      const lower = name.toLowerCase();
      if (NOT_FORWARDED.has(lower) || (edits !== undefined && edits.isRemoved(lower))) continue;
      if (!underscores && lower.includes('_')) continue; // as HTTP/1.1: see upstream-head.ts
      const value = raw[i + 1]!;
      assertValidField(name, value);
      // RFC 9113 §8.2.3: cookie crumbs are joined with "; " into one field for HTTP/1.1.
      if (lower === 'cookie') cookie = cookie === '' ? value : `${cookie}; ${value}`;
      else head += `${name}: ${value}\r\n`;
    }
    if (cookie !== '') head += `cookie: ${cookie}\r\n`;
    head += forwardingFields(this.identity, this.host, '');
    if (!this.bodyless) {
      if (this.contentLength >= 0) {
        head += `Content-Length: ${this.contentLength}\r\n`;
      } else {
        head += 'Transfer-Encoding: chunked\r\n';
        this.chunkedUp = true;
      }
    }
    if (edits !== undefined) head += edits.lines();
    head += '\r\n';
    const headBuf = Buffer.from(head, 'latin1');
    up.write(headBuf);
    if (this.mwRan > 0) this.startMirrors(headBuf);
    if (this.bodyless) {
      up.requestSent();
      if (this.mirrors !== null) this.mirrorEnd();
      return;
    }
    if (!this.listening) {
      this.listening = true;
      req.on('data', this.onBody);
      req.on('end', this.onBodyEnd);
    }
    req.resume();
  }

  private readonly onBody = (chunk: Buffer): void => {
    const up = this.up;
    this.bodyBytes += chunk.length;
    const max = this.maxBodyBytes();
    if (max > 0 && this.bodyBytes > max) {
      if (!this.responseStarted) this.answerError(413, `payload too large: the request body is larger than ${max} bytes`, 'body-too-large');
      else this.cutClient();
      return;
    }
    if (up === null) return;
    let ok: boolean;
    if (this.chunkedUp) {
      const size = Buffer.from(`${chunk.length.toString(16)}\r\n`, 'latin1');
      up.socket.cork();
      up.write(size);
      up.write(chunk);
      ok = up.write(CRLF);
      up.socket.uncork();
      if (this.mirrors !== null) {
        this.mirrorBody(size);
        this.mirrorBody(chunk);
        this.mirrorBody(CRLF);
      }
    } else {
      ok = up.write(chunk);
      if (this.mirrors !== null) this.mirrorBody(chunk);
    }
    if (!ok) {
      this.req.pause();
      up.waitingForDrain();
    }
  };

  private readonly onBodyEnd = (): void => {
    this.reqDone = true;
    const up = this.up;
    if (up === null) return;
    if (this.chunkedUp) up.write(LAST_CHUNK);
    up.requestSent();
    if (this.mirrors !== null) {
      if (this.chunkedUp) this.mirrorBody(LAST_CHUNK);
      this.mirrorEnd();
    }
  };

  /** An HTTP/2 stream keeps what it was given until its DATA frames are out. */
  holdsUpstreamBytes(): boolean {
    return true;
  }

  onUpstreamDrain(): void {
    if (!this.reqDone) this.req.resume();
  }

  onUpstreamInfo(): void {
    // 1xx are not relayed over HTTP/2 by this bridge.
  }

  onUpstreamHead(up: UpstreamConn, head: ResponseHead): number {
    if (up.switched) {
      this.up = null;
      up.destroy();
      this.answerError(502, 'bad gateway: the upstream switched protocols on an HTTP/2 request', 'bad-response');
      return BODY_DECODED;
    }
    if (head.status === 502 && this.retriesOn502()) {
      this.up = null;
      up.destroy();
      this.retryAfter(up, 'status-502');
      return BODY_DECODED;
    }
    const kind = responseBodyKind(head, this.method);
    const hasBody = kind === 'chunked' || kind === 'close' || (kind === 'length' && head.contentLength > 0);
    const edit = this.mwRan > 0 ? this.responseHooks(head, hasBody) : undefined;
    this.status = head.status;
    this.responseStarted = true;
    const fields = responseFieldsForH2(head, edit?.edits);
    if (edit?.transform !== undefined) {
      delete fields['content-length'];
      const t = edit.transform;
      this.res.writeHead(head.status, fields);
      t.on('data', (c: Buffer) => {
        if (!this.res.write(c)) t.pause();
      });
      this.res.on('drain', () => t.resume());
      t.on('end', () => this.end());
      t.on('error', () => this.cutClient());
      this.transform = t;
    } else {
      this.res.writeHead(head.status, fields);
    }
    return BODY_DECODED;
  }

  private transform: NodeJS.ReadWriteStream | undefined;

  onUpstreamBody(up: UpstreamConn, chunk: Buffer, start: number, end: number): void {
    if (start === end || this.finished) return;
    const slice = chunk.subarray(start, end);
    this.bytesOut += end - start;
    const t = this.transform;
    if (t !== undefined) {
      if (!t.write(slice)) {
        up.pauseForClient();
        t.once('drain', () => up.resumeForClient());
      }
      return;
    }
    if (!this.res.write(slice)) {
      up.pauseForClient();
      this.res.once('drain', () => up.resumeForClient());
    }
  }

  onUpstreamEnd(up: UpstreamConn): void {
    this.up = null;
    if (this.reqDone) this.core.pool.release(up);
    else up.destroy();
    if (this.transform !== undefined) {
      this.transform.end();
      return;
    }
    this.end();
  }

  private end(): void {
    if (this.finished) return;
    this.finished = true;
    this.res.end();
    this.complete();
  }

  protected writeSimple(res: SimpleResponse): void {
    if (this.finished) return;
    this.finished = true;
    const headers: Record<string, string> = {};
    for (const [n, v] of res.headers ?? []) headers[n.toLowerCase()] = v;
    const body = res.body === undefined ? undefined : typeof res.body === 'string' ? Buffer.from(res.body, 'utf8') : res.body;
    if (body !== undefined && headers['content-type'] === undefined && typeof res.body === 'string') headers['content-type'] = 'text/plain; charset=utf-8';
    if (body !== undefined && res.status !== 204 && res.status !== 304) headers['content-length'] = String(body.length);
    this.bytesOut += body?.length ?? 0;
    try {
      this.res.writeHead(res.status, headers);
      if (body !== undefined && this.method !== 'HEAD' && res.status !== 204 && res.status !== 304) this.res.end(body);
      else this.res.end();
    } catch (e) {
      this.core.log.debug({ err: e }, 'h2 simple response failed');
    }
    this.complete();
  }

  protected cutClient(): void {
    if (this.finished) return;
    this.finished = true;
    const up = this.up;
    if (up !== null) {
      this.up = null;
      up.destroy();
    }
    if (!this.res.stream.destroyed) this.res.stream.close(h2c.NGHTTP2_INTERNAL_ERROR);
    this.complete();
  }

  private readonly onStreamClose = (): void => {
    if (this.finished) return;
    this.finished = true;
    this.closed = true;
    const up = this.up;
    if (up !== null) {
      this.up = null;
      up.destroy();
    }
    if (!this.responseStarted) this.status = 499;
    this.failure ??= 'client-closed';
    this.complete();
  };
}
