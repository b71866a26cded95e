// Smooth weighted round robin (nginx's upstream algorithm): deterministic,
// spreads picks evenly (weights 5,1,1 give a a b a c a a), O(n) per pick
// without allocating. Weights of 0 never get picked.

export class SmoothWeighted<T> {
  readonly items: readonly T[];
  readonly #weights: Int32Array;
  readonly #current: Float64Array;
  readonly #total: number;

  constructor(items: readonly T[], weights: readonly number[]) {
    this.items = items;
    this.#weights = Int32Array.from(weights);
    this.#current = new Float64Array(items.length);
    this.#total = weights.reduce((a, b) => a + b, 0);
  }

  get total(): number {
    return this.#total;
  }

  /** Index of the next pick, or -1 when every weight is 0. */
  nextIndex(): number {
    if (this.#total <= 0) return -1;
    let best = -1;
    let bestValue = -Infinity;
    const cur = this.#current;
    const w = this.#weights;
    for (let i = 0; i < cur.length; i++) {
      if (w[i] === 0) continue;
      cur[i]! += w[i]!;
      if (cur[i]! > bestValue) {
        bestValue = cur[i]!;
        best = i;
      }
    }
    cur[best]! -= this.#total;
    return best;
  }
}
