// custom-headers and auth-proxy-set-headers: ConfigMaps of header fields,
// resolved through the compiler so a ConfigMap change recompiles the Ingress
// and a bad ConfigMap keeps the last good version serving.
import type { V1ConfigMap } from '@kubernetes/client-node';
import { describe, expect, test } from 'vitest';
import type { ExternalAuthSpec, ResponseFieldsSpec } from '../../../../src/ingress/model/middleware-spec.ts';
import { compilerWith, ingress, NGINX, reasons, request, service } from './fixtures.ts';
import { tableOf } from '../../../support/compiled-tables.ts';

let rv = 0;
const configMap = (ns: string, name: string, data: Record<string, string>): V1ConfigMap => ({ metadata: { namespace: ns, name, resourceVersion: String(++rv) }, data });

function withHeaders(annotations: Record<string, string>) {
  const c = compilerWith([service('ns', 'a')]);
  c.setIngress(ingress('ns', 'web', [{ host: 'web.example', paths: [{ service: 'a' }] }], { annotations: Object.fromEntries(Object.entries(annotations).map(([k, v]) => [NGINX + k, v])) }));
  return c;
}

function middlewares(c: ReturnType<typeof compilerWith>) {
  const out = c.compile();
  return { out, mws: tableOf(out, 'websecure').lookup(request('web.example', '/'))?.middlewares ?? [] };
}

describe('custom-headers', () => {
  test('the ConfigMap of the Ingress namespace gives response fields, set first in the chain (so the answers of every other middleware carry them)', () => {
    const c = withHeaders({ 'custom-headers': 'ns/security', 'enable-cors': 'true', 'permanent-redirect': 'https://elsewhere.example/' });
    c.setConfigMap(configMap('ns', 'security', { 'X-Frame-Options': 'DENY', 'Content-Security-Policy': "default-src 'self'", 'X-Served-For': '$host' }));
    const { out, mws } = middlewares(c);
    expect(reasons(out)).toEqual([]);
    expect(mws.map((m) => m.spec.type)).toEqual(['responseFields', 'nginxCors', 'returnRedirect']);
    expect((mws[0]!.spec as ResponseFieldsSpec).fields).toEqual([
      ['Content-Security-Policy', [{ text: "default-src 'self'" }]],
      ['X-Frame-Options', [{ text: 'DENY' }]],
      ['X-Served-For', [{ variable: 'host' }]],
    ]);
  });

  test('a name without namespace is the Ingress namespace; another namespace is refused', () => {
    const c = withHeaders({ 'custom-headers': 'security' });
    c.setConfigMap(configMap('ns', 'security', { 'X-A': '1' }));
    expect(reasons(c.compile())).toEqual([]);
    const other = withHeaders({ 'custom-headers': 'kube-system/security' });
    other.setConfigMap(configMap('kube-system', 'security', { 'X-A': '1' }));
    const out = other.compile();
    expect(out.diagnostics.map((d) => `${d.reason}: ${d.message}`)).toContain(
      "BadAnnotation: nginx.ingress.kubernetes.io/custom-headers: ConfigMap kube-system/security is in another namespace; a ConfigMap of the Ingress's own namespace (ns) is required",
    );
    expect(tableOf(out, 'websecure').lookup(request('web.example', '/'))).toBeUndefined();
  });

  test('a missing ConfigMap withholds the Ingress; created, it serves; changed, the fields follow; bad, the last good fields stay', () => {
    const c = withHeaders({ 'custom-headers': 'h' });
    let { out, mws } = middlewares(c);
    expect(reasons(out)).toEqual(['MissingConfigMap', 'NotServed']);
    expect(tableOf(out, 'websecure').lookup(request('web.example', '/'))).toBeUndefined();

    c.setConfigMap(configMap('ns', 'h', { 'X-Version': 'one' }));
    ({ out, mws } = middlewares(c));
    expect(reasons(out)).toEqual([]);
    expect((mws[0]!.spec as ResponseFieldsSpec).fields).toEqual([['X-Version', [{ text: 'one' }]]]);

    c.setConfigMap(configMap('ns', 'h', { 'X-Version': 'two' }));
    ({ mws } = middlewares(c));
    expect((mws[0]!.spec as ResponseFieldsSpec).fields).toEqual([['X-Version', [{ text: 'two' }]]]);

    c.setConfigMap(configMap('ns', 'h', { 'X Version': 'three' }));
    ({ out, mws } = middlewares(c));
    expect(out.diagnostics.map((d) => `${d.reason}: ${d.message}`)[0]).toBe('BadConfigMap: nginx.ingress.kubernetes.io/custom-headers: ConfigMap ns/h key "X Version" is not a header name (letters, digits, - and _)');
    expect(reasons(out)).toEqual(['BadConfigMap', 'KeptLastGood']);
    expect((mws[0]!.spec as ResponseFieldsSpec).fields).toEqual([['X-Version', [{ text: 'two' }]]]);

    c.deleteConfigMap('ns/h');
    ({ out, mws } = middlewares(c));
    expect(reasons(out)).toEqual(['MissingConfigMap', 'KeptLastGood']);
    expect((mws[0]!.spec as ResponseFieldsSpec).fields).toEqual([['X-Version', [{ text: 'two' }]]]);
  });

  test.each([
    [{ 'Content-Length': '5' }, 'key "Content-Length": Content-Length frames the message and is set by the proxy only'],
    [{ 'transfer-encoding': 'chunked' }, 'key "transfer-encoding": transfer-encoding frames the message and is set by the proxy only'],
    [{ 'X-Empty': '' }, 'key "X-Empty": "" is not a valid header value (non-empty; letters, digits, spaces and the punctuation ingress-nginx allows)'],
    [{ 'X-Split': 'a\r\nSet-Cookie: x=1' }, 'key "X-Split": "a\\r\\nSet-Cookie: x=1" is not a valid header value'],
    [{ 'X-Unicode': 'café' }, 'key "X-Unicode": "café" is not a valid header value'],
    [{ 'X-Var': '$upstream_addr' }, 'key "X-Var": variable $upstream_addr is not one metalgate fills'],
    [{ 'X.Dot': 'v' }, 'key "X.Dot" is not a header name'],
    [{ Host: 'elsewhere.example' }, 'key "Host": Host is set by the proxy'],
    [{}, 'holds no header field under data'],
  ])('refused: %j', (data, message) => {
    const c = withHeaders({ 'custom-headers': 'h' });
    c.setConfigMap(configMap('ns', 'h', data));
    const out = c.compile();
    expect(out.diagnostics[0]!.reason).toBe('BadConfigMap');
    expect(out.diagnostics[0]!.message).toContain(message);
    expect(tableOf(out, 'websecure').lookup(request('web.example', '/'))).toBeUndefined();
  });

  test('on a canary Ingress it is ignored with a warning: the main Ingress settings apply', () => {
    const c = withHeaders({ canary: 'true', 'canary-weight': '10', 'custom-headers': 'h' });
    expect(c.compile().diagnostics.map((d) => d.reason)).toContain('IgnoredAnnotation');
  });
});

describe('auth-proxy-set-headers', () => {
  test('the ConfigMap fields go into the auth request spec, variables parsed, an empty value kept (it removes the field)', () => {
    const c = withHeaders({ 'auth-url': 'http://auth.ns.svc/verify', 'auth-proxy-set-headers': 'auth-fields' });
    c.setConfigMap(configMap('ns', 'auth-fields', { 'X-Tenant': 'blue', 'X-Client': '$remote_addr', Cookie: '' }));
    const { out, mws } = middlewares(c);
    expect(reasons(out)).toEqual([]);
    const auth = mws.find((m) => m.spec.type === 'externalAuth')!.spec as ExternalAuthSpec;
    expect(auth.proxySetHeaders).toEqual([
      ['Cookie', []],
      ['X-Client', [{ variable: 'remote_addr' }]],
      ['X-Tenant', [{ text: 'blue' }]],
    ]);
  });

  test('fail closed: a missing ConfigMap keeps the Ingress out (its auth request would lack what its owner wrote)', () => {
    const c = withHeaders({ 'auth-url': 'http://auth.ns.svc/verify', 'auth-proxy-set-headers': 'absent' });
    const out = c.compile();
    expect(reasons(out)).toEqual(['MissingConfigMap', 'NotServed']);
    expect(tableOf(out, 'websecure').lookup(request('web.example', '/'))).toBeUndefined();
  });

  test('a value on two lines is refused', () => {
    const c = withHeaders({ 'auth-url': 'http://auth.ns.svc/verify', 'auth-proxy-set-headers': 'f' });
    c.setConfigMap(configMap('ns', 'f', { 'X-A': 'one\ntwo' }));
    expect(c.compile().diagnostics[0]!.message).toContain('key "X-A": "one\\ntwo" is not a valid header value (one line)');
  });
});
