// Bad configs: each case asserts the complete list of error messages, word for word.
import { expect, test } from 'vitest';
import { parsePoolConfig } from '../../../src/config/pool-config.ts';
import { yaml } from './yaml-text.ts';

function errorsOf(text: string): string[] {
  const result = parsePoolConfig(text);
  const errors = result.issues.filter((issue) => issue.severity === 'error').map((issue) => issue.message);
  // The contract: a config comes back iff there is no error.
  expect(result.config).toBeUndefined();
  return errors;
}

const cases: Array<[string, string, string[]]> = [
  [
    'YAML syntax error: unclosed flow sequence',
    yaml`
      address-pools:
      - name: a
        protocol: layer2
        addresses: [198.18.0.0/24
      - name: b
    `,
    ['line 5: YAML syntax error: Flow sequence in block collection must be sufficiently indented and end with a ]'],
  ],
  [
    'YAML syntax error: tab indentation',
    'address-pools:\n- name: a\n\tprotocol: layer2\n',
    ['line 3: YAML syntax error: Tabs are not allowed as indentation'],
  ],
  [
    'several YAML documents',
    yaml`
      address-pools: []
      ---
      address-pools: []
    `,
    ['line 2: YAML syntax error: Source contains multiple documents; please use YAML.parseAllDocuments()'],
  ],
  [
    'top level is a list',
    yaml`
      - name: a
        protocol: layer2
    `,
    ['line 1: the config must be a mapping with an "address-pools" key, got a list'],
  ],
  [
    'top level is a string',
    'just some text\n',
    ['line 1: the config must be a mapping with an "address-pools" key, got "just some text"'],
  ],
  [
    'misspelt top-level key',
    yaml`
      adress-pools:
      - name: a
    `,
    ['line 1: unknown key "adress-pools"; did you mean "address-pools"?'],
  ],
  [
    'unknown top-level key',
    yaml`
      address-pools: []
      speakers: 3
    `,
    ['line 2: unknown key "speakers" (known keys: address-pools, peers, bgp-communities, bfd-profiles)'],
  ],
  [
    'top-level key repeated',
    yaml`
      address-pools: []
      address-pools: []
    `,
    ['line 2: duplicate key "address-pools" (first on line 1)'],
  ],
  [
    'address-pools is a mapping',
    yaml`
      address-pools:
        name: a
        protocol: layer2
    `,
    ['line 2: "address-pools" must be a list, got a mapping'],
  ],
  [
    'address-pools is a string',
    'address-pools: default\n',
    ['line 1: "address-pools" must be a list, got "default"'],
  ],
  [
    'pool is a string',
    yaml`
      address-pools:
      - default
    `,
    ['line 2: pool #1: must be a mapping with "name", "protocol" and "addresses", got "default"'],
  ],
  [
    'pool is empty',
    yaml`
      address-pools:
      -
    `,
    ['line 2: pool #1: must be a mapping with "name", "protocol" and "addresses", got an empty value'],
  ],
  [
    'pool has no keys at all',
    yaml`
      address-pools:
      - {}
    `,
    [
      'line 2: pool #1: missing "name"',
      'line 2: pool #1: missing "protocol" (layer2 or bgp)',
      'line 2: pool #1: missing "addresses"',
    ],
  ],
  [
    'name missing (second pool)',
    yaml`
      address-pools:
      - name: a
        protocol: layer2
        addresses: [198.18.0.0/24]
      - protocol: layer2
        addresses: [198.18.1.0/24]
    `,
    ['line 5: pool #2: missing "name"'],
  ],
  [
    'name empty',
    yaml`
      address-pools:
      - name: ""
        protocol: layer2
        addresses: [198.18.0.0/24]
    `,
    ['line 2: pool #1: "name" must not be empty'],
  ],
  [
    'name is a number',
    yaml`
      address-pools:
      - name: 2024
        protocol: layer2
        addresses: [198.18.0.0/24]
    `,
    ['line 2: pool #1: "name" must be a string, got 2024'],
  ],
  [
    'name has no value',
    yaml`
      address-pools:
      - name:
        protocol: layer2
        addresses: [198.18.0.0/24]
    `,
    ['line 2: pool #1: "name" must be a string, got an empty value'],
  ],
  [
    'two pools with one name',
    yaml`
      address-pools:
      - name: prod
        protocol: layer2
        addresses: [198.18.0.0/24]
      - name: prod
        protocol: layer2
        addresses: [198.18.1.0/24]
    `,
    ['line 5: pool "prod": duplicate pool name, first used on line 2'],
  ],
  [
    'protocol missing',
    yaml`
      address-pools:
      - name: a
        addresses: [198.18.0.0/24]
    `,
    ['line 2: pool "a": missing "protocol" (layer2 or bgp)'],
  ],
  [
    'protocol unknown (case matters)',
    yaml`
      address-pools:
      - name: a
        protocol: Layer2
        addresses: [198.18.0.0/24]
    `,
    ['line 3: pool "a": unknown protocol "Layer2" (expected layer2 or bgp)'],
  ],
  [
    'protocol is a number',
    yaml`
      address-pools:
      - name: a
        protocol: 2
        addresses: [198.18.0.0/24]
    `,
    ['line 3: pool "a": unknown protocol 2 (expected layer2 or bgp)'],
  ],
  [
    'addresses missing',
    yaml`
      address-pools:
      - name: a
        protocol: layer2
    `,
    ['line 2: pool "a": missing "addresses"'],
  ],
  [
    'addresses is a single string',
    yaml`
      address-pools:
      - name: a
        protocol: layer2
        addresses: 198.18.0.0/24
    `,
    ['line 4: pool "a": "addresses" must be a list of CIDRs or ranges, got "198.18.0.0/24"'],
  ],
  [
    'addresses has no value',
    yaml`
      address-pools:
      - name: a
        protocol: layer2
        addresses:
    `,
    ['line 4: pool "a": "addresses" must be a list of CIDRs or ranges, got an empty value'],
  ],
  [
    'addresses is empty',
    yaml`
      address-pools:
      - name: a
        protocol: layer2
        addresses: []
    `,
    ['line 4: pool "a": "addresses" must not be empty'],
  ],
  [
    'address entry is a number',
    yaml`
      address-pools:
      - name: a
        protocol: layer2
        addresses:
        - 198.18.0.0/24
        - 42
    `,
    ['line 6: pool "a": address 42 must be a string (a CIDR or an A-B range)'],
  ],
  [
    'address entry is a mapping',
    yaml`
      address-pools:
      - name: a
        protocol: layer2
        addresses:
        - cidr: 198.18.0.0/24
    `,
    ['line 5: pool "a": address a mapping must be a string (a CIDR or an A-B range)'],
  ],
  [
    'one address without a prefix length',
    yaml`
      address-pools:
      - name: a
        protocol: layer2
        addresses:
        - 198.18.0.1
    `,
    ['line 5: pool "a": address "198.18.0.1": missing prefix length (for this one address write 198.18.0.1/32)'],
  ],
  [
    'neither CIDR nor range',
    yaml`
      address-pools:
      - name: a
        protocol: layer2
        addresses:
        - all
    `,
    ['line 5: pool "a": address "all": not a CIDR or range: invalid IP address "all"'],
  ],
  [
    'octet above 255 in a CIDR',
    yaml`
      address-pools:
      - name: a
        protocol: layer2
        addresses:
        - 198.18.300.0/24
    `,
    ['line 5: pool "a": address "198.18.300.0/24": invalid IPv4 address "198.18.300.0": octet 300 is above 255'],
  ],
  [
    'leading zero in an octet',
    yaml`
      address-pools:
      - name: a
        protocol: layer2
        addresses:
        - 198.018.0.0/24
    `,
    ['line 5: pool "a": address "198.018.0.0/24": invalid IPv4 address "198.018.0.0": octet "018" has a leading zero'],
  ],
  [
    'prefix length too long',
    yaml`
      address-pools:
      - name: a
        protocol: layer2
        addresses:
        - 2001:db8::/129
    `,
    ['line 5: pool "a": address "2001:db8::/129": invalid prefix length "129" (IPv6 allows 0-128)'],
  ],
  [
    'IPv6 with a zone',
    yaml`
      address-pools:
      - name: a
        protocol: layer2
        addresses:
        - fe80::%eth0/64
    `,
    ['line 5: pool "a": address "fe80::%eth0/64": invalid IPv6 address "fe80::%eth0": zone "%eth0" not allowed'],
  ],
  [
    'range start after end',
    yaml`
      address-pools:
      - name: prod
        protocol: layer2
        addresses:
        - 198.18.0.0/24
        - 198.18.1.0/24
        - 198.18.2.10-198.18.2.5
    `,
    ['line 7: pool "prod": address "198.18.2.10-198.18.2.5": range start 198.18.2.10 is after end 198.18.2.5'],
  ],
  [
    'range mixing families',
    yaml`
      address-pools:
      - name: a
        protocol: layer2
        addresses:
        - 198.18.0.1 - 2001:db8::1
    `,
    ['line 5: pool "a": address "198.18.0.1 - 2001:db8::1": range start 198.18.0.1 is IPv4 but end 2001:db8::1 is IPv6'],
  ],
  [
    'range with a bad end',
    yaml`
      address-pools:
      - name: a
        protocol: layer2
        addresses:
        - 198.18.0.1-198.18.0
    `,
    ['line 5: pool "a": address "198.18.0.1-198.18.0": range end: invalid IPv4 address "198.18.0": needs 4 octets'],
  ],
  [
    'range with three parts',
    yaml`
      address-pools:
      - name: a
        protocol: layer2
        addresses:
        - 198.18.0.1-198.18.0.5-198.18.0.9
    `,
    ['line 5: pool "a": address "198.18.0.1-198.18.0.5-198.18.0.9": more than one "-"'],
  ],
  [
    'range of CIDRs',
    yaml`
      address-pools:
      - name: a
        protocol: layer2
        addresses:
        - 198.18.0.0/24-198.18.1.0/24
    `,
    ['line 5: pool "a": address "198.18.0.0/24-198.18.1.0/24": range start: invalid IPv4 address "198.18.0.0/24": unexpected character "/"'],
  ],
  [
    'IPv4-mapped IPv6 block',
    yaml`
      address-pools:
      - name: a
        protocol: layer2
        addresses:
        - ::ffff:198.18.0.0/120
    `,
    ['line 5: pool "a": address "::ffff:198.18.0.0/120": IPv4-mapped addresses (::ffff:0:0/96) are not allowed; write IPv4 addresses as IPv4'],
  ],
  [
    'auto-assign: no (a string in YAML 1.2)',
    yaml`
      address-pools:
      - name: a
        protocol: layer2
        addresses: [198.18.0.0/24]
        auto-assign: no
    `,
    ['line 5: pool "a": "auto-assign" must be true or false, got "no" (write false)'],
  ],
  [
    'auto-assign quoted',
    yaml`
      address-pools:
      - name: a
        protocol: layer2
        addresses: [198.18.0.0/24]
        auto-assign: "true"
    `,
    ['line 5: pool "a": "auto-assign" must be true or false, got "true" (write true)'],
  ],
  [
    'avoid-buggy-ips is a number',
    yaml`
      address-pools:
      - name: a
        protocol: layer2
        addresses: [198.18.0.0/24]
        avoid-buggy-ips: 1
    `,
    ['line 5: pool "a": "avoid-buggy-ips" must be true or false, got 1'],
  ],
  [
    'avoid-buggy-ips has no value',
    yaml`
      address-pools:
      - name: a
        protocol: layer2
        addresses: [198.18.0.0/24]
        avoid-buggy-ips:
    `,
    ['line 5: pool "a": "avoid-buggy-ips" must be true or false, got an empty value'],
  ],
  [
    'CRD spelling of a pool key',
    yaml`
      address-pools:
      - name: a
        protocol: layer2
        addresses: [198.18.0.0/24]
        avoidBuggyIPs: true
    `,
    ['line 5: pool "a": unknown key "avoidBuggyIPs"; did you mean "avoid-buggy-ips"?'],
  ],
  [
    'unknown pool key',
    yaml`
      address-pools:
      - name: a
        protocol: layer2
        addresses: [198.18.0.0/24]
        interface: eth0
    `,
    ['line 5: pool "a": unknown key "interface" (known keys: name, protocol, addresses, auto-assign, avoid-buggy-ips, bgp-advertisements)'],
  ],
  [
    'pool key repeated',
    yaml`
      address-pools:
      - name: a
        protocol: layer2
        addresses: [198.18.0.0/24]
        addresses: [198.18.1.0/24]
    `,
    ['line 5: pool "a": duplicate key "addresses" (first on line 4)'],
  ],
  [
    'overlap across pools',
    yaml`
      address-pools:
      - name: default
        protocol: layer2
        addresses:
        - 198.18.10.0/24
      - name: prod
        protocol: layer2
        addresses:
        - 198.18.10.128/25
    `,
    ['line 9: pool "prod": address "198.18.10.128/25" overlaps address "198.18.10.0/24" of pool "default" (line 5)'],
  ],
  [
    'overlap within a pool, range against CIDR',
    yaml`
      address-pools:
      - name: a
        protocol: layer2
        addresses:
        - 198.18.0.0/24
        - 198.18.0.250-198.18.1.10
    `,
    ['line 6: pool "a": address "198.18.0.250-198.18.1.10" overlaps address "198.18.0.0/24" of pool "a" (line 5)'],
  ],
  [
    'the same IPv6 block twice, the smaller one first in the file',
    yaml`
      address-pools:
      - name: small
        protocol: layer2
        addresses: ["2001:db8:1::40/122"]
      - name: big
        protocol: layer2
        addresses: ["2001:db8:1::/120"]
    `,
    ['line 7: pool "big": address "2001:db8:1::/120" overlaps address "2001:db8:1::40/122" of pool "small" (line 4)'],
  ],
  [
    'overlap with a bgp pool (left out, but its addresses are reserved)',
    yaml`
      address-pools:
      - name: routed
        protocol: bgp
        addresses: [198.18.0.0/16]
      - name: local
        protocol: layer2
        addresses: [198.18.5.0/24]
    `,
    ['line 7: pool "local": address "198.18.5.0/24" overlaps address "198.18.0.0/16" of pool "routed" (line 4)'],
  ],
  [
    'host bits hide an overlap',
    yaml`
      address-pools:
      - name: a
        protocol: layer2
        addresses:
        - 198.18.0.0/25
        - 198.18.0.200/24
    `,
    ['line 6: pool "a": address "198.18.0.200/24" overlaps address "198.18.0.0/25" of pool "a" (line 5)'],
  ],
  [
    'one wide entry overlapping two later ones',
    yaml`
      address-pools:
      - name: wide
        protocol: layer2
        addresses: [198.18.0.0/15]
      - name: x
        protocol: layer2
        addresses: [198.18.1.0/24]
      - name: y
        protocol: layer2
        addresses: [198.19.0.0/24]
    `,
    [
      'line 7: pool "x": address "198.18.1.0/24" overlaps address "198.18.0.0/15" of pool "wide" (line 4)',
      'line 10: pool "y": address "198.19.0.0/24" overlaps address "198.18.0.0/15" of pool "wide" (line 4)',
    ],
  ],
  [
    'several mistakes, reported in line order',
    yaml`
      address-pools:
      - name: a
        protocol: layer2
        auto-assign: maybe
        addresses:
        - 198.18.0.0/33
      - name: b
        protocol: layer3
        addresses: [198.18.1.0/24]
      mode: strict
    `,
    [
      'line 4: pool "a": "auto-assign" must be true or false, got "maybe"',
      'line 6: pool "a": address "198.18.0.0/33": invalid prefix length "33" (IPv4 allows 0-32)',
      'line 8: pool "b": unknown protocol "layer3" (expected layer2 or bgp)',
      'line 10: unknown key "mode" (known keys: address-pools, peers, bgp-communities, bfd-profiles)',
    ],
  ],
  [
    'special-purpose addresses: unspecified, loopback, multicast, broadcast, IPv6 loopback and IPv4-compatible',
    yaml`
      address-pools:
      - name: wide
        protocol: layer2
        addresses: [0.0.0.0/0, 127.0.0.1/32, 224.0.0.1/32, 255.255.255.255/32, ::1/128, ::198.18.0.1/128]
    `,
    [
      'line 4: pool "wide": address "0.0.0.0/0": includes 0.0.0.0/8, unspecified / "this network" (RFC 1122): never a destination; no Service can be reached on such an address',
      'line 4: pool "wide": address "127.0.0.1/32": includes 127.0.0.0/8, loopback: it never leaves a host; no Service can be reached on such an address',
      'line 4: pool "wide": address "224.0.0.1/32": includes 224.0.0.0/4, multicast: not a unicast address; no Service can be reached on such an address',
      'line 4: pool "wide": address "255.255.255.255/32": includes 255.255.255.255/32, limited broadcast; no Service can be reached on such an address',
      'line 4: pool "wide": address "::1/128": includes ::1/128, loopback: it never leaves a host; no Service can be reached on such an address',
      'line 4: pool "wide": address "::198.18.0.1/128": includes ::/96, IPv4-compatible IPv6 (deprecated by RFC 4291): write IPv4 addresses as IPv4; no Service can be reached on such an address',
    ],
  ],
  [
    'avoid-buggy-ips leaves nothing to hand out',
    yaml`
      address-pools:
      - name: edge
        protocol: layer2
        addresses: [198.18.0.255/32, 198.18.1.0/32]
        avoid-buggy-ips: true
    `,
    ['line 5: pool "edge": avoid-buggy-ips leaves no usable address: every address of the pool ends in .0 or .255'],
  ],
  [
    'an alias bomb (each anchor lists the one before it ten times)',
    [
      'a: &a [x, x, x, x, x, x, x, x, x, x]',
      ...'bcdefgh'.split('').map((c, i) => `${c}: &${c} [${Array(10).fill(`*${'abcdefgh'[i]}`).join(', ')}]`),
      'address-pools: *h',
    ].join('\n'),
    ['YAML aliases expand the config to more than 1000000 nodes (an alias bomb?); not read'],
  ],
  [
    'larger than a ConfigMap can hold',
    `address-pools: []\n#${'x'.repeat(1024 * 1024)}\n`,
    [`the config is ${1024 * 1024 + 20} bytes, more than a ConfigMap can hold (1048576); not read`],
  ],
];

test('there are at least 35 distinct bad configs', () => {
  expect(new Set(cases.map(([, text]) => text)).size).toBe(cases.length);
  expect(cases.length).toBeGreaterThanOrEqual(35);
});

test.each(cases)('%s', (_name, text, expected) => {
  expect(errorsOf(text)).toEqual(expected);
});

test('errors carry the line and the pool', () => {
  const { issues } = parsePoolConfig(yaml`
    address-pools:
    - name: prod
      protocol: layer2
      addresses: [198.18.0.10-198.18.0.5]
  `);
  expect(issues).toEqual([
    {
      severity: 'error',
      line: 4,
      pool: 'prod',
      message: 'line 4: pool "prod": address "198.18.0.10-198.18.0.5": range start 198.18.0.10 is after end 198.18.0.5',
    },
  ]);
});
