import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { runValidate, validateManifest, validateManifestText } from '../../../src/config/validate.ts';
import { yaml } from './yaml-text.ts';

const messages = (text: string): string[] => validateManifestText(text).map((i) => `${i.severity}: ${i.message}`);

describe('validateManifestText', () => {
  test('a bare config is checked as is', () => {
    expect(messages('address-pools:\n- name: a\n  protocol: layer2\n  addresses: [198.18.0.0/24]\n')).toEqual([]);
    expect(messages('address-pools:\n- name: a\n  protocol: layer2\n')).toEqual(['error: line 2: pool "a": missing "addresses"']);
  });

  test('a ConfigMap with a literal block: issues give lines of the file', () => {
    const text = yaml`
      apiVersion: v1
      kind: ConfigMap
      metadata:
        namespace: metallb-system
        name: config
      data:
        config: |
          address-pools:
          - name: default
            protocol: layer2
            addresses:
            - 198.18.10.0/24
            - 198.18.10.7/32
    `;
    expect(validateManifestText(text)).toEqual([
      {
        severity: 'error',
        line: 13,
        pool: 'default',
        message: 'line 13: pool "default": address "198.18.10.7/32" overlaps address "198.18.10.0/24" of pool "default" (line 12)',
      },
    ]);
  });

  test('chomping and indentation indicators, leading blank lines, a comment after the header', () => {
    const text = yaml`
      kind: ConfigMap
      metadata: {name: config}
      data:
        config: |2-  # the config

            address-pools:
            - name: a
              protocol: layer2
              addresses: [198.18.0.0/24]
              auto-assign: yes
    `;
    expect(messages(text)).toEqual(['error: line 10: pool "a": "auto-assign" must be true or false, got "yes" (write true)']);
  });

  test('a YAML error inside the embedded config is reported on the file line', () => {
    const text = yaml`
      kind: ConfigMap
      metadata: {name: config}
      data:
        config: |
          address-pools:
          - name: a
          	protocol: layer2
    `;
    expect(messages(text)).toEqual(['error: line 7: YAML syntax error: Tabs are not allowed as indentation']);
  });

  test('multi-document manifest: other kinds are skipped, lines count from the top of the file', () => {
    const text = yaml`
      apiVersion: v1
      kind: Namespace
      metadata: {name: metallb-system}
      ---
      apiVersion: v1
      kind: ConfigMap
      metadata: {name: other, namespace: app}
      data: {settings: "x"}
      ---
      apiVersion: v1
      kind: ConfigMap
      metadata: {name: config, namespace: metallb-system}
      data:
        config: |
          address-pools:
          - name: a
            protocol: bgp
            addresses: [198.18.0.0/24]
    `;
    const result = validateManifest(text);
    expect(result.issues.map((i) => i.message)).toEqual(['line 17: pool "a": protocol bgp is not supported yet; pool left out']);
    expect(result.configs).toEqual([{ pools: [] }]);
  });

  test('kind: List, as kubectl get -o yaml prints several objects', () => {
    const text = yaml`
      apiVersion: v1
      kind: List
      items:
      - apiVersion: v1
        kind: ConfigMap
        metadata: {name: config, namespace: metallb-system}
        data:
          config: |
            address-pools:
            - name: a
              protocol: layer2
              addresses: [198.18.0.0/24]
              colour: blue
    `;
    expect(messages(text)).toEqual([
      'error: line 13: pool "a": unknown key "colour" (known keys: name, protocol, addresses, auto-assign, avoid-buggy-ips, bgp-advertisements)',
    ]);
  });

  test('a config in a quoted string (JSON manifest): lines are config lines', () => {
    const text = JSON.stringify({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'config' },
      data: { config: 'address-pools:\n- name: a\n  protocol: layer2\n  addresses: [198.18.0.0/33]\n' },
    });
    expect(validateManifestText(text)).toEqual([
      {
        severity: 'error',
        line: 4,
        pool: 'a',
        message: 'config line 4: pool "a": address "198.18.0.0/33": invalid prefix length "33" (IPv4 allows 0-32)',
      },
    ]);
  });

  test('a folded block does not keep lines: config lines', () => {
    const text = yaml`
      kind: ConfigMap
      metadata: {name: config}
      data:
        config: >
          address-pools: 7
    `;
    expect(messages(text)).toEqual(['error: config line 1: "address-pools" must be a list, got 7']);
  });

  test('several ConfigMaps with a config: each is checked and named', () => {
    const text = yaml`
      kind: ConfigMap
      metadata: {name: config, namespace: one}
      data:
        config: |
          address-pools: []
      ---
      kind: ConfigMap
      metadata: {name: config, namespace: two}
      data:
        config: |
          pools: []
    `;
    expect(messages(text)).toEqual([
      'error: line 11: ConfigMap "two/config": unknown key "pools"; did you mean "address-pools"?',
    ]);
  });

  test('no ConfigMap in a manifest', () => {
    const text = 'apiVersion: v1\nkind: Service\nmetadata: {name: web}\n';
    expect(validateManifestText(text)).toEqual([
      {
        severity: 'error',
        message: 'no ConfigMap in the file: expected a ConfigMap whose data.config holds the address pools, or a bare config',
      },
    ]);
  });

  test('ConfigMaps without a config key', () => {
    const text = yaml`
      kind: ConfigMap
      metadata: {name: config, namespace: metallb-system}
      data:
        conf: |
          address-pools: []
      ---
      kind: ConfigMap
      metadata: {name: empty}
    `;
    expect(messages(text)).toEqual([
      'error: line 3: ConfigMap "metallb-system/config" has no data.config key holding the address pools',
      'error: line 7: ConfigMap "empty" has no data.config key holding the address pools',
    ]);
  });

  test('data.config written as a mapping instead of a string', () => {
    const text = yaml`
      kind: ConfigMap
      metadata: {name: config}
      data:
        config:
          address-pools: []
    `;
    expect(messages(text)).toEqual([
      'error: line 5: ConfigMap "config": data.config must be a string holding the config (write "config: |" and indent the config under it), got a mapping',
    ]);
  });

  test('a YAML error in the manifest itself', () => {
    const text = 'kind: ConfigMap\nmetadata: {name: config\ndata: {}\n';
    expect(messages(text)[0]).toMatch(/^error: line 3: YAML syntax error: /);
  });

  test('an empty file', () => {
    expect(messages('\n# nothing\n')).toEqual(['error: nothing to validate: the file holds no YAML document']);
  });
});

describe('runValidate', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'metalgate-validate-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function run(name: string, text: string): Promise<{ code: number; lines: string[]; path: string }> {
    const path = join(dir, name);
    await writeFile(path, text);
    const lines: string[] = [];
    const code = await runValidate(path, (line) => lines.push(line));
    return { code, lines, path };
  }

  test('valid, with warnings: exit 0', async () => {
    const { code, lines, path } = await run(
      'ok.yaml',
      yaml`
        kind: ConfigMap
        metadata: {name: config}
        data:
          config: |
            peers: []
            address-pools:
            - name: default
              protocol: layer2
              addresses: [198.18.0.0/24]
            - name: v6
              protocol: layer2
              addresses: ["2001:db8::/120"]
      `,
    );
    expect(code).toBe(0);
    expect(lines).toEqual([
      'warning: line 5: "peers" ignored: BGP is not supported yet',
      `${path}: valid, 2 address pools (default, v6), 1 warning`,
    ]);
  });

  test('invalid: exit 1, one line per error', async () => {
    const { code, lines, path } = await run(
      'bad.yaml',
      yaml`
        address-pools:
        - name: a
          protocol: layer2
          addresses: [198.18.0.1, 198.18.0.5-198.18.0.1]
      `,
    );
    expect(code).toBe(1);
    expect(lines).toEqual([
      'error: line 4: pool "a": address "198.18.0.1": missing prefix length (for this one address write 198.18.0.1/32)',
      'error: line 4: pool "a": address "198.18.0.5-198.18.0.1": range start 198.18.0.5 is after end 198.18.0.1',
      `${path}: invalid, 2 errors`,
    ]);
  });

  test('an empty pool list is valid', async () => {
    const { code, lines, path } = await run('empty-pools.yaml', 'address-pools: []\n');
    expect(code).toBe(0);
    expect(lines).toEqual([`${path}: valid, 0 address pools`]);
  });

  test('unreadable file: exit 2', async () => {
    const lines: string[] = [];
    const path = join(dir, 'missing.yaml');
    expect(await runValidate(path, (line) => lines.push(line))).toBe(2);
    expect(lines).toEqual([`error: cannot read ${path}: ENOENT: no such file or directory, open '${path}'`]);
  });
});
