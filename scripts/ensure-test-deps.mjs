// Before the tests: the real Kubernetes binaries (built once per machine
// from the Go module proxy, several minutes the first time), the test
// cluster's images and the native addon. System tools the network tests need are installed by .ci/run; a
// test that lacks one skips and says which.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

// --nodes: the kubelet, controller-manager, scheduler, kube-proxy and helm
// too (the chart's tests use helm everywhere; the rest runs as root only).
const k8s = spawnSync('bash', [join(root, 'scripts/build-k8s-bins.sh'), '--nodes'], { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
if (k8s.status !== 0) {
  console.error('ensure-test-deps: building the test Kubernetes binaries failed (see above)');
  process.exit(1);
}

// The real-kubelet cluster's images (the product's from the Dockerfile), built
// here so the test's own time is the cluster's. Only where that test runs:
// root, with the container tools .ci/run installs.
const has = (tool) => spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status === 0;
if (process.getuid?.() === 0 && ['buildah', 'mmdebstrap', 'containerd', 'gcc'].every(has)) {
  const images = spawnSync('bash', [join(root, 'scripts/build-images.sh')], { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
  if (images.status !== 0) {
    console.error('ensure-test-deps: building the test cluster images failed (see above)');
    process.exit(1);
  }
}

if (existsSync(join(root, 'native/src')) && !existsSync(join(root, 'native/build/metalgate_native.node'))) {
  const r = spawnSync(process.execPath, [join(root, 'scripts/build-native.mjs')], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(1);
}

for (const tool of ['ip', 'tcpdump', 'ping', 'curl']) {
  const r = spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' });
  if (r.status !== 0) console.error(`ensure-test-deps: "${tool}" not found; tests that need it will skip (.ci/run installs it)`);
}
