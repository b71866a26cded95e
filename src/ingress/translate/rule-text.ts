// Building Traefik rule text from values (for routes we synthesize, e.g.
// ingress-nginx regex paths): a value goes in backticks unless it holds one,
// then in a Go double-quoted string.

export function ruleString(value: string): string {
  if (!value.includes('`')) return `\`${value}\``;
  let out = '"';
  for (const ch of value) {
    const c = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}
