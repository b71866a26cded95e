// One gRPC-Web call from an HTTP/1.1 client, bridged to a stream of the
// backend's HTTP/2 session: the request body (base64-decoded for -text) goes
// into the stream; the answer comes back as events for the connection to
// write in HTTP/1.1 (head, body bytes already gRPC-Web encoded, end with the
// trailers frame). The HTTP/2 client side of H2Request does the same inline;
// this is the HTTP/1.1 connection's, which has no stream objects of its own.

import type { ClientHttp2Session, ClientHttp2Stream, IncomingHttpHeaders, IncomingHttpStatusHeader, OutgoingHttpHeaders } from 'node:http2';
import { http2 } from '../../common/builtins.ts';
import { Base64Decoder, Base64Encoder, toGrpcWebContentType, trailerFrame, type GrpcWebMode } from './grpc-web-codec.ts';

export interface GrpcWebEvents {
  /** The answer's head (content type already gRPC-Web); `ended`: a trailers-only answer, nothing follows. */
  head(status: number, fields: Record<string, string | string[]>, ended: boolean): void;
  /** Encoded body bytes for the client. */
  body(bytes: Buffer): void;
  /** The last bytes (the trailers frame) were given to body(). */
  end(): void;
  /** The backend's stream failed; `timeout` when no byte came within the read timeout. */
  failed(err: Error | undefined, timeout: boolean, rstCode: number | undefined): void;
}

/** Response fields never relayed (connection-specific). */
const NOT_RELAYED = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'content-length']);

function relayed(h: IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined && k.charCodeAt(0) !== 0x3a && !NOT_RELAYED.has(k)) out[k] = v;
  return out;
}

export class GrpcWebCall {
  readonly #stream: ClientHttp2Stream;
  readonly #decoder: Base64Decoder | undefined;
  #done = false;

  constructor(session: ClientHttp2Session, fields: OutgoingHttpHeaders, mode: GrpcWebMode, readMs: number, events: GrpcWebEvents) {
    this.#decoder = mode === 'text' ? new Base64Decoder() : undefined;
    const encoder = mode === 'text' ? new Base64Encoder() : undefined;
    const stream = session.request(fields);
    this.#stream = stream;
    let trailers: IncomingHttpHeaders | undefined;
    const fail = (err: Error | undefined, timeout: boolean): void => {
      if (this.#done) return;
      this.#done = true;
      events.failed(err, timeout, stream.rstCode);
    };
    stream.setTimeout(readMs, () => {
      fail(undefined, true);
      this.cancel();
    });
    stream.on('response', (h: IncomingHttpHeaders & IncomingHttpStatusHeader, flags: number) => {
      if (this.#done) return;
      const fieldsOut = relayed(h);
      const ct = fieldsOut['content-type'];
      fieldsOut['content-type'] = toGrpcWebContentType(typeof ct === 'string' ? ct : undefined, mode);
      const ended = (flags & http2().constants.NGHTTP2_FLAG_END_STREAM) !== 0;
      if (ended) this.#done = true;
      events.head(h[':status'] ?? 502, fieldsOut, ended);
    });
    stream.on('data', (chunk: Buffer) => {
      if (this.#done) return;
      events.body(encoder !== undefined ? Buffer.from(encoder.push(chunk), 'latin1') : chunk);
    });
    stream.on('trailers', (h: IncomingHttpHeaders) => (trailers = h));
    stream.on('end', () => {
      if (this.#done) return;
      this.#done = true;
      const frame = trailers !== undefined ? trailerFrame(relayed(trailers)) : Buffer.alloc(0);
      const out = encoder !== undefined ? Buffer.from(encoder.push(frame) + encoder.end(), 'latin1') : frame;
      if (out.length > 0) events.body(out);
      events.end();
    });
    stream.on('error', (err: Error) => fail(err, false));
    stream.on('close', () => fail(undefined, false));
  }

  /** Request body bytes as received; false when a -text body is not base64. */
  write(bytes: Buffer): boolean {
    const out = this.#decoder !== undefined ? this.#decoder.push(bytes) : bytes;
    if (out === undefined) return false;
    if (out.length > 0 && !this.#stream.closed) this.#stream.write(out);
    return true;
  }

  /** The request body is complete; false when a -text body ended inside a base64 quantum. */
  endRequest(): boolean {
    if (this.#decoder !== undefined && !this.#decoder.end()) return false;
    if (!this.#stream.closed) this.#stream.end();
    return true;
  }

  /** The client is not taking bytes as fast as the backend sends them: stop reading its stream (HTTP/2 flow control holds the backend). */
  pause(): void {
    this.#stream.pause();
  }

  resume(): void {
    this.#stream.resume();
  }

  /** Stops the call (the client went away, or the connection gave up): the backend sees a cancel. */
  cancel(): void {
    this.#done = true;
    if (!this.#stream.closed) this.#stream.close(http2().constants.NGHTTP2_CANCEL);
  }
}
