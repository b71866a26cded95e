// Aliases in a config: read as YAML defines them, in linear time.
import { expect, test } from 'vitest';
import { parsePoolConfig } from '../../../src/config/pool-config.ts';

function pools(n: number): string {
  const lines = ['address-pools:'];
  for (let i = 0; i < n; i++) {
    const v = 0xc6120000 + i * 4; // 198.18.0.0/15 in /30 blocks
    const ip = [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255].join('.');
    lines.push(`- name: p${i}`, `  protocol: ${i === 0 ? '&l2 layer2' : '*l2'}`, `  auto-assign: ${i === 0 ? '&on true' : '*on'}`, `  addresses: [${ip}/30]`);
  }
  return `${lines.join('\n')}\n`;
}

test(
  '20,000 aliases are resolved once each (resolving one walked the whole document: minutes for this)',
  () => {
    const result = parsePoolConfig(pools(10_000));
    expect(result.issues).toEqual([]);
    expect(result.config?.pools).toHaveLength(10_000);
    expect(result.config?.pools[9_999]).toMatchObject({ name: 'p9999', protocol: 'layer2', autoAssign: true });
  },
  30_000,
);

test('an alias names the last anchor of that name before it', () => {
  const result = parsePoolConfig(
    [
      'address-pools:',
      '- name: a',
      '  protocol: layer2',
      '  addresses: &r [198.18.0.0/30]',
      '- name: b',
      '  protocol: layer2',
      '  addresses: &r [198.18.1.0/30]',
      '- name: c',
      '  protocol: layer2',
      '  auto-assign: false',
      '  addresses: *r',
    ].join('\n'),
  );
  // c reuses b's list (not a's), so its entry overlaps b's.
  expect(result.issues.map((i) => i.message)).toEqual([
    'line 7: pool "c": address "198.18.1.0/30" overlaps address "198.18.1.0/30" of pool "b" (line 7)',
  ]);
});

test('an alias to an anchor that does not exist is a YAML error', () => {
  const result = parsePoolConfig('address-pools: *nothing\n');
  expect(result.config).toBeUndefined();
  expect(result.issues.map((i) => i.message)).toEqual(['line 1: YAML syntax error: alias *nothing names no anchor (&nothing) before it']);
});
