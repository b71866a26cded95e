// The response head sent to the client (pure). An HTTP/1.1 upstream head
// without hop-by-hop fields is forwarded byte for byte when the proxy has
// nothing to add; otherwise it is rebuilt: status line, received fields minus
// hop-by-hop ones (and framing fields when the body is re-framed), then
// framing, Connection and middleware edits.

import { FIELD_STRIDE, HeaderKind, KIND, NAME_END, NAME_START, VALUE_END, VALUE_START, equalsLower } from '../http1/header-fields.ts';
import type { ResponseHead } from '../http1/response-head.ts';
import type { HeaderEdits } from './header-edits.ts';
import { assembleHead, keepLine, namedIn } from './kept-lines.ts';

const HOP_BY_HOP = new Uint8Array(16);
for (const k of [HeaderKind.CONNECTION, HeaderKind.KEEP_ALIVE, HeaderKind.PROXY_CONNECTION, HeaderKind.TE, HeaderKind.TRAILER, HeaderKind.UPGRADE]) {
  HOP_BY_HOP[k] = 1;
}

/**
 * Can the received head bytes go to an HTTP/1.1 keep-alive client unchanged?
 * No hop-by-hop field may pass, except a Connection field that says exactly
 * "keep-alive": that is the option the proxy itself sends on this connection
 * (RFC 9110 §7.6.1 lets an intermediary replace Connection with its own), and
 * most upstreams (nginx, Node) send it.
 */
export function canPassResponseHead(head: ResponseHead): boolean {
  if (head.versionMinor !== 1 || head.connectionOptions.length > 0 || !head.keepAlive) return false;
  const h = head.headers;
  const f = h.fields;
  for (let o = 0, i = 0; i < h.count; i++, o += FIELD_STRIDE) {
    const k = f[o + KIND]!;
    if (HOP_BY_HOP[k] !== 1) continue;
    if (k !== HeaderKind.CONNECTION) return false;
    const vs = f[o + VALUE_START]!;
    if (f[o + VALUE_END]! - vs !== 10 || !equalsLower(h.buf, vs, 'keep-alive')) return false;
  }
  return true;
}

/**
 * How the body goes to the client:
 * - 'asis': as received (Content-Length or chunked lines kept);
 * - 'chunked': re-framed chunked (close-delimited upstream, or a body transform);
 * - 'close': no framing field, the connection closes after the body (HTTP/1.0 client).
 */
export type ClientFraming = 'asis' | 'chunked' | 'close';

export interface ResponseHeadOptions {
  readonly framing: ClientFraming;
  /** Connection field to send, or undefined for none. */
  readonly connection: 'close' | 'keep-alive' | 'upgrade' | undefined;
  readonly edits: HeaderEdits | undefined;
}

const STATUS_LINE_200 = 'HTTP/1.1 200 OK\r\n';

export function buildResponseHead(head: ResponseHead, opts: ResponseHeadOptions): Buffer {
  const h = head.headers;
  const f = h.fields;
  const options = head.connectionOptions;
  const edits = opts.edits;
  const reframe = opts.framing !== 'asis';
  const upgrade = opts.connection === 'upgrade';
  let tail = '';
  if (opts.framing === 'chunked') tail += 'Transfer-Encoding: chunked\r\n';
  if (opts.connection !== undefined) tail += `Connection: ${opts.connection}\r\n`;
  if (edits !== undefined) tail += edits.lines();
  tail += '\r\n';
  const first = head.status === 200 && head.reason === 'OK' ? STATUS_LINE_200 : `HTTP/1.1 ${head.status} ${head.reason}\r\n`;

  const runs: number[] = [];
  let size = first.length + tail.length;
  for (let i = 0, o = 0; i < h.count; i++, o += FIELD_STRIDE) {
    const k = f[o + KIND]!;
    if (k !== HeaderKind.OTHER) {
      if (k === HeaderKind.UPGRADE) {
        if (!upgrade) continue;
      } else if (HOP_BY_HOP[k] === 1) {
        continue;
      } else if (reframe && (k === HeaderKind.CONTENT_LENGTH || k === HeaderKind.TRANSFER_ENCODING)) {
        continue;
      }
    }
    const ns = f[o + NAME_START]!;
    const ne = f[o + NAME_END]!;
    if (options.length > 0 && namedIn(h.buf, ns, ne, options)) continue;
    if (edits !== undefined && edits.drops(h.buf, ns, ne)) continue;
    size += keepLine(runs, h.lineStart(i), h.lineEnd(i));
  }
  return assembleHead(h.buf, runs, size, first, tail);
}

/**
 * Response fields for an HTTP/2 client (node:http2 compat writeHead): lowercase
 * names, hop-by-hop and HTTP/1 framing fields removed (RFC 9113 §8.2.2).
 */
export function responseFieldsForH2(head: ResponseHead, edits: HeaderEdits | undefined): Record<string, string | string[]> {
  const h = head.headers;
  const options = head.connectionOptions;
  const out: Record<string, string | string[]> = {};
  for (let i = 0; i < h.count; i++) {
    const k = h.kind(i);
    if (k !== HeaderKind.OTHER && (HOP_BY_HOP[k] === 1 || k === HeaderKind.TRANSFER_ENCODING)) continue;
    const name = h.name(i).toLowerCase();
    if (options.includes(name) || (edits !== undefined && edits.isRemoved(name))) continue;
    push(out, name, h.value(i));
  }
  if (edits !== undefined) for (const [n, v] of edits.added) push(out, n.toLowerCase(), v);
  return out;
}

function push(out: Record<string, string | string[]>, name: string, value: string): void {
  const prev = out[name];
  if (prev === undefined) out[name] = value;
  else if (Array.isArray(prev)) prev.push(value);
  else out[name] = [prev, value];
}
