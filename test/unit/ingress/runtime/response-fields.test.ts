import { describe, expect, test } from 'vitest';
import { responseFields } from '../../../../src/ingress/runtime/middlewares/response-fields.ts';
import { FakeRequest, FakeResponse } from './fake-context.ts';

describe('responseFields (custom-headers)', () => {
  test('fixed values replace a field of the same name or add it', () => {
    const m = responseFields('t', { type: 'responseFields', fields: [['X-Frame-Options', [{ text: 'DENY' }]], ['Cache-Control', [{ text: 'no-store' }]]] });
    expect(m.onRequest).toBeUndefined();
    const res = new FakeResponse({ 'cache-control': 'max-age=60', 'content-type': 'text/plain' });
    m.onResponse!(new FakeRequest({}), res);
    expect(res.fields).toEqual([
      ['content-type', 'text/plain'],
      ['x-frame-options', 'DENY'],
      ['cache-control', 'no-store'],
    ]);
  });

  test('nginx variables are filled from the request, $request_uri as received even after a rewrite', () => {
    const m = responseFields('t', { type: 'responseFields', fields: [['X-Seen', [{ text: 'uri=' }, { variable: 'request_uri' }, { text: ' host=' }, { variable: 'host' }]]] });
    const req = new FakeRequest({ host: 'App.example:8080', upstreamTarget: '/orig?q=1' });
    m.onRequest!(req);
    req.upstreamTarget = '/rewritten';
    const res = new FakeResponse();
    m.onResponse!(req, res);
    expect(res.header('x-seen')).toBe('uri=/orig?q=1 host=app.example');
    m.onDone!(req, undefined as never);
  });
});
