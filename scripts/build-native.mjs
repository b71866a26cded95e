// Builds native/build/metalgate_native.node with the system C++ compiler.
// No node-gyp and no network: Node-API headers come from the installed
// node-api-headers and node-addon-api packages; uv.h (for uv_poll_t) from the
// Node headers installed on the machine, or libuv's own dev package.
//
//   node scripts/build-native.mjs [--force]
//
// Environment: CXX (compiler, default c++), METALGATE_UV_INCLUDE (directory
// holding uv.h, when it is somewhere unusual).

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(path.join(root, 'package.json'));
const srcDir = path.join(root, 'native', 'src');
const outDir = path.join(root, 'native', 'build');
const output = path.join(outDir, 'metalgate_native.node');
const force = process.argv.includes('--force');

function fail(message) {
  console.error(`build-native: FAILED: ${message}`);
  process.exit(1);
}

function packageDir(name) {
  try {
    return path.dirname(require.resolve(`${name}/package.json`));
  } catch {
    return fail(`package ${name} is not installed (it is a devDependency; run npm ci)`);
  }
}

// libuv keeps its ABI stable within 1.x, so any 1.x uv.h fits the running Node.
function findUvInclude() {
  const candidates = [
    process.env.METALGATE_UV_INCLUDE,
    path.join(path.dirname(process.execPath), '..', 'include', 'node'),
    '/usr/local/include/node',
    '/usr/include/node',
    '/usr/include',
  ].filter(Boolean);
  const found = candidates.find((dir) => existsSync(path.join(dir, 'uv.h')));
  if (found === undefined) {
    fail(
      `uv.h not found in ${candidates.join(', ')}; install Node's headers or libuv ` +
        `(apt-get install libuv1-dev), or set METALGATE_UV_INCLUDE`,
    );
  }
  return found;
}

const sources = readdirSync(srcDir)
  .filter((name) => name.endsWith('.cc') || name.endsWith('.h'))
  .map((name) => path.join(srcDir, name));
const units = sources.filter((file) => file.endsWith('.cc'));
if (units.length === 0) fail(`no .cc files in ${srcDir}`);

if (!force && existsSync(output)) {
  const built = statSync(output).mtimeMs;
  const newest = Math.max(...sources.map((file) => statSync(file).mtimeMs), statSync(import.meta.filename).mtimeMs);
  if (built >= newest) {
    console.log(`build-native: ${path.relative(root, output)} is up to date (--force to rebuild)`);
    process.exit(0);
  }
}

const cxx = process.env.CXX || 'c++';
const napiInclude = path.join(packageDir('node-api-headers'), 'include');
const addonApiInclude = packageDir('node-addon-api');
const uvInclude = findUvInclude();
const args = [
  '-std=c++17',
  '-O2',
  '-fPIC',
  '-shared',
  '-fvisibility=hidden',
  '-Wall',
  '-Wextra',
  '-DNAPI_VERSION=8',
  '-DNAPI_CPP_EXCEPTIONS',
  '-DNODE_ADDON_API_DISABLE_DEPRECATED',
  `-I${napiInclude}`,
  `-I${addonApiInclude}`,
  // Searched last: a Node header directory also holds an older node_api.h.
  '-idirafter',
  uvInclude,
  ...units,
  '-o',
  output,
];

mkdirSync(outDir, { recursive: true });
console.log(`build-native: ${cxx} ${args.join(' ')}`);
const started = Date.now();
const result = spawnSync(cxx, args, { cwd: root, stdio: 'inherit' });
if (result.error) fail(`cannot run ${cxx}: ${result.error.message}`);
if (result.status !== 0) fail(`${cxx} exited with ${result.status ?? result.signal} (compiler output above)`);
console.log(`build-native: wrote ${path.relative(root, output)} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
