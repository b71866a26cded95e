// Every file of src/ is reached from an entry (the CLI, the worker threads'
// modules, the tests, scripts and the demo) and every export of src/ is
// imported somewhere, checked with knip (knip.json; a type exported for the
// signatures of its own file counts as used). The same check must catch a
// deliberately unused export and an orphan file in a fixture.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';

const repo = join(import.meta.dirname, '../../..');
const knip = join(repo, 'node_modules/knip/bin/knip.js');

function runKnip(directory: string): { status: number | null; output: string } {
  const r = spawnSync(process.execPath, [knip, '--no-progress', '--no-config-hints', '--directory', directory], { cwd: repo, encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, output: `${r.stdout}${r.stderr}`.trim() };
}

describe('unused code', () => {
  test('src/ has no unused file or export', () => {
    const r = runKnip(repo);
    expect(r.output).toBe('');
    expect(r.status).toBe(0);
  }, 120_000);

  test('an unused export and an orphan file are reported', () => {
    const r = runKnip(join(import.meta.dirname, 'fixtures/unused-export'));
    expect(r.status).not.toBe(0);
    expect(r.output).toMatch(/deliberatelyUnused\s+function\s+src\/lib\.ts/);
    expect(r.output).toMatch(/Unused files[^\n]*\n\s*src\/orphan\.ts/);
    expect(r.output).not.toMatch(/\bused\s+function/);
  }, 120_000);
});
