// Bundles tsc's output (dist/, one file per module) into a few files per
// thread, and points the entry files there (`npm run build:ts` runs it).
//
// Why: every ES module costs each thread that loads it memory of its own,
// beyond its code (the loader's records, the module's environment): the
// proxy worker's module graph loaded into the speaker's thread and 4
// workers took 130.5 MiB of RSS as tsc's ~150 files and 117.3 MiB as one
// bundled file (docs/dependencies.md, "rolldown"). What it is not: a
// minifier or a dependency bundler. node_modules stay external (bundled,
// they load eagerly what the product loads lazily: +9 MiB in the same
// measurement), and the code is tsc's, unchanged.
//
// Layout: dist/app/ holds the bundle (an entry per thread kind, shared
// chunks). Each module's `import.meta.url` is rewritten to the URL of its
// file under dist/, so paths computed from it (the native addon, a worker's
// entry, createRequire) resolve as they do unbundled; the entry files under
// dist/ (dist/cli.js and the workers' entries, which those paths name) are
// replaced by one-line re-exports of their bundled entry.
//
//   node scripts/bundle.mjs
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'rolldown';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(root, 'dist');
const out = path.join(dist, 'app');

/** Entry name -> tsc's file: the CLI, and each file a Worker is started from. */
const entries = {
  cli: 'cli.js',
  'proxy-worker': 'proxy/workers/proxy-worker.js',
  'bcrypt-worker': 'ingress/runtime/middlewares/bcrypt-worker.js',
};

/** Gives each bundled module the import.meta.url its own file under dist/ has. */
const ownFileUrl = {
  name: 'own-file-url',
  transform(code, id) {
    if (!id.startsWith(dist + path.sep)) return null;
    const other = /import\.meta\.(dirname|filename|resolve)\b/.exec(code);
    if (other) this.error(`${path.relative(root, id)}: import.meta.${other[1]} is not rewritten to the module's own file; use import.meta.url`);
    if (!code.includes('import.meta.url')) return null;
    const fromBundle = path.relative(out, id).split(path.sep).join('/');
    return { code: code.replaceAll('import.meta.url', `new URL(${JSON.stringify(fromBundle)}, import.meta.url).href`), map: null };
  },
};

rmSync(out, { recursive: true, force: true });
// The entries' text before they are replaced: a second run bundles tsc's output, not the re-exports.
for (const file of Object.values(entries)) {
  if (readFileSync(path.join(dist, file), 'utf8').includes('/app/')) throw new Error(`bundle: dist/${file} is a re-export already; run tsc first (npm run build:ts)`);
}
await build({
  input: Object.fromEntries(Object.entries(entries).map(([name, file]) => [name, path.join(dist, file)])),
  platform: 'node',
  // Node built-ins and node_modules: loaded by Node as before.
  external: (id) => !id.startsWith('.') && !path.isAbsolute(id),
  plugins: [ownFileUrl],
  logLevel: 'warn',
  output: {
    dir: out,
    format: 'esm',
    entryFileNames: '[name].js',
    chunkFileNames: '[name]-[hash].js',
  },
});
for (const [name, file] of Object.entries(entries)) {
  const target = path.relative(path.dirname(path.join(dist, file)), path.join(out, `${name}.js`)).split(path.sep).join('/');
  const shebang = name === 'cli' ? '#!/usr/bin/env node\n' : '';
  const specifier = target.startsWith('.') ? target : `./${target}`;
  writeFileSync(path.join(dist, file), `${shebang}// The bundle's entry (scripts/bundle.mjs).\nexport * from '${specifier}';\n`);
  rmSync(path.join(dist, `${file}.map`), { force: true });
}
console.error(`bundle: dist/app/ from ${Object.keys(entries).length} entries`);
