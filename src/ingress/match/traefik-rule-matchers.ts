// The matchers of Traefik's two rule syntaxes (router `ruleSyntax`), each
// with its arity, argument checks and the request test it compiles to.
//
// v3: one value per matcher (Header/Query take a key and a value):
//   Host, HostRegexp (RE2 on the host), Path, PathPrefix, PathRegexp, Method,
//   Header, HeaderRegexp, Query, QueryRegexp, ClientIP.
// v2: lists, gorilla/mux templates, key=value queries:
//   Host / HostHeader (any of), HostRegexp (`{sub:[a-z]+}.example.com`),
//   Path / PathPrefix (templates, any of), Method (any of),
//   Headers / HeadersRegexp (key/value pairs, all of), Query (`k=v`, all of),
//   ClientIP (any of).
// Names are accepted as written, lowercase, uppercase or capitalized
// (`Host`, `host`, `HOST`, `Hostregexp`), as Traefik registers them.

import type { RuleArgument } from './traefik-rule-ast.ts';
import { ruleError, showValue, type TraefikRuleError } from './traefik-rule-error.ts';
import { compileGoRegexp, type GoRegexp } from './go-regexp.ts';
import { normalizeHostName } from './host.ts';
import { networkContains, parseIpNetwork, type IpNetwork } from './ip-match.ts';
import { compileMuxTemplate, hasTemplate, type TemplateKind } from './mux-template.ts';
import type { RequestView } from './request-view.ts';

export type RuleSyntax = 'v2' | 'v3';

/** A compiled condition on a request. */
export type RequestTest = (view: RequestView) => boolean;

export interface LeafMatcher {
  readonly test: RequestTest;
  /** For Host/HostHeader: the canonical hosts it accepts (for indexing). */
  readonly hosts: readonly string[] | null;
}

type Arity = readonly number[] | 'one-or-more' | 'pairs';

interface MatcherSpec {
  readonly name: string;
  readonly arity: Arity;
  build(args: readonly RuleArgument[], name: string): LeafMatcher | TraefikRuleError;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

function isError(x: unknown): x is TraefikRuleError {
  return typeof x === 'object' && x !== null && 'reason' in x;
}

function leaf(test: RequestTest, hosts: readonly string[] | null = null): LeafMatcher {
  return { test, hosts };
}

// ---- argument checks -------------------------------------------------------

function hostArg(arg: RuleArgument, name: string): string | TraefikRuleError {
  if (!/^[\x00-\x7f]*$/.test(arg.value)) return ruleError(`non-ASCII characters are not allowed in ${name}`, arg.position);
  return normalizeHostName(arg.value);
}

function pathArg(arg: RuleArgument, name: string): string | TraefikRuleError {
  if (!arg.value.startsWith('/')) {
    return ruleError(`${name} value must start with "/", got ${showValue(arg.value)}`, arg.position);
  }
  return arg.value;
}

function regexpArg(arg: RuleArgument, name: string): GoRegexp | TraefikRuleError {
  const r = compileGoRegexp(arg.value);
  if (!r.ok) return ruleError(`invalid regular expression ${showValue(arg.value)} for ${name}: ${r.error}`, arg.position);
  return r.regexp;
}

function templateArg(arg: RuleArgument, name: string, kind: TemplateKind): GoRegexp | TraefikRuleError {
  const r = compileMuxTemplate(arg.value, kind);
  if (!r.ok) return ruleError(`invalid template ${showValue(arg.value)} for ${name}: ${r.error}`, arg.position);
  return r.regexp;
}

function methodArg(arg: RuleArgument): string | TraefikRuleError {
  if (!TOKEN.test(arg.value)) return ruleError(`invalid method ${showValue(arg.value)}`, arg.position);
  return arg.value.toUpperCase();
}

function headerNameArg(arg: RuleArgument, name: string): string | TraefikRuleError {
  if (!TOKEN.test(arg.value)) return ruleError(`invalid header name ${showValue(arg.value)} for ${name}`, arg.position);
  return arg.value.toLowerCase();
}

function networkArg(arg: RuleArgument, name: string): IpNetwork | TraefikRuleError {
  const net = parseIpNetwork(arg.value);
  return net ?? ruleError(`invalid IP or CIDR ${showValue(arg.value)} for ${name}`, arg.position);
}

/** Applies a check to every argument; the first failure wins. */
function each<R>(args: readonly RuleArgument[], check: (a: RuleArgument) => R | TraefikRuleError): R[] | TraefikRuleError {
  const out: R[] = [];
  for (const a of args) {
    const r = check(a);
    if (isError(r)) return r;
    out.push(r);
  }
  return out;
}

// ---- request tests ---------------------------------------------------------

function headerValues(v: RequestView, key: string): string | readonly string[] | undefined {
  return v.req.headers[key];
}

function headerEquals(key: string, value: string): RequestTest {
  return (v) => {
    const h = headerValues(v, key);
    if (h === undefined) return false;
    if (typeof h === 'string') return h === value;
    for (let i = 0; i < h.length; i++) if (h[i] === value) return true;
    return false;
  };
}

function headerMatches(key: string, re: GoRegexp): RequestTest {
  return (v) => {
    const h = headerValues(v, key);
    if (h === undefined) return false;
    if (typeof h === 'string') return re.test(h);
    for (let i = 0; i < h.length; i++) if (re.test(h[i]!)) return true;
    return false;
  };
}

function queryHas(key: string, value: string): RequestTest {
  return (v) => v.queryValues(key)?.includes(value) ?? false;
}

function queryPresent(key: string): RequestTest {
  return (v) => v.queryValues(key) !== undefined;
}

function queryMatches(key: string, re: GoRegexp): RequestTest {
  return (v) => {
    const values = v.queryValues(key);
    if (values === undefined) return false;
    for (let i = 0; i < values.length; i++) if (re.test(values[i]!)) return true;
    return false;
  };
}

function clientIpIn(nets: readonly IpNetwork[]): RequestTest {
  return (v) => {
    const family = v.ipFamily();
    if (family === 0) return false;
    const words = v.ipWords();
    for (let i = 0; i < nets.length; i++) if (networkContains(nets[i]!, family, words)) return true;
    return false;
  };
}

function anyOf(tests: readonly RequestTest[]): RequestTest {
  if (tests.length === 1) return tests[0]!;
  return (v) => {
    for (let i = 0; i < tests.length; i++) if (tests[i]!(v)) return true;
    return false;
  };
}

function allOf(tests: readonly RequestTest[]): RequestTest {
  if (tests.length === 1) return tests[0]!;
  return (v) => {
    for (let i = 0; i < tests.length; i++) if (!tests[i]!(v)) return false;
    return true;
  };
}

function hostIn(hosts: readonly string[]): RequestTest {
  if (hosts.length === 1) {
    const h = hosts[0]!;
    return (v) => v.host() === h;
  }
  return (v) => hosts.includes(v.host());
}

/** One v2 path value: a plain string compares, a template matches its regexp. */
function pathV2(arg: RuleArgument, name: string, prefix: boolean): RequestTest | TraefikRuleError {
  const p = pathArg(arg, name);
  if (isError(p)) return p;
  if (!hasTemplate(p)) return prefix ? (v) => v.path().startsWith(p) : (v) => v.path() === p;
  const re = templateArg(arg, name, prefix ? 'pathPrefix' : 'path');
  if (isError(re)) return re;
  return (v) => re.test(v.path());
}

/** One v2 `key=value` query condition (gorilla: first value of the key). */
function queryV2(arg: RuleArgument, name: string): RequestTest | TraefikRuleError {
  const eq = arg.value.indexOf('=');
  if (eq <= 0) {
    return ruleError(`${name} value must be key=value, got ${showValue(arg.value)}`, arg.position);
  }
  const key = arg.value.slice(0, eq);
  const value = arg.value.slice(eq + 1);
  if (value === '') return queryPresent(key);
  const re = templateArg({ value, position: arg.position }, name, 'queryValue');
  if (isError(re)) return re;
  return (v) => {
    const values = v.queryValues(key);
    return values !== undefined && re.test(values[0]!);
  };
}

// ---- the two catalogues ----------------------------------------------------

const V3: readonly MatcherSpec[] = [
  {
    name: 'Host',
    arity: [1],
    build: ([a], name) => {
      const h = hostArg(a!, name);
      return isError(h) ? h : leaf(hostIn([h]), [h]);
    },
  },
  {
    name: 'HostRegexp',
    arity: [1],
    build: ([a], name) => {
      if (!/^[\x00-\x7f]*$/.test(a!.value)) return ruleError(`non-ASCII characters are not allowed in ${name}`, a!.position);
      const re = regexpArg(a!, name);
      return isError(re) ? re : leaf((v) => re.test(v.host()));
    },
  },
  {
    name: 'Path',
    arity: [1],
    build: ([a], name) => {
      const p = pathArg(a!, name);
      return isError(p) ? p : leaf((v) => v.path() === p);
    },
  },
  {
    name: 'PathPrefix',
    arity: [1],
    build: ([a], name) => {
      const p = pathArg(a!, name);
      return isError(p) ? p : leaf((v) => v.path().startsWith(p));
    },
  },
  {
    name: 'PathRegexp',
    arity: [1],
    build: ([a], name) => {
      const re = regexpArg(a!, name);
      return isError(re) ? re : leaf((v) => re.test(v.path()));
    },
  },
  {
    name: 'Method',
    arity: [1],
    build: ([a]) => {
      const m = methodArg(a!);
      return isError(m) ? m : leaf((v) => v.req.method === m);
    },
  },
  {
    name: 'Header',
    arity: [2],
    build: ([k, val], name) => {
      const key = headerNameArg(k!, name);
      return isError(key) ? key : leaf(headerEquals(key, val!.value));
    },
  },
  {
    name: 'HeaderRegexp',
    arity: [2],
    build: ([k, val], name) => {
      const key = headerNameArg(k!, name);
      if (isError(key)) return key;
      const re = regexpArg(val!, name);
      return isError(re) ? re : leaf(headerMatches(key, re));
    },
  },
  {
    name: 'Query',
    arity: [1, 2],
    // One argument: the key with an empty value (`?mobile` or `?mobile=`).
    build: ([k, val]) => leaf(queryHas(k!.value, val?.value ?? '')),
  },
  {
    name: 'QueryRegexp',
    arity: [1, 2],
    build: ([k, val], name) => {
      if (val === undefined) return leaf(queryHas(k!.value, ''));
      const re = regexpArg(val, name);
      return isError(re) ? re : leaf(queryMatches(k!.value, re));
    },
  },
  {
    name: 'ClientIP',
    arity: [1],
    build: ([a], name) => {
      const net = networkArg(a!, name);
      return isError(net) ? net : leaf(clientIpIn([net]));
    },
  },
];

const hostV2: MatcherSpec['build'] = (args, name) => {
  const hosts = each(args, (a) => hostArg(a, name));
  if (isError(hosts)) return hosts;
  const unique = [...new Set(hosts)];
  return leaf(hostIn(unique), unique);
};

const V2: readonly MatcherSpec[] = [
  { name: 'Host', arity: 'one-or-more', build: hostV2 },
  { name: 'HostHeader', arity: 'one-or-more', build: hostV2 },
  {
    name: 'HostRegexp',
    arity: 'one-or-more',
    build: (args, name) => {
      const res = each(args, (a) => {
        if (!/^[\x00-\x7f]*$/.test(a.value)) return ruleError(`non-ASCII characters are not allowed in ${name}`, a.position);
        return templateArg(a, name, 'host');
      });
      if (isError(res)) return res;
      return leaf(anyOf(res.map((re): RequestTest => (v) => re.test(v.host()))));
    },
  },
  {
    name: 'Path',
    arity: 'one-or-more',
    build: (args, name) => {
      const tests = each(args, (a) => pathV2(a, name, false));
      return isError(tests) ? tests : leaf(anyOf(tests));
    },
  },
  {
    name: 'PathPrefix',
    arity: 'one-or-more',
    build: (args, name) => {
      const tests = each(args, (a) => pathV2(a, name, true));
      return isError(tests) ? tests : leaf(anyOf(tests));
    },
  },
  {
    name: 'Method',
    arity: 'one-or-more',
    build: (args) => {
      const methods = each(args, methodArg);
      return isError(methods) ? methods : leaf((v) => methods.includes(v.req.method));
    },
  },
  {
    name: 'Headers',
    arity: 'pairs',
    build: (args, name) => {
      const tests: RequestTest[] = [];
      for (let i = 0; i < args.length; i += 2) {
        const key = headerNameArg(args[i]!, name);
        if (isError(key)) return key;
        tests.push(headerEquals(key, args[i + 1]!.value));
      }
      return leaf(allOf(tests));
    },
  },
  {
    name: 'HeadersRegexp',
    arity: 'pairs',
    build: (args, name) => {
      const tests: RequestTest[] = [];
      for (let i = 0; i < args.length; i += 2) {
        const key = headerNameArg(args[i]!, name);
        if (isError(key)) return key;
        const re = regexpArg(args[i + 1]!, name);
        if (isError(re)) return re;
        tests.push(headerMatches(key, re));
      }
      return leaf(allOf(tests));
    },
  },
  {
    name: 'Query',
    arity: 'one-or-more',
    build: (args, name) => {
      const tests = each(args, (a) => queryV2(a, name));
      return isError(tests) ? tests : leaf(allOf(tests));
    },
  },
  {
    name: 'ClientIP',
    arity: 'one-or-more',
    build: (args, name) => {
      const nets = each(args, (a) => networkArg(a, name));
      return isError(nets) ? nets : leaf(clientIpIn(nets));
    },
  },
];

/** What the other syntax calls a matcher, for a helpful message. */
const COUNTERPART: Readonly<Record<RuleSyntax, Readonly<Record<string, string | null>>>> = {
  v3: { Headers: 'Header', HeadersRegexp: 'HeaderRegexp', HostHeader: 'Host' },
  v2: { Header: 'Headers', HeaderRegexp: 'HeadersRegexp', PathRegexp: null, QueryRegexp: null },
};

function nameVariants(name: string): string[] {
  const lower = name.toLowerCase();
  return [name, lower, name.toUpperCase(), lower[0]!.toUpperCase() + lower.slice(1)];
}

function indexByName(specs: readonly MatcherSpec[]): ReadonlyMap<string, MatcherSpec> {
  const map = new Map<string, MatcherSpec>();
  for (const spec of specs) for (const variant of nameVariants(spec.name)) map.set(variant, spec);
  return map;
}

const CATALOGUE: Readonly<Record<RuleSyntax, ReadonlyMap<string, MatcherSpec>>> = {
  v2: indexByName(V2),
  v3: indexByName(V3),
};

/** The canonical matcher name for a name as written, or undefined. */
export function resolveMatcherName(name: string, syntax: RuleSyntax): string | undefined {
  return CATALOGUE[syntax].get(name)?.name;
}

function arityError(spec: MatcherSpec, name: string, n: number): string | null {
  const a = spec.arity;
  if (a === 'one-or-more') return n >= 1 ? null : `${name} takes at least 1 argument, got 0`;
  if (a === 'pairs') return n >= 2 && n % 2 === 0 ? null : `${name} takes key/value pairs, got ${n} argument${n === 1 ? '' : 's'}`;
  if (a.includes(n)) return null;
  const expected = a.join(' or ');
  return `${name} takes ${expected} argument${a.length === 1 && a[0] === 1 ? '' : 's'}, got ${n}`;
}

/** Checks a matcher call and compiles it into a request test. */
export function buildMatcher(
  name: string,
  args: readonly RuleArgument[],
  position: number,
  syntax: RuleSyntax,
): LeafMatcher | TraefikRuleError {
  const spec = CATALOGUE[syntax].get(name);
  if (spec === undefined) {
    const other: RuleSyntax = syntax === 'v3' ? 'v2' : 'v3';
    const canonical = CATALOGUE[other].get(name)?.name;
    if (canonical !== undefined && canonical in COUNTERPART[syntax]) {
      const instead = COUNTERPART[syntax][canonical];
      const hint = instead ? `, use "${instead}"` : `, it needs ruleSyntax ${other}`;
      return ruleError(`unknown matcher "${name}" in ${syntax} syntax${hint}`, position);
    }
    return ruleError(`unknown matcher "${name}"`, position);
  }
  const bad = arityError(spec, name, args.length);
  if (bad !== null) return ruleError(bad, position);
  for (const a of args) if (a.value === '') return ruleError(`empty argument for ${name}`, a.position);
  return spec.build(args, name);
}

export { isError as isRuleError };
