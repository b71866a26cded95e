// Durations in annotations: Go's time.ParseDuration subset people write
// ("500ms", "5s", "1m30s", "2h") or a bare number of seconds ("30"). Pure.

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h)/y;

/** Milliseconds, or an error in words. */
export function parseDuration(text: string): { ms: number } | { error: string } {
  const t = text.trim();
  if (/^\d+(\.\d+)?$/.test(t)) return { ms: Math.round(Number(t) * 1000) };
  if (t === '') return { error: 'empty duration' };
  let ms = 0;
  PART.lastIndex = 0;
  while (PART.lastIndex < t.length) {
    const m = PART.exec(t);
    if (m === null) return { error: `"${text}" is not a duration (like 500ms, 5s, 1m30s, or seconds)` };
    ms += Number(m[1]) * UNIT_MS[m[2]!]!;
  }
  return { ms: Math.round(ms) };
}
