// The dependency rules (.dependency-cruiser.cjs: no cycles, pure cores
// without I/O, the proxy and the rule engine independent of the speaker and
// the controller, the product independent of test support and loading no
// @kubernetes/client-node, node:fs, node:http and node:util by require,
// prom-client's files but not its index), checked with dependency-cruiser
// over src/. The same rules must catch a deliberate cycle, a run-time import
// of the generated client, an ES import of node:http and one of prom-client.
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { cruise, type ICruiseResult, type IConfiguration } from 'dependency-cruiser';
import { describe, expect, test } from 'vitest';

const repo = join(import.meta.dirname, '../../..');
const config = createRequire(import.meta.url)(join(repo, '.dependency-cruiser.cjs')) as IConfiguration;

async function violations(paths: string[], minModules = 2, forbidden = config.forbidden ?? []): Promise<string[]> {
  const cwd = process.cwd();
  process.chdir(repo);
  try {
    const r = await cruise(paths, { ruleSet: { forbidden }, validate: true, ...config.options });
    const out = r.output as ICruiseResult;
    // A parser that silently reads nothing would pass every rule.
    expect(out.summary.totalCruised).toBeGreaterThanOrEqual(minModules);
    return out.summary.violations.map((v) => `${v.rule.name}: ${v.from} -> ${v.to}${v.cycle ? ` (${v.cycle.map((c) => c.name).join(' -> ')})` : ''}`);
  } finally {
    process.chdir(cwd);
  }
}

/** The files of `dir` that the rule named `name` reports, the rule applied to `dir` as it applies to src/. */
async function reportedBy(name: string, dir: string): Promise<string[]> {
  const rule = (config.forbidden ?? []).find((r) => r.name === name)!;
  const found = await violations([dir], 2, [{ ...rule, from: { path: `^${dir}/` } }]);
  return found.filter((v) => v.startsWith(`${name}: `)).map((v) => v.split(' -> ')[0]!.slice(name.length + 2));
}

describe('dependency rules', () => {
  test('src/ keeps them', async () => {
    expect(await violations(['src'], 200)).toEqual([]);
  }, 60_000);

  test('a deliberate cycle is reported', async () => {
    const found = await violations(['test/unit/architecture/fixtures/cycle']);
    expect(found.some((v) => v.startsWith('no-circular: test/unit/architecture/fixtures/cycle/a.ts'))).toBe(true);
  }, 60_000);

  test('a run-time import of @kubernetes/client-node is reported, a type-only one is not', async () => {
    const dir = 'test/unit/architecture/fixtures/client-node';
    expect(await reportedBy('product-no-client-node', dir)).toEqual([`${dir}/loads-it.ts`]);
  }, 60_000);

  test('a run-time ES import of node:http is reported, a type-only one and a require are not', async () => {
    const dir = 'test/unit/architecture/fixtures/builtins';
    expect(await reportedBy('builtins-by-require', dir)).toEqual([`${dir}/imports-http.ts`]);
  }, 60_000);

  test("a run-time import of prom-client's index is reported, a type-only one is not", async () => {
    const dir = 'test/unit/architecture/fixtures/prom-client';
    expect(await reportedBy('prom-client-by-file', dir)).toEqual([`${dir}/loads-index.ts`]);
  }, 60_000);
});
