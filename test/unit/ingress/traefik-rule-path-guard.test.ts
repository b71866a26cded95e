import { describe, expect, test } from 'vitest';
import { compileTraefikRule } from '../../../src/ingress/match/traefik-rule-compiler.ts';
import type { RuleSyntax } from '../../../src/ingress/match/traefik-rule-matchers.ts';
import { EMPTY_REQUEST } from '../../../src/ingress/match/request-view.ts';

const CASES: [RuleSyntax, string, string][] = [
  ['v3', 'Host(`a.com`)', ''],
  ['v3', 'Host(`a.com`) && PathPrefix(`/admin`)', '/admin'],
  ['v3', 'Path(`/a/b`)', '/a/b'],
  ['v3', 'PathPrefix(`/a`) && Path(`/a/b/c`)', '/a/b/c'],
  ['v3', 'PathPrefix(`/api/v1`) || PathPrefix(`/api/v2`)', '/api/v'],
  ['v3', 'PathPrefix(`/api`) || Host(`a.com`)', ''],
  ['v3', '!PathPrefix(`/api`)', ''],
  ['v3', 'PathRegexp(`^/api`)', ''],
  ['v3', '(Path(`/a`) || Path(`/b`)) && Method(`GET`)', '/'],
  ['v2', 'PathPrefix(`/api/{v:v[0-9]+}/users`)', '/api/'],
  ['v2', 'Path(`/x/1`, `/x/2`)', '/x/'],
  ['v2', 'Path(`/{any}`)', '/'],
];

describe('path guard: a prefix every matching path has', () => {
  for (const [syntax, rule, guard] of CASES) {
    test(`${syntax} ${rule} -> ${JSON.stringify(guard)}`, () => {
      const r = compileTraefikRule(rule, { syntax });
      if (!r.ok) throw new Error(r.error.message);
      expect(r.rule.pathGuard).toBe(guard);
    });
  }

  test('is never stricter than the rule (exhaustive over a small path set)', () => {
    const paths = ['/', '/a', '/a/b', '/a/b/c', '/admin', '/admin/x', '/api', '/api/v1', '/api/v2/x', '/api/v3/users', '/b', '/x/1', '/x/2', '/zz'];
    for (const [syntax, rule] of CASES) {
      const r = compileTraefikRule(rule, { syntax });
      if (!r.ok) throw new Error(r.error.message);
      for (const path of paths) {
        if (r.rule.matches({ ...EMPTY_REQUEST, host: 'a.com', path })) expect(path.startsWith(r.rule.pathGuard), `${rule} ${path}`).toBe(true);
      }
    }
  });
});
