// Tokenizer for Traefik router rules. Traefik parses rules as Go expressions
// (through vulcand/predicate), so strings follow Go's lexical rules: raw
// strings in backticks, interpreted strings in double quotes with Go escapes.

import { ruleError, type TraefikRuleError } from './traefik-rule-error.ts';

export type TokenKind = 'ident' | 'string' | 'lparen' | 'rparen' | 'comma' | 'and' | 'or' | 'not' | 'eof';

export interface Token {
  readonly kind: TokenKind;
  /** The token as written in the rule (for messages). */
  readonly text: string;
  /** Identifier name, or the decoded string value. */
  readonly value: string;
  /** 0-based offset of the first character. */
  readonly position: number;
}

export type TokenizeResult =
  | { readonly ok: true; readonly tokens: readonly Token[] }
  | { readonly ok: false; readonly error: TraefikRuleError };

const SIMPLE_ESCAPES: Readonly<Record<string, string>> = {
  a: '\x07',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
  '\\': '\\',
  '"': '"',
};

function isIdentStart(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
}

function isIdentPart(c: number): boolean {
  return isIdentStart(c) || (c >= 48 && c <= 57);
}

function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13;
}

function isHex(s: string): boolean {
  return /^[0-9a-fA-F]+$/.test(s);
}

export function tokenizeTraefikRule(src: string): TokenizeResult {
  const tokens: Token[] = [];
  let i = 0;
  const push = (kind: TokenKind, start: number, end: number, value: string): void => {
    tokens.push({ kind, text: src.slice(start, end), value, position: start });
  };
  while (i < src.length) {
    const c = src.charCodeAt(i);
    if (isSpace(c)) {
      i++;
      continue;
    }
    const start = i;
    if (isIdentStart(c)) {
      while (i < src.length && isIdentPart(src.charCodeAt(i))) i++;
      push('ident', start, i, src.slice(start, i));
      continue;
    }
    const ch = src[i]!;
    switch (ch) {
      case '(':
        push('lparen', start, ++i, ch);
        continue;
      case ')':
        push('rparen', start, ++i, ch);
        continue;
      case ',':
        push('comma', start, ++i, ch);
        continue;
      case '!':
        push('not', start, ++i, ch);
        continue;
      case '&':
      case '|':
        if (src[i + 1] !== ch) return { ok: false, error: ruleError(`unexpected character "${ch}", expected "${ch}${ch}"`, i) };
        i += 2;
        push(ch === '&' ? 'and' : 'or', start, i, ch + ch);
        continue;
      case '`': {
        const close = src.indexOf('`', i + 1);
        if (close < 0) return { ok: false, error: ruleError('unterminated string', start) };
        // Go drops carriage returns from raw strings.
        push('string', start, close + 1, src.slice(i + 1, close).replaceAll('\r', ''));
        i = close + 1;
        continue;
      }
      case '"': {
        const r = readInterpreted(src, i);
        if (!r.ok) return r;
        push('string', start, r.end, r.value);
        i = r.end;
        continue;
      }
      case "'":
        return { ok: false, error: ruleError('single-quoted strings are not allowed, use backticks or double quotes', start) };
      default:
        return { ok: false, error: ruleError(`unexpected character ${JSON.stringify(String.fromCodePoint(src.codePointAt(i)!))}`, start) };
    }
  }
  tokens.push({ kind: 'eof', text: '', value: '', position: src.length });
  return { ok: true, tokens };
}

/** A Go interpreted string literal starting at `start` (the opening quote). */
function readInterpreted(
  src: string,
  start: number,
): { ok: true; value: string; end: number } | { ok: false; error: TraefikRuleError } {
  let out = '';
  let i = start + 1;
  while (i < src.length) {
    const ch = src[i]!;
    if (ch === '"') return { ok: true, value: out, end: i + 1 };
    if (ch === '\n') break;
    if (ch !== '\\') {
      out += ch;
      i++;
      continue;
    }
    const esc = src[i + 1];
    if (esc === undefined) break;
    const simple = SIMPLE_ESCAPES[esc];
    if (simple !== undefined) {
      out += simple;
      i += 2;
      continue;
    }
    const hexLen = esc === 'x' ? 2 : esc === 'u' ? 4 : esc === 'U' ? 8 : 0;
    let code: number | undefined;
    let len = 0;
    if (hexLen > 0) {
      const digits = src.slice(i + 2, i + 2 + hexLen);
      if (digits.length === hexLen && isHex(digits)) code = parseInt(digits, 16);
      len = 2 + hexLen;
    } else if (esc >= '0' && esc <= '7') {
      const digits = src.slice(i + 1, i + 4);
      if (/^[0-7]{3}$/.test(digits)) code = parseInt(digits, 8);
      len = 4;
    }
    if (code === undefined || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) {
      return { ok: false, error: ruleError(`invalid escape sequence \\${esc}`, i) };
    }
    out += String.fromCodePoint(code);
    i += len;
  }
  return { ok: false, error: ruleError('unterminated string', start) };
}
