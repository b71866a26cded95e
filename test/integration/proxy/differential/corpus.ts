// Raw HTTP/1.1 requests for the differential test: framing edge cases
// (smuggling vectors), field syntax, targets and versions. Each is sent as
// bytes to metalgate, nginx and node:http side by side; what decides is
// what reaches the backend, not what the proxies say.
// Every request ends its connection (Connection: close where the syntax
// allows), so one answer belongs to one request.

export interface CorpusRequest {
  readonly name: string;
  readonly raw: string;
}

const H = 'Host: d.test\r\n';
const C = 'Connection: close\r\n';
const req = (name: string, raw: string): CorpusRequest => ({ name, raw });

/** Transfer-Encoding spellings, each with a 5-byte chunked body. */
const teValues = [
  'chunked',
  'CHUNKED',
  'Chunked',
  ' chunked',
  'chunked ',
  '\tchunked',
  'chunked\t',
  'identity, chunked',
  'gzip, chunked',
  'chunked, chunked',
  'chunked, identity',
  'chunked,',
  ',chunked',
  'xchunked',
  'chunked\u000bx',
  '"chunked"',
  'chunked;q=1',
  'cHuNkEd',
];
/** Transfer-Encoding field-name spellings. */
const teNames = ['Transfer-Encoding', 'transfer-encoding', 'TRANSFER-ENCODING', 'Transfer-Encoding ', 'Transfer_Encoding', ' Transfer-Encoding', 'X-Transfer-Encoding'];
/** Content-Length values for a 5-byte body. */
const clValues = ['5', '05', '0005', '+5', '-5', '5 ', ' 5', '5\t', '5, 5', '5,5', '0x5', '5.0', '', '99999999999999999999', '1e1', '５'];
/** Chunked bodies (5 payload bytes where valid). */
const chunkBodies = [
  '5\r\nhello\r\n0\r\n\r\n',
  '05\r\nhello\r\n0\r\n\r\n',
  '0005\r\nhello\r\n000\r\n\r\n',
  '5;ext=1\r\nhello\r\n0\r\n\r\n',
  '5;ext="q"\r\nhello\r\n0\r\n\r\n',
  '5 ;ext\r\nhello\r\n0\r\n\r\n',
  '5\r\nhello\r\n0\r\nContent-Length: 45\r\n\r\n',
  '5\r\nhello\r\n0\r\nTransfer-Encoding: chunked\r\n\r\n',
  '5\r\nhello\r\n0\r\nX-Trailer: yes\r\n\r\n',
  '5\r\nhello\r\n0\r\nHost: evil.test\r\n\r\n',
  '5\r\nhello\r\n0\r\nConnection: keep-alive\r\n\r\n',
  '5\nhello\n0\n\n',
  '5\r\nhello0\r\n\r\n',
  '5\r\nhelloXX\r\n0\r\n\r\n',
  '-5\r\nhello\r\n0\r\n\r\n',
  '0x5\r\nhello\r\n0\r\n\r\n',
  'fffffffffffffffff\r\nhello\r\n0\r\n\r\n',
  '5\r\nhello\r\n0\r\n',
  '2\r\nhe\r\n3\r\nllo\r\n0\r\n\r\n',
  'A\r\nhellohello\r\n0\r\n\r\n',
  'a\r\nhellohello\r\n0\r\n\r\n',
  '5\r\nhello\r\n0;x=1\r\n\r\n',
];

export function corpus(): CorpusRequest[] {
  const out: CorpusRequest[] = [];
  for (const v of teValues) out.push(req(`TE value ${JSON.stringify(v)}`, `POST /te HTTP/1.1\r\n${H}Transfer-Encoding: ${v}\r\n${C}\r\n5\r\nhello\r\n0\r\n\r\n`));
  for (const n of teNames) out.push(req(`TE name ${JSON.stringify(n)}`, `POST /te HTTP/1.1\r\n${H}${n}: chunked\r\n${C}\r\n5\r\nhello\r\n0\r\n\r\n`));
  for (const v of clValues) out.push(req(`CL value ${JSON.stringify(v)}`, `POST /cl HTTP/1.1\r\n${H}Content-Length: ${v}\r\n${C}\r\nhello`));
  for (const b of chunkBodies) out.push(req(`chunked body ${JSON.stringify(b)}`, `POST /chunks HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n${C}\r\n${b}`));
  // Both framings, duplicates, and HTTP/1.0.
  out.push(
    req('CL and TE', `POST /both HTTP/1.1\r\n${H}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n${C}\r\n5\r\nhello\r\n0\r\n\r\n`),
    req('TE and CL', `POST /both HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nContent-Length: 5\r\n${C}\r\n5\r\nhello\r\n0\r\n\r\n`),
    req('CL twice, same', `POST /dup HTTP/1.1\r\n${H}Content-Length: 5\r\nContent-Length: 5\r\n${C}\r\nhello`),
    req('CL twice, different', `POST /dup HTTP/1.1\r\n${H}Content-Length: 5\r\nContent-Length: 6\r\n${C}\r\nhello!`),
    req('TE twice', `POST /dup HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n${C}\r\n5\r\nhello\r\n0\r\n\r\n`),
    req('TE gzip then chunked fields', `POST /dup HTTP/1.1\r\n${H}Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n${C}\r\n5\r\nhello\r\n0\r\n\r\n`),
    req('TE in HTTP/1.0', `POST /v10 HTTP/1.0\r\n${H}Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n`),
    req('CL in HTTP/1.0', `POST /v10 HTTP/1.0\r\n${H}Content-Length: 5\r\n\r\nhello`),
    req('CL 0 with a body after', `POST /cl0 HTTP/1.1\r\n${H}Content-Length: 0\r\n${C}\r\nGET /smuggled HTTP/1.1\r\n${H}\r\n`),
    req('GET with CL body', `GET /getbody HTTP/1.1\r\n${H}Content-Length: 5\r\n${C}\r\nhello`),
    req('GET with TE body', `GET /getbody HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n${C}\r\n5\r\nhello\r\n0\r\n\r\n`),
    req('obs-fold in TE', `POST /fold HTTP/1.1\r\n${H}Transfer-Encoding:\r\n chunked\r\n${C}\r\n5\r\nhello\r\n0\r\n\r\n`),
    req('obs-fold in a field', `GET /fold HTTP/1.1\r\n${H}X-A: 1\r\n 2\r\n${C}\r\n`),
    req('space before colon', `GET /sp HTTP/1.1\r\n${H}X-A : 1\r\n${C}\r\n`),
    req('tab before colon', `GET /sp HTTP/1.1\r\n${H}X-A\t: 1\r\n${C}\r\n`),
    req('no colon', `GET /nc HTTP/1.1\r\n${H}X-A 1\r\n${C}\r\n`),
    req('empty field name', `GET /nc HTTP/1.1\r\n${H}: 1\r\n${C}\r\n`),
    req('bare LF line ends', `GET /lf HTTP/1.1\n${H.replace('\r', '')}${C.replace('\r', '')}\n`),
    req('bare CR in a value', `GET /cr HTTP/1.1\r\n${H}X-A: 1\r2\r\n${C}\r\n`),
    req('NUL in a value', `GET /nul HTTP/1.1\r\n${H}X-A: 1\u00002\r\n${C}\r\n`),
    req('DEL in a value', `GET /del HTTP/1.1\r\n${H}X-A: 1\u007f2\r\n${C}\r\n`),
    req('obs-text in a value', `GET /obs HTTP/1.1\r\n${H}X-A: caf\u00e9\r\n${C}\r\n`),
    req('underscore in a name', `GET /us HTTP/1.1\r\n${H}X_Real_IP: 198.18.0.66\r\n${C}\r\n`),
    req('underscore and dash forms', `GET /us HTTP/1.1\r\n${H}X-Forwarded_For: 198.18.0.66\r\nX_Forwarded_For: 198.18.0.67\r\n${C}\r\n`),
    req('no Host in HTTP/1.1', `GET /nohost HTTP/1.1\r\n${C}\r\n`),
    req('two Host fields', `GET /twohost HTTP/1.1\r\n${H}Host: e.test\r\n${C}\r\n`),
    req('Host with a space', `GET /badhost HTTP/1.1\r\nHost: d .test\r\n${C}\r\n`),
    req('Host with userinfo', `GET /badhost HTTP/1.1\r\nHost: u@d.test\r\n${C}\r\n`),
    req('Host with a path', `GET /badhost HTTP/1.1\r\nHost: d.test/x\r\n${C}\r\n`),
    req('empty Host', `GET /emptyhost HTTP/1.1\r\nHost: \r\n${C}\r\n`),
    req('Host with a port', `GET /port HTTP/1.1\r\nHost: d.test:80\r\n${C}\r\n`),
    req('absolute-form target', `GET http://d.test/abs HTTP/1.1\r\n${H}${C}\r\n`),
    req('absolute-form, other host', `GET http://e.test/abs HTTP/1.1\r\n${H}${C}\r\n`),
    req('absolute-form with userinfo', `GET http://u:p@d.test/abs HTTP/1.1\r\n${H}${C}\r\n`),
    req('asterisk with GET', `GET * HTTP/1.1\r\n${H}${C}\r\n`),
    req('OPTIONS asterisk', `OPTIONS * HTTP/1.1\r\n${H}${C}\r\n`),
    req('fragment in the target', `GET /frag#x HTTP/1.1\r\n${H}${C}\r\n`),
    req('space in the target', `GET /a b HTTP/1.1\r\n${H}${C}\r\n`),
    req('two spaces after the method', `GET  /two HTTP/1.1\r\n${H}${C}\r\n`),
    req('tab as separator', `GET\t/tab HTTP/1.1\r\n${H}${C}\r\n`),
    req('lower-case version', `GET /ver http/1.1\r\n${H}${C}\r\n`),
    req('HTTP/1.2', `GET /ver HTTP/1.2\r\n${H}${C}\r\n`),
    req('HTTP/2.0 in a request line', `GET /ver HTTP/2.0\r\n${H}${C}\r\n`),
    req('HTTP/0.9 request line', `GET /ver\r\n\r\n`),
    req('no version digits', `GET /ver HTTP/\r\n${H}${C}\r\n`),
    req('leading empty line', `\r\nGET /lead HTTP/1.1\r\n${H}${C}\r\n`),
    req('lower-case method', `get /m HTTP/1.1\r\n${H}${C}\r\n`),
    req('extension method', `PURGE /m HTTP/1.1\r\n${H}${C}\r\n`),
    req('method with a slash', `GE/T /m HTTP/1.1\r\n${H}${C}\r\n`),
    req('CONNECT', `CONNECT d.test:443 HTTP/1.1\r\n${H}${C}\r\n`),
    req('Expect 100-continue', `POST /exp HTTP/1.1\r\n${H}Content-Length: 5\r\nExpect: 100-continue\r\n${C}\r\nhello`),
    req('Expect other', `POST /exp HTTP/1.1\r\n${H}Content-Length: 5\r\nExpect: 101-nope\r\n${C}\r\nhello`),
    req('Connection naming a field', `GET /conn HTTP/1.1\r\n${H}X-Secret: 1\r\nConnection: close, X-Secret\r\n\r\n`),
    req('Connection naming Content-Length', `POST /conn HTTP/1.1\r\n${H}Content-Length: 5\r\nConnection: close, Content-Length\r\n\r\nhello`),
    req('Keep-Alive and TE fields', `GET /hop HTTP/1.1\r\n${H}Keep-Alive: timeout=5\r\nTE: trailers\r\nTrailer: X-T\r\n${C}\r\n`),
    req('Upgrade without Connection', `GET /up HTTP/1.1\r\n${H}Upgrade: websocket\r\n${C}\r\n`),
    req('X-Forwarded-For from the client', `GET /xff HTTP/1.1\r\n${H}X-Forwarded-For: 198.18.0.99\r\n${C}\r\n`),
    req('header names case', `GET /case HTTP/1.1\r\nhOsT: d.test\r\ncoNNection: close\r\n\r\n`),
    req('a 10 KB field', `GET /big HTTP/1.1\r\n${H}X-Big: ${'a'.repeat(10_000)}\r\n${C}\r\n`),
    req('80 fields', `GET /many HTTP/1.1\r\n${H}${Array.from({ length: 80 }, (_, i) => `X-F${i}: ${i}\r\n`).join('')}${C}\r\n`),
    req('plain GET', `GET /plain HTTP/1.1\r\n${H}${C}\r\n`),
    req('plain POST', `POST /plain HTTP/1.1\r\n${H}Content-Length: 5\r\nContent-Type: text/plain\r\n${C}\r\nhello`),
    req('POST without a body length', `POST /nolen HTTP/1.1\r\n${H}${C}\r\n`),
    req('percent-encoded dot segments', `GET /a/%2e%2e/b HTTP/1.1\r\n${H}${C}\r\n`),
    req('encoded NUL in the path', `GET /a%00b HTTP/1.1\r\n${H}${C}\r\n`),
  );
  return out;
}
