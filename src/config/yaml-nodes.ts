// Small readers over the `yaml` package's document tree, shared by the pool
// config parser and the manifest validator. They work on nodes (not on
// `toJS()` output) so every message can point at the line it is about.

import { isAlias, isMap, isScalar, isSeq, type Document, type Pair, type YAMLMap } from 'yaml';

/** A parsed node as it appears in a document tree (key, value or item). */
export type TreeNode = unknown;

/** Follows an alias (`*name`) to the node it stands for; anything else is returned as is. */
export function deref(doc: Document.Parsed, node: TreeNode): TreeNode {
  return isAlias(node) ? node.resolve(doc) : node;
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
