// The "On a real cluster" section of docs/quickstart.md as data: its shell
// commands and its YAML blocks, in order, so a test runs the documentation
// itself. Pure.

export interface DocBlock {
  lang: string;
  /** sh: one command per entry (comments and expected-output lines dropped); yaml: the whole text as one entry. */
  lines: string[];
}

/** The fenced code blocks between `## <heading>` and the next `## ` heading. */
export function sectionBlocks(markdown: string, heading: string): DocBlock[] {
  const start = markdown.indexOf(`\n## ${heading}\n`);
  if (start < 0) throw new Error(`no "## ${heading}" section`);
  const end = markdown.indexOf('\n## ', start + 4);
  const section = markdown.slice(start, end < 0 ? undefined : end);
  const blocks: DocBlock[] = [];
  const fence = /```(\w+)\n([\s\S]*?)```/g;
  for (let m = fence.exec(section); m; m = fence.exec(section)) {
    const lang = m[1]!;
    const body = m[2]!;
    if (lang === 'sh') {
      blocks.push({ lang, lines: body.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#')) });
    } else {
      blocks.push({ lang, lines: [body] });
    }
  }
  return blocks;
}
