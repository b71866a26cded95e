import http from 'node:http';
import type net from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { ExternalAuthSpec } from '../../../../src/ingress/model/middleware-spec.ts';
import { externalAuth } from '../../../../src/ingress/runtime/middlewares/external-auth.ts';
import { escapeUri, fillTemplate } from '../../../../src/ingress/runtime/nginx-variables.ts';
import { parseNginxTemplate } from '../../../../src/ingress/translate/nginx-template.ts';
import { FakeRequest } from './fake-context.ts';

const parts = (text: string) => {
  const r = parseNginxTemplate(text);
  if (!r.ok) throw new Error(r.error);
  return r.parts;
};

describe('nginx variables', () => {
  test('host without port and lowercased, http_host as sent, request URI as received, headers and args', () => {
    const ctx = new FakeRequest({ host: 'App.Example.com:8443', tls: true, upstreamTarget: '/a/b?x=1&y=two', headers: { 'x-team': 'blue' } });
    const uri = { requestUri: '/a/b?x=1&y=two' };
    expect(fillTemplate(parts('$scheme://$host|$http_host|$request_uri|$uri|$args|$arg_y|$http_x_team|$is_args'), ctx, uri)).toBe(
      'https://app.example.com|App.Example.com:8443|/a/b?x=1&y=two|/a/b|x=1&y=two|two|blue|?',
    );
    expect(fillTemplate(parts('[$host]'), new FakeRequest({ host: '[2001:db8::1]:443' }), uri)).toBe('[[2001:db8::1]]');
  });

  test('escaped_request_uri escapes every byte but A-Z a-z 0-9 - . _ ~ (set_escape_uri)', () => {
    expect(escapeUri("/p/ä?a=b c&d=~_.-!'()*")).toBe('%2Fp%2F%C3%A4%3Fa%3Db%20c%26d%3D~_.-%21%27%28%29%2A');
  });
});

describe('externalAuth middleware: fail closed', () => {
  let silent: http.Server;
  let port = 0;
  beforeAll(async () => {
    // Accepts and never answers.
    silent = http.createServer(() => {});
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    port = (silent.address() as net.AddressInfo).port;
    // The middleware loads undici at its first request; the timing below is of the timeout (about 1 s for
    // 200 ms: undici's timers tick every half second), not of that load, which took over a second on a busy machine.
    await import('undici');
  });
  afterAll(() => {
    silent.closeAllConnections();
    silent.close();
  });

  const spec = (url: string, timeoutMs = 200): ExternalAuthSpec => ({
    type: 'externalAuth',
    url: parts(url),
    signinRedirectParam: 'rd',
    responseHeaders: [],
    alwaysSetCookie: false,
    connectTimeoutMs: 200,
    timeoutMs,
  });

  test('an auth service that does not answer in time: 500', async () => {
    const mw = externalAuth('t', spec(`http://127.0.0.1:${port}/auth`));
    const t0 = Date.now();
    const res = await mw.onRequest!(new FakeRequest({ upstreamTarget: '/x' }));
    expect(res?.status).toBe(500);
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  test('a URL that does not resolve to http(s) once filled: 500', async () => {
    const mw = externalAuth('t', spec('http://$http_x_missing/auth'));
    expect((await mw.onRequest!(new FakeRequest()))?.status).toBe(500);
  });
});
