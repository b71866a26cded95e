// Responses the proxy writes itself (errors, redirects, middleware answers),
// serialized in one buffer (pure, apart from the cached Date).

import { http } from '../../common/builtins.ts';
import { assertValidField } from '../http1/forward-headers.ts';
import type { SimpleResponse } from './types.ts';

let dateSecond = 0;
let dateValue = '';

/** IMF-fixdate of now, recomputed at most once per second. */
function httpDate(): string {
  const now = Date.now();
  const s = Math.floor(now / 1000);
  if (s !== dateSecond) {
    dateSecond = s;
    dateValue = new Date(s * 1000).toUTCString();
  }
  return dateValue;
}

function reasonPhrase(status: number): string {
  return http.STATUS_CODES[status] ?? 'Unknown';
}

export interface SimpleResponseOptions {
  /** Add Connection: close (the connection ends after this response). */
  readonly close: boolean;
  /** HEAD: send the fields (Content-Length included) but no body. */
  readonly head: boolean;
}

/**
 * Status line, Date, Content-Type (text/plain for string bodies without one),
 * the response's fields (validated: no header injection), Content-Length,
 * Connection: close when asked, then the body.
 */
export function serializeSimpleResponse(res: SimpleResponse, opts: SimpleResponseOptions): Buffer {
  const body = res.body === undefined ? EMPTY : typeof res.body === 'string' ? Buffer.from(res.body, 'utf8') : res.body;
  let head = `HTTP/1.1 ${res.status} ${reasonPhrase(res.status)}\r\nDate: ${httpDate()}\r\n`;
  let hasType = false;
  if (res.headers !== undefined) {
    for (const [name, value] of res.headers) {
      assertValidField(name, value);
      const lower = name.toLowerCase();
      if (lower === 'content-length' || lower === 'connection' || lower === 'transfer-encoding' || lower === 'date') continue;
      if (lower === 'content-type') hasType = true;
      head += `${name}: ${value}\r\n`;
    }
  }
  if (!hasType && typeof res.body === 'string' && res.body.length > 0) head += 'Content-Type: text/plain; charset=utf-8\r\n';
  const noBody = opts.head || res.status === 204 || res.status === 304 || res.status < 200;
  if (res.status !== 204 && res.status >= 200) head += `Content-Length: ${body.length}\r\n`;
  if (opts.close) head += 'Connection: close\r\n';
  head += '\r\n';
  const headLen = Buffer.byteLength(head, 'latin1');
  if (noBody || body.length === 0) return Buffer.from(head, 'latin1');
  const out = Buffer.allocUnsafe(headLen + body.length);
  out.write(head, 0, 'latin1');
  body.copy(out, headLen);
  return out;
}

const EMPTY = Buffer.alloc(0);

/** A proxy error answer: short text saying what happened. */
export function errorResponse(status: number, text: string): SimpleResponse {
  return { status, body: `${text}\n` };
}
