// Upstream response vectors: what a proxy built on ResponseHeadParser +
// responseBodyKind + ChunkedDecoder reads (status, body length, interim 1xx),
// and Node's http client's reading where it differs, with why.

import { ChunkedDecoder } from '../../../../src/proxy/http1/chunked-decoder.ts';
import { HttpParseError } from '../../../../src/proxy/http1/errors.ts';
import { ResponseHeadParser, responseBodyKind } from '../../../../src/proxy/http1/response-head.ts';

export type ResponseOutcome = { status: number; body: number; info: number[] } | { error: true; code?: string };

export interface ResponseVector {
  name: string;
  raw: string;
  method?: string;
  expect: ResponseOutcome;
  node?: { expect: ResponseOutcome; why: string };
}

/** Reads one response (after any 1xx) the way the proxy will; input ends with the connection. */
export function readResponse(chunks: readonly Buffer[], method = 'GET'): ResponseOutcome {
  const parser = new ResponseHeadParser();
  const decoder = new ChunkedDecoder({}, true);
  const info: number[] = [];
  let status = 0;
  let kind: ReturnType<typeof responseBodyKind> | 'head' = 'head';
  let remaining = 0;
  let body = 0;
  try {
    for (const chunk of chunks) {
      let pos = 0;
      while (pos < chunk.length) {
        if (kind === 'head') {
          const head = parser.push(chunk, pos);
          if (head === null) break;
          pos = parser.consumed;
          if (head.status < 200 && head.status !== 101) {
            info.push(head.status);
            continue;
          }
          status = head.status;
          kind = responseBodyKind(head, method);
          remaining = head.contentLength;
          if (kind === 'none' || kind === 'switch' || (kind === 'length' && remaining === 0)) {
            return { status, body: 0, info };
          }
        } else if (kind === 'length') {
          const n = Math.min(remaining, chunk.length - pos);
          body += n;
          remaining -= n;
          pos += n;
          if (remaining === 0) return { status, body, info };
        } else if (kind === 'chunked') {
          const end = decoder.push(chunk, pos);
          if (end >= 0) return { status, body: decoder.bodyBytes, info };
          pos = chunk.length;
        } else {
          body += chunk.length - pos; // close-delimited
          pos = chunk.length;
        }
      }
    }
  } catch (e) {
    if (e instanceof HttpParseError) return { error: true, code: e.code };
    throw e;
  }
  if (kind === 'close') return { status, body, info };
  return { error: true, code: 'INCOMPLETE' };
}

const ok = (status: number, body: number, info: number[] = []): ResponseOutcome => ({ status, body, info });
const fail = (code: string): ResponseOutcome => ({ error: true, code });

export const RESPONSE_VECTORS: ResponseVector[] = [
  { name: '200 with Content-Length', raw: 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nab', expect: ok(200, 2) },
  { name: 'status line without reason or its space', raw: 'HTTP/1.1 200\r\nContent-Length: 2\r\n\r\nab', expect: ok(200, 2) },
  { name: 'empty reason', raw: 'HTTP/1.1 200 \r\nContent-Length: 2\r\n\r\nab', expect: ok(200, 2) },
  { name: 'obs-text in reason', raw: 'HTTP/1.1 200 O\xe9K\r\nContent-Length: 2\r\n\r\nab', expect: ok(200, 2) },
  {
    name: 'CTL in reason',
    raw: 'HTTP/1.1 200 O\x01K\r\nContent-Length: 2\r\n\r\nab',
    expect: fail('INVALID_STATUS_LINE'),
    node: { expect: ok(200, 2), why: 'reason-phrase = *( HTAB / SP / VCHAR / obs-text ) (RFC 9112 §4); we forward it to the client, so it must be clean.' },
  },
  { name: 'four-digit status', raw: 'HTTP/1.1 2000 OK\r\nContent-Length: 2\r\n\r\nab', expect: fail('INVALID_STATUS_LINE') },
  {
    name: 'status 099',
    raw: 'HTTP/1.1 099 OK\r\nContent-Length: 2\r\n\r\nab',
    expect: fail('INVALID_STATUS'),
    node: { expect: ok(99, 2), why: 'status codes are 100-599 (RFC 9110 §15).' },
  },
  {
    name: 'status 600',
    raw: 'HTTP/1.1 600 OK\r\nContent-Length: 2\r\n\r\nab',
    expect: fail('INVALID_STATUS'),
    node: { expect: ok(600, 2), why: 'status codes are 100-599 (RFC 9110 §15).' },
  },
  {
    name: 'HTTP/2.0 status line',
    raw: 'HTTP/2.0 200 OK\r\nContent-Length: 2\r\n\r\nab',
    expect: fail('INVALID_VERSION'),
    node: { expect: ok(200, 2), why: 'an HTTP/1 connection carries HTTP/1.0 or 1.1 only.' },
  },
  { name: 'HTTP/1.0 response', raw: 'HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nab', expect: ok(200, 2) },
  { name: 'lowercase version', raw: 'http/1.1 200 OK\r\nContent-Length: 2\r\n\r\nab', expect: fail('INVALID_VERSION') },
  { name: 'two spaces before status', raw: 'HTTP/1.1  200 OK\r\nContent-Length: 2\r\n\r\nab', expect: fail('INVALID_STATUS') },
  { name: 'CL and TE', raw: 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n', expect: fail('CONTENT_LENGTH_WITH_TRANSFER_ENCODING') },
  { name: 'TE gzip and CL', raw: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nContent-Length: 2\r\n\r\nab', expect: fail('CONTENT_LENGTH_WITH_TRANSFER_ENCODING') },
  { name: 'duplicate CL', raw: 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nab', expect: fail('DUPLICATE_CONTENT_LENGTH') },
  { name: 'invalid CL', raw: 'HTTP/1.1 200 OK\r\nContent-Length: 2a\r\n\r\nab', expect: fail('INVALID_CONTENT_LENGTH') },
  {
    name: 'TE gzip (close-delimited)',
    raw: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nabcdef',
    expect: fail('UNSUPPORTED_TRANSFER_CODING'),
    node: { expect: ok(200, 6), why: 'a coding we would have to forward untouched; nginx answers 502 as well.' },
  },
  {
    name: 'TE gzip, chunked',
    raw: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n',
    expect: fail('UNSUPPORTED_TRANSFER_CODING'),
    node: { expect: ok(200, 2), why: 'as for requests: only chunked is handled.' },
  },
  {
    name: 'TE in HTTP/1.0',
    raw: 'HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n',
    expect: fail('TRANSFER_ENCODING_IN_HTTP10'),
    node: { expect: ok(200, 2), why: 'RFC 9112 §6.1: Transfer-Encoding in HTTP/1.0 means faulty framing.' },
  },
  { name: 'chunked body', raw: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n3;x=y\r\ncde\r\n0\r\nT: 1\r\n\r\n', expect: ok(200, 5) },
  { name: 'chunked with a bad size', raw: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nab\r\n0\r\n\r\n', expect: fail('INVALID_CHUNK_SIZE') },
  { name: 'close-delimited body', raw: 'HTTP/1.1 200 OK\r\n\r\nabcdef', expect: ok(200, 6) },
  { name: '204 with Content-Length has no body', raw: 'HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n', expect: ok(204, 0) },
  { name: '304 with Content-Length has no body', raw: 'HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n', expect: ok(304, 0) },
  { name: '204 with TE chunked has no body', raw: 'HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\n\r\n', expect: ok(204, 0) },
  { name: 'HEAD answer with Content-Length', method: 'HEAD', raw: 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n', expect: ok(200, 0) },
  { name: 'HEAD answer with TE', method: 'HEAD', raw: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n', expect: ok(200, 0) },
  { name: '103 then 200', raw: 'HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nab', expect: ok(200, 2, [103]) },
  { name: '100 then 200', raw: 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nab', expect: ok(200, 2, [100]) },
  { name: 'bare LF', raw: 'HTTP/1.1 200 OK\nContent-Length: 2\n\nab', expect: fail('BARE_LF') },
  { name: 'obs-fold', raw: 'HTTP/1.1 200 OK\r\nX: a\r\n b\r\nContent-Length: 2\r\n\r\nab', expect: fail('OBS_FOLD') },
  { name: 'NUL in value', raw: 'HTTP/1.1 200 OK\r\nX: a\0b\r\nContent-Length: 2\r\n\r\nab', expect: fail('INVALID_HEADER_VALUE') },
  { name: 'space before colon', raw: 'HTTP/1.1 200 OK\r\nContent-Length : 2\r\n\r\nab', expect: fail('SPACE_BEFORE_COLON') },
  { name: 'Content-Length body cut short', raw: 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab', expect: fail('INCOMPLETE') },
  { name: 'chunked body cut short', raw: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab', expect: fail('INCOMPLETE') },
  { name: 'head over 16 KiB', raw: `HTTP/1.1 200 OK\r\nX: ${'a'.repeat(20_000)}\r\nContent-Length: 0\r\n\r\n`, expect: fail('HEAD_TOO_LARGE') },
];
