// Traefik rule text -> matcher tree (closures over a RequestView), plus what
// the route table needs to place it: default priority and indexable hosts.

import type { RuleNode } from './traefik-rule-ast.ts';
import type { TraefikRuleError } from './traefik-rule-error.ts';
import { buildMatcher, isRuleError, type RequestTest, type RuleSyntax } from './traefik-rule-matchers.ts';
import { parseTraefikRule } from './traefik-rule-parser.ts';
import { ruleHosts } from './traefik-rule-hosts.ts';
import { rulePathGuard } from './traefik-rule-path-guard.ts';
import { RequestView, type HttpRequestInfo } from './request-view.ts';

export interface TraefikRuleOptions {
  /** Traefik's router `ruleSyntax`; default v3. */
  readonly syntax?: RuleSyntax;
}

export interface CompiledTraefikRule {
  readonly source: string;
  readonly syntax: RuleSyntax;
  /** Traefik's default priority: the rule's length (in bytes, as Go's len). */
  readonly defaultPriority: number;
  /** Hosts the rule can match (canonical, sorted), or null for any host. */
  readonly hosts: readonly string[] | null;
  /** A prefix every matching path has ("" if none): a cheap pre-check. */
  readonly pathGuard: string;
  readonly ast: RuleNode;
  /** The matcher tree; the route table calls it with its reusable view. */
  readonly test: RequestTest;
  /** Convenience for one-off checks (allocates a view). */
  matches(req: HttpRequestInfo): boolean;
}

export type TraefikRuleResult =
  | { readonly ok: true; readonly rule: CompiledTraefikRule }
  | { readonly ok: false; readonly error: TraefikRuleError };

class CompileFailure {
  readonly error: TraefikRuleError;
  constructor(error: TraefikRuleError) {
    this.error = error;
  }
}

function compileNode(node: RuleNode, syntax: RuleSyntax): RequestTest {
  switch (node.type) {
    case 'matcher': {
      const m = buildMatcher(node.name, node.args, node.position, syntax);
      if (isRuleError(m)) throw new CompileFailure(m);
      return m.test;
    }
    case 'not': {
      const inner = compileNode(node.operand, syntax);
      return (v) => !inner(v);
    }
    case 'and': {
      const l = compileNode(node.left, syntax);
      const r = compileNode(node.right, syntax);
      return (v) => l(v) && r(v);
    }
    case 'or': {
      const l = compileNode(node.left, syntax);
      const r = compileNode(node.right, syntax);
      return (v) => l(v) || r(v);
    }
  }
}

function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

export function compileTraefikRule(source: string, options: TraefikRuleOptions = {}): TraefikRuleResult {
  const syntax = options.syntax ?? 'v3';
  const parsed = parseTraefikRule(source);
  if (!parsed.ok) return parsed;
  let test: RequestTest;
  try {
    test = compileNode(parsed.ast, syntax);
  } catch (e) {
    if (e instanceof CompileFailure) return { ok: false, error: e.error };
    throw e;
  }
  const hosts = ruleHosts(parsed.ast, syntax);
  const rule: CompiledTraefikRule = Object.freeze({
    source,
    syntax,
    defaultPriority: utf8Length(source),
    hosts: hosts === null ? null : Object.freeze(hosts),
    pathGuard: rulePathGuard(parsed.ast, syntax),
    ast: parsed.ast,
    test,
    matches: (req: HttpRequestInfo) => test(new RequestView(req)),
  });
  return { ok: true, rule };
}
