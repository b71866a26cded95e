// Runs vitest with its normal summary, then prints one plain closing line
// ("Tests: N passed, N failed, N skipped") that any CI log reader
// understands, and exits non-zero when any run failed. Each failed test is
// named again just above that line, with its first error line: a CI log is
// often read from its tail only, where vitest's own failure report is long gone.
//
// Two runs: everything else (test files in parallel), then the real-kubelet
// cluster alone. That cluster keeps both cores busy for minutes (two
// kubelets, containerd, a control plane, image imports); beside it, the
// timing-sensitive lab and election tests miss their deadlines.
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ALONE = 'test/integration/real-cluster';
const extra = process.argv.slice(2);
const runs = extra.length > 0 ? [extra] : [['--exclude', `${ALONE}/**`], [ALONE]];

let passed = 0;
let failed = 0;
let skipped = 0;
let status = 0;
const failures = [];
for (const [i, args] of runs.entries()) {
  const out = join(tmpdir(), `metalgate-vitest-${process.pid}-${i}.json`);
  const r = spawnSync('npx', ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${out}`, ...args], { stdio: 'inherit' });
  if (r.status !== 0) status = r.status ?? 1;
  try {
    const report = JSON.parse(readFileSync(out, 'utf8'));
    passed += report.numPassedTests;
    failed += report.numFailedTests;
    skipped += (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
    if (report.numFailedTestSuites > 0 && report.numFailedTests === 0) {
      console.log(`(${report.numFailedTestSuites} test file(s) failed to load)`);
    }
    for (const file of report.testResults ?? []) {
      const name = file.name.startsWith(process.cwd()) ? file.name.slice(process.cwd().length + 1) : file.name;
      for (const t of file.assertionResults ?? []) {
        if (t.status !== 'failed') continue;
        const why = String(t.failureMessages?.[0] ?? '').split('\n')[0].slice(0, 300);
        failures.push(`FAILED ${name} > ${t.fullName ?? t.title}: ${why}`);
      }
      if (file.status === 'failed' && (file.assertionResults ?? []).length === 0) failures.push(`FAILED ${name}: ${String(file.message ?? '').split('\n')[0].slice(0, 300)}`);
    }
    rmSync(out, { force: true });
  } catch {
    console.log('(vitest wrote no report)');
    failed += 1;
  }
}
if (failures.length > 0) console.log(`\n${failures.join('\n')}`);
console.log(`\nTests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(status);
