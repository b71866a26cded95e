// A kubeconfig file rewritten as JSON beside it, for the memory benchmarks:
// metalgate reads a JSON kubeconfig without loading its YAML parser, so a
// component started with one holds what it holds in a pod, where it reads
// its ServiceAccount and no kubeconfig at all.
import { readFileSync, writeFileSync } from 'node:fs';
import { parse } from 'yaml';

/** The path of the JSON copy (`<path>.json`); relative file names in it resolve as in the original. */
export function jsonKubeconfig(path: string): string {
  const out = `${path}.json`;
  writeFileSync(out, JSON.stringify(parse(readFileSync(path, 'utf8'))));
  return out;
}
