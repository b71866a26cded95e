// A consistent-hash ring over a Service's ready endpoints, for ingress-nginx's
// upstream-hash-by: a request's key goes to the same endpoint while the set
// is unchanged, and when an endpoint comes or goes only about 1/n of the keys
// move (each endpoint owns POINTS arcs of the ring, as ketama does). Pure.

import { spreadHash } from '../../common/hash32.ts';

/** Arcs per endpoint: 160, as ketama (nginx's hash ... consistent). */
const POINTS = 160;

export class HashRing {
  readonly #points: Uint32Array;
  readonly #owners: Uint32Array;

  /** `keys`: one stable name per member (an endpoint's ip:port), in any order. */
  constructor(keys: readonly string[]) {
    const n = keys.length * POINTS;
    const pairs: Array<[number, number]> = new Array(n);
    let k = 0;
    for (let m = 0; m < keys.length; m++) for (let p = 0; p < POINTS; p++) pairs[k++] = [spreadHash(`${keys[m]}#${p}`), m];
    // Ties broken by member index: the ring depends on the set, not the order given.
    const order = keys.map((key, i) => [key, i] as const).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    const rank = new Uint32Array(keys.length);
    order.forEach(([, i], r) => (rank[i] = r));
    pairs.sort((a, b) => a[0] - b[0] || rank[a[1]]! - rank[b[1]]!);
    this.#points = Uint32Array.from(pairs, (p) => p[0]);
    this.#owners = Uint32Array.from(pairs, (p) => p[1]);
  }

  /** The member owning `key` (the first arc at or after its hash, wrapping), or -1 on an empty ring. */
  pick(key: string): number {
    const pts = this.#points;
    if (pts.length === 0) return -1;
    const h = spreadHash(key);
    let lo = 0;
    let hi = pts.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (pts[mid]! < h) lo = mid + 1;
      else hi = mid;
    }
    return this.#owners[lo === pts.length ? 0 : lo]!;
  }
}
