// Whether the speaker process runs the proxy in this tree, read from the
// source itself: the proxy (issue 4, with the ingress engine of issue 5 on
// its entrypoint) joins the speaker by being imported into it. When a check
// cannot pass because that part is not wired in yet, the demo says so
// (MISSING) instead of reporting a plain failure; it never pretends the
// part worked.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { repoRoot } from '../testing/netns-exec.ts';

/** True when one of the sources imports a value (not only types) from a module path matching `target`. Pure. */
export function importsFrom(sources: Iterable<string>, target: RegExp): boolean {
  const statics = /^\s*(?:import|export)\s+(?!type\b)[^;]*?\bfrom\s+['"]([^'"]+)['"]/gm;
  const dynamics = /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;
  for (const text of sources) {
    for (const m of [...text.matchAll(statics), ...text.matchAll(dynamics)]) if (target.test(m[1]!)) return true;
  }
  return false;
}

function* sourcesUnder(...dirs: string[]): Iterable<string> {
  for (const dir of dirs) {
    let names: string[];
    try {
      names = readdirSync(join(repoRoot, 'src', dir), { recursive: true }) as string[];
    } catch {
      continue;
    }
    for (const n of names) if (n.endsWith('.ts')) yield readFileSync(join(repoRoot, 'src', dir, n), 'utf8');
  }
}

/** The speaker process runs the proxy (listeners on the IPs it owns). */
export function proxyWired(): boolean {
  return importsFrom(sourcesUnder('speaker'), /(^|\/)proxy\//);
}
