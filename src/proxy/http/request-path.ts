// The path routing sees: the request-target's path without the query,
// percent-decoded, dot segments removed (RFC 3986 §5.2.4) and repeated
// slashes merged, as nginx does for location matching. The target forwarded
// upstream is not changed by this: only middlewares rewrite it.

const PERCENT = 0x25;
const SLASH = 0x2f;
const DOT = 0x2e;

/** Index of "?" in target, or target.length. */
export function queryStart(target: string): number {
  const q = target.indexOf('?');
  return q < 0 ? target.length : q;
}

/**
 * Does path (no query) need normalize()? True when it holds "%", "//" or a
 * "." right after a "/". Most paths do not, and are used as they are.
 */
export function needsNormalizing(path: string, end: number): boolean {
  for (let i = 0; i < end; i++) {
    const c = path.charCodeAt(i);
    if (c === PERCENT) return true;
    if (c === SLASH && i + 1 < end) {
      const d = path.charCodeAt(i + 1);
      if (d === SLASH || d === DOT) return true;
    }
  }
  return false;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Normalizes path[0, end) (it starts with "/"). Returns null when decoding
 * yields a NUL or another control character, which no route should see
 * (answered 400).
 */
export function normalizePath(path: string, end: number): string | null {
  let decoded = path.slice(0, end);
  if (decoded.includes('%')) {
    const d = percentDecode(decoded);
    if (d === null) return null;
    decoded = d;
  }
  // Merge slashes and resolve "." and ".." segments; ".." never climbs above "/".
  const out: string[] = [];
  const segments = decoded.split('/');
  const last = segments.length - 1;
  for (let i = 1; i <= last; i++) {
    const seg = segments[i]!;
    if (seg === '' && i < last) continue;
    if (seg === '.') {
      if (i === last) out.push('');
      continue;
    }
    if (seg === '..') {
      out.pop();
      if (i === last) out.push('');
      continue;
    }
    out.push(seg);
  }
  return '/' + out.join('/');
}

/** %XX decoding as UTF-8; a sequence that is not valid UTF-8 keeps its bytes as latin1 chars. */
function percentDecode(s: string): string | null {
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === PERCENT && i + 2 < s.length && isHex(s.charCodeAt(i + 1)) && isHex(s.charCodeAt(i + 2))) {
      bytes.push(parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(c & 0xff);
    }
  }
  for (const b of bytes) if (b < 0x20 || b === 0x7f) return null;
  const u8 = Uint8Array.from(bytes);
  try {
    return utf8.decode(u8);
  } catch {
    return Buffer.from(u8).toString('latin1');
  }
}

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}
