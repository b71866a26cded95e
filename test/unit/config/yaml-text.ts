/**
 * Template tag for YAML in tests: drops the first newline and the common
 * indentation, so the line after the backtick is line 1 and snippets can be
 * indented with the code around them.
 */
export function yaml(strings: TemplateStringsArray, ...values: unknown[]): string {
  const raw = String.raw({ raw: strings }, ...values).replace(/^\n/, '');
  const lines = raw.split('\n');
  const indents = lines.filter((line) => line.trim() !== '').map((line) => line.length - line.trimStart().length);
  const common = indents.length > 0 ? Math.min(...indents) : 0;
  return lines.map((line) => line.slice(common)).join('\n').replace(/[ ]+$/, '');
}
