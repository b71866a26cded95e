// Keeps answers to ARP requests and Neighbor Solicitations visible in the
// log without letting a scanning client flood it: per IP, the first answer is
// always logged, later ones at most once per interval, with the count held
// back. Pure; bounded in the number of IPs tracked.

export interface ReplyLogDecision {
  log: boolean;
  /** Answers not logged since the previous logged one (when log is true). */
  suppressed: number;
}

interface Entry {
  lastLoggedMs: number;
  suppressed: number;
}

export class ReplyLogLimiter {
  readonly #intervalMs: number;
  readonly #maxTracked: number;
  readonly #entries = new Map<string, Entry>();

  constructor(intervalMs = 10_000, maxTracked = 4096) {
    this.#intervalMs = intervalMs;
    this.#maxTracked = maxTracked;
  }

  /** An answer for `ip` went out at `now`: log it? */
  answered(ip: string, now: number): ReplyLogDecision {
    const entry = this.#entries.get(ip);
    if (entry === undefined) {
      if (this.#entries.size >= this.#maxTracked) this.#entries.delete(this.#entries.keys().next().value as string);
      this.#entries.set(ip, { lastLoggedMs: now, suppressed: 0 });
      return { log: true, suppressed: 0 };
    }
    if (now - entry.lastLoggedMs < this.#intervalMs) {
      entry.suppressed++;
      return { log: false, suppressed: 0 };
    }
    const suppressed = entry.suppressed;
    entry.lastLoggedMs = now;
    entry.suppressed = 0;
    return { log: true, suppressed };
  }

  /** The IP is no longer ours: its next answer (after a new takeover) is logged again. */
  forget(ip: string): void {
    this.#entries.delete(ip);
  }
}
