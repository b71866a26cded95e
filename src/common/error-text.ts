// One line for a thrown value, with its causes: undici's `fetch failed`
// says nothing by itself; the reason (`connect ENETUNREACH 198.19.128.1:443`)
// is in `cause`, sometimes two levels down.
export function errorText(err: unknown): string {
  const parts: string[] = [];
  let cur: unknown = err;
  // Bounded: a cause chain can loop.
  for (let depth = 0; depth < 5 && cur !== undefined && cur !== null; depth++) {
    const text = cur instanceof Error || (typeof cur === 'object' && 'message' in cur) ? String((cur as Error).message) : String(cur);
    if (text && !parts.includes(text)) parts.push(text);
    cur = typeof cur === 'object' ? (cur as { cause?: unknown }).cause : undefined;
  }
  return parts.join(': ');
}
