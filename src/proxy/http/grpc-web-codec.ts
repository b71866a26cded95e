// gRPC-Web <-> gRPC, the byte-level part (the protocol as grpc/grpc's
// PROTOCOL-WEB.md describes it): content types mapped both ways, the
// trailers sent as a last length-prefixed frame whose flag byte is 0x80 and
// whose payload is the trailers as HTTP/1 field lines, and the `-text`
// variant's base64 in both directions, streamed (a chunk boundary may fall
// inside a base64 quantum). Pure: no I/O; the engine calls it around an
// HTTP/2 stream to the backend (h2-request.ts).

export type GrpcWebMode = 'binary' | 'text';

/** The mode of a gRPC-Web request by its content type, or undefined when it is not one. */
export function grpcWebMode(contentType: string | undefined): GrpcWebMode | undefined {
  if (contentType === undefined) return undefined;
  const ct = contentType.trim().toLowerCase();
  if (ct.startsWith('application/grpc-web-text')) return 'text';
  if (ct.startsWith('application/grpc-web')) return 'binary';
  return undefined;
}

/** application/grpc-web(-text)[+fmt] -> application/grpc[+fmt], for the backend. */
export function toGrpcContentType(contentType: string): string {
  return contentType.trim().replace(/^application\/grpc-web(-text)?/i, 'application/grpc');
}

/** application/grpc[+fmt] -> the gRPC-Web type of the request's mode, for the client. */
export function toGrpcWebContentType(contentType: string | undefined, mode: GrpcWebMode): string {
  const web = mode === 'text' ? 'application/grpc-web-text' : 'application/grpc-web';
  if (contentType === undefined) return web;
  const m = /^application\/grpc(\+[A-Za-z0-9.\-]+)?$/i.exec(contentType.trim());
  return m === null ? web : `${web}${m[1] ?? ''}`;
}

/** The trailers frame: 0x80, the payload length (big-endian uint32), `name: value\r\n` lines with lowercase names. */
export function trailerFrame(trailers: Readonly<Record<string, string | readonly string[] | undefined>>): Buffer {
  let text = '';
  for (const [name, value] of Object.entries(trailers)) {
    if (value === undefined || name.startsWith(':')) continue;
    for (const v of typeof value === 'string' ? [value] : value) text += `${name.toLowerCase()}: ${v}\r\n`;
  }
  const payload = Buffer.from(text, 'latin1');
  const head = Buffer.allocUnsafe(5);
  head[0] = 0x80;
  head.writeUInt32BE(payload.length, 1);
  return Buffer.concat([head, payload]);
}

/** Streamed base64 encoding: whole 3-byte groups now, the rest at the end (with padding). */
export class Base64Encoder {
  #carry: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): string {
    const all = this.#carry.length === 0 ? chunk : Buffer.concat([this.#carry, chunk]);
    const whole = all.length - (all.length % 3);
    this.#carry = Buffer.from(all.subarray(whole));
    return all.subarray(0, whole).toString('base64');
  }

  end(): string {
    const out = this.#carry.toString('base64');
    this.#carry = Buffer.alloc(0);
    return out;
  }
}

/**
 * Streamed base64 decoding of a gRPC-Web-text body: whole 4-character
 * quanta now, the rest with the next chunk. Clients may send several padded
 * segments back to back (one per message), so padding may end any quantum.
 * Anything but the base64 alphabet is an error.
 */
export class Base64Decoder {
  #carry = '';

  /** The decoded bytes, or undefined when the input is not base64. */
  push(chunk: Buffer): Buffer | undefined {
    const text = this.#carry + chunk.toString('latin1');
    if (!/^[A-Za-z0-9+/=]*$/.test(text)) return undefined;
    const whole = text.length - (text.length % 4);
    this.#carry = text.slice(whole);
    return decodeQuanta(text.slice(0, whole));
  }

  /** True when the body ended on a quantum boundary. */
  end(): boolean {
    return this.#carry === '';
  }
}

/** Quanta that may each carry padding (segments back to back); undefined when a padding sits inside a quantum. */
function decodeQuanta(text: string): Buffer | undefined {
  if (!text.includes('=')) return Buffer.from(text, 'base64');
  const parts: Buffer[] = [];
  for (let i = 0; i < text.length; i += 4) {
    const q = text.slice(i, i + 4);
    if (!/^[A-Za-z0-9+/]{2}([A-Za-z0-9+/]{2}|[A-Za-z0-9+/]=|==)$/.test(q)) return undefined;
    parts.push(Buffer.from(q, 'base64'));
  }
  return Buffer.concat(parts);
}
