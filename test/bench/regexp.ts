// User regexps (Traefik *Regexp matchers, ingress-nginx regex paths and
// canary-by-header-pattern, redirectRegex, replacePathRegex) as the ingress
// runs them: RE2JS (linear time) beside V8's backtracking RegExp on the same
// patterns. Prints a table; asserts nothing.
//
//   node_modules/.bin/node test/bench/regexp.ts
import { compileGoRegexp } from '../../src/ingress/match/go-regexp.ts';

function re2(src: string) {
  const r = compileGoRegexp(src);
  if (!r.ok) throw new Error(r.error);
  return r.regexp;
}

/** Mean time per call over `budgetMs` (at least one call). */
function perCall(fn: () => unknown, budgetMs = 300): number {
  let n = 0;
  const start = performance.now();
  do {
    fn();
    n++;
  } while (performance.now() - start < budgetMs);
  return (performance.now() - start) / n;
}

const fmt = (ms: number): string => (ms >= 1 ? `${ms.toFixed(1)} ms` : `${(ms * 1000).toFixed(2)} us`);

const rows: Array<[string, string, string]> = [];
for (const n of [26, 1_000, 10_000]) {
  const input = `/${'a'.repeat(n)}b`;
  const lin = re2('^/(a+)+$');
  // V8 only where it ends: exponential beyond a few dozen characters.
  const v8 = n <= 26 ? fmt(perCall(() => /^\/(a+)+$/.test(input), 2_000)) : 'does not finish';
  rows.push([`^/(a+)+$ on / + ${n} a + b (no match)`, fmt(perCall(() => lin.test(input))), v8]);
}
const typical: Array<[string, string, RegExp, string]> = [
  ['HostRegexp ^[a-z0-9-]+\\.example\\.com$', '^[a-z0-9-]+\\.example\\.com$', /^[a-z0-9-]+\.example\.com$/, 'api-7.example.com'],
  ['(?i) PathRegexp ^/api/v[0-9]+/', '(?i)^/api/v[0-9]+/', /^\/api\/v[0-9]+\//i, '/API/v2/items/42'],
  ['canary header ^(v2|beta)$', '^(v2|beta)$', /^(v2|beta)$/, 'beta'],
];
for (const [name, go, js, input] of typical) {
  const r = re2(go);
  rows.push([`${name} on ${JSON.stringify(input)}`, fmt(perCall(() => r.test(input))), fmt(perCall(() => js.test(input)))]);
}

console.log('| pattern and input | RE2JS (metalgate) | V8 RegExp (backtracking) |');
console.log('|---|---:|---:|');
for (const [a, b, c] of rows) console.log(`| ${a.replaceAll('|', '\\|')} | ${b} | ${c} |`);
