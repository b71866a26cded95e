// Which hosts a rule can match, for indexing it by host. Sound for any rule
// shape, not only `Host(...) && ...`:
//   Host(a)           -> {a}        (v2: Host(a, b) -> {a, b})
//   X && Y            -> hosts(X) ∩ hosts(Y), where "any" is the identity
//   X || Y            -> hosts(X) ∪ hosts(Y), "any" if either side is "any"
//   !X, other matchers -> any
// `null` means "any host" (the rule cannot be indexed by host); an empty
// list means the rule can never match.

import type { RuleNode } from './traefik-rule-ast.ts';
import { normalizeHostName } from './host.ts';
import { resolveMatcherName, type RuleSyntax } from './traefik-rule-matchers.ts';

export function ruleHosts(node: RuleNode, syntax: RuleSyntax): readonly string[] | null {
  switch (node.type) {
    case 'matcher': {
      const name = resolveMatcherName(node.name, syntax);
      if (name !== 'Host' && name !== 'HostHeader') return null;
      return [...new Set(node.args.map((a) => normalizeHostName(a.value)))].sort();
    }
    case 'not':
      return null;
    case 'and': {
      const l = ruleHosts(node.left, syntax);
      const r = ruleHosts(node.right, syntax);
      if (l === null) return r;
      if (r === null) return l;
      const right = new Set(r);
      return l.filter((h) => right.has(h));
    }
    case 'or': {
      const l = ruleHosts(node.left, syntax);
      const r = ruleHosts(node.right, syntax);
      if (l === null || r === null) return null;
      return [...new Set([...l, ...r])].sort();
    }
  }
}
