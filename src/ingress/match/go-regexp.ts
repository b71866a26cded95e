// Go (RE2) regular expressions, as Traefik users write them, translated to
// JavaScript RegExp. Both engines pick the same leftmost-first match and we
// only ever ask "does it match", so translating the syntax is enough:
//
//   (?P<name>re)          -> (?<name>re)
//   (?i) / (?s) / (?m)    -> RegExp flags at the very start, otherwise a
//                            modifier group (?i:...) up to the end of the
//                            enclosing group, which is what Go's scope is
//   \A  \z                -> start / end of text
//   \Q...\E               -> the literal text
//   [[:alpha:]] etc.      -> the ASCII ranges
//   \pL \p{Greek}         -> \p{L} \p{Script=Greek} (unicode mode)
//   \x{10FFFF}, \a, \123  -> JS escapes
//   a{ , }                -> literal braces when not a repetition
//
// What RE2 rejects is rejected here too (backreferences, lookaround, \Z,
// repeat counts over 1000, the ungreedy flag U which JS cannot express).
// Known difference: \s keeps JS's wider Unicode whitespace set.

export type GoRegexpResult = { readonly ok: true; readonly regexp: RegExp } | { readonly ok: false; readonly error: string };

const POSIX_CLASSES: Readonly<Record<string, string>> = {
  alnum: '0-9A-Za-z',
  alpha: 'A-Za-z',
  ascii: '\\x00-\\x7F',
  blank: '\\t ',
  cntrl: '\\x00-\\x1F\\x7F',
  digit: '0-9',
  graph: '!-~',
  lower: 'a-z',
  print: ' -~',
  punct: '!-\\/:-@\\[-`{-~',
  space: '\\t\\n\\v\\f\\r ',
  upper: 'A-Z',
  word: '0-9A-Za-z_',
  xdigit: '0-9A-Fa-f',
};

/** Characters that must stay escaped outside a class in JS. */
const JS_SYNTAX = new Set('^$\\.*+?()[]{}|/');
/** Characters that must be escaped inside a class. */
const CLASS_SPECIAL = new Set('\\]^-[');

const MAX_REPEAT = 1000;

class Fail {
  readonly message: string;
  constructor(message: string) {
    this.message = message;
  }
}

function hexEscape(code: number): string {
  return code <= 0xffff ? `\\u${code.toString(16).padStart(4, '0')}` : `\\u{${code.toString(16)}}`;
}

interface Translation {
  source: string;
  flags: string;
}

function translate(src: string): Translation {
  let out = '';
  let flags = '';
  let unicode = false;
  /**
   * Per open group (index 0 is the whole expression): the modifier groups
   * opened by mid-expression flags, closed at the group's end and around
   * each "|" so that alternation keeps its structure.
   */
  const scopes: string[][] = [[]];
  let i = 0;

  /** Escape sequences valid both inside and outside classes; returns JS text or null. */
  const commonEscape = (inClass: boolean): string | null => {
    const e = src[i + 1];
    if (e === undefined) throw new Fail('trailing backslash at end of expression');
    if ('dDwWsS'.includes(e)) {
      i += 2;
      return `\\${e}`;
    }
    if ('ftnrv'.includes(e)) {
      i += 2;
      return `\\${e}`;
    }
    if (e === 'a') {
      i += 2;
      return '\\x07';
    }
    if (e === 'x') {
      if (src[i + 2] === '{') {
        const close = src.indexOf('}', i + 3);
        const digits = close < 0 ? '' : src.slice(i + 3, close);
        if (!/^[0-9A-Fa-f]{1,8}$/.test(digits) || parseInt(digits, 16) > 0x10ffff) {
          throw new Fail(`invalid escape sequence: ${src.slice(i, close < 0 ? i + 3 : close + 1)}`);
        }
        const code = parseInt(digits, 16);
        if (code > 0xffff) unicode = true;
        i = close + 1;
        return hexEscape(code);
      }
      const digits = src.slice(i + 2, i + 4);
      if (!/^[0-9A-Fa-f]{2}$/.test(digits)) throw new Fail(`invalid escape sequence: ${src.slice(i, i + 4)}`);
      i += 4;
      return hexEscape(parseInt(digits, 16));
    }
    if (e >= '0' && e <= '7') {
      // Go: \0 starts an octal escape; \1..\7 only when followed by another
      // octal digit (a lone \1 would be a backreference, which RE2 lacks).
      const m = /^[0-7]{1,3}/.exec(src.slice(i + 1, i + 4))!;
      if (e !== '0' && m[0].length === 1) throw new Fail(`invalid escape sequence: \\${e}`);
      i += 1 + m[0].length;
      return hexEscape(parseInt(m[0], 8));
    }
    if (e === 'p' || e === 'P') {
      let name: string;
      if (src[i + 2] === '{') {
        const close = src.indexOf('}', i + 3);
        if (close < 0) throw new Fail(`invalid character class range: ${src.slice(i)}`);
        name = src.slice(i + 3, close);
        i = close + 1;
      } else {
        name = src[i + 2] ?? '';
        i += 3;
      }
      let negate = e === 'P';
      if (name.startsWith('^')) {
        negate = !negate;
        name = name.slice(1);
      }
      if (!/^[A-Za-z_]+$/.test(name)) throw new Fail(`invalid character class range: \\${e}{${name}}`);
      unicode = true;
      const prop = name === 'Any' ? null : /^[A-Z][a-z]?$/.test(name) ? name : `Script=${name}`;
      if (prop === null) return negate ? (inClass ? '' : '[^\\s\\S]') : inClass ? '\\s\\S' : '[\\s\\S]';
      return `\\${negate ? 'P' : 'p'}{${prop}}`;
    }
    if (/[0-9A-Za-z]/.test(e)) return null;
    // Escaped punctuation is a literal.
    i += 2;
    if (inClass) return CLASS_SPECIAL.has(e) ? `\\${e}` : e;
    return JS_SYNTAX.has(e) ? `\\${e}` : e;
  };

  const readClass = (): string => {
    let cls = '[';
    i++;
    if (src[i] === '^') {
      cls += '^';
      i++;
    }
    let first = true;
    for (;;) {
      const c = src[i];
      if (c === undefined) throw new Fail('missing closing ]');
      if (c === ']' && !first) {
        i++;
        return `${cls}]`;
      }
      first = false;
      if (c === '[' && src[i + 1] === ':') {
        const close = src.indexOf(':]', i + 2);
        if (close >= 0) {
          const name = src.slice(i + 2, close);
          const ranges = POSIX_CLASSES[name];
          if (ranges === undefined) {
            throw new Fail(
              name.startsWith('^') ? `negated POSIX class not supported: [:${name}:]` : `invalid character class range: [:${name}:]`,
            );
          }
          cls += ranges;
          i = close + 2;
          continue;
        }
      }
      if (c === '\\') {
        const e = src[i + 1];
        if (e === 'b' || e === 'B' || e === 'A' || e === 'z' || e === 'Q') throw new Fail(`invalid escape sequence: \\${e}`);
        const esc = commonEscape(true);
        if (esc === null) throw new Fail(`invalid escape sequence: \\${src[i + 1]}`);
        cls += esc;
        continue;
      }
      cls += c === '[' || c === ']' ? `\\${c}` : c;
      i++;
    }
  };

  while (i < src.length) {
    const c = src[i]!;
    switch (c) {
      case '\\': {
        const e = src[i + 1];
        if (e === 'A') {
          out += '(?<![\\s\\S])';
          i += 2;
        } else if (e === 'z') {
          out += '(?![\\s\\S])';
          i += 2;
        } else if (e === 'b' || e === 'B') {
          out += `\\${e}`;
          i += 2;
        } else if (e === 'Q') {
          const end = src.indexOf('\\E', i + 2);
          const literal = src.slice(i + 2, end < 0 ? src.length : end);
          for (const ch of literal) out += JS_SYNTAX.has(ch) ? `\\${ch}` : ch;
          i = end < 0 ? src.length : end + 2;
        } else {
          const esc = commonEscape(false);
          if (esc === null) throw new Fail(`invalid escape sequence: \\${e}`);
          out += esc;
        }
        break;
      }
      case '[':
        out += readClass();
        break;
      case '(': {
        if (src[i + 1] !== '?') {
          scopes.push([]);
          out += '(';
          i++;
          break;
        }
        const rest = src.slice(i + 2);
        const named = /^P?<([A-Za-z_][A-Za-z0-9_]*)>/.exec(rest);
        if (named) {
          scopes.push([]);
          out += `(?<${named[1]}>`;
          i += 2 + named[0].length;
          break;
        }
        if (rest.startsWith('P<') || rest.startsWith('<') && !rest.startsWith('<=') && !rest.startsWith('<!')) {
          throw new Fail(`invalid named capture: ${src.slice(i)}`);
        }
        const flagGroup = /^([imsU]*)(?:-([imsU]*))?([:)])/.exec(rest);
        if (!flagGroup || (flagGroup[1] === '' && flagGroup[2] === undefined && flagGroup[3] === ')')) {
          throw new Fail(`invalid or unsupported Perl syntax: ${src.slice(i, i + 3)}`);
        }
        const on = flagGroup[1]!;
        const off = flagGroup[2] ?? '';
        if (on.includes('U') || off.includes('U')) throw new Fail('the ungreedy flag U is not supported');
        if (flagGroup[2] === '') throw new Fail(`missing argument to flag removal: ${src.slice(i, i + 3 + flagGroup[0].length)}`);
        const modifier = off ? `${on}-${off}` : on;
        i += 2 + flagGroup[0].length;
        if (flagGroup[3] === ':') {
          scopes.push([]);
          out += modifier ? `(?${modifier}:` : '(?:';
        } else if (out === '' && scopes.length === 1 && !off) {
          // Leading (?i) etc.: the whole expression, so plain RegExp flags.
          for (const f of on) if (!flags.includes(f)) flags += f;
        } else if (modifier) {
          // Go scopes (?i) to the end of the enclosing group.
          out += `(?${modifier}:`;
          scopes[scopes.length - 1]!.push(modifier);
        }
        break;
      }
      case ')': {
        if (scopes.length === 1) throw new Fail('unexpected )');
        out += ')'.repeat(scopes.pop()!.length + 1);
        i++;
        break;
      }
      case '|': {
        const open = scopes[scopes.length - 1]!;
        out += ')'.repeat(open.length) + '|' + open.map((m) => `(?${m}:`).join('');
        i++;
        break;
      }
      case '{': {
        const rep = /^\{(\d+)(,(\d*))?\}/.exec(src.slice(i));
        if (rep) {
          const min = Number(rep[1]);
          const max = rep[3] ? Number(rep[3]) : rep[2] ? -1 : min;
          if (min > MAX_REPEAT || max > MAX_REPEAT || (max >= 0 && max < min)) {
            throw new Fail(`invalid repeat count: ${rep[0]}`);
          }
          out += rep[0];
          i += rep[0].length;
        } else {
          out += '\\{';
          i++;
        }
        break;
      }
      case '}':
      case ']':
        out += `\\${c}`;
        i++;
        break;
      default:
        out += c;
        i++;
    }
  }
  if (scopes.length > 1) throw new Fail('missing closing )');
  out += ')'.repeat(scopes[0]!.length);
  if (unicode) flags += 'u';
  return { source: out, flags };
}

export function compileGoRegexp(src: string): GoRegexpResult {
  let t: Translation;
  try {
    t = translate(src);
  } catch (e) {
    if (e instanceof Fail) return { ok: false, error: e.message };
    throw e;
  }
  try {
    return { ok: true, regexp: new RegExp(t.source, t.flags) };
  } catch (e) {
    // "Invalid regular expression: /x/: Nothing to repeat" -> "Nothing to repeat"
    const msg = e instanceof Error ? e.message : String(e);
    const cut = msg.lastIndexOf(': ');
    return { ok: false, error: (cut >= 0 ? msg.slice(cut + 2) : msg).toLowerCase() };
  }
}

/**
 * A Go fragment as self-contained JS source, for embedding in a larger
 * pattern: leading flags become a modifier group. `unicode` says the whole
 * pattern needs the `u` flag.
 */
export function translateGoRegexpFragment(
  src: string,
): { readonly ok: true; readonly source: string; readonly unicode: boolean } | { readonly ok: false; readonly error: string } {
  try {
    const t = translate(src);
    const mods = t.flags.replace('u', '');
    return { ok: true, source: mods ? `(?${mods}:${t.source})` : t.source, unicode: t.flags.includes('u') };
  } catch (e) {
    if (e instanceof Fail) return { ok: false, error: e.message };
    throw e;
  }
}

/** Go's regexp.QuoteMeta for JS: `src` as a literal pattern. */
export function quoteRegexp(src: string): string {
  let out = '';
  for (const ch of src) out += JS_SYNTAX.has(ch) ? `\\${ch}` : ch;
  return out;
}
