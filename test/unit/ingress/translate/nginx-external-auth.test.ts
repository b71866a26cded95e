// ingress-nginx's auth-url family, parsed as ingress-nginx documents and
// builds it (internal/ingress/annotations/authreq, template buildAuthSignURL).
import { describe, expect, test } from 'vitest';
import { NGINX, parseNginx } from './fixtures.ts';
import { signinUrl } from '../../../../src/ingress/translate/nginx-annotations.ts';
import { parseNginxTemplate } from '../../../../src/ingress/translate/nginx-template.ts';

const N = NGINX;

const parse = parseNginx;

describe('auth-url family', () => {
  test('the oauth2-proxy example as ingress-nginx documents it', () => {
    const { config, diags } = parse({
      'auth-url': 'https://$host/oauth2/auth',
      'auth-signin': 'https://$host/oauth2/start?rd=$escaped_request_uri',
      'auth-response-headers': 'X-Auth-Request-User, X-Auth-Request-Email',
    });
    expect(diags).toEqual([]);
    expect(config.externalAuth).toEqual({
      type: 'externalAuth',
      url: [{ text: 'https://' }, { variable: 'host' }, { text: '/oauth2/auth' }],
      signin: [{ text: 'https://' }, { variable: 'host' }, { text: '/oauth2/start?rd=' }, { variable: 'escaped_request_uri' }],
      signinRedirectParam: 'rd',
      responseHeaders: ['X-Auth-Request-User', 'X-Auth-Request-Email'],
      alwaysSetCookie: false,
      connectTimeoutMs: 5000,
      timeoutMs: 60000,
    });
  });

  test('auth-method, auth-request-redirect, auth-always-set-cookie', () => {
    const { config, diags } = parse({ 'auth-url': 'http://auth.ns.svc.cluster.local:8080/verify', 'auth-method': 'POST', 'auth-request-redirect': '/after/$uri', 'auth-always-set-cookie': 'true' });
    expect(diags).toEqual([]);
    expect(config.externalAuth).toMatchObject({ method: 'POST', requestRedirect: [{ text: '/after/' }, { variable: 'uri' }], alwaysSetCookie: true });
  });

  test.each([
    [{ 'auth-url': 'not a url' }, `${N}auth-url: "not a url" is not a URL`],
    [{ 'auth-url': 'ftp://auth/x' }, `${N}auth-url: "ftp://auth/x" is not an http or https URL`],
    [{ 'auth-url': 'http://$upstream_addr/x' }, `${N}auth-url: variable $upstream_addr is not one metalgate fills`],
    [{ 'auth-url': 'http://auth/x', 'auth-method': 'get' }, `${N}auth-method: "get" is not one of GET`],
    [{ 'auth-url': 'http://auth/x', 'auth-response-headers': 'X-User, bad header' }, `${N}auth-response-headers: "bad header" is not a header name`],
    [{ 'auth-url': 'http://auth/x', 'auth-signin': 'https://$nope/start' }, `${N}auth-signin: variable $nope is not one metalgate fills`],
  ])('%j is an error (the Ingress is not served)', (a, message) => {
    const { config, diags } = parse(a);
    expect(config.externalAuth).toBeUndefined();
    expect(diags.some((d) => d.startsWith('error:BadAnnotation:') && d.includes(message))).toBe(true);
  });

  test('without auth-url the others do nothing, and say so', () => {
    expect(parse({ 'auth-signin': 'https://x/start' }).diags).toEqual([`warning:IgnoredAnnotation:${N}auth-signin has no effect without ${N}auth-url`]);
  });

  test('caching and keepalive only tune performance: ignored with a warning, every request is checked', () => {
    const { config, diags } = parse({ 'auth-url': 'http://auth/x', 'auth-cache-key': '$remote_user$http_authorization', 'auth-cache-duration': '200 202 401 5m', 'auth-keepalive': '10' });
    expect(config.externalAuth).toBeDefined();
    expect(diags.every((d) => d.startsWith('warning:IgnoredAnnotation:') && d.includes('every request is checked'))).toBe(true);
    expect(diags).toHaveLength(3);
  });

  test('auth-proxy-set-headers names a ConfigMap (resolved by the Ingress translator); auth-snippet stays refused', () => {
    expect(parse({ 'auth-url': 'http://auth/x', 'auth-proxy-set-headers': 'ns/headers' })).toMatchObject({ config: { authProxySetHeaders: 'ns/headers' }, diags: [] });
    expect(parse({ 'auth-url': 'http://auth/x', 'auth-proxy-set-headers': 'ns/Bad_Name' }).diags).toEqual([
      'error:BadAnnotation:nginx.ingress.kubernetes.io/auth-proxy-set-headers: "ns/Bad_Name" is not a ConfigMap name (or namespace/name)',
    ]);
    expect(parse({ 'auth-proxy-set-headers': 'headers' }).diags).toEqual(['warning:IgnoredAnnotation:nginx.ingress.kubernetes.io/auth-proxy-set-headers has no effect without nginx.ingress.kubernetes.io/auth-url']);
    expect(parse({ 'auth-url': 'http://auth/x', 'auth-snippet': 'proxy_set_header X 1;' }).diags.filter((d) => d.startsWith('error:UnsupportedSecurityAnnotation'))).toHaveLength(1);
  });

  test('on a canary Ingress auth-url is refused: ingress-nginx ignores it there', () => {
    const { diags } = parse({ canary: 'true', 'canary-weight': '10', 'auth-url': 'http://auth/x' });
    expect(diags.filter((d) => d.startsWith('error:UnsupportedSecurityAnnotation') && d.includes('canary'))).toHaveLength(1);
  });
});

describe("the sign-in URL's rd parameter (ingress-nginx buildAuthSignURL)", () => {
  test.each([
    ['https://auth.example/start', 'rd', 'https://auth.example/start?rd=$pass_access_scheme://$http_host$escaped_request_uri'],
    ['https://auth.example/start?foo=1', 'rd', 'https://auth.example/start?foo=1&rd=$pass_access_scheme://$http_host$escaped_request_uri'],
    ['https://$host/oauth2/start?rd=$escaped_request_uri', 'rd', 'https://$host/oauth2/start?rd=$escaped_request_uri'],
    ['https://auth.example/start', 'return_to', 'https://auth.example/start?return_to=$pass_access_scheme://$http_host$escaped_request_uri'],
  ])('%s (%s)', (text, param, want) => {
    expect(signinUrl(text, param)).toBe(want);
  });

  test('templates: ${name} and $name, unknown names refused', () => {
    expect(parseNginxTemplate('a${host}b$http_x_user/c')).toEqual({ ok: true, parts: [{ text: 'a' }, { variable: 'host' }, { text: 'b' }, { variable: 'http_x_user' }, { text: '/c' }] });
    expect(parseNginxTemplate('a$').ok).toBe(false);
    expect(parseNginxTemplate('a${host').ok).toBe(false);
  });
});

describe('auth-type: basic', () => {
  test("the documentation's example: the Secret's name, auth-file, the realm", () => {
    const { config, diags } = parse({ 'auth-type': 'basic', 'auth-secret': 'basic-auth', 'auth-realm': 'Authentication Required - foo' });
    expect(diags).toEqual([]);
    expect(config.basicAuth).toEqual({ type: 'basic', secretName: 'basic-auth', secretType: 'auth-file', realm: 'Authentication Required - foo' });
  });
  test.each([
    [{ 'auth-type': 'digest', 'auth-secret': 's', 'auth-secret-type': 'auth-map' }, 'error:BadAnnotation'],
    [{ 'auth-type': 'ntlm', 'auth-secret': 's' }, 'error:BadAnnotation'],
    [{ 'auth-type': 'basic' }, 'error:BadAnnotation'],
    [{ 'auth-secret': 's' }, 'error:BadAnnotation'],
    [{ 'auth-type': 'basic', 'auth-secret': 's', 'auth-secret-type': 'auth-list' }, 'error:BadAnnotation'],
  ])('%j: %s (the Ingress is not served)', (a, kind) => {
    const { config, diags } = parse(a);
    expect(config.basicAuth).toBeUndefined();
    expect(diags.some((d) => d.startsWith(kind))).toBe(true);
  });
});
