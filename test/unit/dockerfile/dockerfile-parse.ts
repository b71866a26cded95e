// Just enough of the Dockerfile and .dockerignore languages to check ours
// without a Docker engine: instructions with line continuations, stages,
// COPY sources and flags, exec-form arrays, the commands inside a RUN, and
// the context filter. Pure: text in, structures out.

export interface Instruction {
  keyword: string;
  /** Everything after the keyword, continuations joined with a space. */
  args: string;
  /** 1-based line of the keyword. */
  line: number;
}

export interface Stage {
  /** Image reference after FROM (flags such as --platform removed). */
  base: string;
  /** Name after AS, if any. */
  name?: string;
  instructions: Instruction[];
}

export interface CopyInstruction {
  /** --from=<stage or image>, if any. */
  from?: string;
  sources: string[];
  dest: string;
  flags: Record<string, string>;
}

export function parseInstructions(text: string): Instruction[] {
  const out: Instruction[] = [];
  const lines = text.split('\n');
  let current: Instruction | undefined;
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!.replace(/\r$/, '');
    const trimmed = raw.trim();
    // Comments (and parser directives) are dropped, even inside a continuation.
    if (trimmed.startsWith('#')) continue;
    if (current === undefined) {
      if (trimmed === '') continue;
      const m = /^(\S+)\s*(.*)$/.exec(trimmed)!;
      current = { keyword: m[1]!.toUpperCase(), args: '', line: i + 1 };
      appendPart(current, m[2]!);
    } else {
      appendPart(current, trimmed);
    }
    if (!trimmed.endsWith('\\')) {
      out.push(current);
      current = undefined;
    }
  }
  if (current) out.push(current);
  return out;
}

function appendPart(ins: Instruction, part: string): void {
  const text = part.endsWith('\\') ? part.slice(0, -1).trimEnd() : part;
  if (text === '') return;
  ins.args = ins.args === '' ? text : `${ins.args} ${text}`;
}

export function parseStages(text: string): Stage[] {
  const stages: Stage[] = [];
  for (const ins of parseInstructions(text)) {
    if (ins.keyword === 'FROM') {
      const words = ins.args.split(/\s+/).filter((w) => !w.startsWith('--'));
      const stage: Stage = { base: words[0] ?? '', instructions: [] };
      if (words[1]?.toUpperCase() === 'AS' && words[2]) stage.name = words[2];
      stages.push(stage);
    } else if (stages.length > 0) {
      stages[stages.length - 1]!.instructions.push(ins);
    }
  }
  return stages;
}

/** ["a", "b"] form of CMD/ENTRYPOINT/RUN/COPY, or undefined for the shell form. */
export function parseExecForm(args: string): string[] | undefined {
  const t = args.trim();
  if (!t.startsWith('[')) return undefined;
  try {
    const v = JSON.parse(t) as unknown;
    return Array.isArray(v) && v.every((x) => typeof x === 'string') ? (v as string[]) : undefined;
  } catch {
    return undefined;
  }
}

export function parseCopy(ins: Instruction): CopyInstruction {
  let rest = ins.args.trim();
  const flags: Record<string, string> = {};
  for (let m = /^--([\w-]+)(?:=(\S*))?\s+/.exec(rest); m; m = /^--([\w-]+)(?:=(\S*))?\s+/.exec(rest)) {
    flags[m[1]!] = m[2] ?? 'true';
    rest = rest.slice(m[0].length);
  }
  const words = parseExecForm(rest) ?? rest.split(/\s+/);
  if (words.length < 2) throw new Error(`line ${ins.line}: COPY needs a source and a destination`);
  return { ...(flags.from ? { from: flags.from } : {}), sources: words.slice(0, -1), dest: words[words.length - 1]!, flags };
}

/** The simple commands of a shell-form RUN, split at && ; || and tokenised on blanks (quotes honoured). */
export function shellCommands(args: string): string[][] {
  const commands: string[][] = [];
  let words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  const endWord = () => {
    if (inWord) words.push(word);
    word = '';
    inWord = false;
  };
  const endCommand = () => {
    endWord();
    if (words.length) commands.push(words);
    words = [];
  };
  for (let i = 0; i < args.length; i++) {
    const c = args[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
      else word += c;
      continue;
    }
    if (c === '"' || c === "'") {
      quote = c;
      inWord = true;
    } else if (c === ';') {
      endCommand();
    } else if ((c === '&' || c === '|') && args[i + 1] === c) {
      endCommand();
      i++;
    } else if (/\s/.test(c)) {
      endWord();
    } else {
      word += c;
      inWord = true;
    }
  }
  endCommand();
  return commands;
}

/** One .dockerignore pattern as a RegExp over slash-separated relative paths. */
function patternRegExp(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*' && pattern[i + 1] === '*') {
      // "**/" matches any number of directories, "**" at the end anything.
      if (pattern[i + 2] === '/') {
        re += '(?:.*/)?';
        i += 2;
      } else {
        re += '.*';
        i += 1;
      }
    } else if (c === '*') {
      re += '[^/]*';
    } else if (c === '?') {
      re += '[^/]';
    } else {
      re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
    }
  }
  return new RegExp(`^${re}$`);
}

export interface IgnoreRule {
  negate: boolean;
  re: RegExp;
  pattern: string;
}

export function parseDockerignore(text: string): IgnoreRule[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const negate = l.startsWith('!');
      const pattern = (negate ? l.slice(1) : l).trim().replace(/^\/+/, '').replace(/\/+$/, '');
      return { negate, re: patternRegExp(pattern), pattern };
    });
}

/**
 * Whether a context path is left out of the build context. As Docker does: a
 * pattern applies to a path when it matches the path or one of its parent
 * directories, and the last pattern that applies decides.
 */
export function isIgnored(rules: IgnoreRule[], path: string): boolean {
  const parts = path.replace(/^\.?\/+/, '').replace(/\/+$/, '').split('/');
  const prefixes = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
  let ignored = false;
  for (const rule of rules) {
    if (prefixes.some((p) => rule.re.test(p))) ignored = !rule.negate;
  }
  return ignored;
}
