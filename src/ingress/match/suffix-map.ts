// An immutable string-keyed hash map that can be queried with the tail of a
// string (`get(host, start)` looks up host.slice(start) without slicing).
// The route table uses it for wildcard hosts: `bar.foo.com` looks up
// `foo.com` with no allocation on the request path.

import { fnv1a32 } from '../../common/hash32.ts';

export class SuffixMap<V> {
  readonly #keys: (string | undefined)[];
  readonly #values: (V | undefined)[];
  readonly #mask: number;
  readonly size: number;

  constructor(entries: Iterable<readonly [string, V]>) {
    const list = [...entries];
    let capacity = 8;
    while (capacity < list.length * 2) capacity *= 2;
    this.#keys = new Array<string | undefined>(capacity).fill(undefined);
    this.#values = new Array<V | undefined>(capacity).fill(undefined);
    this.#mask = capacity - 1;
    let size = 0;
    for (const [key, value] of list) {
      let i = hashTail(key, 0) & this.#mask;
      for (;;) {
        const k = this.#keys[i];
        if (k === undefined) {
          this.#keys[i] = key;
          size++;
          break;
        }
        if (k === key) break;
        i = (i + 1) & this.#mask;
      }
      this.#values[i] = value;
    }
    this.size = size;
    Object.freeze(this);
  }

  /** The value for `s.slice(start)`. */
  get(s: string, start: number): V | undefined {
    const keys = this.#keys;
    const len = s.length - start;
    let i = hashTail(s, start) & this.#mask;
    for (;;) {
      const k = keys[i];
      if (k === undefined) return undefined;
      if (k.length === len && s.startsWith(k, start)) return this.#values[i];
      i = (i + 1) & this.#mask;
    }
  }

  *entries(): IterableIterator<[string, V]> {
    for (let i = 0; i < this.#keys.length; i++) {
      const k = this.#keys[i];
      if (k !== undefined) yield [k, this.#values[i] as V];
    }
  }
}

/** FNV-1a over the UTF-16 code units of s[start..]. */
const hashTail = (s: string, start: number): number => fnv1a32(s, start);
