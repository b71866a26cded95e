// Public surface of the route-matching core (pure: no I/O).

export type { TraefikRuleError } from './traefik-rule-error.ts';
export type { RuleNode, MatcherNode, NotNode, BinaryNode, RuleArgument } from './traefik-rule-ast.ts';
export { parseTraefikRule, type ParseResult } from './traefik-rule-parser.ts';
export {
  compileTraefikRule,
  type CompiledTraefikRule,
  type TraefikRuleOptions,
  type TraefikRuleResult,
} from './traefik-rule-compiler.ts';
export type { RuleSyntax, RequestTest } from './traefik-rule-matchers.ts';
export { ruleHosts } from './traefik-rule-hosts.ts';
export { rulePathGuard } from './traefik-rule-path-guard.ts';
export { compileGoRegexp } from './go-regexp.ts';
export { parseIpNetwork } from './ip-match.ts';
export {
  normalizeRequestHost,
  parseIngressHost,
  ingressHostMatches,
  type IngressHost,
  type IngressHostResult,
} from './host.ts';
export {
  compileIngressPath,
  ingressPathMatches,
  compareIngressPaths,
  type IngressPath,
  type IngressPathType,
  type IngressPathResult,
} from './ingress-path.ts';
export { RequestView, parseQuery, type HttpRequestInfo } from './request-view.ts';
export {
  compileRouteTable,
  type RouteTable,
  type RouteSpec,
  type IngressRouteSpec,
  type TraefikRouteSpec,
  type RouteMatch,
  type RouteIssue,
  type RouteChanges,
  type RouteTableOptions,
  type RouteDialect,
  type DialectOrder,
} from './route-table.ts';
