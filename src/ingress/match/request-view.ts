// What the matchers see of a request. `HttpRequestInfo` is the input shape;
// `RequestView` wraps one request and derives the expensive parts (canonical
// host, parsed query, parsed client IP) lazily, at most once per request, so
// a lookup that never evaluates a Query or ClientIP matcher never pays for
// them. The route table reuses one view for all lookups (no allocation).

import { normalizeRequestHost } from './host.ts';
import { parseIpInto, type IpFamily } from './ip-match.ts';

export interface HttpRequestInfo {
  /** Host header or :authority as received; may carry a port. */
  readonly host: string;
  /**
   * Decoded, normalized path without the query (`/a/b`). Normalizing
   * (dot segments, percent-decoding) is the caller's job, once, at the edge.
   */
  readonly path: string;
  readonly method: string;
  /**
   * Header name (lowercase) -> value(s), like Node's `IncomingMessage.headers`.
   * Header/HeaderRegexp compare each value whole, as Go does per header line:
   * pass `req.headersDistinct` to keep repeated headers apart.
   */
  readonly headers: Readonly<Record<string, string | readonly string[] | undefined>>;
  /** Raw query string without the "?" (`a=1&b=2`). */
  readonly query: string;
  /** Peer address (`198.18.0.1`, `2001:db8::1`, `::ffff:198.18.0.1`). */
  readonly clientIp: string;
}

const NO_HEADERS: Readonly<Record<string, string | undefined>> = Object.freeze({});

export const EMPTY_REQUEST: HttpRequestInfo = Object.freeze({
  host: '',
  path: '/',
  method: 'GET',
  headers: NO_HEADERS,
  query: '',
  clientIp: '',
});

const IP_UNPARSED = -1;

export class RequestView {
  req: HttpRequestInfo = EMPTY_REQUEST;
  #host: string | null = null;
  #query: Map<string, string[]> | null = null;
  #ipFamily: number = IP_UNPARSED;
  readonly #ipWords = new Uint32Array(4);

  constructor(req?: HttpRequestInfo) {
    if (req) this.req = req;
  }

  /** Points the view at a request; `host` is its canonical host if already known. */
  reset(req: HttpRequestInfo, host: string | null = null): void {
    this.req = req;
    this.#host = host;
    this.#query = null;
    this.#ipFamily = IP_UNPARSED;
  }

  /** Canonical host (lowercase, no port, no trailing dot). */
  host(): string {
    return (this.#host ??= normalizeRequestHost(this.req.host));
  }

  /** The path, with an empty one read as "/". */
  path(): string {
    const p = this.req.path;
    return p.length === 0 ? '/' : p;
  }

  /** Decoded values of a query parameter, undefined when absent. */
  queryValues(key: string): readonly string[] | undefined {
    return (this.#query ??= parseQuery(this.req.query)).get(key);
  }

  /** Family of the parsed client IP (0 when unparseable); words via ipWords(). */
  ipFamily(): 0 | IpFamily {
    if (this.#ipFamily === IP_UNPARSED) this.#ipFamily = parseIpInto(this.req.clientIp, this.#ipWords);
    return this.#ipFamily as 0 | IpFamily;
  }

  ipWords(): Uint32Array {
    return this.#ipWords;
  }
}

/**
 * Go's url.ParseQuery: pairs split on "&", a pair containing ";" or with a
 * bad escape is skipped, "+" is a space, key without "=" has value "".
 */
export function parseQuery(raw: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let start = raw.charCodeAt(0) === 63 /* ? */ ? 1 : 0;
  while (start < raw.length) {
    let amp = raw.indexOf('&', start);
    if (amp < 0) amp = raw.length;
    const pair = raw.slice(start, amp);
    start = amp + 1;
    if (pair === '' || pair.includes(';')) continue;
    const eq = pair.indexOf('=');
    const key = unescapeQuery(eq < 0 ? pair : pair.slice(0, eq));
    const value = eq < 0 ? '' : unescapeQuery(pair.slice(eq + 1));
    if (key === null || value === null) continue;
    const list = out.get(key);
    if (list) list.push(value);
    else out.set(key, [value]);
  }
  return out;
}

const utf8 = new TextDecoder('utf-8');
const utf8Encoder = new TextEncoder();

/** Go's url.QueryUnescape; null on a malformed escape. */
function unescapeQuery(s: string): string | null {
  if (!s.includes('%') && !s.includes('+')) return s;
  if (/%(?![0-9A-Fa-f]{2})/.test(s)) return null;
  const spaced = s.replaceAll('+', ' ');
  try {
    return decodeURIComponent(spaced);
  } catch {
    // Not UTF-8 after decoding: Go keeps the bytes; we substitute U+FFFD.
    const bytes: number[] = [];
    let i = 0;
    while (i < spaced.length) {
      if (spaced[i] === '%') {
        bytes.push(parseInt(spaced.slice(i + 1, i + 3), 16));
        i += 3;
        continue;
      }
      let next = spaced.indexOf('%', i);
      if (next < 0) next = spaced.length;
      for (const b of utf8Encoder.encode(spaced.slice(i, next))) bytes.push(b);
      i = next;
    }
    return utf8.decode(new Uint8Array(bytes));
  }
}
