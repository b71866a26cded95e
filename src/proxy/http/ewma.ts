// ingress-nginx's `load-balance: ewma`: each endpoint's response time as an
// exponentially weighted moving average (decaying with a 10 s time
// constant, as ingress-nginx's balancer), and each pick the better of two
// endpoints drawn at random (power of two choices: no herd on the one
// fastest endpoint). An endpoint not measured yet scores 0, so new
// endpoints get tried. Pure: the caller passes the time and the draws.

const DECAY_MS = 10_000;

interface Score {
  ewma: number;
  at: number;
}

export class EwmaPicker {
  readonly #scores = new Map<string, Score>();

  /** Index into `keys` of the pick; `r1`, `r2` uniform in [0, 1). */
  pick(keys: readonly string[], r1: number, r2: number): number {
    const n = keys.length;
    if (n <= 1) return n - 1;
    const a = Math.floor(r1 * n);
    let b = Math.floor(r2 * (n - 1));
    if (b >= a) b++;
    return this.score(keys[b]!) < this.score(keys[a]!) ? b : a;
  }

  score(key: string): number {
    return this.#scores.get(key)?.ewma ?? 0;
  }

  /** A response from `key` took `ms`. */
  observe(key: string, ms: number, now: number): void {
    const s = this.#scores.get(key);
    if (s === undefined) {
      this.#scores.set(key, { ewma: ms, at: now });
      return;
    }
    const w = Math.exp(-Math.max(0, now - s.at) / DECAY_MS);
    s.ewma = s.ewma * w + ms * (1 - w);
    s.at = now;
  }

  /** Forgets endpoints no longer in the set. */
  retain(keys: ReadonlySet<string>): void {
    for (const k of this.#scores.keys()) if (!keys.has(k)) this.#scores.delete(k);
  }
}
