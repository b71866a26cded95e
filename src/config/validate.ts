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
// - metallb.io objects in the file are checked as the controller checks them
//   (metallb-pools.ts, metallb-l2.ts): each IPAddressPool and L2Advertisement
//   on its own, the pools together for overlaps (oldest first is unknown
//   offline: file order stands in), the ConfigMap's pools with them. BGP
//   kinds are accepted with a warning that they are not served yet.

import { readFile } from 'node:fs/promises';
import { LineCounter, isMap, isScalar, isSeq, parseAllDocuments, type Document, type YAMLMap } from 'yaml';
import { l2AdvertisementOf } from './metallb-l2.ts';
import { DEFAULT_POOL_NAMESPACES, METALLB_GROUP, resolvePools, type IPAddressPoolObject } from './metallb-pools.ts';
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
  const resources: Array<{ obj: Record<string, unknown>; line: number | undefined }> = [];
  for (const doc of docs) {
    const maps = objectsOf(doc);
    let plain: Record<string, unknown>[] | undefined;
    for (const [i, map] of maps.entries()) {
      const kind = stringOf(deref(doc, pairOf(map, 'kind')?.value));
      const apiVersion = stringOf(deref(doc, pairOf(map, 'apiVersion')?.value)) ?? '';
      if (kind === 'ConfigMap') configMaps.push({ doc, map, label: configMapLabel(doc, map) });
      else if (apiVersion.startsWith(`${METALLB_GROUP}/`)) {
        try {
          // A bounded alias count: an alias bomb is refused, not expanded.
          plain ??= plainObjectsOf(doc.toJS({ maxAliasCount: MAX_ALIASES }));
        } catch (e) {
          issues.push(issue('error', lineAt(startOf(map)), `cannot read this document: ${(e as Error).message}`));
          break;
        }
        if (plain[i] !== undefined) resources.push({ obj: plain[i], line: lineAt(startOf(map)) });
      }
    }
  }
  if (issues.length > 0) return { issues, configs: [] };
  if (configMaps.length === 0 && resources.length > 0) return checkResources(resources, [], issue);
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
  if (resources.length === 0) return { issues, configs };
  const both = checkResources(resources, configs, issue);
  return { issues: [...issues, ...both.issues], configs: issues.some((i) => i.severity === 'error') ? configs : both.configs };
}

const MAX_ALIASES = 100;

/** The objects of a document as plain data, in the order objectsOf gives their nodes. */
function plainObjectsOf(js: unknown): Record<string, unknown>[] {
  const root = js as { kind?: unknown; items?: unknown } | null;
  if (root === null || typeof root !== 'object') return [];
  if (root.kind === 'List' && Array.isArray(root.items)) return root.items.filter((o): o is Record<string, unknown> => o !== null && typeof o === 'object' && !Array.isArray(o));
  return [root as Record<string, unknown>];
}

const BGP_KINDS = new Set(['BGPPeer', 'BGPAdvertisement', 'Community', 'BFDProfile']);

/** The metallb.io objects of a file, with the ConfigMap's pools (already checked) beside them. */
function checkResources(
  resources: ReadonlyArray<{ obj: Record<string, unknown>; line: number | undefined }>,
  legacy: readonly PoolConfig[],
  issue: (severity: ConfigIssue['severity'], line: number | undefined, message: string) => ConfigIssue,
): ManifestValidation {
  const issues: ConfigIssue[] = [];
  const pools: IPAddressPoolObject[] = [];
  const lineOf = new Map<string, number | undefined>();
  for (const [i, { obj, line }] of resources.entries()) {
    const meta = (obj.metadata ?? {}) as { name?: string; namespace?: string };
    const kind = String(obj.kind ?? '');
    const label = `${kind} ${JSON.stringify(`${meta.namespace ?? ''}/${meta.name ?? ''}`)}`;
    if (kind === 'IPAddressPool') {
      const known = DEFAULT_POOL_NAMESPACES.includes(meta.namespace ?? '');
      if (!known) {
        issues.push(issue('warning', line, `${label}: the controller reads address pools from ${DEFAULT_POOL_NAMESPACES.join(' and ')} unless --pool-namespaces says otherwise`));
      }
      // File order stands in for creation order; a missing namespace is read as the default one.
      const at = new Date(Date.UTC(2000, 0, 1) + i * 1000).toISOString();
      const namespace = known ? meta.namespace : DEFAULT_POOL_NAMESPACES[0];
      const key = `${namespace}/${meta.name ?? ''}`;
      lineOf.set(key, line);
      pools.push({ ...(obj as IPAddressPoolObject), metadata: { ...meta, namespace, uid: key, creationTimestamp: at } });
    } else if (kind === 'L2Advertisement') {
      const r = l2AdvertisementOf(obj);
      if (!r.ok) issues.push(issue('error', line, `${label}: ${r.message}`));
    } else if (BGP_KINDS.has(kind)) {
      issues.push(issue('warning', line, `${label}: accepted, not served: metalgate does not speak BGP yet`));
    } else {
      issues.push(issue('error', line, `${label}: not a kind metalgate reads in ${METALLB_GROUP} (IPAddressPool, L2Advertisement, ${[...BGP_KINDS].join(', ')})`));
    }
  }
  const resolved = resolvePools(
    legacy.flatMap((c) => c.pools),
    pools,
  );
  for (const v of resolved.verdicts) {
    const line = lineOf.get(v.key);
    const label = `IPAddressPool ${JSON.stringify(v.key)}`;
    if (!v.serving) issues.push(issue('error', line, `${label}: ${v.message.replace(/^not served: /, '')}`));
    for (const w of v.warnings) issues.push(issue('warning', line, `${label}: ${w}`));
  }
  issues.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
  return { issues, configs: [{ pools: resolved.pools }] };
}

export function validateManifestText(text: string): ConfigIssue[] {
  return validateManifest(text).issues;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** The text of FILE (`-`: standard input), or the line that says why it cannot be read. */
export async function readInput(path: string): Promise<{ text: string } | { error: string }> {
  try {
    return { text: path === '-' ? await readStdin() : await readFile(path, 'utf8') };
  } catch (e) {
    return { error: `error: cannot read ${path}: ${(e as Error).message}` };
  }
}

const counted = (n: number, noun: string): string => `${n} ${noun}${n === 1 ? '' : 's'}`;

/**
 * Reads FILE (`-` for stdin), prints one line per issue (`error: ...`,
 * `warning: ...`) and a summary. Returns the exit code: 0 valid (warnings
 * allowed), 1 invalid, 2 when the file cannot be read.
 */
export async function runValidate(path: string, out: (line: string) => void): Promise<number> {
  const input = await readInput(path);
  if ('error' in input) {
    out(input.error);
    return 2;
  }
  const { issues, configs } = validateManifest(input.text);
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
