// Before the tests: the real control plane binaries (built once per machine
// from the Go module proxy, several minutes the first time) and the native
// addon. System tools the network tests need are installed by .ci/run; a
// test that lacks one skips and says which.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

const k8s = spawnSync('bash', [join(root, 'scripts/build-k8s-bins.sh')], { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
if (k8s.status !== 0) {
  console.error('ensure-test-deps: building the test control plane failed (see above)');
  process.exit(1);
}

if (existsSync(join(root, 'native/src')) && !existsSync(join(root, 'native/build/metalgate_native.node'))) {
  const r = spawnSync(process.execPath, [join(root, 'scripts/build-native.mjs')], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(1);
}

for (const tool of ['ip', 'tcpdump', 'ping', 'curl']) {
  const r = spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' });
  if (r.status !== 0) console.error(`ensure-test-deps: "${tool}" not found; tests that need it will skip (.ci/run installs it)`);
}
