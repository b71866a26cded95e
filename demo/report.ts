// What a person sees in the terminal: numbered stages, indented details,
// commands as they would type them, one line per check, a closing summary.
// The formatting is pure; Reporter only writes the lines.
import type { ProbeSample } from '../test/support/probe-stats.ts';

export type CheckStatus = 'ok' | 'fail';

export interface CheckResult {
  name: string;
  status: CheckStatus;
  detail: string;
}

const MARK: Record<CheckStatus, string> = { ok: '[ok]  ', fail: '[FAIL]' };
const INDENT = '      ';

export function formatCheck(c: CheckResult): string {
  return `${INDENT}${MARK[c.status]} ${c.name}${c.detail ? `: ${c.detail}` : ''}`;
}

export function formatStage(index: number, total: number, title: string): string {
  return `[${index}/${total}] ${title}`;
}

/** Output of a command, indented under it, without trailing blank lines. */
export function indentBlock(text: string, extra = '  '): string[] {
  const lines = text.replace(/\s+$/, '').split('\n');
  return lines.length === 1 && lines[0] === '' ? [] : lines.map((l) => `${INDENT}${extra}${l}`);
}

export function summaryLine(checks: readonly CheckResult[]): string {
  if (checks.length === 0) return 'No check ran.';
  const failed = checks.filter((c) => c.status === 'fail');
  if (failed.length === 0) return `All ${checks.length} checks held.`;
  return `${checks.length - failed.length} of ${checks.length} checks held; failed: ${failed.map((c) => c.name).join(', ')}.`;
}

/** 0 only when every check held (and there was at least one). */
export function exitCodeOf(checks: readonly CheckResult[]): number {
  return checks.length > 0 && checks.every((c) => c.status === 'ok') ? 0 : 1;
}

/** "35 ms" under a second, "2.4 s" above. */
export function seconds(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

export class Reporter {
  readonly checks: CheckResult[] = [];
  readonly #write: (line: string) => void;
  readonly #total: number;
  #stage = 0;

  constructor(totalStages: number, write: (line: string) => void = (l) => process.stdout.write(`${l}\n`)) {
    this.#total = totalStages;
    this.#write = write;
  }

  line(text = ''): void {
    this.#write(text);
  }

  stage(title: string): void {
    this.#write('');
    this.#write(formatStage(++this.#stage, this.#total, title));
  }

  /** A detail under the current stage. */
  info(text: string): void {
    this.#write(`${INDENT}${text}`);
  }

  /** A command as the user would type it, then its output indented below. */
  command(cmd: string, output?: string): void {
    this.#write(`${INDENT}$ ${cmd}`);
    if (output !== undefined) for (const l of indentBlock(output)) this.#write(l);
  }

  check(c: CheckResult): CheckResult {
    this.checks.push(c);
    this.#write(formatCheck(c));
    return c;
  }

  ok(name: string, detail = ''): CheckResult {
    return this.check({ name, status: 'ok', detail });
  }

  fail(name: string, detail: string): CheckResult {
    return this.check({ name, status: 'fail', detail });
  }
}

const LEVEL_NAMES: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };

/**
 * The last `count` lines of a component's output, made readable: a JSON log
 * line becomes "level msg (err's first line)"; other lines stay as they are.
 */
export function condenseLog(text: string, count = 8): string {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  return lines
    .slice(-count)
    .map((l) => {
      if (!l.startsWith('{')) return l.slice(0, 300);
      try {
        const o = JSON.parse(l) as { level?: number; msg?: string; err?: unknown };
        const err = typeof o.err === 'string' ? ` (${errorGist(o.err)})` : '';
        return `${LEVEL_NAMES[o.level ?? 30] ?? o.level} ${o.msg ?? ''}${err}`;
      } catch {
        return l.slice(0, 300);
      }
    })
    .join('\n');
}

/** An API error's own message (from the Status body the client quotes), else the first line. */
function errorGist(err: string): string {
  const status = /message\\*":\\*"(.*?)\\*",\\*"[a-z]+\\*":/.exec(err);
  return (status ? status[1]!.replace(/\\+"/g, '"') : err.split('\n')[0]!).slice(0, 240);
}

/** "ECONNREFUSED x12, TIMEOUT x3": the failed probes by error. */
export function failureKinds(samples: readonly ProbeSample[]): string {
  const counts = new Map<string, number>();
  for (const s of samples) {
    if (s.ok) continue;
    const kind = s.err ?? `HTTP ${s.status}`;
    counts.set(kind, (counts.get(kind) ?? 0) + 1);
  }
  return [...counts].map(([k, n]) => `${k} x${n}`).join(', ');
}
