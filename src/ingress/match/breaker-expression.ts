// Traefik's circuitBreaker expressions: `NetworkErrorRatio() > 0.30`,
// `ResponseCodeRatio(500, 600, 0, 600) > 0.25`, `LatencyAtQuantileMS(50.0)
// > 100`, combined with `&&`, `||` and parentheses; a comparison is a
// function call against a number (either side) with `>`, `>=`, `<`, `<=`,
// `==` or `!=`. Pure: text in, a predicate over window statistics (or the
// first problem, with its offset) out.

export interface BreakerStats {
  /** Requests that failed below HTTP (connect, reset, timeout) over all requests. */
  networkErrorRatio(): number;
  /** Answers with a status in [from, to) over answers with one in [dividedByFrom, dividedByTo). */
  responseCodeRatio(from: number, to: number, dividedByFrom: number, dividedByTo: number): number;
  /** The latency below which `quantile` percent of the answers came, in ms. */
  latencyAtQuantileMs(quantile: number): number;
}

export type BreakerPredicate = (stats: BreakerStats) => boolean;

type Token = { kind: 'ident' | 'number' | 'op' | '(' | ')' | ','; text: string; at: number };

const FUNCTIONS: Record<string, number> = { NetworkErrorRatio: 0, ResponseCodeRatio: 4, LatencyAtQuantileMS: 1 };
const COMPARE = new Set(['>', '>=', '<', '<=', '==', '!=']);

function tokenize(text: string): Token[] | string {
  const out: Token[] = [];
  const re = /\s*(?:([A-Za-z_][A-Za-z0-9_]*)|([0-9]+(?:\.[0-9]+)?)|(&&|\|\||>=|<=|==|!=|>|<)|([(),]))/y;
  let i = 0;
  while (i < text.length) {
    if (/^\s*$/.test(text.slice(i))) break;
    re.lastIndex = i;
    const m = re.exec(text);
    if (m === null) {
      const rest = text.slice(i);
      return `unexpected character ${JSON.stringify(rest.trimStart()[0])} at ${i + rest.length - rest.trimStart().length}`;
    }
    const at = m.index + m[0].length - (m[1] ?? m[2] ?? m[3] ?? m[4])!.length;
    if (m[1] !== undefined) out.push({ kind: 'ident', text: m[1], at });
    else if (m[2] !== undefined) out.push({ kind: 'number', text: m[2], at });
    else if (m[3] !== undefined) out.push({ kind: 'op', text: m[3], at });
    else out.push({ kind: m[4] as '(' | ')' | ',', text: m[4]!, at });
    i = re.lastIndex;
  }
  return out;
}

type Metric = (s: BreakerStats) => number;

export function compileBreakerExpression(text: string): { ok: true; predicate: BreakerPredicate } | { ok: false; error: string } {
  const tokens = tokenize(text);
  if (typeof tokens === 'string') return { ok: false, error: tokens };
  if (tokens.length === 0) return { ok: false, error: 'the expression is empty' };
  let p = 0;
  class Bad extends Error {}
  const fail = (message: string): never => {
    throw new Bad(message);
  };
  const peek = (): Token | undefined => tokens[p];
  const where = (): string => (p < tokens.length ? `at ${tokens[p]!.at}` : 'at the end');
  const expect = (kind: Token['kind'], text?: string): Token => {
    const t = tokens[p];
    if (t === undefined || t.kind !== kind || (text !== undefined && t.text !== text)) fail(`expected ${text ?? kind} ${where()}`);
    p++;
    return t!;
  };
  const call = (): Metric => {
    const name = expect('ident');
    const arity = FUNCTIONS[name.text];
    if (arity === undefined) fail(`unknown function ${name.text} at ${name.at} (NetworkErrorRatio, ResponseCodeRatio, LatencyAtQuantileMS)`);
    expect('(');
    const args: number[] = [];
    while (peek()?.kind !== ')') {
      if (args.length > 0) expect(',');
      args.push(Number(expect('number').text));
    }
    expect(')');
    if (args.length !== arity) fail(`${name.text} takes ${arity} argument${arity === 1 ? '' : 's'}, got ${args.length} at ${name.at}`);
    if (name.text === 'NetworkErrorRatio') return (s) => s.networkErrorRatio();
    if (name.text === 'LatencyAtQuantileMS') {
      if (!(args[0]! > 0 && args[0]! <= 100)) fail(`LatencyAtQuantileMS takes a percentile in (0, 100], got ${args[0]} at ${name.at}`);
      return (s) => s.latencyAtQuantileMs(args[0]!);
    }
    const [a, b, c, d] = args as [number, number, number, number];
    return (s) => s.responseCodeRatio(a, b, c, d);
  };
  const compare = (l: number, op: string, r: number): boolean =>
    op === '>' ? l > r : op === '>=' ? l >= r : op === '<' ? l < r : op === '<=' ? l <= r : op === '==' ? l === r : l !== r;
  const atom = (): BreakerPredicate => {
    const t = peek();
    if (t?.kind === '(') {
      p++;
      const inner = or();
      expect(')');
      return inner;
    }
    if (t?.kind === 'number') {
      p++;
      const op = expect('op').text;
      if (!COMPARE.has(op)) fail(`expected a comparison at ${t.at}`);
      const metric = call();
      const n = Number(t.text);
      return (s) => compare(n, op, metric(s));
    }
    if (t?.kind === 'ident') {
      const metric = call();
      const opTok = expect('op');
      if (!COMPARE.has(opTok.text)) fail(`expected a comparison at ${opTok.at}`);
      const n = Number(expect('number').text);
      return (s) => compare(metric(s), opTok.text, n);
    }
    return fail(`expected a comparison ${where()}`);
  };
  const and = (): BreakerPredicate => {
    let left = atom();
    while (peek()?.kind === 'op' && peek()!.text === '&&') {
      p++;
      const l = left;
      const r = atom();
      left = (s) => l(s) && r(s);
    }
    return left;
  };
  const or = (): BreakerPredicate => {
    let left = and();
    while (peek()?.kind === 'op' && peek()!.text === '||') {
      p++;
      const l = left;
      const r = and();
      left = (s) => l(s) || r(s);
    }
    return left;
  };
  try {
    const predicate = or();
    if (p !== tokens.length) fail(`unexpected ${JSON.stringify(tokens[p]!.text)} at ${tokens[p]!.at}`);
    return { ok: true, predicate };
  } catch (err) {
    if (err instanceof Bad) return { ok: false, error: err.message };
    throw err;
  }
}
