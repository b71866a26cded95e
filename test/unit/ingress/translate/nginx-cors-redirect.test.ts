import { describe, expect, test } from 'vitest';
import { NGINX, parseNginx } from './fixtures.ts';
import { corsOriginPattern } from '../../../../src/ingress/translate/nginx-annotations.ts';

const N = NGINX;

const parse = parseNginx;

describe('enable-cors', () => {
  test("ingress-nginx's defaults", () => {
    expect(parse({ 'enable-cors': 'true' }).config.cors).toEqual({
      type: 'nginxCors',
      allowCredentials: true,
      allowMethods: 'GET, PUT, POST, DELETE, PATCH, OPTIONS',
      allowHeaders: 'DNT,Keep-Alive,User-Agent,X-Requested-With,If-Modified-Since,Cache-Control,Content-Type,Range,Authorization',
      maxAge: 1728000,
    });
  });

  test('origins become the patterns buildOriginRegex writes; `*` anywhere in the list means every origin', () => {
    expect(parse({ 'enable-cors': 'true', 'cors-allow-origin': 'https://a.example, https://*.b.example:8443, null' }).config.cors?.origins).toEqual([
      'https://a\\.example',
      'https://[A-Za-z0-9\\-]+\\.b\\.example:8443',
      'null',
    ]);
    expect(parse({ 'enable-cors': 'true', 'cors-allow-origin': 'https://a.example, *' }).config.cors?.origins).toBeUndefined();
    expect(corsOriginPattern('http://x.y')).toBe('http://x\\.y');
  });

  test('cors-* without enable-cors: a warning, nothing else', () => {
    const { config, diags } = parse({ 'cors-allow-origin': 'https://a.example' });
    expect(config.cors).toBeUndefined();
    expect(diags).toEqual([`warning:IgnoredAnnotation:${N}cors-allow-origin has no effect without ${N}enable-cors: "true"`]);
  });

  test('a pathological value is refused at once (checked token by token, no backtracking)', () => {
    const t0 = performance.now();
    const { config, diags } = parse({ 'enable-cors': 'true', 'cors-allow-methods': `${'a'.repeat(5000)}!` });
    expect(performance.now() - t0).toBeLessThan(50);
    expect(config.cors).toBeUndefined();
    expect(diags[0]).toMatch(/^error:BadAnnotation:.*cors-allow-methods/);
  });
});

describe('redirects', () => {
  test('codes: defaults, out-of-range falls back with a warning, temporal wins', () => {
    expect(parse({ 'permanent-redirect': 'https://x.example/' }).config.redirect?.status).toBe(301);
    const { config, diags } = parse({ 'permanent-redirect': 'https://x.example/', 'permanent-redirect-code': '200' });
    expect(config.redirect?.status).toBe(301);
    expect(diags[0]).toMatch(/^warning:BadAnnotation:.*permanent-redirect-code: 200/);
    expect(parse({ 'temporal-redirect': 'https://t.example/', 'temporal-redirect-code': '307', 'permanent-redirect': 'https://p.example/' }).config.redirect?.status).toBe(307);
  });

  test('app-root must be a path', () => {
    expect(parse({ 'app-root': '/app' }).config.appRoot).toMatchObject({ status: 302, onlyPath: '/' });
    expect(parse({ 'app-root': 'https://x.example/app' }).diags[0]).toMatch(/^error:BadAnnotation:.*app-root/);
  });
});
