// One HTTP/2 request (node:http2 compatibility API), proxied to an HTTP/1.1
// upstream through the same pool, routing and middlewares as HTTP/1, or to
// an HTTP/2 (gRPC) backend as a stream of a shared session (h2-upstream.ts):
// body, trailers and resets carried both ways, the upstream stream
// cancelled when the client's goes (a gRPC deadline). Not the measured hot
// path: it allocates per request and uses the stream API.

import { boundConnect } from './h2-upstream.ts';
import type { ClientHttp2Stream, IncomingHttpHeaders, IncomingHttpStatusHeader, Http2ServerRequest, Http2ServerResponse, OutgoingHttpHeaders } from 'node:http2';
import { http2 } from '../../common/builtins.ts';
import { TLSSocket } from 'node:tls';
import type { ResponseHead } from '../http1/response-head.ts';
import { responseBodyKind } from '../http1/response-head.ts';
import { assertValidField } from '../http1/forward-headers.ts';
import { H2_NOT_FORWARDED, pushField, pushLines } from './h2-fields.ts';
import { Base64Decoder, Base64Encoder, grpcWebMode, toGrpcContentType, toGrpcWebContentType, trailerFrame, type GrpcWebMode } from './grpc-web-codec.ts';
import { plainIp } from './plain-ip.ts';
import { ProxyRequest, type EntrypointCore } from './proxy-request.ts';
import { needsNormalizing, normalizePath, queryStart } from './request-path.ts';
import { responseFieldsForH2 } from './response-head-out.ts';
import type { Backend, Endpoint, SimpleResponse } from './types.ts';
import type { ResponseEdit } from './response-edit.ts';
import { forwardingFields, type ForwardingIdentity } from './upstream-head.ts';
import { BODY_DECODED, type UpstreamConn } from './upstream.ts';

/** Response fields and trailers never relayed (connection-specific in HTTP/2, RFC 9113 §8.2.2). */
const NOT_RELAYED = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade']);

/** Received fields without pseudo-headers and connection-specific ones. */
function relayed(h: IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined && k.charCodeAt(0) !== 0x3a && !NOT_RELAYED.has(k)) out[k] = v;
  return out;
}

const LAST_CHUNK = Buffer.from('0\r\n\r\n', 'latin1');
const NO_BODY = Buffer.alloc(0);
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
  /** The stream to an HTTP/2 backend, while it is open. */
  private h2Up: ClientHttp2Stream | null = null;
  /** Set when this request is gRPC-Web bridged to the HTTP/2 backend (grpc-web-codec.ts). */
  private grpcWeb: GrpcWebMode | undefined;
  /** readBody is taking the body off the stream. */
  private readingAhead = false;
  /** The whole body readBody took off the stream: forwarded from here. */
  private bodyAhead: Buffer | null = null;

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
    // A middleware waiting on readBody needs the bytes to keep coming.
    if (!this.readingAhead) this.req.pause();
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
    return this.bodyless || this.bodyAhead !== null;
  }

  protected rewind(): void {
    // A body read ahead is sent again whole: counted afresh.
    this.bodyBytes = 0;
  }

  readBody(maxBytes: number): Promise<Buffer | undefined> {
    if (this.bodyless) return Promise.resolve(NO_BODY);
    const done = this.bodyAhead;
    if (done !== null) return Promise.resolve(done.length > maxBytes ? undefined : done);
    if (this.listening || this.readingAhead) return Promise.reject(new Error('the request body is read ahead only once, before the request is forwarded'));
    const routeMax = this.maxBodyBytes();
    const tooLarge = (): void => this.answerError(413, `payload too large: the request body is larger than ${routeMax} bytes`, 'body-too-large');
    if (routeMax > 0 && this.contentLength > routeMax) {
      tooLarge();
      return Promise.reject(new Error('request body over the route limit'));
    }
    if (this.contentLength > maxBytes) return Promise.resolve(undefined);
    const limit = routeMax > 0 ? Math.min(routeMax, maxBytes) : maxBytes;
    const req = this.req;
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const stop = (): void => {
        req.off('data', onData);
        req.off('end', onEnd);
        this.readingAhead = false;
        req.pause();
      };
      const onData = (c: Buffer): void => {
        size += c.length;
        if (size <= limit) {
          chunks.push(c);
          return;
        }
        stop();
        if (routeMax > 0 && size > routeMax) {
          reject(new Error('request body over the route limit'));
          tooLarge();
        } else {
          resolve(undefined);
        }
      };
      const onEnd = (): void => {
        stop();
        resolve((this.bodyAhead = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)));
      };
      this.readingAhead = true;
      req.on('data', onData);
      req.on('end', onEnd);
      req.resume();
    });
  }

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
      if (H2_NOT_FORWARDED.has(lower) || (edits !== undefined && edits.isRemoved(lower))) continue;
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
    const ahead = this.bodyAhead;
    if (ahead !== null) {
      if (ahead.length > 0) this.onBody(ahead);
      this.onBodyEnd();
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

  protected override dispatchHttp2(ep: Endpoint): void {
    const b = this.backend!;
    const t = this.upstream;
    this.grpcWeb = this.grpcWebRoute ? grpcWebMode(this.header('content-type')) : undefined;
    const web = this.grpcWeb;
    const decoder = web === 'text' ? new Base64Decoder() : undefined;
    const encoder = web === 'text' ? new Base64Encoder() : undefined;
    let stream: ClientHttp2Stream;
    try {
      const session = this.core.h2Upstream.session(ep, b);
      boundConnect(session, t.connectMs);
      stream = session.request(this.h2UpstreamFields(b), { endStream: this.bodyless });
    } catch (e) {
      this.answerError(502, 'bad gateway: could not open a stream to the upstream', 'connect-failed');
      this.core.log.debug({ err: (e as Error).message, backend: b.name }, 'HTTP/2 upstream stream failed');
      return;
    }
    this.h2Up = stream;
    let trailers: IncomingHttpHeaders | undefined;
    // nginx's grpc_read_timeout: the longest wait between two reads from the backend.
    stream.setTimeout(t.readMs, () => {
      if (this.h2Up !== stream) return;
      this.failure ??= 'read-timeout';
      if (!this.responseStarted) this.answerError(504, 'gateway timeout: the upstream did not answer in time', 'read-timeout');
      else this.cutClient();
      this.cancelH2Up();
    });
    stream.on('response', (h: IncomingHttpHeaders & IncomingHttpStatusHeader, flags: number) => this.onH2Response(h, (flags & http2().constants.NGHTTP2_FLAG_END_STREAM) !== 0));
    stream.on('data', (chunk: Buffer) => {
      if (this.finished) return;
      const out = encoder !== undefined ? Buffer.from(encoder.push(chunk), 'latin1') : chunk;
      if (this.overResponseBudget(out.length)) {
        this.cutClient();
        return;
      }
      this.bytesOut += out.length;
      if (!this.res.write(out)) {
        stream.pause();
        this.res.once('drain', () => stream.resume());
      }
    });
    stream.on('trailers', (h: IncomingHttpHeaders) => (trailers = h));
    stream.on('end', () => {
      if (this.h2Up !== stream || this.finished) return;
      this.h2Up = null;
      if (web !== undefined) {
        // gRPC-Web: the trailers travel as the body's last frame.
        const frame = trailers !== undefined ? trailerFrame(relayed(trailers)) : Buffer.alloc(0);
        const out = encoder !== undefined ? Buffer.from(encoder.push(frame) + encoder.end(), 'latin1') : frame;
        this.bytesOut += out.length;
        if (out.length > 0) this.res.write(out);
      } else if (trailers !== undefined) this.res.addTrailers(relayed(trailers));
      this.end();
    });
    stream.on('error', (err: Error) => this.h2UpFailed(stream, err));
    stream.on('close', () => this.h2UpFailed(stream, undefined));
    if (!this.bodyless) {
      const req = this.req;
      const onData = (received: Buffer): void => {
        this.bodyBytes += received.length;
        const max = this.maxBodyBytes();
        if (max > 0 && this.bodyBytes > max) {
          if (!this.responseStarted) this.answerError(413, `payload too large: the request body is larger than ${max} bytes`, 'body-too-large');
          else this.cutClient();
          this.cancelH2Up();
          return;
        }
        const chunk = decoder !== undefined ? decoder.push(received) : received;
        if (chunk === undefined) {
          if (!this.responseStarted) this.answerError(400, 'bad request: a grpc-web-text body that is not base64', 'bad-body');
          else this.cutClient();
          this.cancelH2Up();
          return;
        }
        if (!stream.write(chunk)) {
          req.pause();
          stream.once('drain', () => req.resume());
        }
      };
      const onEnd = (): void => {
        this.reqDone = true;
        if (decoder !== undefined && !decoder.end()) {
          if (!this.responseStarted) this.answerError(400, 'bad request: a grpc-web-text body that ends inside a base64 quantum', 'bad-body');
          this.cancelH2Up();
          return;
        }
        if (!stream.closed) stream.end();
      };
      const ahead = this.bodyAhead;
      if (ahead !== null) {
        if (ahead.length > 0) onData(ahead);
        if (this.h2Up === stream) onEnd();
        return;
      }
      req.on('data', onData);
      req.on('end', onEnd);
      this.listening = true;
      req.resume();
    }
  }

  /** The request's fields for the HTTP/2 backend: as received (te only as "trailers"), forwarding fields, edits. */
  private h2UpstreamFields(b: Backend): OutgoingHttpHeaders {
    const out: Record<string, string | string[]> = {
      ':method': this.method,
      ':scheme': b.protocol === 'h2' ? 'https' : 'http',
      ':authority': this.upstreamHost,
      ':path': this.upstreamTarget,
    };
    const raw = this.req.rawHeaders;
    const edits = this.edits;
    const underscores = this.core.underscoresInHeaders;
    for (let i = 0; i + 1 < raw.length; i += 2) {
      const name = raw[i]!;
      if (name.charCodeAt(0) === 0x3a) continue;
      const lower = name.toLowerCase();
      const value = raw[i + 1]!;
      // RFC 9113 §8.2.2: te may only say "trailers" (gRPC requires it).
      if (lower === 'te') {
        if (/(^|,)\s*trailers\s*(;|,|$)/i.test(value)) out.te = 'trailers';
        continue;
      }
      if (H2_NOT_FORWARDED.has(lower) || (edits !== undefined && edits.isRemoved(lower))) continue;
      if (!underscores && lower.includes('_')) continue;
      assertValidField(name, value);
      pushField(out, lower, value);
    }
    if (!this.bodyless && this.contentLength >= 0 && this.grpcWeb !== 'text') out['content-length'] = String(this.contentLength);
    pushLines(out, forwardingFields(this.identity, this.host, ''));
    if (edits !== undefined) pushLines(out, edits.lines());
    if (this.grpcWeb !== undefined) {
      // gRPC to the backend: its content type, and te: trailers (gRPC servers require it).
      const ct = out['content-type'];
      out['content-type'] = toGrpcContentType(typeof ct === 'string' ? ct : 'application/grpc-web');
      out.te = 'trailers';
    }
    return out;
  }

  private onH2Response(h: IncomingHttpHeaders & IncomingHttpStatusHeader, endStream: boolean): void {
    if (this.finished) return;
    // The route's response limit (Traefik buffering), as for HTTP/1.1 backends: a
    // larger declared length is 500, an undeclared one is counted as it streams.
    const declared = h['content-length'] === undefined ? -1 : Number(h['content-length']);
    if (this.responseLimit !== 0 && declared > this.responseLimit) {
      this.cancelH2Up();
      this.answerError(500, 'internal server error: the response is larger than this route allows', 'response-too-large');
      return;
    }
    this.budgetResponse(declared >= 0 && this.grpcWeb !== 'text' ? 'length' : 'close');
    const status = h[':status'] ?? 502;
    const fields = relayed(h);
    if (this.grpcWeb !== undefined) {
      const ct = fields['content-type'];
      fields['content-type'] = toGrpcWebContentType(typeof ct === 'string' ? ct : undefined, this.grpcWeb);
      // -text changes the length; the trailers frame is added to the body either way.
      delete fields['content-length'];
    }
    const edit = this.mwRan > 0 ? this.responseHooksOver(status, !endStream, (lower: string) => h[lower]) : undefined;
    const edits = edit?.edits;
    if (edits !== undefined) {
      for (const name of Object.keys(fields)) if (edits.isRemoved(name)) delete fields[name];
      for (const [n, v] of edits.added) pushField(fields, n.toLowerCase(), v);
    }
    this.status = status;
    this.responseStarted = true;
    if (endStream) {
      // Trailers-only (a gRPC error without messages): one HEADERS frame that ends the stream, as received.
      this.h2Up = null;
      this.finished = true;
      if (!this.res.stream.destroyed) this.res.stream.respond({ ':status': status, ...fields }, { endStream: true });
      this.complete();
      return;
    }
    this.res.writeHead(status, fields);
  }

  /** The backend's stream failed or closed before its end. */
  private h2UpFailed(stream: ClientHttp2Stream, err: Error | undefined): void {
    if (this.h2Up !== stream || this.finished) return;
    this.h2Up = null;
    if (this.responseStarted) {
      this.failure ??= 'reset-mid-response';
      this.cutClient();
      return;
    }
    const code = stream.rstCode;
    const refused = err !== undefined && /ECONNREFUSED/.test(err.message);
    if (refused) this.answerError(502, 'bad gateway: the upstream refused the connection', 'connect-refused');
    else if (err !== undefined && /connect timeout/.test(err.message)) this.answerError(504, 'gateway timeout: could not connect to the upstream in time', 'connect-timeout');
    else this.answerError(502, `bad gateway: the upstream ${err !== undefined ? 'failed' : 'reset the stream'}${code !== undefined && code !== 0 ? ` (code ${code})` : ''}`, 'reset-before-response');
    if (err !== undefined) this.core.log.debug({ err: err.message, backend: this.backend?.name }, 'HTTP/2 upstream failed');
  }

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

  onUpstreamHead(up: UpstreamConn, head: ResponseHead, chunk: Buffer, _headStart: number, bodyStart: number): number {
    if (up.switched) {
      this.up = null;
      up.destroy();
      this.answerError(502, 'bad gateway: the upstream switched protocols on an HTTP/2 request', 'bad-response');
      return BODY_DECODED;
    }
    if (this.retriesOnStatus(head.status)) {
      this.up = null;
      up.destroy();
      this.retryAfter(up, 'status');
      return BODY_DECODED;
    }
    if (this.interceptsStatus(head.status)) {
      this.interceptError(up, head.status);
      return BODY_DECODED;
    }
    if (this.responseLimit !== 0 && this.responseTooLarge(up, head.contentLength)) return BODY_DECODED;
    const kind = responseBodyKind(head, this.method);
    const hasBody = kind === 'chunked' || kind === 'close' || (kind === 'length' && head.contentLength > 0);
    const edit = this.mwRan > 0 ? this.responseHooks(head, hasBody, chunk, bodyStart, kind === 'chunked') : undefined;
    this.budgetResponse(kind);
    this.status = head.status;
    this.responseStarted = true;
    const late = hasBody && edit?.late !== undefined && edit.transform === undefined ? edit : undefined;
    if (late !== undefined) {
      // A field from the first body read: the head goes out with it.
      this.pendLate = { head, edit: late };
      return BODY_DECODED;
    }
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
  /** A response head whose last field comes from the first body read (setHeaderFromFirstBody). */
  private pendLate: { head: ResponseHead; edit: ResponseEdit } | null = null;

  /** The head waiting for the first body read, its late field set from `first` (empty: left out). */
  private writeLateHead(first: Uint8Array): void {
    const p = this.pendLate!;
    this.pendLate = null;
    this.res.writeHead(p.head.status, responseFieldsForH2(p.head, p.edit.settleLate(first)));
  }

  onUpstreamBody(up: UpstreamConn, chunk: Buffer, start: number, end: number): void {
    if (start === end || this.finished) return;
    if (this.overResponseBudget(end - start)) {
      this.cutClient();
      return;
    }
    const slice = chunk.subarray(start, end);
    if (this.pendLate !== null) this.writeLateHead(slice);
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
    if (this.pendLate !== null) this.writeLateHead(new Uint8Array(0));
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
    this.cancelH2Up();
    if (!this.res.stream.destroyed) this.res.stream.close(http2().constants.NGHTTP2_INTERNAL_ERROR);
    this.complete();
  }

  private cancelH2Up(): void {
    const s = this.h2Up;
    if (s === null) return;
    this.h2Up = null;
    if (!s.closed) s.close(http2().constants.NGHTTP2_CANCEL);
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
    // The client went (a gRPC deadline, a cancel): so does the backend's stream.
    this.cancelH2Up();
    if (!this.responseStarted) this.status = 499;
    this.failure ??= 'client-closed';
    this.complete();
  };
}
