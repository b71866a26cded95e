// Go (RE2) regular expressions, as Traefik and ingress-nginx users write
// them, run by RE2JS: a JavaScript port of RE2 with RE2's syntax and its
// guarantee, time linear in the input whatever the pattern. V8's own engine
// backtracks: `^/(a+)+$` against "/" + 26 "a" + "b" took 387 ms per match,
// and every request on the process waited. With RE2JS the same pattern
// takes well under 1 ms on 10,000 characters (test/bench/regexp.ts).
//
// Not V8's experimental linear engine: it refuses the `i` and `u` flags,
// modifier groups and repeat counts over a few hundred, which user patterns
// use ((?i) in HostRegexp, \pL). Not the native `re2` addon: it builds from
// source on every fresh install (docs/dependencies.md).
//
// What RE2 rejects is rejected here with Go's message (backreferences,
// lookaround, \Z, repeat counts over 1000).
//
// RE2JS is loaded at the first pattern compiled: it costs each thread that
// loads it 2.1 MiB (four worker threads importing it: 98.4 -> 106.7 MiB),
// and most clusters route by host and prefix only, with no pattern at all.

import { createRequire } from 'node:module';
import type { RE2JS } from 're2js';

let re2js: typeof RE2JS | undefined;
const engine = (): typeof RE2JS => (re2js ??= (createRequire(import.meta.url)('re2js') as { RE2JS: typeof RE2JS }).RE2JS);

export type GoRegexpResult = { readonly ok: true; readonly regexp: GoRegexp } | { readonly ok: false; readonly error: string };

/** A compiled Go regexp: the part of RegExp's interface the ingress uses. */
export class GoRegexp {
  /** The pattern as written. */
  readonly source: string;
  readonly #re: RE2JS;

  constructor(source: string, re: RE2JS) {
    this.source = source;
    this.#re = re;
  }

  /** Go's MatchString: a match anywhere in the input. */
  test(input: string): boolean {
    return this.#re.test(input);
  }

  /** The leftmost-first match with its groups (`m[1]`, `m.groups.name`), or null. */
  exec(input: string): RegExpExecArray | null {
    return this.#re.exec(input) as RegExpExecArray | null;
  }

  /** Successive non-overlapping matches, as String.prototype.matchAll gives them. */
  matchAll(input: string): IterableIterator<RegExpMatchArray> {
    return this.#re.matchAll(input);
  }

  toString(): string {
    return this.source;
  }
}

export function compileGoRegexp(src: string): GoRegexpResult {
  try {
    return { ok: true, regexp: new GoRegexp(src, engine().compile(src)) };
  } catch (e) {
    // "error parsing regexp: missing closing ): `(a`" -> "missing closing ): `(a`", as Go words it.
    const msg = e instanceof Error ? e.message : String(e);
    return { ok: false, error: msg.replace(/^error parsing regexp: /, '') };
  }
}

/** Go's regexp.QuoteMeta: `src` as a literal pattern. */
export function quoteRegexp(src: string): string {
  return engine().quote(src);
}
