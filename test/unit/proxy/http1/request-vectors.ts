// Request smuggling / injection / framing vectors with the exact outcome of our
// parsers, and Node's (llhttp + node:http) outcome where it differs, with why.
// Shared by the table test (ours) and the Node cross-check.

import type { Outcome } from './serve-simulator.ts';

export interface RequestVector {
  name: string;
  /** Raw bytes as a latin1 string. */
  raw: string;
  expect: Outcome[];
  /** Present when Node answers differently; `why` says why we chose otherwise. */
  node?: { expect: Outcome[]; why: string };
}

const ok = (method: string, target: string, body = 0, extra: Partial<Outcome> = {}): Outcome => ({
  status: 200,
  method,
  target,
  body,
  ...extra,
});
const err = (status: number, code: string): Outcome => ({ status, code });
const H = 'Host: a\r\n';
const post = (fields: string, body = '') => `POST / HTTP/1.1\r\n${H}${fields}\r\n${body}`;
const chunkedPost = (body: string) => post('Transfer-Encoding: chunked\r\n', body);
const get = (fields: string) => `GET / HTTP/1.1\r\n${H}${fields}\r\n`;

const NODE_ACCEPTS_UNKNOWN_CODINGS =
  'Node hands a body with codings other than chunked to the app. A proxy would have to forward a coding it does not decode; like nginx we answer 501.';

export const REQUEST_VECTORS: RequestVector[] = [
  // --- plain messages
  { name: 'simple GET', raw: `GET / HTTP/1.1\r\n${H}\r\n`, expect: [ok('GET', '/')] },
  { name: 'POST with Content-Length', raw: post('Content-Length: 5\r\n', 'hello'), expect: [ok('POST', '/', 5)] },
  { name: 'POST chunked', raw: chunkedPost('5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n'), expect: [ok('POST', '/', 11)] },
  { name: 'HTTP/1.0 without Host', raw: 'GET / HTTP/1.0\r\n\r\n', expect: [ok('GET', '/')] },
  { name: 'empty lines before the request line are skipped', raw: `\r\n\r\nGET / HTTP/1.1\r\n${H}\r\n`, expect: [ok('GET', '/')] },
  { name: 'GET with a body', raw: get('Content-Length: 2\r\n') + 'ab', expect: [ok('GET', '/', 2)] },

  // --- Content-Length vs Transfer-Encoding
  { name: 'CL then TE', raw: post('Content-Length: 3\r\nTransfer-Encoding: chunked\r\n', '0\r\n\r\n'), expect: [err(400, 'CONTENT_LENGTH_WITH_TRANSFER_ENCODING')] },
  { name: 'TE then CL', raw: post('Transfer-Encoding: chunked\r\nContent-Length: 3\r\n', '0\r\n\r\n'), expect: [err(400, 'CONTENT_LENGTH_WITH_TRANSFER_ENCODING')] },
  { name: 'CL: 0 with TE', raw: post('Transfer-Encoding: chunked\r\nContent-Length: 0\r\n', '0\r\n\r\n'), expect: [err(400, 'CONTENT_LENGTH_WITH_TRANSFER_ENCODING')] },
  { name: 'CL.TE smuggling classic', raw: post('Content-Length: 6\r\nTransfer-Encoding: chunked\r\n', '0\r\n\r\nG'), expect: [err(400, 'CONTENT_LENGTH_WITH_TRANSFER_ENCODING')] },
  { name: 'TE identity with CL', raw: post('Transfer-Encoding: identity\r\nContent-Length: 0\r\n'), expect: [err(400, 'CONTENT_LENGTH_WITH_TRANSFER_ENCODING')] },
  { name: 'TE chunked by obs-fold', raw: post('Transfer-Encoding:\r\n chunked\r\n', '0\r\n\r\n'), expect: [err(400, 'OBS_FOLD')] },
  { name: 'TE continued by obs-fold', raw: post('Transfer-Encoding: x\r\n chunked\r\n', '0\r\n\r\n'), expect: [err(400, 'OBS_FOLD')] },
  { name: 'TE xchunked', raw: post('Transfer-Encoding: xchunked\r\n', '0\r\n\r\n'), expect: [err(400, 'INVALID_TRANSFER_ENCODING')] },
  { name: 'TE chunked, identity', raw: post('Transfer-Encoding: chunked, identity\r\n', '0\r\n\r\n'), expect: [err(400, 'INVALID_TRANSFER_ENCODING')] },
  { name: 'TE chunked, chunked', raw: post('Transfer-Encoding: chunked, chunked\r\n', '0\r\n\r\n'), expect: [err(400, 'INVALID_TRANSFER_ENCODING')] },
  { name: 'TE chunked on two lines', raw: post('Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n', '0\r\n\r\n'), expect: [err(400, 'INVALID_TRANSFER_ENCODING')] },
  { name: 'TE trailing comma', raw: post('Transfer-Encoding: chunked,\r\n', '0\r\n\r\n'), expect: [err(400, 'INVALID_TRANSFER_ENCODING')] },
  { name: 'TE with parameter', raw: post('Transfer-Encoding: chunked;q=1\r\n', '0\r\n\r\n'), expect: [err(400, 'INVALID_TRANSFER_ENCODING')] },
  { name: 'TE quoted', raw: post('Transfer-Encoding: "chunked"\r\n', '0\r\n\r\n'), expect: [err(400, 'INVALID_TRANSFER_ENCODING')] },
  { name: 'TE empty', raw: post('Transfer-Encoding:\r\n', '0\r\n\r\n'), expect: [err(400, 'INVALID_TRANSFER_ENCODING')] },
  { name: 'TE uppercase CHUNKED', raw: post('Transfer-Encoding: CHUNKED\r\n', '0\r\n\r\n'), expect: [ok('POST', '/', 0)] },
  { name: 'TE with surrounding spaces', raw: post('Transfer-Encoding:  chunked \r\n', '0\r\n\r\n'), expect: [ok('POST', '/', 0)] },
  {
    name: 'TE gzip, chunked',
    raw: post('Transfer-Encoding: gzip, chunked\r\n', '0\r\n\r\n'),
    expect: [err(501, 'UNSUPPORTED_TRANSFER_CODING')],
    node: { expect: [ok('POST', '/', 0)], why: NODE_ACCEPTS_UNKNOWN_CODINGS },
  },
  {
    name: 'TE gzip and chunked on two lines',
    raw: post('Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n', '0\r\n\r\n'),
    expect: [err(501, 'UNSUPPORTED_TRANSFER_CODING')],
    node: { expect: [ok('POST', '/', 0)], why: NODE_ACCEPTS_UNKNOWN_CODINGS },
  },
  {
    name: 'TE empty list element',
    raw: post('Transfer-Encoding: gzip,,chunked\r\n', '0\r\n\r\n'),
    expect: [err(400, 'INVALID_TRANSFER_ENCODING')],
    node: { expect: [ok('POST', '/', 0)], why: 'An empty element in Transfer-Encoding is a probe, not a client; llhttp itself rejects "chunked,".' },
  },
  {
    name: 'TE chunked followed by HTAB',
    raw: post('Transfer-Encoding: chunked\t\r\n', '0\r\n\r\n'),
    // As nginx (501) and llhttp (400): a tab in Transfer-Encoding is refused, even as OWS.
    expect: [err(400, 'INVALID_TRANSFER_ENCODING')],
  },
  {
    name: 'TE in HTTP/1.0',
    raw: 'POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    expect: [err(400, 'TRANSFER_ENCODING_IN_HTTP10')],
    node: { expect: [ok('POST', '/', 0)], why: 'RFC 9112 §6.1: an HTTP/1.0 message with Transfer-Encoding must be treated as having faulty framing.' },
  },
  { name: 'TE in HTTP/1.0 with CL', raw: 'POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n', expect: [err(400, 'CONTENT_LENGTH_WITH_TRANSFER_ENCODING')] },
  { name: 'TE name with space before colon', raw: post('Transfer-Encoding : chunked\r\n', '0\r\n\r\n'), expect: [err(400, 'SPACE_BEFORE_COLON')] },
  { name: 'TE name with vertical tab', raw: post('Transfer-Encoding\x0b: chunked\r\n', '0\r\n\r\n'), expect: [err(400, 'INVALID_HEADER_NAME')] },
  { name: 'TE with leading whitespace line', raw: `POST / HTTP/1.1\r\n Transfer-Encoding: chunked\r\n${H}\r\n0\r\n\r\n`, expect: [err(400, 'OBS_FOLD')] },
  {
    name: 'Transfer_Encoding is just another field',
    raw: post('Transfer_Encoding: chunked\r\n', '0\r\n\r\n'),
    expect: [ok('POST', '/', 0), err(400, 'INVALID_METHOD')],
    node: {
      expect: [err(400, '')],
      why: 'same verdict on the bytes: the leftover "0" is no request. Node fails the whole read before answering the first request; we answer it, then 400.',
    },
  },
  {
    name: 'TE.CL smuggling: a second request hidden in a chunk',
    raw: chunkedPost('5\r\nhelloGET /admin HTTP/1.1\r\nHost: a\r\n\r\n0\r\n\r\n'),
    expect: [err(400, 'INVALID_CHUNK_DATA')],
  },
  {
    name: 'chunked request followed by a pipelined one',
    raw: chunkedPost('0\r\n\r\n') + `GET /next HTTP/1.1\r\n${H}\r\n`,
    expect: [ok('POST', '/', 0), ok('GET', '/next')],
  },

  // --- Content-Length values
  { name: 'CL duplicates differ', raw: post('Content-Length: 1\r\nContent-Length: 2\r\n', 'ab'), expect: [err(400, 'DUPLICATE_CONTENT_LENGTH')] },
  { name: 'CL duplicates identical', raw: post('Content-Length: 2\r\nContent-Length: 2\r\n', 'ab'), expect: [err(400, 'DUPLICATE_CONTENT_LENGTH')] },
  { name: 'CL list', raw: post('Content-Length: 2, 2\r\n', 'ab'), expect: [err(400, 'INVALID_CONTENT_LENGTH')] },
  { name: 'CL plus sign', raw: post('Content-Length: +2\r\n', 'ab'), expect: [err(400, 'INVALID_CONTENT_LENGTH')] },
  { name: 'CL minus sign', raw: post('Content-Length: -2\r\n', 'ab'), expect: [err(400, 'INVALID_CONTENT_LENGTH')] },
  { name: 'CL inner space', raw: post('Content-Length: 1 2\r\n', 'ab'), expect: [err(400, 'INVALID_CONTENT_LENGTH')] },
  { name: 'CL hex', raw: post('Content-Length: 0x2\r\n', 'ab'), expect: [err(400, 'INVALID_CONTENT_LENGTH')] },
  { name: 'CL empty', raw: post('Content-Length:\r\n', 'ab'), expect: [err(400, 'INVALID_CONTENT_LENGTH')] },
  { name: 'CL beyond 2^64', raw: post('Content-Length: 99999999999999999999\r\n', 'ab'), expect: [err(400, 'INVALID_CONTENT_LENGTH')] },
  { name: 'CL beyond 2^53', raw: post('Content-Length: 9007199254740993\r\n', 'ab'), expect: [err(400, 'INVALID_CONTENT_LENGTH')] },
  { name: 'CL with surrounding whitespace', raw: post('Content-Length:  2 \t\r\n', 'ab'), expect: [ok('POST', '/', 2)] },
  { name: 'CL with leading zeros', raw: post('Content-Length: 0002\r\n', 'ab'), expect: [ok('POST', '/', 2)] },

  // --- line ends and bytes in fields
  { name: 'bare LF line ends', raw: 'GET / HTTP/1.1\nHost: a\n\n', expect: [err(400, 'BARE_LF')] },
  { name: 'bare LF after one field', raw: `GET / HTTP/1.1\r\nHost: a\nX: y\r\n\r\n`, expect: [err(400, 'BARE_LF')] },
  { name: 'bare LF ending the head', raw: `GET / HTTP/1.1\r\n${H}\n`, expect: [err(400, 'BARE_LF')] },
  { name: 'bare CR inside a field', raw: `GET / HTTP/1.1\r\nHost: a\rX: y\r\n\r\n`, expect: [err(400, 'INVALID_HEADER_VALUE')] },
  { name: 'CR CR LF', raw: get('X: a\r\r\n'), expect: [err(400, 'INVALID_HEADER_VALUE')] },
  {
    name: 'bare LF before the request line',
    raw: `\nGET / HTTP/1.1\r\n${H}\r\n`,
    expect: [err(400, 'BARE_LF')],
    node: { expect: [ok('GET', '/')], why: 'RFC 9112 §2.2 allows skipping empty lines (CRLF) before a request; we take CRLF only, never a bare LF.' },
  },
  { name: 'NUL in value', raw: get('X: a\0b\r\n'), expect: [err(400, 'INVALID_HEADER_VALUE')] },
  { name: 'CTL in value', raw: get('X: a\x01b\r\n'), expect: [err(400, 'INVALID_HEADER_VALUE')] },
  { name: 'DEL in value', raw: get('X: a\x7fb\r\n'), expect: [err(400, 'INVALID_HEADER_VALUE')] },
  { name: 'obs-text in value', raw: get('X: a\xe9b\r\n'), expect: [ok('GET', '/')] },
  { name: 'HTAB in value', raw: get('X: a\tb\r\n'), expect: [ok('GET', '/')] },
  { name: 'NUL in name', raw: get('X\0Y: z\r\n'), expect: [err(400, 'INVALID_HEADER_NAME')] },
  { name: 'space before colon', raw: get('X : y\r\n'), expect: [err(400, 'SPACE_BEFORE_COLON')] },
  { name: 'HTAB before colon', raw: get('X\t: y\r\n'), expect: [err(400, 'SPACE_BEFORE_COLON')] },
  { name: 'parenthesis in name', raw: get('X(y): z\r\n'), expect: [err(400, 'INVALID_HEADER_NAME')] },
  { name: '@ in name', raw: get('X@y: z\r\n'), expect: [err(400, 'INVALID_HEADER_NAME')] },
  { name: 'empty name', raw: get(': z\r\n'), expect: [err(400, 'INVALID_HEADER_NAME')] },
  { name: 'line without colon', raw: get('Xyz\r\n'), expect: [err(400, 'INVALID_HEADER_NAME')] },
  { name: 'obs-text in name', raw: get('X\xe9: y\r\n'), expect: [err(400, 'INVALID_HEADER_NAME')] },
  { name: 'obs-fold', raw: get('X: a\r\n b\r\n'), expect: [err(400, 'OBS_FOLD')] },
  { name: 'whitespace before the first field', raw: `GET / HTTP/1.1\r\n ${H}\r\n`, expect: [err(400, 'OBS_FOLD')] },
  { name: 'empty value', raw: get('X:\r\n'), expect: [ok('GET', '/')] },

  // --- request line
  {
    name: 'two spaces after the method',
    raw: `GET  / HTTP/1.1\r\n${H}\r\n`,
    expect: [err(400, 'INVALID_TARGET')],
    node: { expect: [ok('GET', '/')], why: 'RFC 9112 §3: single SP separators; llhttp skips extra spaces. Lenient word splitting is how request lines get read two ways.' },
  },
  {
    name: 'two spaces after the target',
    raw: `GET /  HTTP/1.1\r\n${H}\r\n`,
    expect: [err(400, 'INVALID_VERSION')],
    node: { expect: [ok('GET', '/')], why: 'RFC 9112 §3: exactly one SP between version and target, as between method and target.' },
  },
  { name: 'space after the version', raw: `GET / HTTP/1.1 \r\n${H}\r\n`, expect: [err(400, 'INVALID_VERSION')] },
  { name: 'HTAB separator', raw: `GET\t/ HTTP/1.1\r\n${H}\r\n`, expect: [err(400, 'INVALID_METHOD')] },
  { name: 'lowercase http version', raw: `GET / http/1.1\r\n${H}\r\n`, expect: [err(400, 'INVALID_VERSION')] },
  {
    name: 'HTTP/1.2',
    raw: `GET / HTTP/1.2\r\n${H}\r\n`,
    expect: [err(505, 'VERSION_NOT_SUPPORTED')],
    node: { expect: [err(400, '')], why: 'well-formed but unsupported: 505 (RFC 9110 §15.6.6); both reject.' },
  },
  {
    name: 'HTTP/2.0 on an HTTP/1 connection',
    raw: `GET / HTTP/2.0\r\n${H}\r\n`,
    expect: [err(505, 'VERSION_NOT_SUPPORTED')],
    node: { expect: [ok('GET', '/')], why: 'only HTTP/1.0 and 1.1 are spoken here; llhttp accepts any major version.' },
  },
  {
    name: 'HTTP/0.9 request',
    raw: 'GET /\r\n\r\n',
    expect: [err(400, 'INVALID_TARGET')],
    node: { expect: [ok('GET', '/')], why: 'HTTP/0.9 is not served (no headers, no framing).' },
  },
  {
    name: 'HTTP/2 preface',
    raw: 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n',
    expect: [err(505, 'VERSION_NOT_SUPPORTED')],
    node: { expect: [err(400, '')], why: 'both reject; we say which part is wrong.' },
  },
  {
    name: 'lowercase method',
    raw: `get / HTTP/1.1\r\n${H}\r\n`,
    // nginx's rule (upper-case letters, "_", "-"); llhttp refuses it too.
    expect: [err(400, 'INVALID_METHOD')],
  },
  {
    name: 'unknown method',
    raw: `FOO / HTTP/1.1\r\n${H}\r\n`,
    expect: [ok('FOO', '/')],
    node: { expect: [err(400, '')], why: 'extension methods are tokens a proxy forwards (RFC 9110 §9.1); llhttp only knows its list.' },
  },
  { name: 'method with a non-token byte', raw: `G(T / HTTP/1.1\r\n${H}\r\n`, expect: [err(400, 'INVALID_METHOD')] },
  { name: 'absolute-form http', raw: `GET http://b.example/x HTTP/1.1\r\n${H}\r\n`, expect: [ok('GET', 'http://b.example/x')] },
  { name: 'absolute-form https with port and query', raw: `GET https://b.example:8443/x?y HTTP/1.1\r\n${H}\r\n`, expect: [ok('GET', 'https://b.example:8443/x?y')] },
  {
    name: 'absolute-form ftp',
    raw: `GET ftp://b/ HTTP/1.1\r\n${H}\r\n`,
    expect: [err(400, 'INVALID_TARGET')],
    node: { expect: [ok('GET', 'ftp://b/')], why: 'only http and https URIs can be proxied.' },
  },
  {
    name: 'absolute-form with userinfo',
    raw: `GET http://u@b/x HTTP/1.1\r\n${H}\r\n`,
    expect: [err(400, 'INVALID_TARGET')],
    node: { expect: [ok('GET', 'http://u@b/x')], why: 'userinfo is deprecated in http URIs (RFC 9110 §4.2.4) and is a classic host-confusion trick.' },
  },
  {
    name: 'absolute-form without authority',
    raw: `GET http:///x HTTP/1.1\r\n${H}\r\n`,
    expect: [err(400, 'INVALID_TARGET')],
    node: { expect: [ok('GET', 'http:///x')], why: 'an http URI must have a host (RFC 9110 §4.2.1).' },
  },
  { name: 'absolute-form without Host', raw: 'GET http://b/ HTTP/1.1\r\n\r\n', expect: [err(400, 'MISSING_HOST')] },
  { name: 'asterisk-form OPTIONS', raw: `OPTIONS * HTTP/1.1\r\n${H}\r\n`, expect: [ok('OPTIONS', '*')] },
  {
    name: 'asterisk-form GET',
    raw: `GET * HTTP/1.1\r\n${H}\r\n`,
    expect: [err(400, 'INVALID_TARGET')],
    node: { expect: [ok('GET', '*')], why: 'RFC 9112 §3.2.4: "*" is only for OPTIONS.' },
  },
  { name: 'CONNECT authority-form', raw: 'CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\n', expect: [ok('CONNECT', 'a.example:443')] },
  { name: 'authority-form with GET', raw: `GET a.example:443 HTTP/1.1\r\n${H}\r\n`, expect: [err(400, 'INVALID_TARGET')] },
  { name: 'relative target', raw: `GET a/b HTTP/1.1\r\n${H}\r\n`, expect: [err(400, 'INVALID_TARGET')] },
  {
    name: 'fragment in target',
    raw: `GET /a#b HTTP/1.1\r\n${H}\r\n`,
    expect: [err(400, 'INVALID_TARGET')],
    node: { expect: [ok('GET', '/a#b')], why: 'a fragment is never part of a request-target (RFC 9112 §3.2); routers would disagree on the path.' },
  },
  { name: 'obs-text in target', raw: `GET /\xe9 HTTP/1.1\r\n${H}\r\n`, expect: [err(400, 'INVALID_TARGET')] },
  { name: 'CTL in target', raw: `GET /\x01 HTTP/1.1\r\n${H}\r\n`, expect: [err(400, 'INVALID_TARGET')] },
  { name: 'DEL in target', raw: `GET /\x7f HTTP/1.1\r\n${H}\r\n`, expect: [err(400, 'INVALID_TARGET')] },
  { name: 'space in query', raw: `GET /?a=b c HTTP/1.1\r\n${H}\r\n`, expect: [err(400, 'INVALID_VERSION')] },
  { name: 'unencoded | { } ^ ` [ ] \\ " < > in target', raw: `GET /a|b{c}^\`[d]\\e"<> HTTP/1.1\r\n${H}\r\n`, expect: [ok('GET', '/a|b{c}^`[d]\\e"<>')] },
  { name: 'bad percent-encoding passes (routing normalises)', raw: `GET /%zz HTTP/1.1\r\n${H}\r\n`, expect: [ok('GET', '/%zz')] },

  // --- Host
  { name: 'HTTP/1.1 without Host', raw: 'GET / HTTP/1.1\r\n\r\n', expect: [err(400, 'MISSING_HOST')] },
  { name: 'empty Host', raw: 'GET / HTTP/1.1\r\nHost:\r\n\r\n', expect: [ok('GET', '/')] },
  { name: 'Host with OWS', raw: 'GET / HTTP/1.1\r\nHost:\ta\t\r\n\r\n', expect: [ok('GET', '/')] },
  {
    name: 'two Host fields',
    raw: 'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n',
    expect: [err(400, 'DUPLICATE_HOST')],
    node: { expect: [ok('GET', '/')], why: 'RFC 9112 §3.2: MUST answer 400 to more than one Host; Node keeps the first, another hop may keep the last.' },
  },
  {
    name: 'two identical Host fields',
    raw: 'GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n',
    expect: [err(400, 'DUPLICATE_HOST')],
    node: { expect: [ok('GET', '/')], why: 'RFC 9112 §3.2 makes no exception for identical copies; one rule is simpler to reason about.' },
  },
  {
    name: 'space in Host',
    raw: 'GET / HTTP/1.1\r\nHost: a b\r\n\r\n',
    expect: [err(400, 'INVALID_HOST')],
    node: { expect: [ok('GET', '/')], why: 'Host = uri-host [":" port] (RFC 9110 §7.2); the value reaches routing and X-Forwarded-Host.' },
  },
  {
    name: 'slash in Host',
    raw: 'GET / HTTP/1.1\r\nHost: a/b\r\n\r\n',
    expect: [err(400, 'INVALID_HOST')],
    node: { expect: [ok('GET', '/')], why: 'a "/" cannot be in uri-host; it would leak into routing and X-Forwarded-Host.' },
  },

  // --- Expect, Connection, pipelining
  { name: 'Expect: 100-continue', raw: post('Expect: 100-continue\r\nContent-Length: 0\r\n'), expect: [ok('POST', '/', 0, { continue: true })] },
  { name: 'Expect: 100-Continue', raw: post('Expect: 100-Continue\r\nContent-Length: 0\r\n'), expect: [ok('POST', '/', 0, { continue: true })] },
  { name: 'Expect: something else', raw: post('Expect: foo\r\nContent-Length: 0\r\n'), expect: [err(417, 'UNSUPPORTED_EXPECTATION')] },
  { name: 'Expect empty', raw: post('Expect:\r\nContent-Length: 0\r\n'), expect: [err(417, 'UNSUPPORTED_EXPECTATION')] },
  { name: 'Expect ignored in HTTP/1.0', raw: 'POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 0\r\n\r\n', expect: [ok('POST', '/', 0)] },
  { name: 'pipelined GETs', raw: `GET /1 HTTP/1.1\r\n${H}\r\nGET /2 HTTP/1.1\r\n${H}\r\n`, expect: [ok('GET', '/1'), ok('GET', '/2')] },
  {
    name: 'pipelined after a Content-Length body',
    raw: `POST /1 HTTP/1.1\r\n${H}Content-Length: 5\r\n\r\nhelloGET /2 HTTP/1.1\r\n${H}\r\n`,
    expect: [ok('POST', '/1', 5), ok('GET', '/2')],
  },
  {
    name: 'last request says Connection: close',
    raw: `GET /1 HTTP/1.1\r\n${H}\r\nGET /2 HTTP/1.1\r\n${H}Connection: close\r\n\r\n`,
    expect: [ok('GET', '/1'), ok('GET', '/2')],
  },
  {
    name: 'bytes after Connection: close',
    raw: `GET / HTTP/1.1\r\n${H}Connection: close\r\n\r\nGET /2 HTTP/1.1\r\n${H}\r\n`,
    expect: [ok('GET', '/')],
    node: {
      expect: [err(400, '')],
      why: 'llhttp fails the whole read when bytes follow a Connection: close message. We answer the request and stop reading: the extra request is never forwarded either way.',
    },
  },
  { name: 'Connection: keep-alive, close', raw: `GET / HTTP/1.1\r\n${H}Connection: keep-alive, close\r\n\r\n`, expect: [ok('GET', '/')] },
  {
    name: 'HTTP/1.0 keep-alive then another request',
    raw: 'GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /2 HTTP/1.0\r\n\r\n',
    expect: [ok('GET', '/'), ok('GET', '/2')],
  },
  { name: 'Upgrade request', raw: get('Connection: Upgrade\r\nUpgrade: websocket\r\n'), expect: [ok('GET', '/')] },

  // --- limits
  { name: 'head over 16 KiB', raw: get(`X: ${'a'.repeat(20_000)}\r\n`), expect: [err(431, 'HEAD_TOO_LARGE')] },
  { name: '3000 fields', raw: get(Array.from({ length: 3000 }, (_, i) => `X${i}: y\r\n`).join('')), expect: [err(431, 'HEAD_TOO_LARGE')] },
  {
    name: '150 small fields',
    raw: get(Array.from({ length: 150 }, (_, i) => `X${i}: y\r\n`).join('')),
    expect: [err(431, 'TOO_MANY_HEADERS')],
    node: { expect: [ok('GET', '/')], why: 'Node has no field-count limit (maxHeadersCount only truncates, at 2000). We bound it at 100 (Envoy\'s default).' },
  },
  { name: '15 KiB head in one field', raw: get(`X: ${'a'.repeat(15_000)}\r\n`), expect: [ok('GET', '/')] },

  // --- chunked bodies
  { name: 'chunk size then space', raw: chunkedPost('5 \r\nhello\r\n0\r\n\r\n'), expect: [err(400, 'INVALID_CHUNK_SIZE')] },
  { name: 'chunk extension', raw: chunkedPost('5;a=b\r\nhello\r\n0\r\n\r\n'), expect: [ok('POST', '/', 5)] },
  { name: 'space before chunk extension', raw: chunkedPost('5 ;a=b\r\nhello\r\n0\r\n\r\n'), expect: [err(400, 'INVALID_CHUNK_SIZE')] },
  { name: 'space after ;', raw: chunkedPost('5; a=b\r\nhello\r\n0\r\n\r\n'), expect: [err(400, 'INVALID_CHUNK_EXTENSION')] },
  { name: 'space around =', raw: chunkedPost('5;a = b\r\nhello\r\n0\r\n\r\n'), expect: [err(400, 'INVALID_CHUNK_EXTENSION')] },
  { name: 'space after extension', raw: chunkedPost('5;a=b \r\nhello\r\n0\r\n\r\n'), expect: [err(400, 'INVALID_CHUNK_EXTENSION')] },
  { name: 'quoted extension', raw: chunkedPost('5;a="b c"\r\nhello\r\n0\r\n\r\n'), expect: [ok('POST', '/', 5)] },
  { name: 'quoted extension with escapes', raw: chunkedPost('5;a="\\"q\\""\r\nhello\r\n0\r\n\r\n'), expect: [ok('POST', '/', 5)] },
  { name: 'obs-text in quoted extension', raw: chunkedPost('5;a="\xe9"\r\nhello\r\n0\r\n\r\n'), expect: [ok('POST', '/', 5)] },
  { name: 'extensions a=b;c', raw: chunkedPost('5;a=b;c\r\nhello\r\n0\r\n\r\n'), expect: [ok('POST', '/', 5)] },
  { name: 'extension on the last chunk', raw: chunkedPost('5\r\nhello\r\n0;x=y\r\n\r\n'), expect: [ok('POST', '/', 5)] },
  { name: 'empty extension', raw: chunkedPost('5;\r\nhello\r\n0\r\n\r\n'), expect: [err(400, 'INVALID_CHUNK_EXTENSION')] },
  { name: 'extension with inner space', raw: chunkedPost('5;a b\r\nhello\r\n0\r\n\r\n'), expect: [err(400, 'INVALID_CHUNK_EXTENSION')] },
  {
    name: 'extension with empty value',
    raw: chunkedPost('5;a=\r\nhello\r\n0\r\n\r\n'),
    expect: [err(400, 'INVALID_CHUNK_EXTENSION')],
    node: { expect: [ok('POST', '/', 5)], why: 'chunk-ext-val is a token or quoted-string (RFC 9112 §7.1.1), never empty.' },
  },
  {
    name: 'extension without name',
    raw: chunkedPost('5;=b\r\nhello\r\n0\r\n\r\n'),
    expect: [err(400, 'INVALID_CHUNK_EXTENSION')],
    node: { expect: [ok('POST', '/', 5)], why: 'chunk-ext-name is a token (RFC 9112 §7.1.1).' },
  },
  { name: 'unterminated quoted extension', raw: chunkedPost('5;a="b\r\nhello\r\n0\r\n\r\n'), expect: [err(400, 'INVALID_CHUNK_EXTENSION')] },
  { name: 'CTL in extension', raw: chunkedPost('5;a=\x01\r\nhello\r\n0\r\n\r\n'), expect: [err(400, 'INVALID_CHUNK_EXTENSION')] },
  { name: 'extensions over 16 KiB', raw: chunkedPost(`5;a=${'x'.repeat(20_000)}\r\nhello\r\n0\r\n\r\n`), expect: [err(413, 'CHUNK_EXTENSIONS_TOO_LARGE')] },
  { name: 'chunk size 0x5', raw: chunkedPost('0x5\r\nhello\r\n0\r\n\r\n'), expect: [err(400, 'INVALID_CHUNK_SIZE')] },
  { name: 'chunk size -5', raw: chunkedPost('-5\r\nhello\r\n0\r\n\r\n'), expect: [err(400, 'INVALID_CHUNK_SIZE')] },
  { name: 'empty chunk size', raw: chunkedPost('\r\nhello\r\n0\r\n\r\n'), expect: [err(400, 'INVALID_CHUNK_SIZE')] },
  { name: 'bare LF after chunk size', raw: chunkedPost('5\nhello\r\n0\r\n\r\n'), expect: [err(400, 'INVALID_CHUNK_SIZE')] },
  { name: 'bare LF after chunk data', raw: chunkedPost('5\r\nhello\n0\r\n\r\n'), expect: [err(400, 'INVALID_CHUNK_DATA')] },
  { name: 'chunk data longer than its size', raw: chunkedPost('5\r\nhelloXX0\r\n\r\n'), expect: [err(400, 'INVALID_CHUNK_DATA')] },
  { name: 'uppercase hex size', raw: chunkedPost('A\r\nhellohello\r\n0\r\n\r\n'), expect: [ok('POST', '/', 10)] },
  { name: 'chunk size with leading zeros', raw: chunkedPost('0000000000000000000000005\r\nhello\r\n0\r\n\r\n'), expect: [ok('POST', '/', 5)] },
  { name: 'chunk size overflow', raw: chunkedPost('ffffffffffffffffff\r\nhello\r\n0\r\n\r\n'), expect: [err(400, 'CHUNK_SIZE_OVERFLOW')] },
  { name: 'trailer field', raw: chunkedPost('5\r\nhello\r\n0\r\nX-T: 1\r\n\r\n'), expect: [ok('POST', '/', 5)] },
  { name: 'trailer with a bad name', raw: chunkedPost('5\r\nhello\r\n0\r\nX T: 1\r\n\r\n'), expect: [err(400, 'INVALID_TRAILER')] },
  { name: 'trailer obs-fold', raw: chunkedPost('0\r\nX: a\r\n b\r\n\r\n'), expect: [err(400, 'INVALID_TRAILER')] },
  { name: 'trailer bare LF', raw: chunkedPost('0\r\nX: a\n\r\n'), expect: [err(400, 'INVALID_TRAILER')] },
  { name: 'trailer NUL', raw: chunkedPost('0\r\nX: a\0\r\n\r\n'), expect: [err(400, 'INVALID_TRAILER')] },
  { name: 'trailers over 16 KiB', raw: chunkedPost(`0\r\nX: ${'a'.repeat(20_000)}\r\n\r\n`), expect: [err(431, 'TRAILERS_TOO_LARGE')] },
  { name: 'chunked body cut short', raw: chunkedPost('5\r\nhel'), expect: [err(400, 'INCOMPLETE')] },
  { name: 'last chunk without final LF', raw: chunkedPost('0\r\n\r'), expect: [err(400, 'INCOMPLETE')] },
  { name: 'Content-Length body cut short', raw: post('Content-Length: 5\r\n', 'hel'), expect: [err(400, 'INCOMPLETE')] },
];
