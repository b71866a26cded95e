// The configuration reference must name every flag the CLI accepts, so the
// docs cannot silently fall behind the code.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { commands } from '../../../src/cli.ts';

const doc = readFileSync(join(import.meta.dirname, '../../../docs/configuration.md'), 'utf8');

describe('docs/configuration.md', () => {
  for (const [name, cmd] of Object.entries(commands)) {
    test(`documents every flag of metalgate ${name}`, () => {
      const start = doc.indexOf(`### \`metalgate ${name}\``);
      expect(start, `a "### \`metalgate ${name}\`" section`).toBeGreaterThanOrEqual(0);
      const end = doc.indexOf('\n### ', start + 1);
      const section = doc.slice(start, end < 0 ? undefined : end);
      const missing = cmd.flags
        .filter((f) => !['log-level', 'log-format', 'help', 'kubeconfig'].includes(f.name))
        .filter((f) => !section.includes(`\`--${f.name}\``))
        .map((f) => `--${f.name}`);
      expect(missing).toEqual([]);
    });
  }
});
