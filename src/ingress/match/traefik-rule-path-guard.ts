// A literal prefix every request path must start with for a rule to match
// (`Host(a) && PathPrefix(/admin)` -> "/admin"), so the route table can
// skip a rule with one startsWith instead of running its matcher tree.
// Only a necessary condition, never sufficient: "" means no guard.
//   Path(p), PathPrefix(p)      -> p (v2: the literal part before a template;
//                                  several values: their common prefix)
//   X && Y                      -> the longer of the two guards
//   X || Y                      -> the common prefix of the two guards
//   !X, other matchers          -> ""

import type { RuleNode } from './traefik-rule-ast.ts';
import { resolveMatcherName, type RuleSyntax } from './traefik-rule-matchers.ts';

function commonPrefix(a: string, b: string): string {
  let i = 0;
  while (i < a.length && i < b.length && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  return a.slice(0, i);
}

export function rulePathGuard(node: RuleNode, syntax: RuleSyntax): string {
  switch (node.type) {
    case 'matcher': {
      const name = resolveMatcherName(node.name, syntax);
      if (name !== 'Path' && name !== 'PathPrefix') return '';
      const literals = node.args.map((a) => {
        const brace = syntax === 'v2' ? a.value.indexOf('{') : -1;
        return brace < 0 ? a.value : a.value.slice(0, brace);
      });
      return literals.reduce(commonPrefix);
    }
    case 'not':
      return '';
    case 'and': {
      const l = rulePathGuard(node.left, syntax);
      const r = rulePathGuard(node.right, syntax);
      return r.length > l.length ? r : l;
    }
    case 'or':
      return commonPrefix(rulePathGuard(node.left, syntax), rulePathGuard(node.right, syntax));
  }
}
