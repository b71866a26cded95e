// The ResponseContext handed to middlewares' onResponse: edits to the head
// (kept as HeaderEdits, applied when the head is written) and an optional
// body transform. Created only for routes whose middlewares have onResponse.

import { HeaderEdits } from './header-edits.ts';
import { firstChunkData } from './sniff.ts';
import type { ResponseContext } from './types.ts';

const EMPTY = new Uint8Array(0);

/** The read that carried the response head, and where its body bytes start (chunk framing when `chunked`). */
export interface EarlyBody {
  readonly chunk: Buffer;
  readonly start: number;
  readonly chunked: boolean;
}

/** A field whose value comes from the body's first bytes. */
export interface LateField {
  readonly name: string;
  readonly derive: (first: Uint8Array) => string | undefined;
}

/** Reads a received field by lowercase name: its value, or its values when it came more than once. */
export type FieldLookup = (lower: string) => string | readonly string[] | undefined;

const first = (v: string | readonly string[] | undefined): string | undefined => (typeof v === 'string' ? v : v?.[0]);
const all = (v: string | readonly string[] | undefined): string[] => (v === undefined ? [] : typeof v === 'string' ? [v] : [...v]);

export class ResponseEdit implements ResponseContext {
  readonly status: number;
  readonly hasBody: boolean;
  edits: HeaderEdits | undefined;
  transform: NodeJS.ReadWriteStream | undefined;
  /** A field to set from the first body read (setHeaderFromFirstBody); the connection writes the head then. */
  late: LateField | undefined;
  private readonly lookup: FieldLookup;
  private readonly early: EarlyBody | undefined;

  constructor(status: number, hasBody: boolean, lookup: FieldLookup, early?: EarlyBody) {
    this.status = status;
    this.hasBody = hasBody;
    this.lookup = lookup;
    this.early = early;
  }

  firstBody(): Uint8Array {
    const e = this.early;
    if (!this.hasBody || e === undefined) return EMPTY;
    return e.chunked ? firstChunkData(e.chunk, e.start) : e.chunk.subarray(e.start);
  }

  header(name: string): string | undefined {
    const lower = name.toLowerCase();
    const e = this.edits;
    if (e !== undefined) {
      const added = e.addedValues(lower);
      if (e.isRemoved(lower)) return added[0];
      return first(this.lookup(lower)) ?? added[0];
    }
    return first(this.lookup(lower));
  }

  headerValues(name: string): string[] {
    const lower = name.toLowerCase();
    const e = this.edits;
    if (e === undefined) return all(this.lookup(lower));
    const added = e.addedValues(lower);
    return e.isRemoved(lower) ? added : [...all(this.lookup(lower)), ...added];
  }

  setHeader(name: string, value: string): void {
    (this.edits ??= new HeaderEdits()).set(name, value);
  }

  addHeader(name: string, value: string): void {
    (this.edits ??= new HeaderEdits()).add(name, value);
  }

  removeHeader(name: string): void {
    (this.edits ??= new HeaderEdits()).remove(name);
  }

  setHeaderFromFirstBody(name: string, derive: (first: Uint8Array) => string | undefined): void {
    if (!this.hasBody) return;
    this.late = { name, derive };
  }

  /** Applies the late field to the edits from the body's first bytes (empty: left out). */
  settleLate(first: Uint8Array): HeaderEdits | undefined {
    const late = this.late;
    this.late = undefined;
    // A field a later middleware set meanwhile stays (Traefik: contentType yields to any other setter).
    if (late === undefined || first.length === 0 || this.header(late.name) !== undefined) return this.edits;
    const value = late.derive(first);
    if (value !== undefined) this.setHeader(late.name, value);
    return this.edits;
  }

  setBodyTransform(transform: NodeJS.ReadWriteStream): void {
    if (!this.hasBody) throw new Error('setBodyTransform: this response has no body');
    if (this.transform !== undefined) throw new Error('setBodyTransform: the body is already transformed');
    this.transform = transform;
    // The transformed length is unknown until the end.
    this.removeHeader('content-length');
  }
}
