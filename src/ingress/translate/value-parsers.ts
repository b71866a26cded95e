// Scalar values as ingress-nginx and Traefik read them from annotations and
// CRD fields. Each returns the value or an error string for an Event.

export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const fail = <T>(error: string): Parsed<T> => ({ ok: false, error });

/** Go's strconv.ParseBool (ingress-nginx reads boolean annotations with it). */
export function parseGoBool(text: string): Parsed<boolean> {
  switch (text.trim()) {
    case '1':
    case 't':
    case 'T':
    case 'true':
    case 'TRUE':
    case 'True':
      return ok(true);
    case '0':
    case 'f':
    case 'F':
    case 'false':
    case 'FALSE':
    case 'False':
      return ok(false);
    default:
      return fail(`${JSON.stringify(text)} is not a boolean (true or false)`);
  }
}

/** A base-10 integer (Go's strconv.Atoi), optionally bounded. */
export function parseInteger(text: string, min = -Infinity, max = Infinity): Parsed<number> {
  const t = text.trim();
  if (!/^[+-]?[0-9]+$/.test(t)) return fail(`${JSON.stringify(text)} is not an integer`);
  const n = Number(t);
  if (!Number.isSafeInteger(n)) return fail(`${JSON.stringify(text)} is out of range`);
  if (n < min || n > max) return fail(`${n} is out of range [${min}, ${max === Infinity ? 'inf' : max}]`);
  return ok(n);
}

const SIZE_UNITS: Readonly<Record<string, number>> = { '': 1, k: 1024, m: 1024 * 1024, g: 1024 * 1024 * 1024 };

/** An nginx size (`client_max_body_size`): bytes with an optional k/m/g suffix (either case); "0" disables. */
export function parseNginxSize(text: string): Parsed<number> {
  const m = /^([0-9]+)([kKmMgG]?)$/.exec(text.trim());
  if (!m) return fail(`${JSON.stringify(text)} is not an nginx size (a number with an optional k, m or g suffix)`);
  const n = Number(m[1]) * SIZE_UNITS[m[2]!.toLowerCase()]!;
  if (!Number.isSafeInteger(n)) return fail(`${JSON.stringify(text)} is too large`);
  return ok(n);
}

const GO_UNITS: Readonly<Record<string, number>> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, 'μs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * A Traefik duration in milliseconds: a Go duration string (`1s`, `1m30s`,
 * `250ms`) or a bare number of seconds (Traefik's ptypes.Duration reads an
 * integer as seconds).
 */
export function parseTraefikDuration(value: unknown): Parsed<number> {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) return fail(`${value} is not a valid duration`);
    return ok(value * 1000);
  }
  if (typeof value !== 'string') return fail(`${JSON.stringify(value)} is not a duration`);
  const t = value.trim();
  if (/^[0-9]+$/.test(t)) return ok(Number(t) * 1000);
  if (t === '0') return ok(0);
  const re = /([0-9]*\.?[0-9]+)(ns|us|µs|μs|ms|s|m|h)/y;
  let total = 0;
  let i = 0;
  if (t.length === 0) return fail('empty duration');
  while (i < t.length) {
    re.lastIndex = i;
    const m = re.exec(t);
    if (!m) return fail(`${JSON.stringify(value)} is not a duration (e.g. 10s, 1m30s, 250ms)`);
    total += Number(m[1]) * GO_UNITS[m[2]!]!;
    i = re.lastIndex;
  }
  return ok(total);
}

/** A Kubernetes int-or-string that must be a non-negative integer (Traefik counts). */
export function asNonNegativeInt(value: unknown, what: string): Parsed<number> {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return ok(value);
  if (typeof value === 'string' && /^[0-9]+$/.test(value)) return ok(Number(value));
  return fail(`${what} must be a non-negative integer, got ${JSON.stringify(value)}`);
}
