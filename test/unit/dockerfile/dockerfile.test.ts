// The Dockerfile without a Docker engine: what it copies exists (and is in
// the build context), its build commands are the package's own, and a
// replay of its two stages in temp directories - the build stage's COPYs,
// `npm run build`, then the runtime stage's COPY --from=build - gives an
// image layout whose ENTRYPOINT runs and whose native addon loads.
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, dirname, join, posix } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parseAllDocuments } from 'yaml';
import {
  isIgnored,
  parseCopy,
  parseDockerignore,
  parseExecForm,
  parseInstructions,
  parseStages,
  shellCommands,
  type Stage,
} from './dockerfile-parse.ts';

const execFileAsync = promisify(execFile);
const root = join(import.meta.dirname, '../../..');
const dockerfileText = readFileSync(join(root, 'Dockerfile'), 'utf8');
const stages = parseStages(dockerfileText);
const ignoreRules = parseDockerignore(readFileSync(join(root, '.dockerignore'), 'utf8'));
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  version: string;
  scripts: Record<string, string>;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, { dev?: boolean; hasInstallScript?: boolean }>;
};
const tsconfigBuild = JSON.parse(readFileSync(join(root, 'tsconfig.build.json'), 'utf8')) as {
  extends?: string;
  compilerOptions: { outDir: string; rootDir: string };
  include: string[];
};

const buildStage = stages.find((s) => s.name === 'build')!;
const runtimeStage = stages[stages.length - 1]!;
const WORKDIR = '/app';

function controllerContainer(): { command?: string[]; args?: string[] } {
  for (const doc of parseAllDocuments(readFileSync(join(root, 'manifests/30-controller.yaml'), 'utf8'))) {
    const o = doc.toJS() as { kind?: string; spec?: { template?: { spec?: { containers?: Array<{ name: string; command?: string[]; args?: string[] }> } } } };
    const c = o?.kind === 'Deployment' ? o.spec?.template?.spec?.containers?.find((x) => x.name === 'controller') : undefined;
    if (c) return c;
  }
  throw new Error('manifests/30-controller.yaml: no controller container');
}

function instructions(stage: Stage, keyword: string) {
  return stage.instructions.filter((i) => i.keyword === keyword);
}

function runCommands(stage: Stage): string[][] {
  return instructions(stage, 'RUN').flatMap((i) => {
    const exec = parseExecForm(i.args);
    return exec ? [exec] : shellCommands(i.args);
  });
}

function npmCommands(stage: Stage): string[][] {
  return runCommands(stage).filter((c) => c[0] === 'npm');
}

/** Where a COPY destination lands, relative to WORKDIR (the stages use only WORKDIR /app). */
function destPath(dest: string, source: string): string {
  const d = dest.startsWith('/') ? posix.relative(WORKDIR, dest) : posix.normalize(dest);
  return dest.endsWith('/') || dest === '.' || dest === './' ? posix.join(d, posix.basename(source)) : d;
}

function stripDotSlash(p: string): string {
  return p.replace(/^\.\//, '').replace(/\/$/, '');
}

describe('Dockerfile and .dockerignore parsing', () => {
  test('instructions: continuations joined, comments inside them dropped, lines kept', () => {
    const ins = parseInstructions('# c\nFROM a AS b\nRUN x \\\n  # note\n  && y\n\nCOPY --from=b /a ./\n');
    expect(ins).toEqual([
      { keyword: 'FROM', args: 'a AS b', line: 2 },
      { keyword: 'RUN', args: 'x && y', line: 3 },
      { keyword: 'COPY', args: '--from=b /a ./', line: 7 },
    ]);
    expect(parseCopy(ins[2]!)).toEqual({ from: 'b', sources: ['/a'], dest: './', flags: { from: 'b' } });
    expect(parseCopy({ keyword: 'COPY', args: '--chown=1:1 ["a b", "c"]', line: 1 })).toEqual({ sources: ['a b'], dest: 'c', flags: { chown: '1:1' } });
  });

  test('shell commands split at && ; || with quotes honoured', () => {
    expect(shellCommands("apt-get update && apt-get install -y 'a b' ; npm ci || true")).toEqual([
      ['apt-get', 'update'],
      ['apt-get', 'install', '-y', 'a b'],
      ['npm', 'ci'],
      ['true'],
    ]);
  });

  test('.dockerignore: last applicable pattern wins, parents count, ** spans directories', () => {
    const rules = parseDockerignore('*\n!src\n!scripts/build-native.mjs\nsrc/**/*.test.ts\n');
    expect(isIgnored(rules, 'node_modules/x/index.js')).toBe(true);
    expect(isIgnored(rules, 'src/cli.ts')).toBe(false);
    expect(isIgnored(rules, 'src/a/b.test.ts')).toBe(true);
    expect(isIgnored(rules, 'scripts/build-native.mjs')).toBe(false);
    expect(isIgnored(rules, 'scripts/run-tests.mjs')).toBe(true);
  });
});

describe('the Dockerfile', () => {
  test('two stages on Node 24 (a tag, no digest), the last one the image', () => {
    expect(stages.map((s) => s.name)).toEqual(['build', undefined]);
    for (const s of stages) {
      expect(s.base).toMatch(/^(docker\.io\/)?(library\/)?node:24(\.\d+){0,2}-[a-z0-9-]+$/);
      expect(s.base).not.toContain('@');
    }
    // The package asks for the same Node.
    expect(pkg.devDependencies.node ?? '').toMatch(/^\^?24\./);
  });

  test('every build-stage COPY source exists in the repository and is in the build context', () => {
    const copies = instructions(buildStage, 'COPY').map(parseCopy);
    expect(copies.length).toBeGreaterThan(0);
    for (const c of copies) {
      expect(c.from, 'the build stage copies from the context only').toBeUndefined();
      for (const src of c.sources) {
        const path = stripDotSlash(src);
        expect(existsSync(join(root, path)), `${src} exists`).toBe(true);
        expect(isIgnored(ignoreRules, path), `${src} is not excluded by .dockerignore`).toBe(false);
        if (statSync(join(root, path)).isDirectory()) {
          for (const f of listFiles(join(root, path))) expect(isIgnored(ignoreRules, posix.join(path, f)), `${path}/${f} in the context`).toBe(false);
        }
      }
    }
    // And the host's build products and dependencies stay out of the context.
    for (const p of ['node_modules/yaml/package.json', 'dist/cli.js', 'native/build/metalgate_native.node', '.git/HEAD', 'test/unit/smoke.test.ts']) {
      expect(isIgnored(ignoreRules, p), p).toBe(true);
    }
  });

  test('the build stage copies everything `npm run build` reads', () => {
    const copied = instructions(buildStage, 'COPY')
      .map(parseCopy)
      .flatMap((c) => c.sources.map(stripDotSlash));
    const scriptFiles = [...pkg.scripts['build:native']!.matchAll(/\bnode\s+(\S+)/g)].map((m) => m[1]!);
    const tsProject = /-p\s+(\S+)/.exec(pkg.scripts['build:ts']!)![1]!;
    const needed = [
      'package.json',
      'package-lock.json',
      ...scriptFiles,
      tsProject,
      ...(tsconfigBuild.extends ? [stripDotSlash(tsconfigBuild.extends)] : []),
      ...tsconfigBuild.include,
      // scripts/build-native.mjs compiles native/src/*.cc
      'native/src',
    ];
    for (const n of needed) expect(copied, n).toContain(n);
  });

  test('its build commands are the package\'s: npm ci, npm run build, then production dependencies only', () => {
    const npm = npmCommands(buildStage).map((c) => c.join(' '));
    const ci = npm.findIndex((c) => /^npm ci( --ignore-scripts)?$/.test(c));
    const build = npm.indexOf('npm run build');
    const prune = npm.indexOf('npm prune --omit=dev');
    expect(ci, `npm ci in ${JSON.stringify(npm)}`).toBeGreaterThanOrEqual(0);
    expect(build).toBeGreaterThan(ci);
    expect(prune).toBeGreaterThan(build);
    expect(pkg.scripts.build).toBe('npm run build:native && npm run build:ts');
    // Every other npm command is a rebuild of a named package.
    for (const c of npm) expect(c).toMatch(/^npm (ci( --ignore-scripts)?|run build|prune --omit=dev|rebuild [\w@/.-]+)$/);
  });

  test('with --ignore-scripts, no install script that matters is lost', () => {
    const ciIgnoresScripts = npmCommands(buildStage).some((c) => c[1] === 'ci' && c.includes('--ignore-scripts'));
    if (!ciIgnoresScripts) return;
    // The root's own lifecycle: `prepare` is the build, which runs explicitly.
    expect(pkg.scripts.prepare).toBe('npm run build');
    for (const hook of ['preinstall', 'install', 'postinstall']) expect(pkg.scripts[hook], hook).toBeUndefined();
    const rebuilt = new Set(npmCommands(buildStage).filter((c) => c[1] === 'rebuild').flatMap((c) => c.slice(2)));
    // Dev-only packages whose script the build does not need (they are pruned from the image).
    const notNeeded: Record<string, string> = {
      node: 'downloads a Node binary; the base image provides Node 24',
      '@swc/core': 'checks its platform binding; only the dependency check of npm test parses with it, never the build',
      protobufjs: "prints a notice about its dependents' version scheme; pulled in by @grpc/grpc-js, a test-only dependency",
    };
    for (const [path, meta] of Object.entries(lock.packages)) {
      if (!meta.hasInstallScript || path === '') continue;
      const name = path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);
      if (meta.dev) expect(notNeeded[name] ?? rebuilt.has(name), `dev package ${name} has an install script: rebuild it or say why not`).toBeTruthy();
      else expect(rebuilt.has(name), `production package ${name} has an install script: npm rebuild ${name}`).toBe(true);
    }
  });

  test('the build stage has a C++ toolchain for the native addon and a uv.h source', () => {
    const installs = runCommands(buildStage).filter((c) => c[0] === 'apt-get' && c[1] === 'install');
    const packages = installs.flatMap((c) => c.slice(2).filter((w) => !w.startsWith('-')));
    expect(packages).toEqual(expect.arrayContaining(['g++', 'make', 'python3']));
    // scripts/build-native.mjs looks for uv.h in the Node headers (shipped by
    // the node image in /usr/local/include/node) and then in /usr/include.
    const script = readFileSync(join(root, 'scripts/build-native.mjs'), 'utf8');
    expect(script).toContain("'/usr/local/include/node'");
    expect(script).toContain("'/usr/include'");
    expect(packages).toContain('libuv1-dev');
  });

  test('runtime stage: only copies from the build stage (and installs nft), non-root, node dist/cli.js', () => {
    // The one package the runtime needs: nft, for kernel forwarding (src/proxy/kernel).
    const runs = instructions(runtimeStage, 'RUN').map((r) => r.args);
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatch(/apt-get install -y --no-install-recommends nftables conntrack\b/);
    expect(runs[0]).toMatch(/rm -rf \/var\/lib\/apt\/lists/);
    const copies = instructions(runtimeStage, 'COPY').map(parseCopy);
    for (const c of copies) expect(c.from).toBe('build');
    expect(copies.flatMap((c) => c.sources.map((s) => posix.relative(WORKDIR, s))).sort()).toEqual(
      ['dist', 'native/build/metalgate_native.node', 'node_modules', 'package.json'].sort(),
    );
    const user = instructions(runtimeStage, 'USER').at(-1)!.args;
    expect(user).toMatch(/^[1-9]\d*(:\d+)?$/); // numeric, so runAsNonRoot can verify it
    expect(parseExecForm(instructions(runtimeStage, 'ENTRYPOINT').at(-1)!.args)).toEqual(['node', '--max-semi-space-size=1', '--heap-growing-percent=20', '--expose-gc', '--no-short-builtin-calls', '--no-sparkplug', `${tsconfigBuild.compilerOptions.outDir}/cli.js`]);
    expect(instructions(runtimeStage, 'WORKDIR').at(-1)!.args).toBe(WORKDIR);
    // Pretty logs on a terminal need pino-pretty: without it in the image, the image must log JSON.
    if (!pkg.dependencies['pino-pretty']) {
      expect(instructions(runtimeStage, 'ENV').map((i) => i.args).join(' ')).toMatch(/\bMETALGATE_LOG_FORMAT=json\b/);
    }
  });

  test('the manifests run this image as its user, tagged with the package version', () => {
    const user = Number(instructions(runtimeStage, 'USER').at(-1)!.args.split(':')[0]);
    const images = new Set<string>();
    for (const f of ['30-controller.yaml', '31-speaker.yaml']) {
      for (const doc of parseAllDocuments(readFileSync(join(root, 'manifests', f), 'utf8'))) {
        const o = doc.toJS() as { spec?: { template?: { spec?: { securityContext?: { runAsUser?: number }; containers?: Array<{ image: string }> } } } };
        const pod = o?.spec?.template?.spec;
        for (const c of pod?.containers ?? []) images.add(c.image);
        if (f === '30-controller.yaml') expect(pod?.securityContext?.runAsUser).toBe(user);
      }
    }
    expect([...images]).toEqual([`ghcr.io/metalgate/metalgate:${pkg.version}`]);
  });
});

describe('replaying the stages in temp directories', () => {
  let work: string;
  let buildDir: string;
  let imageDir: string;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'metalgate-dockerfile-'));
    buildDir = join(work, 'build');
    imageDir = join(work, 'image');
    mkdirSync(buildDir);
    mkdirSync(imageDir);
    // Build stage: its COPYs from the (filtered) context; the installed
    // node_modules stands in for `npm ci`; then its `npm run build`.
    for (const c of instructions(buildStage, 'COPY').map(parseCopy)) {
      for (const src of c.sources) copyFiltered(join(root, stripDotSlash(src)), join(buildDir, destPath(c.dest, stripDotSlash(src))), stripDotSlash(src));
    }
    symlinkSync(join(root, 'node_modules'), join(buildDir, 'node_modules'), 'dir');
    const build = npmCommands(buildStage).find((c) => c.join(' ') === 'npm run build')!;
    await execFileAsync(build[0]!, build.slice(1), { cwd: buildDir, timeout: 120_000, env: { ...process.env, npm_config_update_notifier: 'false' } });
    // Runtime stage: its COPY --from=build (node_modules linked, not copied).
    for (const c of instructions(runtimeStage, 'COPY').map(parseCopy)) {
      for (const src of c.sources) {
        const from = join(buildDir, posix.relative(WORKDIR, src));
        const to = join(imageDir, destPath(c.dest, posix.relative(WORKDIR, src)));
        mkdirSync(dirname(to), { recursive: true });
        if (basename(src) === 'node_modules') symlinkSync(join(root, 'node_modules'), to, 'dir');
        else cpSync(from, to, { recursive: true });
      }
    }
  }, 180_000);

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  test('npm run build in the build stage emits what the runtime stage copies', () => {
    for (const c of instructions(runtimeStage, 'COPY').map(parseCopy)) {
      for (const src of c.sources) expect(existsSync(join(buildDir, posix.relative(WORKDIR, src))), src).toBe(true);
    }
    // dist/cli.js is src/cli.ts compiled (outDir + the path under rootDir).
    const { outDir, rootDir } = tsconfigBuild.compilerOptions;
    expect(existsSync(join(buildDir, outDir, posix.relative(rootDir, 'src/cli.ts').replace(/\.ts$/, '.js')))).toBe(true);
  });

  test('the ENTRYPOINT runs from the image layout', async () => {
    const [cmd, ...args] = parseExecForm(instructions(runtimeStage, 'ENTRYPOINT').at(-1)!.args)!;
    expect(cmd).toBe('node');
    const { stdout } = await execFileAsync(process.execPath, [...args, '--version'], { cwd: imageDir, env: { ...process.env, METALGATE_LOG_FORMAT: 'json' } });
    expect(stdout.trim()).toBe(pkg.version);
    const cmdArgs = parseExecForm(instructions(runtimeStage, 'CMD').at(-1)?.args ?? '[]') ?? [];
    const help = await execFileAsync(process.execPath, [...args, ...cmdArgs], { cwd: imageDir });
    expect(help.stdout).toContain('Usage: metalgate <command>');
  });

  test("the controller's command is the ENTRYPOINT with the interpreter only, and runs from the image layout", async () => {
    const entrypoint = parseExecForm(instructions(runtimeStage, 'ENTRYPOINT').at(-1)!.args)!;
    const command = controllerContainer().command!;
    expect(command).toEqual([entrypoint[0], '--max-opt=0', ...entrypoint.slice(1)]);
    const { stdout } = await execFileAsync(process.execPath, [...command.slice(1), '--version'], { cwd: imageDir, env: { ...process.env, METALGATE_LOG_FORMAT: 'json' } });
    expect(stdout.trim()).toBe(pkg.version);
    // undici (the Kubernetes client's HTTP) parses HTTP/1.1 with WebAssembly: --jitless would remove it.
    const wasm = await execFileAsync(process.execPath, [...command.slice(1, -1), '-e', 'new WebAssembly.Module(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0])); console.log("wasm")']);
    expect(wasm.stdout.trim()).toBe('wasm');
  });

  test('the native addon loads from where dist/ looks for it', async () => {
    const script = [
      "const m = await import('./dist/native/addon.js');",
      'const addon = m.loadNativeAddon();',
      "if (typeof addon.PacketSocket !== 'function') throw new Error('no PacketSocket');",
      "if (typeof addon.IdlePark !== 'function') throw new Error('no IdlePark');",
      "if (typeof addon.trimMalloc !== 'function') throw new Error('no trimMalloc');",
      'console.log(m.NATIVE_ADDON_PATH);',
    ].join('\n');
    const { stdout } = await execFileAsync(process.execPath, ['--input-type=module', '-e', script], { cwd: imageDir });
    expect(stdout.trim()).toBe(join(imageDir, 'native/build/metalgate_native.node'));
  });

  test('the CLI and the workers start from the bundle (scripts/bundle.mjs), which finds the addon and a worker entry', async () => {
    const entries = { 'cli.js': './app/cli.js', 'proxy/workers/proxy-worker.js': '../../app/proxy-worker.js', 'ingress/runtime/middlewares/bcrypt-worker.js': '../../../app/bcrypt-worker.js' };
    for (const [file, target] of Object.entries(entries)) {
      expect(readFileSync(join(imageDir, 'dist', file), 'utf8'), file).toContain(`export * from '${target}';`);
    }
    // A few files per thread kind, not one per module.
    const bundled = readdirSync(join(imageDir, 'dist/app')).filter((f) => f.endsWith('.js'));
    expect(bundled.length).toBeLessThan(60);
    // The addon's path is computed from its module's own URL under dist/, as unbundled.
    const addonChunk = bundled.find((f) => readFileSync(join(imageDir, 'dist/app', f), 'utf8').includes('metalgate_native.node'))!;
    const script = [
      `const m = await import('./dist/app/${addonChunk}');`,
      "const load = Object.values(m).find((v) => typeof v === 'function' && v.name === 'loadNativeAddon');",
      "if (typeof load().PacketSocket !== 'function') throw new Error('no PacketSocket');",
      "console.log('addon');",
    ].join('\n');
    expect((await execFileAsync(process.execPath, ['--input-type=module', '-e', script], { cwd: imageDir })).stdout.trim()).toBe('addon');
    // A worker started from its entry under dist/ runs the bundled code (bcrypt's worker: one comparison).
    const worker = [
      "import { Worker } from 'node:worker_threads';",
      "const w = new Worker(new URL('./dist/ingress/runtime/middlewares/bcrypt-worker.js', `file://${process.cwd()}/`), { execArgv: [] });",
      "w.on('message', (m) => { console.log(JSON.stringify(m)); w.terminate(); });",
      // bcrypt of "x" with cost 4.
      "w.postMessage({ id: 7, password: 'x', hash: '$2b$04$nBf3.lPtXW85paHO6vnFyeNzdHKjmjp/ZIQm/ZIf.qd8CPuYGoA7u' });",
    ].join('\n');
    const out = (await execFileAsync(process.execPath, ['--input-type=module', '-e', worker], { cwd: imageDir, timeout: 20_000 })).stdout.trim();
    expect(JSON.parse(out)).toEqual({ id: 7, ok: true });
  });

  test('dist/ imports only Node built-ins and production dependencies', () => {
    const builtins = new Set(builtinModules);
    const production = new Set(Object.keys(pkg.dependencies));
    const offenders: string[] = [];
    for (const file of listFiles(join(imageDir, 'dist')).filter((f) => f.endsWith('.js'))) {
      const text = readFileSync(join(imageDir, 'dist', file), 'utf8');
      for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)) {
        const spec = m[1] ?? m[2]!;
        if (spec.startsWith('.') || spec.startsWith('node:') || builtins.has(spec)) continue;
        const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!;
        if (!production.has(name)) offenders.push(`${file}: ${spec}`);
      }
    }
    expect(offenders).toEqual([]);
  });
});

function listFiles(dir: string, prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? listFiles(join(dir, e.name), posix.join(prefix, e.name)) : [posix.join(prefix, e.name)],
  );
}

/** Copies a context path as Docker would send it: .dockerignore applied. */
function copyFiltered(from: string, to: string, contextPath: string): void {
  mkdirSync(dirname(to), { recursive: true });
  cpSync(from, to, {
    recursive: true,
    filter: (src) => {
      const rel = posix.relative(from, src);
      return !isIgnored(ignoreRules, rel ? posix.join(contextPath, rel) : contextPath);
    },
  });
}
