// `metalgate validate -f FILE`: checks an address-pool config before it is
// applied. The file is either a bare config (what goes in `data.config`) or
// Kubernetes YAML (one or more documents, `kind: List` too, as `kubectl get
// -o yaml` prints) holding the ConfigMap. validateManifest is pure; runValidate
// is the thin edge that reads the file and prints.
//
// Decisions:
// - A file is a manifest when any of its documents has `kind` or `apiVersion`
//   at the top; otherwise it is a bare config.
// - Every ConfigMap with a `data.config` key is checked (the file may hold
//   other ConfigMaps, which are not ours to judge). Only when none has one is
//   that an error, naming each ConfigMap found.
// - Lines: a literal block scalar (`config: |`) keeps the config's lines one
//   for one, so issues give the file's line. Any other style (folded,
//   quoted) does not, and issues say `config line N` instead.
// - An empty file is an error here: validating nothing is a mistake. (An
//   empty config applied to the cluster is valid and means no pools.)

import { readFile } from 'node:fs/promises';
import { LineCounter, isMap, isScalar, isSeq, parseAllDocuments, type Document, type YAMLMap } from 'yaml';
import { parsePoolConfig } from './pool-config.ts';
import type { ConfigIssue, PoolConfig } from './types.ts';
import { deref, describe, pairOf, startOf, stringOf } from './yaml-nodes.ts';

export interface ManifestValidation {
  /** In file order: manifest-level issues, then each config's. */
  issues: ConfigIssue[];
  /** One per valid config found (several only when the file holds several ConfigMaps). */
  configs: PoolConfig[];
}

interface FoundConfigMap {
  doc: Document.Parsed;
  map: YAMLMap;
  label: string;
}

function issue(severity: ConfigIssue['severity'], line: number | undefined, message: string): ConfigIssue {
  const where = line === undefined ? message : `line ${line}: ${message}`;
  return line === undefined ? { severity, message: where } : { severity, line, message: where };
}

/** The top-level mappings of a document: the object itself, or the items of a `kind: List`. */
function objectsOf(doc: Document.Parsed): YAMLMap[] {
  const root = deref(doc, doc.contents);
  if (!isMap(root)) return [];
  const kind = stringOf(deref(doc, pairOf(root, 'kind')?.value));
  const items = deref(doc, pairOf(root, 'items')?.value);
  if (kind === 'List' && isSeq(items)) {
    return items.items.map((item) => deref(doc, item)).filter((item): item is YAMLMap => isMap(item));
  }
  return [root];
}

function configMapLabel(doc: Document.Parsed, map: YAMLMap): string {
  const metadata = deref(doc, pairOf(map, 'metadata')?.value);
  const name = isMap(metadata) ? stringOf(deref(doc, pairOf(metadata, 'name')?.value)) : undefined;
  const namespace = isMap(metadata) ? stringOf(deref(doc, pairOf(metadata, 'namespace')?.value)) : undefined;
  const full = name === undefined ? '(unnamed)' : namespace === undefined ? name : `${namespace}/${name}`;
  return `ConfigMap ${JSON.stringify(full)}`;
}

/** Checks a bare config or a manifest holding the config ConfigMap(s). */
export function validateManifest(text: string): ManifestValidation {
  const lines = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lines, prettyErrors: false });
  const lineAt = (offset: number | undefined): number | undefined =>
    offset === undefined ? undefined : lines.linePos(offset).line;
  if (docs.length === 0) {
    return { issues: [issue('error', undefined, 'nothing to validate: the file holds no YAML document')], configs: [] };
  }

  const isManifest = docs.some((doc) => {
    const root = deref(doc, doc.contents);
    return isMap(root) && (pairOf(root, 'kind') !== undefined || pairOf(root, 'apiVersion') !== undefined);
  });
  if (!isManifest) {
    const result = parsePoolConfig(text);
    return { issues: result.issues, configs: result.config ? [result.config] : [] };
  }

  const issues: ConfigIssue[] = [];
  for (const doc of docs) {
    for (const error of doc.errors) issues.push(issue('error', lineAt(error.pos[0]), `YAML syntax error: ${error.message}`));
  }
  if (issues.length > 0) return { issues, configs: [] };

  const configMaps: FoundConfigMap[] = [];
  for (const doc of docs) {
    for (const map of objectsOf(doc)) {
      if (stringOf(deref(doc, pairOf(map, 'kind')?.value)) === 'ConfigMap') {
        configMaps.push({ doc, map, label: configMapLabel(doc, map) });
      }
    }
  }
  if (configMaps.length === 0) {
    const message = 'no ConfigMap in the file: expected a ConfigMap whose data.config holds the address pools, or a bare config';
    return { issues: [issue('error', undefined, message)], configs: [] };
  }

  const withConfig = configMaps.filter(({ doc, map }) => {
    const data = deref(doc, pairOf(map, 'data')?.value);
    return isMap(data) && pairOf(data, 'config') !== undefined;
  });
  if (withConfig.length === 0) {
    for (const { map, label } of configMaps) {
      const data = pairOf(map, 'data');
      issues.push(issue('error', lineAt(startOf(data?.key ?? map)), `${label} has no data.config key holding the address pools`));
    }
    return { issues, configs: [] };
  }

  const configs: PoolConfig[] = [];
  for (const { doc, map, label } of withConfig) {
    const data = deref(doc, pairOf(map, 'data')?.value) as YAMLMap;
    const valueNode = pairOf(data, 'config')?.value;
    const value = deref(doc, valueNode);
    const config = stringOf(value);
    if (config === undefined || !isScalar(value)) {
      const message = `${label}: data.config must be a string holding the config (write "config: |" and indent the config under it), got ${describe(value)}`;
      issues.push(issue('error', lineAt(startOf(valueNode)), message));
      continue;
    }
    const context = withConfig.length > 1 ? label : undefined;
    // A literal block's content starts on the line after its `|` header, line for line.
    const result =
      value.type === 'BLOCK_LITERAL'
        ? parsePoolConfig(config, { lineOffset: lineAt(startOf(value)) ?? 0, context })
        : parsePoolConfig(config, { lineLabel: 'config line', context });
    issues.push(...result.issues);
    if (result.config) configs.push(result.config);
  }
  return { issues, configs };
}

export function validateManifestText(text: string): ConfigIssue[] {
  return validateManifest(text).issues;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

const counted = (n: number, noun: string): string => `${n} ${noun}${n === 1 ? '' : 's'}`;

/**
 * Reads FILE (`-` for stdin), prints one line per issue (`error: ...`,
 * `warning: ...`) and a summary. Returns the exit code: 0 valid (warnings
 * allowed), 1 invalid, 2 when the file cannot be read.
 */
export async function runValidate(path: string, out: (line: string) => void): Promise<number> {
  let text: string;
  try {
    text = path === '-' ? await readStdin() : await readFile(path, 'utf8');
  } catch (error) {
    out(`error: cannot read ${path}: ${(error as Error).message}`);
    return 2;
  }
  const { issues, configs } = validateManifest(text);
  const name = path === '-' ? '<stdin>' : path;
  for (const found of issues) out(`${found.severity}: ${found.message}`);
  const errors = issues.filter((found) => found.severity === 'error').length;
  const warnings = issues.length - errors;
  const warningText = warnings > 0 ? `, ${counted(warnings, 'warning')}` : '';
  if (errors > 0) {
    out(`${name}: invalid, ${counted(errors, 'error')}${warningText}`);
    return 1;
  }
  const names = configs.flatMap((config) => config.pools.map((pool) => pool.name));
  const list = names.length > 0 ? ` (${names.join(', ')})` : '';
  out(`${name}: valid, ${counted(names.length, 'address pool')}${list}${warningText}`);
  return 0;
}
