import { describe, expect, test } from 'vitest';
import { convertPools, conversionYaml, L2_ADVERTISEMENT_NAME } from '../../../src/config/convert.ts';
import { validateManifest } from '../../../src/config/validate.ts';
import { parsePoolConfig } from '../../../src/config/pool-config.ts';
import { parseAllDocuments } from 'yaml';

const pool = (name: string, spec: string, ns = 'metallb-system') => `apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {name: ${name}, namespace: ${ns}}\nspec: ${spec}\n`;

describe('metalgate validate with metallb.io objects', () => {
  test('pools and advertisements alone: valid, pools listed in file order', () => {
    const r = validateManifest([pool('b', '{addresses: [198.18.1.0/24]}'), pool('a', '{addresses: [198.18.0.0/24], autoAssign: false}'), 'apiVersion: metallb.io/v1beta1\nkind: L2Advertisement\nmetadata: {name: l2, namespace: metallb-system}\n'].join('---\n'));
    expect(r.issues).toEqual([]);
    expect(r.configs.flatMap((c) => c.pools.map((p) => p.name))).toEqual(['a', 'b']);
  });

  test('each error names the object and the field, on the object\'s line', () => {
    const text = [
      pool('bad', '{addresses: [198.18.0.0/33]}'),
      pool('first', '{addresses: [198.18.1.0/24]}'),
      pool('second', '{addresses: [198.18.1.128/25]}'),
      'apiVersion: metallb.io/v1beta1\nkind: L2Advertisement\nmetadata: {name: l2, namespace: metallb-system}\nspec: {nodeSelectors: [{matchExpressions: [{key: k, operator: In}]}]}\n',
      'apiVersion: metallb.io/v1beta1\nkind: BGPPeer\nmetadata: {name: p, namespace: metallb-system}\nspec: {peerAddress: 198.18.9.1}\n',
      pool('elsewhere', '{addresses: [198.18.7.0/24]}', 'default'),
    ].join('---\n');
    expect(validateManifest(text).issues.map((i) => `${i.severity} ${i.message}`)).toEqual([
      expect.stringMatching(/^error line 1: IPAddressPool "metallb-system\/bad": spec\.addresses\[0\] "198\.18\.0\.0\/33": /),
      'error line 11: IPAddressPool "metallb-system/second": address "198.18.1.128/25" overlaps "198.18.1.0/24" of IPAddressPool metallb-system/first',
      'error line 16: L2Advertisement "metallb-system/l2": spec.nodeSelectors[0]: matchExpressions[0]: operator In needs at least one value',
      'warning line 21: BGPPeer "metallb-system/p": accepted, not served: metalgate does not speak BGP yet',
      'warning line 26: IPAddressPool "default/elsewhere": the controller reads address pools from metallb-system and metalgate-system unless --pool-namespaces says otherwise',
    ]);
  });

  test('an object overlapping a pool of the ConfigMap in the same file is refused', () => {
    const cm = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: config, namespace: metalgate-system}\ndata:\n  config: |\n    address-pools:\n    - name: legacy\n      protocol: layer2\n      addresses: [198.18.0.0/24]\n';
    const r = validateManifest([cm, pool('new', '{addresses: [198.18.0.0/28]}')].join('---\n'));
    expect(r.issues.map((i) => i.message)).toEqual(['line 11: IPAddressPool "metallb-system/new": address "198.18.0.0/28" overlaps "198.18.0.0/24" of pool "legacy" of the ConfigMap']);
  });

  test('an alias bomb in an object is refused, not expanded', () => {
    const bomb = ['apiVersion: metallb.io/v1beta1', 'kind: IPAddressPool', 'metadata: {name: x, namespace: metallb-system}', 'a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 0; i < 12; i++) bomb.push(`${'b'.repeat(i + 1)}: &b${i} [${Array(10).fill(i === 0 ? '*a' : `*b${i - 1}`).join(', ')}]`);
    const t0 = performance.now();
    const r = validateManifest(bomb.join('\n') + '\n');
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(r.issues[0]!.message).toMatch(/^line 1: cannot read this document: /);
  });
});

describe('metalgate convert', () => {
  const legacy = parsePoolConfig('address-pools:\n- name: default\n  protocol: layer2\n  addresses: [198.18.0.0/24, " 198.18.1.10-198.18.1.20"]\n- name: expensive\n  protocol: layer2\n  auto-assign: false\n  avoid-buggy-ips: true\n  addresses: [198.18.2.0/28]\n').config!;

  test('one IPAddressPool per pool (addresses as written, settings only where not the default) and one L2Advertisement', () => {
    const c = convertPools([legacy], 'metallb-system');
    expect(c.issues).toEqual([]);
    expect(c.objects).toEqual([
      { apiVersion: 'metallb.io/v1beta1', kind: 'IPAddressPool', metadata: { name: 'default', namespace: 'metallb-system' }, spec: { addresses: ['198.18.0.0/24', '198.18.1.10-198.18.1.20'] } },
      { apiVersion: 'metallb.io/v1beta1', kind: 'IPAddressPool', metadata: { name: 'expensive', namespace: 'metallb-system' }, spec: { addresses: ['198.18.2.0/28'], autoAssign: false, avoidBuggyIPs: true } },
      { apiVersion: 'metallb.io/v1beta1', kind: 'L2Advertisement', metadata: { name: L2_ADVERTISEMENT_NAME, namespace: 'metallb-system' }, spec: { ipAddressPools: ['default', 'expensive'] } },
    ]);
  });

  test('the output validates, and reads back as the same pools', () => {
    const text = conversionYaml(convertPools([legacy], 'metallb-system'), 'cm.yaml');
    expect(parseAllDocuments(text).length).toBe(3);
    const back = validateManifest(text);
    expect(back.issues).toEqual([]);
    const strip = (pools: typeof legacy.pools) => pools.map((p) => ({ ...p, ranges: p.ranges.map((r) => ({ ...r, source: r.source.trim() })) }));
    expect(strip(back.configs[0]!.pools)).toEqual(strip(legacy.pools));
  });

  test('a pool name that cannot be an object name is an error naming it', () => {
    const odd = parsePoolConfig('address-pools:\n- name: My_Pool\n  protocol: layer2\n  addresses: [198.18.0.0/24]\n').config!;
    expect(convertPools([odd], 'metallb-system').issues[0]!.message).toMatch(/^pool "My_Pool": not a valid object name/);
  });
});
