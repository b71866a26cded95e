// `metalgate convert -f FILE`: the legacy address-pools ConfigMap -> the
// equivalent metallb.io objects, as YAML ready for `kubectl apply -f -`.
// convertPools is pure; runConvert is the thin edge that reads and prints.
//
// What it writes, per pool of the ConfigMap:
// - an IPAddressPool of the same name, with the addresses as written (so
//   the objects replace the ConfigMap's pools one for one and no IP moves:
//   the controller keeps every IP a Service holds, and an object of the same
//   name takes the ConfigMap pool's place); autoAssign and avoidBuggyIPs
//   only where they differ from the defaults;
// - for the layer2 pools, one L2Advertisement `metalgate-layer2` naming them
//   (the legacy format announced every layer2 pool from every node; an
//   L2Advertisement without selectors says the same).
// BGP pools, peers, communities and BFD profiles are not converted (metalgate
// does not speak BGP yet; the config reader leaves them out with a warning,
// which the command prints and the output repeats as a comment).
//
// Pool names must be object names (DNS-1123 subdomains); a legacy name that
// is not one is an error naming it, as renaming it would move the Services
// that ask for it by annotation.

import { stringify } from 'yaml';
import { METALLB_GROUP } from './metallb-pools.ts';
import type { ConfigIssue, PoolConfig } from './types.ts';
import { readInput, validateManifest } from './validate.ts';

export const L2_ADVERTISEMENT_NAME = 'metalgate-layer2';
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export interface Conversion {
  objects: object[];
  issues: ConfigIssue[];
}

export function convertPools(configs: readonly PoolConfig[], namespace: string): Conversion {
  const objects: object[] = [];
  const issues: ConfigIssue[] = [];
  const layer2: string[] = [];
  const apiVersion = `${METALLB_GROUP}/v1beta1`;
  for (const pool of configs.flatMap((c) => c.pools)) {
    if (pool.name.length > 253 || !DNS_SUBDOMAIN.test(pool.name)) {
      issues.push({ severity: 'error', pool: pool.name, message: `pool ${JSON.stringify(pool.name)}: not a valid object name (lower-case letters, digits, - and .); rename it in the ConfigMap first, with the Services that name it` });
      continue;
    }
    const spec: Record<string, unknown> = { addresses: pool.ranges.map((r) => r.source.trim()) };
    if (!pool.autoAssign) spec.autoAssign = false;
    if (pool.avoidBuggyIps) spec.avoidBuggyIPs = true;
    objects.push({ apiVersion, kind: 'IPAddressPool', metadata: { name: pool.name, namespace }, spec });
    layer2.push(pool.name);
  }
  if (layer2.length > 0) objects.push({ apiVersion, kind: 'L2Advertisement', metadata: { name: L2_ADVERTISEMENT_NAME, namespace }, spec: { ipAddressPools: layer2 } });
  return { objects, issues };
}

/** The objects as one YAML stream. */
export function conversionYaml(c: Conversion, source: string): string {
  const notes = c.issues.filter((i) => i.severity === 'warning').map((i) => `# note: ${i.message}\n`);
  const header = `# Converted by metalgate convert from ${source}.\n${notes.join('')}`;
  return header + c.objects.map((o) => `---\n${stringify(o)}`).join('');
}

/**
 * Reads FILE (`-` for stdin: a ConfigMap manifest or a bare config), writes the
 * objects to `out` and every issue to `err`. Exit code: 0 converted, 1 the
 * config is invalid or cannot be converted, 2 the file cannot be read.
 */
export async function runConvert(path: string, namespace: string, out: (text: string) => void, err: (line: string) => void): Promise<number> {
  const input = await readInput(path);
  if ('error' in input) {
    err(input.error);
    return 2;
  }
  const found = validateManifest(input.text);
  const conversion = convertPools(found.configs, namespace);
  const issues = [...found.issues, ...conversion.issues];
  for (const i of issues) err(`${i.severity}: ${i.message}`);
  if (issues.some((i) => i.severity === 'error')) return 1;
  out(conversionYaml({ objects: conversion.objects, issues }, path === '-' ? 'stdin' : path));
  return 0;
}
