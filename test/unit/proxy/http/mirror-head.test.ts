// retargetRequestHead: the head a mirror copy gets when ingress-nginx's
// mirror-target sends it elsewhere: the request-target and Host replaced,
// every other field kept in order, and no body framing when the copy has no body.
import { expect, test } from 'vitest';
import { retargetRequestHead } from '../../../../src/proxy/http/mirror.ts';

const head = Buffer.from('POST /form?x=1 HTTP/1.1\r\nHost: app.example.com\r\nContent-Length: 5\r\nX-Custom: yes\r\nExpect: 100-continue\r\nX-Forwarded-For: 198.18.0.9\r\n\r\n', 'latin1');

test('target and Host replaced, the other fields kept in order', () => {
  expect(retargetRequestHead(head, '//form?x=1', 'mirror.example.com', true).toString('latin1')).toBe(
    'POST //form?x=1 HTTP/1.1\r\nhost: mirror.example.com\r\nContent-Length: 5\r\nX-Custom: yes\r\nExpect: 100-continue\r\nX-Forwarded-For: 198.18.0.9\r\n\r\n',
  );
});

test('without the body: no Content-Length, Transfer-Encoding or Expect', () => {
  expect(retargetRequestHead(head, undefined, undefined, false).toString('latin1')).toBe('POST /form?x=1 HTTP/1.1\r\nHost: app.example.com\r\nX-Custom: yes\r\nX-Forwarded-For: 198.18.0.9\r\n\r\n');
  const chunked = Buffer.from('PUT /u HTTP/1.1\r\nhost: a\r\ntransfer-encoding: chunked\r\n\r\n', 'latin1');
  expect(retargetRequestHead(chunked, '/m', 'm', false).toString('latin1')).toBe('PUT /m HTTP/1.1\r\nhost: m\r\n\r\n');
});
