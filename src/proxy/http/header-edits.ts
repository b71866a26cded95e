// Header changes a middleware asks for, applied when the head is written:
// names removed from the received fields, then fields added at the end.
// Allocated only for requests/responses that a middleware edits.

import { assertValidField } from '../http1/forward-headers.ts';
import { equalsLower } from '../http1/header-fields.ts';

export class HeaderEdits {
  /** Lowercase names whose received lines are dropped. */
  readonly removed: string[] = [];
  /** Lines added after the received ones, in order. */
  readonly added: Array<[name: string, value: string]> = [];

  /** Replaces every line of `name`. Throws on an invalid name or value (no injection). */
  set(name: string, value: string): void {
    assertValidField(name, value);
    this.remove(name);
    this.added.push([name, value]);
  }

  add(name: string, value: string): void {
    assertValidField(name, value);
    this.added.push([name, value]);
  }

  remove(name: string): void {
    const lower = name.toLowerCase();
    if (!this.removed.includes(lower)) this.removed.push(lower);
    for (let i = this.added.length - 1; i >= 0; i--) {
      if (this.added[i]![0].toLowerCase() === lower) this.added.splice(i, 1);
    }
  }

  /** Was the received field named buf[start, end) removed? */
  drops(buf: Uint8Array, start: number, end: number): boolean {
    const n = end - start;
    for (const r of this.removed) if (r.length === n && equalsLower(buf, start, r)) return true;
    return false;
  }

  isRemoved(lower: string): boolean {
    return this.removed.includes(lower);
  }

  /** Added values of `lower`, in order. */
  addedValues(lower: string): string[] {
    const out: string[] = [];
    for (const [n, v] of this.added) if (n.toLowerCase() === lower) out.push(v);
    return out;
  }

  /** The added lines as one "name: value\r\n..." string. */
  lines(): string {
    let s = '';
    for (const [n, v] of this.added) s += `${n}: ${v}\r\n`;
    return s;
  }

  /** Does the list hold a field named `lower` (added)? */
  adds(lower: string): boolean {
    for (const [n] of this.added) if (n.toLowerCase() === lower) return true;
    return false;
  }
}
