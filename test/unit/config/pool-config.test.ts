// Good configs and warnings.
import { describe, expect, test } from 'vitest';
import { parseIp, isParseError } from '../../../src/config/ip-range.ts';
import { parsePoolConfig } from '../../../src/config/pool-config.ts';
import type { IpRange } from '../../../src/config/types.ts';
import { yaml } from './yaml-text.ts';

function value(text: string): bigint {
  const parsed = parseIp(text);
  if (isParseError(parsed)) throw new Error(parsed.error);
  return parsed.value;
}

function range(first: string, last: string, source: string): IpRange {
  return { family: first.includes(':') ? 6 : 4, first: value(first), last: value(last), source };
}

describe('good configs', () => {
  test('the documented example: CIDRs, a range, IPv6, explicit booleans', () => {
    const result = parsePoolConfig(yaml`
      address-pools:
      - name: default
        protocol: layer2
        addresses:
        - 198.18.10.0/24
        - 198.18.20.10-198.18.20.50
        - 2001:db8:1::/120
        auto-assign: true        # optional, default true
        avoid-buggy-ips: false   # optional, default false
    `);
    expect(result).toEqual({
      config: {
        pools: [
          {
            name: 'default',
            protocol: 'layer2',
            ranges: [
              range('198.18.10.0', '198.18.10.255', '198.18.10.0/24'),
              range('198.18.20.10', '198.18.20.50', '198.18.20.10-198.18.20.50'),
              range('2001:db8:1::', '2001:db8:1::ff', '2001:db8:1::/120'),
            ],
            autoAssign: true,
            avoidBuggyIps: false,
          },
        ],
      },
      issues: [],
    });
  });

  test('defaults: auto-assign true, avoid-buggy-ips false', () => {
    const result = parsePoolConfig(yaml`
      address-pools:
      - name: v6
        protocol: layer2
        addresses: ["2001:db8:2::/64"]
    `);
    expect(result.issues).toEqual([]);
    expect(result.config?.pools).toEqual([
      { name: 'v6', protocol: 'layer2', ranges: [range('2001:db8:2::', '2001:db8:2::ffff:ffff:ffff:ffff', '2001:db8:2::/64')], autoAssign: true, avoidBuggyIps: false },
    ]);
  });

  test('several pools keep the file order; non-default booleans', () => {
    const result = parsePoolConfig(yaml`
      address-pools:
      - name: zeta
        protocol: layer2
        addresses: [198.18.1.0/24]
        auto-assign: false
      - name: alpha
        protocol: layer2
        addresses: [198.18.0.0/24]
        avoid-buggy-ips: true
      - name: mid
        protocol: layer2
        addresses: [198.19.0.0/28]
    `);
    expect(result.issues).toEqual([]);
    expect(result.config?.pools.map((p) => [p.name, p.autoAssign, p.avoidBuggyIps])).toEqual([
      ['zeta', false, false],
      ['alpha', true, true],
      ['mid', true, false],
    ]);
  });

  test('adjacent blocks, a one-address range, and both families side by side do not overlap', () => {
    const result = parsePoolConfig(yaml`
      address-pools:
      - name: a
        protocol: layer2
        addresses:
        - 198.18.0.0/25
        - 198.18.0.128/25
        - 198.18.1.1-198.18.1.1
        - 198.18.1.2 - 198.18.1.9
        - 2001:db8::/96
        - 2001:db8::1:0:0/96
    `);
    expect(result.issues).toEqual([]);
    expect(result.config?.pools[0]?.ranges.map((r) => r.last - r.first + 1n)).toEqual([128n, 128n, 1n, 8n, 1n << 32n, 1n << 32n]);
  });

  test.each([
    ['an empty text', ''],
    ['only comments', '# pools come later\n'],
    ['an explicit null document', '~\n'],
    ['address-pools with no value', 'address-pools:\n'],
    ['address-pools empty', 'address-pools: []\n'],
  ])('%s is a valid config with no pools', (_name, text) => {
    expect(parsePoolConfig(text)).toEqual({ config: { pools: [] }, issues: [] });
  });

  test('flow style, anchors and aliases, quoted entries, CRLF line ends', () => {
    const text = [
      'common: &blocks',
      '  - "198.18.30.0/24"',
      'address-pools: [{name: a, protocol: layer2, addresses: *blocks}]',
    ].join('\r\n');
    // `common` is not a config key: anchors must live under known keys.
    expect(parsePoolConfig(text).issues.map((i) => i.message)).toEqual([
      'line 1: unknown key "common" (known keys: address-pools, peers, bgp-communities, bfd-profiles)',
    ]);
    const ok = parsePoolConfig(
      ['address-pools:', '- name: a', '  protocol: layer2', '  addresses: &blocks ["198.18.30.0/24"]', '- name: b', '  protocol: &p layer2', '  addresses: [\'198.18.31.0/24\']', ''].join('\r\n'),
    );
    expect(ok.issues).toEqual([]);
    expect(ok.config?.pools.map((p) => p.name)).toEqual(['a', 'b']);
  });
});

describe('warnings', () => {
  test('a bgp pool is left out with a warning, the layer2 pool keeps working', () => {
    const result = parsePoolConfig(yaml`
      address-pools:
      - name: routed
        protocol: bgp
        addresses: [198.18.0.0/24]
        bgp-advertisements:
        - aggregation-length: 32
      - name: local
        protocol: layer2
        addresses: [198.18.1.0/24]
    `);
    expect(result.issues).toEqual([
      { severity: 'warning', line: 3, pool: 'routed', message: 'line 3: pool "routed": protocol bgp is not supported yet; pool left out' },
    ]);
    expect(result.config?.pools.map((p) => p.name)).toEqual(['local']);
  });

  test('BGP top-level keys are ignored with a warning each', () => {
    const result = parsePoolConfig(yaml`
      peers:
      - peer-address: 198.18.0.1
        peer-asn: 64501
        my-asn: 64500
      bgp-communities:
        no-advertise: 65535:65282
      bfd-profiles:
      - name: fast
      address-pools: []
    `);
    expect(result.issues.map((i) => [i.severity, i.message])).toEqual([
      ['warning', 'line 1: "peers" ignored: BGP is not supported yet'],
      ['warning', 'line 5: "bgp-communities" ignored: BGP is not supported yet'],
      ['warning', 'line 7: "bfd-profiles" ignored: BGP is not supported yet'],
    ]);
    expect(result.config).toEqual({ pools: [] });
  });

  test('bgp-advertisements in a layer2 pool is ignored with a warning', () => {
    const result = parsePoolConfig(yaml`
      address-pools:
      - name: a
        protocol: layer2
        addresses: [198.18.0.0/24]
        bgp-advertisements: []
    `);
    expect(result.issues.map((i) => i.message)).toEqual(['line 5: pool "a": "bgp-advertisements" ignored: BGP is not supported yet']);
    expect(result.config?.pools).toHaveLength(1);
  });

  test('host bits are masked like Go net.ParseCIDR, with a warning', () => {
    const result = parsePoolConfig(yaml`
      address-pools:
      - name: a
        protocol: layer2
        addresses:
        - 198.18.10.7/24
        - 2001:db8:1::1/120
    `);
    expect(result.issues.map((i) => [i.severity, i.line, i.pool, i.message])).toEqual([
      ['warning', 5, 'a', 'line 5: pool "a": address "198.18.10.7/24": host bits set, read as 198.18.10.0/24'],
      ['warning', 6, 'a', 'line 6: pool "a": address "2001:db8:1::1/120": host bits set, read as 2001:db8:1::/120'],
    ]);
    expect(result.config?.pools[0]?.ranges).toEqual([
      range('198.18.10.0', '198.18.10.255', '198.18.10.7/24'),
      range('2001:db8:1::', '2001:db8:1::ff', '2001:db8:1::1/120'),
    ]);
  });

  test('warnings come with the errors when the config is invalid', () => {
    const result = parsePoolConfig(yaml`
      peers: []
      address-pools:
      - name: a
        protocol: layer2
        addresses: [198.18.0.0/24, 198.18.0.0/24]
    `);
    expect(result.config).toBeUndefined();
    expect(result.issues.map((i) => `${i.severity}: ${i.message}`)).toEqual([
      'warning: line 1: "peers" ignored: BGP is not supported yet',
      'error: line 5: pool "a": address "198.18.0.0/24" overlaps address "198.18.0.0/24" of pool "a" (line 5)',
    ]);
  });
});

describe('placement options (used for configs embedded in a manifest)', () => {
  const bad = yaml`
    address-pools:
    - name: a
      protocol: l2
      addresses: [198.18.0.0/24]
  `;

  test('lineOffset shifts every line, including lines quoted inside a message', () => {
    const result = parsePoolConfig(
      yaml`
        address-pools:
        - name: a
          protocol: layer2
          addresses: [198.18.0.0/24, 198.18.0.5-198.18.0.6]
      `,
      { lineOffset: 10, context: 'ConfigMap "metallb-system/config"' },
    );
    expect(result.issues).toEqual([
      {
        severity: 'error',
        line: 14,
        pool: 'a',
        message: 'line 14: ConfigMap "metallb-system/config": pool "a": address "198.18.0.5-198.18.0.6" overlaps address "198.18.0.0/24" of pool "a" (line 14)',
      },
    ]);
  });

  test('lineLabel', () => {
    expect(parsePoolConfig(bad, { lineLabel: 'config line' }).issues.map((i) => i.message)).toEqual([
      'config line 3: pool "a": unknown protocol "l2" (expected layer2 or bgp)',
    ]);
  });
});
