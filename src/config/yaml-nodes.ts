// Small readers over the `yaml` package's document tree, shared by the pool
// config parser and the manifest validator. They work on nodes (not on
// `toJS()` output) so every message can point at the line it is about.

import { isAlias, isCollection, isMap, isPair, isScalar, isSeq, visit, type Alias, type Document, type Pair, type YAMLMap } from 'yaml';

/** A parsed node as it appears in a document tree (key, value or item). */
export type TreeNode = unknown;

/**
 * Every alias of a document mapped to the node it stands for, found in one
 * walk. `Alias.resolve(doc)` walks the whole document on every call, which
 * made a config of 5,000 pools with `protocol: *l2` take 44 s (quadratic).
 */
const aliasTargets = new WeakMap<Document.Parsed, Map<Alias, TreeNode>>();

function targetsOf(doc: Document.Parsed): Map<Alias, TreeNode> {
  let targets = aliasTargets.get(doc);
  if (targets) return targets;
  targets = new Map();
  // Document order: an alias names the last node anchored so before it.
  const anchors = new Map<string, TreeNode>();
  visit(doc, {
    Node: (_key, node) => {
      if (isAlias(node)) targets!.set(node, anchors.get(node.source));
      else if ((isScalar(node) || isCollection(node)) && node.anchor) anchors.set(node.anchor, node);
    },
  });
  aliasTargets.set(doc, targets);
  return targets;
}

/** Aliases that name no anchor before them (the `yaml` parser accepts them). */
export function danglingAliases(doc: Document.Parsed): Alias[] {
  return [...targetsOf(doc)].filter(([, target]) => target === undefined).map(([alias]) => alias);
}

/** Follows an alias (`*name`) to the node it stands for; anything else is returned as is. */
export function deref(doc: Document.Parsed, node: TreeNode): TreeNode {
  return isAlias(node) ? targetsOf(doc).get(node) : node;
}

/**
 * How many nodes a reader that follows every alias would visit in the
 * document: the measure of an alias bomb ("billion laughs", where each
 * anchor lists the one before it ten times). Each anchored node's size is
 * computed once, and the walk stops counting past `limit`. Recursive: a
 * document nested deeper than the call stack already fails in the yaml
 * parser, as a syntax error, before this runs.
 */
export function expandedSize(doc: Document.Parsed, limit: number): number {
  const targets = targetsOf(doc);
  const sizes = new Map<TreeNode, number>();
  const sizeOf = (node: TreeNode): number => {
    if (isAlias(node)) node = targets.get(node);
    if (!isCollection(node)) return 1;
    const known = sizes.get(node);
    if (known !== undefined) return known;
    sizes.set(node, 1); // a collection that aliases itself counts once
    let total = 1;
    for (const item of node.items) {
      total += isPair(item) ? sizeOf(item.key) + sizeOf(item.value) : sizeOf(item);
      if (total > limit) break;
    }
    sizes.set(node, total);
    return total;
  };
  return sizeOf(doc.contents);
}

/** Offset of the node's first character, when the node came from the text. */
export function startOf(node: TreeNode): number | undefined {
  const range = (node as { range?: [number, number, number] } | null)?.range;
  return range?.[0];
}

export function isEmptyNode(node: TreeNode): boolean {
  return node === null || node === undefined || (isScalar(node) && node.value === null);
}

/** The value of a scalar that holds a string, else undefined. */
export function stringOf(node: TreeNode): string | undefined {
  return isScalar(node) && typeof node.value === 'string' ? node.value : undefined;
}

/** A value as a message shows it: strings quoted, other scalars as written, collections by kind. */
export function describe(node: TreeNode): string {
  if (isEmptyNode(node)) return 'an empty value';
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a list';
  if (isScalar(node)) return typeof node.value === 'string' ? JSON.stringify(node.value) : String(node.value);
  if (isAlias(node)) return `alias *${node.source}`;
  return 'an unsupported value';
}

/** The text of a mapping key: the scalar's value, or a description for a complex key. */
export function keyText(key: TreeNode): string {
  if (isScalar(key)) return String(key.value ?? '');
  return describe(key);
}

/** The pair with this key in a mapping (first one if repeated), or undefined. */
export function pairOf(map: YAMLMap, key: string): Pair | undefined {
  for (const pair of map.items) {
    if (isScalar(pair.key) && pair.key.value === key) return pair as Pair;
  }
  return undefined;
}
