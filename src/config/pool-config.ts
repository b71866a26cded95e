// Parser for the address-pool config: MetalLB's legacy ConfigMap format
// (`data.config`), so users migrate by copy-paste. Pure: text in, config and
// issues out. Every issue carries the YAML line and the pool it is about.
//
// Decisions where MetalLB's behaviour is not the whole answer:
// - Strict like MetalLB's yaml.UnmarshalStrict: unknown or repeated keys are
//   errors. Misspellings and the newer CRD spellings (`autoAssign`) get a
//   "did you mean" hint.
// - YAML 1.2 (the `yaml` package's default): `yes`/`no`/`on`/`off` are strings,
//   not booleans. MetalLB's YAML 1.1 reader took `auto-assign: no` as false; we
//   reject it with a message instead of guessing. A quoted "true" is a string
//   and is rejected too, as Go's decoder does.
// - BGP is not implemented: `peers`, `bgp-communities`, `bfd-profiles` (MetalLB
//   0.12) and `bgp-advertisements` are ignored with a warning, and a
//   `protocol: bgp` pool is left out with a warning. Its addresses still take
//   part in the overlap check, so the config stays valid when BGP arrives.
// - `A-A` (a one-address range) is accepted: start <= end, not start < end.
// - An empty document, or `address-pools` empty or absent, is a valid config
//   with no pools.
// - Issues come out sorted by line, so a user reads them top to bottom.

import { LineCounter, isMap, isScalar, isSeq, parseDocument, type Document, type Pair, type YAMLMap } from 'yaml';
import { usableCount } from '../ipam/usable-addresses.ts';
import { isParseError, parseAddressEntry } from './ip-range.ts';
import type { AddressPool, ConfigIssue, IpRange, PoolConfig, PoolProtocol } from './types.ts';
import { danglingAliases, deref, describe, expandedSize, isEmptyNode, keyText, startOf, stringOf, type TreeNode } from './yaml-nodes.ts';

export interface ParsePoolConfigOptions {
  /**
   * Added to every line number: the line of the enclosing file just before the
   * config's first line, when the config sits in that file line for line
   * (a literal block scalar in a ConfigMap). Default 0.
   */
  lineOffset?: number;
  /** The word for a line: `line` (default), or e.g. `config line` when lines are not the file's. */
  lineLabel?: string;
  /** Put after the line in every message, e.g. `ConfigMap "metallb-system/config"`. */
  context?: string;
}

export interface PoolConfigResult {
  /** Present iff there is no error; warnings may come with it. */
  config?: PoolConfig;
  issues: ConfigIssue[];
}

const TOP_LEVEL_KEYS = ['address-pools', 'peers', 'bgp-communities', 'bfd-profiles'];
const BGP_TOP_LEVEL_KEYS = new Set(['peers', 'bgp-communities', 'bfd-profiles']);
const POOL_KEYS = ['name', 'protocol', 'addresses', 'auto-assign', 'avoid-buggy-ips', 'bgp-advertisements'];
const PROTOCOLS: readonly PoolProtocol[] = ['layer2', 'bgp'];
const YAML11_BOOLEANS = new Map(
  [...['yes', 'y', 'on', 'true'].map((w) => [w, 'true'] as const), ...['no', 'n', 'off', 'false'].map((w) => [w, 'false'] as const)],
);

/** How messages name a pool: by name when it has a usable one, else by position. */
interface PoolScope {
  label: string;
  name?: string;
}

/** A parsed address entry, kept for the overlap check. */
interface PlacedRange {
  range: IpRange;
  pool: PoolScope;
  offset: number | undefined;
  /** Position in the file, to tell which of two entries comes later. */
  order: number;
}

/** Collects issues and renders each as one line: `line N: [context: ][pool "x": ]text`. */
class IssueCollector {
  readonly issues: ConfigIssue[] = [];
  errors = 0;
  readonly #lines: LineCounter;
  readonly #offset: number;
  readonly #label: string;
  readonly #context: string | undefined;

  constructor(lines: LineCounter, options: ParsePoolConfigOptions) {
    this.#lines = lines;
    this.#offset = options.lineOffset ?? 0;
    this.#label = options.lineLabel ?? 'line';
    this.#context = options.context;
  }

  lineAt(offset: number | undefined): number | undefined {
    return offset === undefined ? undefined : this.#lines.linePos(offset).line + this.#offset;
  }

  /** `line 7`, as messages refer to a place. */
  where(offset: number | undefined): string {
    const line = this.lineAt(offset);
    return line === undefined ? 'unknown line' : `${this.#label} ${line}`;
  }

  add(severity: ConfigIssue['severity'], offset: number | undefined, pool: PoolScope | undefined, text: string): void {
    const line = this.lineAt(offset);
    const parts: string[] = [];
    if (line !== undefined) parts.push(`${this.#label} ${line}`);
    if (this.#context !== undefined) parts.push(this.#context);
    if (pool) parts.push(pool.label);
    parts.push(text);
    const issue: ConfigIssue = { severity, message: parts.join(': ') };
    if (line !== undefined) issue.line = line;
    if (pool?.name !== undefined) issue.pool = pool.name;
    this.issues.push(issue);
    if (severity === 'error') this.errors++;
  }

  error(node: TreeNode, pool: PoolScope | undefined, text: string): void {
    this.add('error', startOf(node), pool, text);
  }

  warning(node: TreeNode, pool: PoolScope | undefined, text: string): void {
    this.add('warning', startOf(node), pool, text);
  }

  /** Issues in line order (stable), those without a line first. */
  sorted(): ConfigIssue[] {
    return this.issues
      .map((issue, index) => ({ issue, index }))
      .sort((a, b) => (a.issue.line ?? 0) - (b.issue.line ?? 0) || a.index - b.index)
      .map((entry) => entry.issue);
  }
}

const squash = (key: string): string => key.toLowerCase().replace(/[-_]/g, '');

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, substitution);
    }
    previous = current;
  }
  return previous[b.length]!;
}

/** `unknown key "x"`, with the known key it most likely meant, or the list of known keys. */
function unknownKeyText(key: string, known: readonly string[]): string {
  const guess =
    known.find((k) => squash(k) === squash(key)) ??
    known.find((k) => editDistance(k, key) <= 2) ??
    known.find((k) => key.length >= 4 && squash(k).endsWith(squash(key)));
  return guess !== undefined
    ? `unknown key ${JSON.stringify(key)}; did you mean "${guess}"?`
    : `unknown key ${JSON.stringify(key)} (known keys: ${known.join(', ')})`;
}

/**
 * The pairs of a mapping by key, first occurrence wins. Repeats are returned
 * for the caller to report once it knows the pool's name (the `yaml` check for
 * them is off, for this better message).
 */
function collectPairs(map: YAMLMap): { pairs: Map<string, Pair>; repeats: Array<{ pair: Pair; first: Pair }> } {
  const pairs = new Map<string, Pair>();
  const repeats: Array<{ pair: Pair; first: Pair }> = [];
  for (const pair of map.items as Pair[]) {
    const key = keyText(pair.key);
    const first = pairs.get(key);
    if (first) repeats.push({ pair, first });
    else pairs.set(key, pair);
  }
  return { pairs, repeats };
}

function reportRepeats(repeats: Array<{ pair: Pair; first: Pair }>, pool: PoolScope | undefined, out: IssueCollector): void {
  for (const { pair, first } of repeats) {
    out.error(pair.key, pool, `duplicate key ${JSON.stringify(keyText(pair.key))} (first on ${out.where(startOf(first.key))})`);
  }
}

class PoolConfigParser {
  readonly #doc: Document.Parsed;
  readonly #out: IssueCollector;
  readonly pools: AddressPool[] = [];
  readonly #placed: PlacedRange[] = [];
  readonly #names = new Map<string, number | undefined>();

  constructor(doc: Document.Parsed, out: IssueCollector) {
    this.#doc = doc;
    this.#out = out;
  }

  parseRoot(): void {
    const root = deref(this.#doc, this.#doc.contents);
    if (isEmptyNode(root)) return;
    if (!isMap(root)) {
      this.#out.error(root, undefined, `the config must be a mapping with an "address-pools" key, got ${describe(root)}`);
      return;
    }
    const { pairs, repeats } = collectPairs(root);
    reportRepeats(repeats, undefined, this.#out);
    for (const [key, pair] of pairs) {
      if (key === 'address-pools') this.#parsePoolList(pair.value);
      else if (BGP_TOP_LEVEL_KEYS.has(key)) this.#out.warning(pair.key, undefined, `"${key}" ignored: BGP is not supported yet`);
      else this.#out.error(pair.key, undefined, unknownKeyText(key, TOP_LEVEL_KEYS));
    }
    this.#checkOverlaps();
  }

  #parsePoolList(node: TreeNode): void {
    const list = deref(this.#doc, node);
    if (isEmptyNode(list)) return;
    if (!isSeq(list)) {
      this.#out.error(node, undefined, `"address-pools" must be a list, got ${describe(list)}`);
      return;
    }
    list.items.forEach((item, index) => this.#parsePool(item, index + 1));
  }

  #parsePool(node: TreeNode, position: number): void {
    const out = this.#out;
    const map = deref(this.#doc, node);
    const scope: PoolScope = { label: `pool #${position}` };
    if (!isMap(map)) {
      out.error(node, scope, `must be a mapping with "name", "protocol" and "addresses", got ${describe(map)}`);
      return;
    }
    const { pairs, repeats } = collectPairs(map);

    const namePair = pairs.get('name');
    if (!namePair) {
      out.error(node, scope, 'missing "name"');
    } else {
      const nameNode = deref(this.#doc, namePair.value);
      const name = stringOf(nameNode);
      if (name === undefined) {
        out.error(namePair.value ?? namePair.key, scope, `"name" must be a string, got ${describe(nameNode)}`);
      } else if (name.trim() === '') {
        out.error(namePair.value, scope, '"name" must not be empty');
      } else {
        scope.label = `pool ${JSON.stringify(name)}`;
        scope.name = name;
        const nameOffset = startOf(namePair.value);
        if (this.#names.has(name)) {
          out.error(namePair.value, scope, `duplicate pool name, first used on ${out.where(this.#names.get(name))}`);
        } else {
          this.#names.set(name, nameOffset);
        }
      }
    }

    reportRepeats(repeats, scope, out);

    const protocol = this.#protocol(pairs.get('protocol'), node, scope);
    const ranges = this.#addresses(pairs.get('addresses'), node, scope);
    const autoAssign = this.#boolean(pairs.get('auto-assign'), scope, true);
    const avoidBuggyIps = this.#boolean(pairs.get('avoid-buggy-ips'), scope, false);
    if (avoidBuggyIps && ranges !== undefined && ranges.every((r) => usableCount(r, true) === 0n)) {
      // 198.18.0.255/32 or 198.18.0.255-198.18.1.0 with avoid-buggy-ips: a pool that can never hand out an IP.
      out.error(pairs.get('avoid-buggy-ips')!.key, scope, 'avoid-buggy-ips leaves no usable address: every address of the pool ends in .0 or .255');
    }

    const advertisements = pairs.get('bgp-advertisements');
    if (advertisements && protocol === 'layer2') {
      out.warning(advertisements.key, scope, '"bgp-advertisements" ignored: BGP is not supported yet');
    }
    for (const [key, pair] of pairs) {
      if (!POOL_KEYS.includes(key)) out.error(pair.key, scope, unknownKeyText(key, POOL_KEYS));
    }

    // Only layer2 pools are served; a bgp pool has had its warning.
    if (protocol === 'layer2' && scope.name !== undefined && ranges !== undefined) {
      this.pools.push({ name: scope.name, protocol, ranges, autoAssign, avoidBuggyIps });
    }
  }

  #protocol(pair: Pair | undefined, poolNode: TreeNode, scope: PoolScope): PoolProtocol | undefined {
    if (!pair) {
      this.#out.error(poolNode, scope, 'missing "protocol" (layer2 or bgp)');
      return undefined;
    }
    const valueNode = deref(this.#doc, pair.value);
    const value = stringOf(valueNode);
    const protocol = PROTOCOLS.find((p) => p === value);
    if (protocol === undefined) {
      this.#out.error(pair.value ?? pair.key, scope, `unknown protocol ${describe(valueNode)} (expected layer2 or bgp)`);
      return undefined;
    }
    if (protocol === 'bgp') {
      this.#out.warning(pair.value, scope, 'protocol bgp is not supported yet; pool left out');
    }
    return protocol;
  }

  /** The pool's ranges in file order, or undefined when the list itself is unusable or an entry is bad. */
  #addresses(pair: Pair | undefined, poolNode: TreeNode, scope: PoolScope): IpRange[] | undefined {
    const out = this.#out;
    if (!pair) {
      out.error(poolNode, scope, 'missing "addresses"');
      return undefined;
    }
    const list = deref(this.#doc, pair.value);
    if (!isSeq(list)) {
      out.error(pair.value ?? pair.key, scope, `"addresses" must be a list of CIDRs or ranges, got ${describe(list)}`);
      return undefined;
    }
    if (list.items.length === 0) {
      out.error(pair.value, scope, '"addresses" must not be empty');
      return undefined;
    }
    const ranges: IpRange[] = [];
    let allGood = true;
    for (const item of list.items) {
      const entryNode = deref(this.#doc, item);
      const text = stringOf(entryNode);
      if (text === undefined) {
        out.error(item, scope, `address ${describe(entryNode)} must be a string (a CIDR or an A-B range)`);
        allGood = false;
        continue;
      }
      const parsed = parseAddressEntry(text);
      if (isParseError(parsed)) {
        out.error(item, scope, `address ${JSON.stringify(text)}: ${parsed.error}`);
        allGood = false;
        continue;
      }
      if (parsed.maskedTo !== undefined) {
        out.warning(item, scope, `address ${JSON.stringify(text)}: host bits set, read as ${parsed.maskedTo}`);
      }
      ranges.push(parsed.range);
      this.#placed.push({ range: parsed.range, pool: scope, offset: startOf(item), order: this.#placed.length });
    }
    return allGood ? ranges : undefined;
  }

  #boolean(pair: Pair | undefined, scope: PoolScope, fallback: boolean): boolean {
    if (!pair) return fallback;
    const valueNode = deref(this.#doc, pair.value);
    if (isScalar(valueNode) && typeof valueNode.value === 'boolean') return valueNode.value;
    // YAML 1.1 spellings that MetalLB's reader took as booleans: say what to write instead.
    const word = stringOf(valueNode)?.toLowerCase();
    const hint = word === undefined ? undefined : YAML11_BOOLEANS.get(word);
    const suffix = hint === undefined ? '' : ` (write ${hint})`;
    this.#out.error(pair.value ?? pair.key, scope, `"${keyText(pair.key)}" must be true or false, got ${describe(valueNode)}${suffix}`);
    return fallback;
  }

  /**
   * Reports entries that share an address, within a pool or across pools
   * (bgp pools included). One sweep over the entries sorted by start: each
   * entry is compared with the one reaching furthest so far, so every
   * overlapping cluster is reported in O(n log n) without listing every pair.
   * The message goes on the entry that comes later in the file.
   */
  #checkOverlaps(): void {
    const sorted = [...this.#placed].sort(
      (a, b) =>
        a.range.family - b.range.family ||
        (a.range.first < b.range.first ? -1 : a.range.first > b.range.first ? 1 : a.order - b.order),
    );
    let reach: PlacedRange | undefined;
    for (const entry of sorted) {
      if (reach && reach.range.family === entry.range.family && entry.range.first <= reach.range.last) {
        const [later, earlier] = entry.order > reach.order ? [entry, reach] : [reach, entry];
        this.#out.add(
          'error',
          later.offset,
          later.pool,
          `address ${JSON.stringify(later.range.source)} overlaps address ${JSON.stringify(earlier.range.source)} of ${earlier.pool.label} (${this.#out.where(earlier.offset)})`,
        );
      }
      if (!reach || reach.range.family !== entry.range.family || entry.range.last > reach.range.last) reach = entry;
    }
  }
}

/** A ConfigMap holds at most 1 MiB (etcd's object limit for it); a larger text cannot be one. */
export const MAX_CONFIG_BYTES = 1024 * 1024;
/**
 * Nodes read with every alias followed. 1 MiB of YAML holds at most about
 * 300,000 nodes written out, so a real config stays far below this, while
 * an alias bomb (each anchor listing the previous one ten times) passes it
 * after a few levels and is refused before any of it is read.
 */
export const MAX_EXPANDED_NODES = 1_000_000;

/** Parses `data.config` text. See the decisions at the top of this file. */
export function parsePoolConfig(text: string, options: ParsePoolConfigOptions = {}): PoolConfigResult {
  const lines = new LineCounter();
  const out = new IssueCollector(lines, options);
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_CONFIG_BYTES) {
    out.add('error', undefined, undefined, `the config is ${bytes} bytes, more than a ConfigMap can hold (${MAX_CONFIG_BYTES}); not read`);
    return { issues: out.sorted() };
  }
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: false });
  if (doc.errors.length > 0) {
    // The tree after a syntax error is a guess; report the errors (one per line: later ones on a line cascade) and stop.
    const seen = new Set<number | undefined>();
    for (const error of doc.errors) {
      const line = out.lineAt(error.pos[0]);
      if (seen.has(line)) continue;
      seen.add(line);
      out.add('error', error.pos[0], undefined, `YAML syntax error: ${error.message}`);
    }
    return { issues: out.sorted() };
  }
  for (const alias of danglingAliases(doc)) {
    out.add('error', startOf(alias), undefined, `YAML syntax error: alias *${alias.source} names no anchor (&${alias.source}) before it`);
  }
  if (out.errors > 0) return { issues: out.sorted() };
  if (expandedSize(doc, MAX_EXPANDED_NODES) > MAX_EXPANDED_NODES) {
    out.add('error', undefined, undefined, `YAML aliases expand the config to more than ${MAX_EXPANDED_NODES} nodes (an alias bomb?); not read`);
    return { issues: out.sorted() };
  }
  for (const warning of doc.warnings) out.add('warning', warning.pos[0], undefined, `YAML: ${warning.message}`);
  const parser = new PoolConfigParser(doc, out);
  parser.parseRoot();
  const issues = out.sorted();
  return out.errors > 0 ? { issues } : { config: { pools: parser.pools }, issues };
}

