// The field lines of a parsed head, kept as offsets into the head's own bytes:
// parsing allocates no strings, and forwarding copies the original bytes.

/** Header names the proxy acts on, recognised once while parsing. */
export const HeaderKind = {
  OTHER: 0,
  HOST: 1,
  CONTENT_LENGTH: 2,
  TRANSFER_ENCODING: 3,
  CONNECTION: 4,
  UPGRADE: 5,
  EXPECT: 6,
  KEEP_ALIVE: 7,
  PROXY_CONNECTION: 8,
  TE: 9,
  TRAILER: 10,
  X_FORWARDED_FOR: 11,
  X_FORWARDED_PROTO: 12,
  X_FORWARDED_HOST: 13,
} as const;
export type HeaderKind = (typeof HeaderKind)[keyof typeof HeaderKind];

/** Case-insensitive compare of buf[start, start+lower.length) with an all-lowercase name. */
export function equalsLower(buf: Uint8Array, start: number, lower: string): boolean {
  for (let i = 0; i < lower.length; i++) {
    // `| 0x20` folds ASCII letters; for the token bytes a name may hold it maps
    // nothing else onto a lowercase letter or "-".
    if ((buf[start + i]! | 0x20) !== lower.charCodeAt(i)) return false;
  }
  return true;
}

/** True when buf[start, end) holds the byte `b`. */
export function includesByte(buf: Uint8Array, start: number, end: number, b: number): boolean {
  for (let p = start; p < end; p++) if (buf[p] === b) return true;
  return false;
}

export function classifyName(buf: Uint8Array, start: number, end: number): HeaderKind {
  switch (end - start) {
    case 2:
      return equalsLower(buf, start, 'te') ? HeaderKind.TE : HeaderKind.OTHER;
    case 4:
      return equalsLower(buf, start, 'host') ? HeaderKind.HOST : HeaderKind.OTHER;
    case 6:
      return equalsLower(buf, start, 'expect') ? HeaderKind.EXPECT : HeaderKind.OTHER;
    case 7:
      if (equalsLower(buf, start, 'upgrade')) return HeaderKind.UPGRADE;
      return equalsLower(buf, start, 'trailer') ? HeaderKind.TRAILER : HeaderKind.OTHER;
    case 10:
      if (equalsLower(buf, start, 'connection')) return HeaderKind.CONNECTION;
      return equalsLower(buf, start, 'keep-alive') ? HeaderKind.KEEP_ALIVE : HeaderKind.OTHER;
    case 14:
      return equalsLower(buf, start, 'content-length') ? HeaderKind.CONTENT_LENGTH : HeaderKind.OTHER;
    case 15:
      return equalsLower(buf, start, 'x-forwarded-for') ? HeaderKind.X_FORWARDED_FOR : HeaderKind.OTHER;
    case 16:
      if (equalsLower(buf, start, 'proxy-connection')) return HeaderKind.PROXY_CONNECTION;
      return equalsLower(buf, start, 'x-forwarded-host') ? HeaderKind.X_FORWARDED_HOST : HeaderKind.OTHER;
    case 17:
      if (equalsLower(buf, start, 'transfer-encoding')) return HeaderKind.TRANSFER_ENCODING;
      return equalsLower(buf, start, 'x-forwarded-proto') ? HeaderKind.X_FORWARDED_PROTO : HeaderKind.OTHER;
    default:
      return HeaderKind.OTHER;
  }
}

/**
 * Layout of `HeaderFields.fields`: five numbers per field line.
 * A plain SMI array, not a typed array: V8 allocates small typed arrays
 * several times slower, and this is created once per message.
 */
export const FIELD_STRIDE = 5;
export const NAME_START = 0;
export const NAME_END = 1;
export const VALUE_START = 2;
export const VALUE_END = 3;
export const KIND = 4;

/**
 * Read-only view of validated field lines. Names keep their original case;
 * values have surrounding whitespace removed. Strings are decoded as latin1,
 * like Node does, so every byte round-trips.
 */
export class HeaderFields {
  /** The bytes the offsets point into (the whole head). */
  readonly buf: Buffer;
  readonly count: number;
  /** FIELD_STRIDE numbers per field: name start/end, value start/end, HeaderKind. */
  readonly fields: readonly number[];
  /** Offset just past the last field line's CRLF (where the empty line starts). */
  readonly linesEnd: number;

  constructor(buf: Buffer, count: number, fields: readonly number[], linesEnd: number) {
    this.buf = buf;
    this.count = count;
    this.fields = fields;
    this.linesEnd = linesEnd;
  }

  /** Offsets of field i's whole line as received, CRLF included. */
  lineStart(i: number): number {
    return this.fields[i * FIELD_STRIDE]!;
  }

  lineEnd(i: number): number {
    return i + 1 < this.count ? this.fields[(i + 1) * FIELD_STRIDE]! : this.linesEnd;
  }

  name(i: number): string {
    const o = i * FIELD_STRIDE;
    return this.buf.toString('latin1', this.fields[o]!, this.fields[o + NAME_END]!);
  }

  value(i: number): string {
    const o = i * FIELD_STRIDE;
    return this.buf.toString('latin1', this.fields[o + VALUE_START]!, this.fields[o + VALUE_END]!);
  }

  /** Zero-copy views. */
  nameBytes(i: number): Buffer {
    const o = i * FIELD_STRIDE;
    return this.buf.subarray(this.fields[o]!, this.fields[o + NAME_END]!);
  }

  valueBytes(i: number): Buffer {
    const o = i * FIELD_STRIDE;
    return this.buf.subarray(this.fields[o + VALUE_START]!, this.fields[o + VALUE_END]!);
  }

  kind(i: number): HeaderKind {
    return this.fields[i * FIELD_STRIDE + KIND] as HeaderKind;
  }

  /** Index of the first field named `name` (any case) at or after `from`, or -1. */
  indexOf(name: string, from = 0): number {
    const lower = name.toLowerCase();
    const f = this.fields;
    for (let i = from; i < this.count; i++) {
      const s = f[i * FIELD_STRIDE]!;
      if (f[i * FIELD_STRIDE + NAME_END]! - s === lower.length && equalsLower(this.buf, s, lower)) return i;
    }
    return -1;
  }

  /** First value of `name`, or undefined. */
  get(name: string): string | undefined {
    const i = this.indexOf(name);
    return i < 0 ? undefined : this.value(i);
  }

  /** Every value of `name`, in order. */
  getAll(name: string): string[] {
    const out: string[] = [];
    for (let i = this.indexOf(name); i >= 0; i = this.indexOf(name, i + 1)) out.push(this.value(i));
    return out;
  }

  /** [name, value] pairs in order (allocates; for tests, logs and slow paths). */
  entries(): Array<[string, string]> {
    const out: Array<[string, string]> = [];
    for (let i = 0; i < this.count; i++) out.push([this.name(i), this.value(i)]);
    return out;
  }
}
