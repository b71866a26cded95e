// The statistics a circuitBreaker expression reads, over a rolling window of
// the last 10 seconds in 1-second slots (Traefik's is the same size):
// requests, network errors, answers by status, and latencies in a histogram
// of exponential bounds (0.1 ms to about 60 s, 25% apart), so a quantile is
// the upper bound of its bucket (within 25%). Pure: the clock is passed in.

import type { BreakerStats } from '../match/breaker-expression.ts';

const SLOTS = 10;
const SLOT_MS = 1000;
const BOUNDS: number[] = [];
for (let b = 0.1; b < 70_000; b *= 1.25) BOUNDS.push(b);

interface Slot {
  /** Which second it holds (Math.floor(t / SLOT_MS)); -1: empty. */
  second: number;
  requests: number;
  networkErrors: number;
  /** Count per status (index = status, 0..599). */
  codes: Uint32Array;
  latencies: Uint32Array;
}

export class BreakerWindow implements BreakerStats {
  readonly #slots: Slot[] = Array.from({ length: SLOTS }, () => ({ second: -1, requests: 0, networkErrors: 0, codes: new Uint32Array(600), latencies: new Uint32Array(BOUNDS.length + 1) }));
  #now: number;

  constructor(now: number) {
    this.#now = now;
  }

  /** Sets the time the statistics are read at (call before reading them). */
  at(now: number): this {
    this.#now = now;
    return this;
  }

  record(now: number, status: number, latencyMs: number, networkError: boolean): void {
    const s = this.#slot(now);
    s.requests++;
    if (networkError) s.networkErrors++;
    else if (status >= 100 && status < 600) s.codes[status]!++;
    let i = 0;
    while (i < BOUNDS.length && latencyMs > BOUNDS[i]!) i++;
    s.latencies[i]!++;
  }

  reset(): void {
    for (const s of this.#slots) this.#clear(s, -1);
  }

  networkErrorRatio(): number {
    let requests = 0;
    let errors = 0;
    for (const s of this.#live()) {
      requests += s.requests;
      errors += s.networkErrors;
    }
    return requests === 0 ? 0 : errors / requests;
  }

  responseCodeRatio(from: number, to: number, dividedByFrom: number, dividedByTo: number): number {
    let num = 0;
    let den = 0;
    for (const s of this.#live()) {
      for (let c = Math.max(0, from); c < Math.min(600, to); c++) num += s.codes[c]!;
      for (let c = Math.max(0, dividedByFrom); c < Math.min(600, dividedByTo); c++) den += s.codes[c]!;
    }
    return den === 0 ? 0 : num / den;
  }

  latencyAtQuantileMs(quantile: number): number {
    const counts = new Array<number>(BOUNDS.length + 1).fill(0);
    let total = 0;
    for (const s of this.#live()) {
      for (let i = 0; i < counts.length; i++) counts[i]! += s.latencies[i]!;
    }
    for (const c of counts) total += c;
    if (total === 0) return 0;
    const want = (quantile / 100) * total;
    let seen = 0;
    for (let i = 0; i < counts.length; i++) {
      seen += counts[i]!;
      if (seen >= want) return i < BOUNDS.length ? BOUNDS[i]! : BOUNDS[BOUNDS.length - 1]! * 1.25;
    }
    return BOUNDS[BOUNDS.length - 1]!;
  }

  #slot(now: number): Slot {
    const second = Math.floor(now / SLOT_MS);
    const s = this.#slots[second % SLOTS]!;
    if (s.second !== second) this.#clear(s, second);
    return s;
  }

  /** The slots of the last SLOTS seconds before the read time. */
  *#live(): Generator<Slot> {
    const current = Math.floor(this.#now / SLOT_MS);
    for (const s of this.#slots) if (s.second >= 0 && s.second > current - SLOTS && s.second <= current) yield s;
  }

  #clear(s: Slot, second: number): void {
    s.second = second;
    s.requests = 0;
    s.networkErrors = 0;
    s.codes.fill(0);
    s.latencies.fill(0);
  }
}
