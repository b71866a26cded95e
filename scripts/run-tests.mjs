// Runs vitest with its normal summary, then prints one plain closing line
// ("Tests: N passed, N failed, N skipped") that any CI log reader
// understands, and exits with vitest's code.
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const out = join(tmpdir(), `metalgate-vitest-${process.pid}.json`);
const args = ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${out}`, ...process.argv.slice(2)];
const r = spawnSync('npx', args, { stdio: 'inherit' });
try {
  const report = JSON.parse(readFileSync(out, 'utf8'));
  const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
  console.log(`\nTests: ${report.numPassedTests} passed, ${report.numFailedTests} failed, ${skipped} skipped`);
  if (report.numFailedTestSuites > 0 && report.numFailedTests === 0) {
    console.log(`(${report.numFailedTestSuites} test file(s) failed to load)`);
  }
  rmSync(out, { force: true });
} catch {
  console.log('\nTests: 0 passed, 1 failed (vitest wrote no report)');
}
process.exit(r.status ?? 1);
