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

import { RE2JS } from 're2js';

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
    return { ok: true, regexp: new GoRegexp(src, RE2JS.compile(src)) };
  } catch (e) {
    // "error parsing regexp: missing closing ): `(a`" -> "missing closing ): `(a`", as Go words it.
    const msg = e instanceof Error ? e.message : String(e);
    return { ok: false, error: msg.replace(/^error parsing regexp: /, '') };
  }
}

/** Go's regexp.QuoteMeta: `src` as a literal pattern. */
export function quoteRegexp(src: string): string {
  return RE2JS.quote(src);
}
