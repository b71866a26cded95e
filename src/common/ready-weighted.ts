// Smooth weighted round robin (smooth-weighted.ts) over items some of which
// cannot take a pick now (a Service without a ready endpoint): the others
// share the picks by their weights, and an item that comes back gets its
// share again. One round robin per set of usable items, kept while that set
// recurs (usually just "all of them"). Weight 0 is never picked. Pure.

import { SmoothWeighted } from './smooth-weighted.ts';

/** Sets of usable items remembered at most (bounded by 2^n, in practice by how often items come and go). */
const MAX_ROUNDS = 64;

export class ReadyWeighted {
  readonly #weights: readonly number[];
  readonly #rounds = new Map<string, SmoothWeighted<number>>();

  constructor(weights: readonly number[]) {
    this.#weights = weights;
  }

  /** The index of the next pick among the items `usable` accepts, or -1 when none can take it. */
  next(usable: (i: number) => boolean): number {
    let key = '';
    for (let i = 0; i < this.#weights.length; i++) key += this.#weights[i]! > 0 && usable(i) ? '1' : '0';
    let round = this.#rounds.get(key);
    if (round === undefined) {
      if (this.#rounds.size >= MAX_ROUNDS) this.#rounds.clear();
      const weights = this.#weights.map((w, i) => (key[i] === '1' ? w : 0));
      round = new SmoothWeighted(weights.map((_, i) => i), weights);
      this.#rounds.set(key, round);
    }
    return round.nextIndex();
  }
}
