// The node flags each component runs with in a cluster, read from where they
// are set: the speaker runs the image's ENTRYPOINT (Dockerfile), the
// controller the `command` of its container (manifests/30-controller.yaml),
// which adds its own to the ENTRYPOINT's. Benchmarks start the built CLI with
// these, so what they measure is what the manifests run.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';

const root = join(import.meta.dirname, '../..');

/** The node flags of an exec-form command `node <flags...> dist/cli.js`. */
function flagsOf(command: readonly string[], where: string): string[] {
  const cli = command.indexOf('dist/cli.js');
  if (command[0] !== 'node' || cli < 0) throw new Error(`${where}: not "node <flags> dist/cli.js": ${JSON.stringify(command)}`);
  return command.slice(1, cli);
}

export function entrypointNodeFlags(): string[] {
  const line = /^ENTRYPOINT\s+(\[.*\])\s*$/m.exec(readFileSync(join(root, 'Dockerfile'), 'utf8'));
  if (!line) throw new Error('Dockerfile: no exec-form ENTRYPOINT');
  return flagsOf(JSON.parse(line[1]!) as string[], 'Dockerfile ENTRYPOINT');
}

export function controllerNodeFlags(): string[] {
  for (const doc of parseAllDocuments(readFileSync(join(root, 'manifests/30-controller.yaml'), 'utf8'))) {
    const o = doc.toJS() as { kind?: string; spec?: { template?: { spec?: { containers?: Array<{ name: string; command?: string[] }> } } } };
    const c = o?.kind === 'Deployment' ? o.spec?.template?.spec?.containers?.find((x) => x.name === 'controller') : undefined;
    if (c) return c.command ? flagsOf(c.command, 'manifests/30-controller.yaml') : entrypointNodeFlags();
  }
  throw new Error('manifests/30-controller.yaml: no controller container');
}

export function nodeFlagsOf(component: 'controller' | 'speaker'): string[] {
  return component === 'controller' ? controllerNodeFlags() : entrypointNodeFlags();
}
