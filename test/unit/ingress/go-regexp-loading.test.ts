// RE2JS is loaded at the first pattern compiled (src/ingress/match/go-regexp.ts):
// a process that loads the proxy's runtime and compiles Ingresses routed by
// host and prefix never loads it; the first regex path does. In a process
// of its own, so what this test file imports does not count.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect, test } from 'vitest';

const src = join(import.meta.dirname, '../../../src');

test('host and prefix routes load no regexp engine; the first regex path does', async () => {
  const script = `
import { createRequire } from 'node:module';
const { IngressCompiler } = await import(${JSON.stringify(join(src, 'ingress/compile/ingress-compiler.ts'))});
await import(${JSON.stringify(join(src, 'proxy/proxy-runtime.ts'))});
const loaded = () => Object.keys(createRequire(import.meta.url).cache).some((k) => k.includes('/node_modules/re2js/'));
const c = new IngressCompiler();
c.setIngressClass({ apiVersion: 'networking.k8s.io/v1', kind: 'IngressClass', metadata: { name: 'metalgate' }, spec: { controller: 'metalgate.io/ingress-controller' } });
c.setService({ metadata: { namespace: 'ns', name: 's' }, spec: { ports: [{ name: 'http', port: 80 }] } });
const ingress = (name, path, annotations) => ({ apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { namespace: 'ns', name, uid: name, annotations }, spec: { ingressClassName: 'metalgate', rules: [{ host: name + '.example', http: { paths: [{ path, pathType: 'ImplementationSpecific', backend: { service: { name: 's', port: { number: 80 } } } }] } }] } });
c.setIngress(ingress('plain', '/app', {}));
const plain = c.compile();
const afterPlain = loaded();
c.setIngress(ingress('rx', '/v[0-9]+/', { 'nginx.ingress.kubernetes.io/use-regex': 'true' }));
const rx = c.compile();
console.log(JSON.stringify({ routes: [plain.specs.web.size, rx.specs.web.size], afterPlain, afterRegex: loaded() }));
`;
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script]);
  expect(JSON.parse(stdout)).toEqual({ routes: [1, 2], afterPlain: false, afterRegex: true });
}, 30_000);
