// urlBackend: an address literal is an endpoint at once; a host name has
// none until its lookup answers, then the address it resolved to.
import { setTimeout as sleep } from 'node:timers/promises';
import { expect, test } from 'vitest';
import { urlBackend } from '../../../../src/ingress/runtime/url-backend.ts';

test('an address literal: at once, with the scheme\'s port', () => {
  expect(urlBackend(new URL('http://198.18.0.5')).pick('198.18.0.1')).toMatchObject({ ip: '198.18.0.5', port: 80 });
  const b = urlBackend(new URL('https://[2001:db8::5]:8443'));
  expect(b.pick('198.18.0.1')).toMatchObject({ ip: '2001:db8::5', port: 8443 });
  expect(b.protocol).toBe('https');
  expect(b.tls).toBeUndefined();
});

test('a host name: looked up in the background, then its address; https sends it as the server name', async () => {
  const b = urlBackend(new URL('https://localhost:9443'));
  expect(b.tls).toEqual({ servername: 'localhost' });
  const until = Date.now() + 5000;
  while (b.pick('198.18.0.1') === undefined && Date.now() < until) await sleep(10);
  expect(b.pick('198.18.0.1')).toMatchObject({ port: 9443 });
  expect(['127.0.0.1', '::1']).toContain(b.pick('198.18.0.1')!.ip);
});
