// Building an outgoing head from the field lines of a received one: the
// kept lines are recorded as [start, end) runs of the received buffer
// (adjacent runs merged) and copied once into the new head between its first
// line and its tail. Plain functions over a caller's array: no object per
// request on the hot path.
import { equalsLower } from '../http1/header-fields.ts';

/** Records buf[s, e) as kept; returns its length, for the caller's size. */
export function keepLine(runs: number[], s: number, e: number): number {
  if (runs.length > 0 && runs[runs.length - 1] === s) runs[runs.length - 1] = e;
  else runs.push(s, e);
  return e - s;
}

/** `first` + the kept runs of `buf` + `tail`, in a buffer of exactly `size` bytes. */
export function assembleHead(buf: Buffer, runs: readonly number[], size: number, first: string, tail: string): Buffer {
  const out = Buffer.allocUnsafe(size);
  let at = out.write(first, 0, 'latin1');
  for (let r = 0; r < runs.length; r += 2) at += buf.copy(out, at, runs[r]!, runs[r + 1]!);
  out.write(tail, at, 'latin1');
  return out;
}

/** True when the field name buf[s, e) is one of `names` (lowercase), case-insensitively. */
export function namedIn(buf: Uint8Array, s: number, e: number, names: readonly string[]): boolean {
  const n = e - s;
  for (const o of names) if (o.length === n && equalsLower(buf, s, o)) return true;
  return false;
}
