import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { accessFromKubeconfig, inClusterAccess } from '../../../../src/kube/api/kubeconfig.ts';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const files: Record<string, string> = { '/etc/ca.pem': 'CA FROM FILE', '/etc/client.pem': 'CERT FROM FILE', '/etc/client.key': 'KEY FROM FILE' };
const read = (p: string) => {
  const v = files[p];
  if (v === undefined) throw new Error(`ENOENT: no such file, open '${p}'`);
  return v;
};

const config = (cluster: string, user: string, extra = '') => `apiVersion: v1
kind: Config
current-context: main
contexts:
- name: other
  context: {cluster: other, user: other}
- name: main
  context: {cluster: c1, user: u1}
clusters:
- name: other
  cluster: {server: https://other.example:6443}
- name: c1
  cluster:
${cluster}
users:
- name: u1
  user:
${user}
${extra}`;

describe('accessFromKubeconfig', () => {
  test('the current context: server, CA and client certificate from data fields', () => {
    const r = accessFromKubeconfig(config(`    server: https://198.18.0.1:6443/\n    certificate-authority-data: ${b64('CA')}`, `    client-certificate-data: ${b64('CERT')}\n    client-key-data: ${b64('KEY')}`), read);
    expect(r).toEqual({ ok: true, access: { server: 'https://198.18.0.1:6443', ca: 'CA', cert: 'CERT', key: 'KEY' } });
  });

  test('files named instead of data; a token, a token file, basic credentials, tls-server-name and insecure-skip-tls-verify', () => {
    const r = accessFromKubeconfig(
      config(`    server: https://api.example\n    certificate-authority: /etc/ca.pem\n    tls-server-name: kubernetes\n    insecure-skip-tls-verify: true`, `    client-certificate: /etc/client.pem\n    client-key: /etc/client.key\n    token: t0k\n    tokenFile: /var/token\n    username: admin\n    password: pw`),
      read,
    );
    expect(r).toEqual({
      ok: true,
      access: { server: 'https://api.example', ca: 'CA FROM FILE', cert: 'CERT FROM FILE', key: 'KEY FROM FILE', tlsServerName: 'kubernetes', insecureSkipTlsVerify: true, token: 't0k', tokenFile: '/var/token', username: 'admin', password: 'pw' },
    });
  });

  test('another context by name', () => {
    const r = accessFromKubeconfig(config('    server: https://a', '    token: x'), read, 'other');
    expect(r).toEqual({ ok: true, access: { server: 'https://other.example:6443' } });
  });

  test.each([
    ['not YAML', 'a: [', /not YAML/],
    ['empty', '', /empty/],
    ['no current context', 'apiVersion: v1\nkind: Config\n', /no current-context/],
    ['unknown context', config('    server: https://a', '    token: x').replace('current-context: main', 'current-context: nope'), /context "nope" not found/],
    ['no server', config('    insecure-skip-tls-verify: true', '    token: x'), /cluster "c1" has no server/],
    ['not a URL', config('    server: 198.18.0.1:6443', '    token: x'), /is not an http\(s\) URL/],
    ['a proxy', config('    server: https://a\n    proxy-url: http://p', '    token: x'), /proxy-url is not supported/],
    ['an exec plugin', config('    server: https://a', '    exec: {command: aws, apiVersion: client.authentication.k8s.io/v1}'), /exec credential plugin/],
    ['an auth-provider', config('    server: https://a', '    auth-provider: {name: oidc}'), /auth-provider/],
    ['a missing file', config('    server: https://a\n    certificate-authority: /nope.pem', '    token: x'), /ENOENT.*nope\.pem/],
  ])('refused with the field named: %s', (_what, text, error) => {
    const r = accessFromKubeconfig(text, read);
    expect(r.ok).toBe(false);
    expect(r.ok ? '' : r.error).toMatch(error);
  });

  test('YAML aliases are refused (a billion-laughs file must not stall the process)', () => {
    const bomb = `a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n`;
    const r = accessFromKubeconfig(bomb, read);
    expect(r.ok).toBe(false);
  });

  test('the same kubeconfig in JSON gives the same access; broken JSON is an error', () => {
    const yaml = config(`    server: https://198.18.0.1:6443/\n    certificate-authority-data: ${b64('CA')}`, `    token: secret`);
    const fromYaml = accessFromKubeconfig(yaml, read);
    expect(fromYaml.ok).toBe(true);
    expect(accessFromKubeconfig(JSON.stringify(parse(yaml)), read)).toEqual(fromYaml);
    expect(accessFromKubeconfig('  {"current-context": ', read)).toMatchObject({ ok: false, error: expect.stringMatching(/^kubeconfig is not YAML: /) });
  });

  test('a JSON kubeconfig loads no YAML parser; a YAML one does', async () => {
    const module = join(import.meta.dirname, '../../../../src/kube/api/kubeconfig.ts');
    const script = [
      "import { createRequire } from 'node:module';",
      `const { accessFromKubeconfig } = await import(${JSON.stringify(module)});`,
      "const yamlLoaded = () => Object.keys(createRequire(import.meta.url).cache).some((k) => k.includes('/node_modules/yaml/'));",
      'const json = JSON.stringify({ "current-context": "c", contexts: [{ name: "c", context: { cluster: "c", user: "u" } }], clusters: [{ name: "c", cluster: { server: "https://198.18.0.1:6443" } }], users: [{ name: "u", user: { token: "t" } }] });',
      'const a = accessFromKubeconfig(json, () => "").ok; const afterJson = yamlLoaded();',
      "const b = accessFromKubeconfig('current-context: c\\n', () => '').ok; const afterYaml = yamlLoaded();",
      'console.log(JSON.stringify({ a, b, afterJson, afterYaml }));',
    ].join('\n');
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script]);
    expect(JSON.parse(stdout)).toEqual({ a: true, b: false, afterJson: false, afterYaml: true });
  });
});

describe('inClusterAccess', () => {
  const sa = (p: string) => (p.endsWith('/ca.crt') ? 'CLUSTER CA' : read(p));

  test('the ServiceAccount: the service address, its CA, the token file the kubelet rotates', () => {
    expect(inClusterAccess({ KUBERNETES_SERVICE_HOST: '198.18.0.1', KUBERNETES_SERVICE_PORT: '443' }, sa)).toEqual({
      ok: true,
      access: { server: 'https://198.18.0.1:443', ca: 'CLUSTER CA', tokenFile: '/var/run/secrets/kubernetes.io/serviceaccount/token' },
    });
  });

  test('an IPv6 service address is bracketed', () => {
    const r = inClusterAccess({ KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' }, sa);
    expect(r.ok && r.access.server).toBe('https://[fd00::1]:443');
  });

  test('outside a pod: an error that says why', () => {
    const r = inClusterAccess({}, sa);
    expect(r).toEqual({ ok: false, error: expect.stringMatching(/KUBERNETES_SERVICE_HOST/) });
  });
});
