// Recursive-descent parser for Traefik rules. Grammar (Go's precedence:
// `!` binds tightest, then `&&`, then `||`):
//
//   or      := and ( "||" and )*
//   and     := unary ( "&&" unary )*
//   unary   := "!" unary | primary
//   primary := "(" or ")" | IDENT "(" [ STRING ( "," STRING )* [ "," ] ] ")"
//
// Syntax errors come first; matcher names and arguments are checked by the
// compiler, as Traefik does.

import type { MatcherNode, RuleArgument, RuleNode } from './traefik-rule-ast.ts';
import { ruleError, type TraefikRuleError } from './traefik-rule-error.ts';
import { tokenizeTraefikRule, type Token } from './traefik-rule-tokenizer.ts';

export type ParseResult =
  | { readonly ok: true; readonly ast: RuleNode }
  | { readonly ok: false; readonly error: TraefikRuleError };

/** Deep enough for any hand-written rule, shallow enough for the JS stack. */
const MAX_DEPTH = 200;

class SyntaxFailure {
  readonly error: TraefikRuleError;
  constructor(error: TraefikRuleError) {
    this.error = error;
  }
}

function describe(t: Token): string {
  if (t.kind === 'eof') return 'end of rule';
  if (t.kind === 'string') return `string ${t.text}`;
  return `token "${t.text}"`;
}

function unexpected(t: Token): SyntaxFailure {
  return new SyntaxFailure(ruleError(`unexpected ${describe(t)}`, t.position));
}

export function parseTraefikRule(src: string): ParseResult {
  const lexed = tokenizeTraefikRule(src);
  if (!lexed.ok) return lexed;
  const tokens = lexed.tokens;
  if (tokens.length === 1) return { ok: false, error: ruleError('empty rule', 0) };

  let at = 0;
  let depth = 0;
  const peek = (): Token => tokens[at]!;
  const next = (): Token => tokens[at++]!;

  const parseOr = (): RuleNode => {
    let left = parseAnd();
    while (peek().kind === 'or') {
      const op = next();
      left = { type: 'or', left, right: parseAnd(), position: op.position };
    }
    return left;
  };

  const parseAnd = (): RuleNode => {
    let left = parseUnary();
    while (peek().kind === 'and') {
      const op = next();
      left = { type: 'and', left, right: parseUnary(), position: op.position };
    }
    return left;
  };

  const parseUnary = (): RuleNode => {
    const t = peek();
    if (++depth > MAX_DEPTH) throw new SyntaxFailure(ruleError('rule nested too deeply', t.position));
    try {
      if (t.kind === 'not') {
        next();
        return { type: 'not', operand: parseUnary(), position: t.position };
      }
      return parsePrimary();
    } finally {
      depth--;
    }
  };

  const parsePrimary = (): RuleNode => {
    const t = next();
    if (t.kind === 'lparen') {
      const inner = parseOr();
      const close = next();
      if (close.kind === 'rparen') return inner;
      if (close.kind === 'eof') throw new SyntaxFailure(ruleError('unclosed "("', t.position));
      throw unexpected(close);
    }
    if (t.kind === 'ident') return parseMatcher(t);
    throw unexpected(t);
  };

  const parseMatcher = (name: Token): MatcherNode => {
    const open = next();
    if (open.kind !== 'lparen') {
      throw new SyntaxFailure(ruleError(`expected "(" after ${name.value}`, open.position));
    }
    const args: RuleArgument[] = [];
    for (;;) {
      const t = next();
      if (t.kind === 'rparen') break;
      if (t.kind === 'eof') throw new SyntaxFailure(ruleError('unclosed "("', open.position));
      if (t.kind !== 'string') throw unexpected(t);
      args.push({ value: t.value, position: t.position });
      const sep = next();
      if (sep.kind === 'rparen') break;
      if (sep.kind === 'eof') throw new SyntaxFailure(ruleError('unclosed "("', open.position));
      if (sep.kind !== 'comma') throw unexpected(sep);
      // Go allows a trailing comma in a call: `Host("a",)`.
    }
    return { type: 'matcher', name: name.value, args, position: name.position };
  };

  try {
    const ast = parseOr();
    const rest = peek();
    if (rest.kind !== 'eof') throw unexpected(rest);
    return { ok: true, ast };
  } catch (e) {
    if (e instanceof SyntaxFailure) return { ok: false, error: e.error };
    throw e;
  }
}
