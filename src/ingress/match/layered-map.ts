// An immutable string-keyed map built as a shared base plus a small overlay
// of the changes made since: `with(changes)` returns a new version and leaves
// this one as it was, at the cost of the overlay (copied) and the changes, not
// of the whole map. The overlay is folded into a fresh base once it holds more
// than √size keys (at least 32), so a version costs O(√n) to make, amortized,
// and a lookup at most two hash probes.
//
// The route table keeps its host index in these so that an Ingress change over
// 10,000 routes touches a few buckets instead of copying 10,000-entry maps
// (docs/benchmarks.md, "Ingress change"). It is not a general persistent map:
// values are never undefined, and iteration order is not insertion order.
//
// A map read only when the next version is made (a table's routes by id, the
// compiler's published specs) folds later, once its overlay holds a quarter
// of its keys ('cold'): each version then copies a larger overlay (2,500
// entries at most for 10,000 keys, a fraction of a millisecond), and the
// fold - a copy of the whole map, 5-25 ms for 10,000 entries with the
// collections it brings - comes every few hundred changed routes instead of
// every hundred, which was the tail of an Ingress change.

/** Lookups and iteration: what a LayeredMap offers, and a Map too. */
export interface ReadonlyStringMap<V> extends Iterable<[string, V]> {
  readonly size: number;
  get(key: string): V | undefined;
  has(key: string): boolean;
  keys(): Iterable<string>;
  values(): Iterable<V>;
}

const REMOVED: unique symbol = Symbol('removed');
const MIN_OVERLAY = 32;

/** 'hot': looked up per request, folds at √size; 'cold': read only to make the next version, folds at size / 4. */
export type FoldPolicy = 'hot' | 'cold';

export class LayeredMap<V> implements ReadonlyStringMap<V> {
  readonly #base: ReadonlyMap<string, V>;
  readonly #overlay: ReadonlyMap<string, V | typeof REMOVED>;
  readonly #policy: FoldPolicy;
  readonly size: number;

  private constructor(base: ReadonlyMap<string, V>, overlay: ReadonlyMap<string, V | typeof REMOVED>, size: number, policy: FoldPolicy) {
    this.#base = base;
    this.#overlay = overlay;
    this.size = size;
    this.#policy = policy;
    Object.freeze(this);
  }

  /** Takes ownership of `base`: the caller must not change it afterwards. */
  static of<V>(base: Map<string, V>, policy: FoldPolicy = 'hot'): LayeredMap<V> {
    return new LayeredMap(base, new Map(), base.size, policy);
  }

  get(key: string): V | undefined {
    const v = this.#overlay.get(key);
    if (v === undefined) return this.#base.get(key);
    return v === REMOVED ? undefined : v;
  }

  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  /** A new version with each key set to its value, or removed where the value is undefined. */
  with(changes: Iterable<readonly [string, V | undefined]>): LayeredMap<V> {
    const overlay = new Map(this.#overlay);
    let size = this.size;
    for (const [key, value] of changes) {
      const had = this.#has(overlay, key);
      if (value === undefined) {
        if (!had) continue;
        size--;
        // A key the base lacks needs no tombstone.
        if (this.#base.has(key)) overlay.set(key, REMOVED);
        else overlay.delete(key);
      } else {
        if (!had) size++;
        overlay.set(key, value);
      }
    }
    const foldAt = this.#policy === 'hot' ? Math.sqrt(size) : size / 4;
    if (overlay.size <= Math.max(MIN_OVERLAY, foldAt)) return new LayeredMap(this.#base, overlay, size, this.#policy);
    const base = new Map(this.#base);
    for (const [key, value] of overlay) {
      if (value === REMOVED) base.delete(key);
      else base.set(key, value);
    }
    return new LayeredMap(base, new Map(), size, this.#policy);
  }

  *entries(): IterableIterator<[string, V]> {
    for (const [key, value] of this.#overlay) if (value !== REMOVED) yield [key, value];
    for (const entry of this.#base) if (!this.#overlay.has(entry[0])) yield entry;
  }

  keys(): IterableIterator<string> {
    return (function* (entries) {
      for (const [key] of entries) yield key;
    })(this.entries());
  }

  values(): IterableIterator<V> {
    return (function* (entries) {
      for (const [, value] of entries) yield value;
    })(this.entries());
  }

  [Symbol.iterator](): IterableIterator<[string, V]> {
    return this.entries();
  }

  #has(overlay: ReadonlyMap<string, V | typeof REMOVED>, key: string): boolean {
    const v = overlay.get(key);
    return v === undefined ? this.#base.has(key) : v !== REMOVED;
  }
}
