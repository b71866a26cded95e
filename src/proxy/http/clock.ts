// One coarse timer per entrypoint instead of one timer per request: every
// connection keeps a deadline number (0 = none) and a periodic sweep calls
// the ones that passed. Arming a timeout is then a field store, which keeps
// timers off the per-request hot path; the price is a precision of one tick.

/** Something with at most one pending deadline. */
export interface Timed {
  /** performance.now() value after which onDeadline runs; 0 = none. */
  deadline: number;
  onDeadline(now: number): void;
}

export class DeadlineClock {
  /** performance.now() at the last tick (cheap "now" for arming deadlines). */
  now = performance.now();

  readonly resolutionMs: number;
  private readonly members = new Set<Timed>();
  private timer: NodeJS.Timeout | undefined;

  constructor(resolutionMs: number) {
    this.resolutionMs = Math.max(1, resolutionMs);
  }

  add(t: Timed): void {
    this.members.add(t);
    if (this.timer === undefined) {
      this.now = performance.now();
      this.timer = setInterval(this.tick, this.resolutionMs);
      this.timer.unref();
    }
  }

  delete(t: Timed): void {
    this.members.delete(t);
    if (this.members.size === 0 && this.timer !== undefined) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  get size(): number {
    return this.members.size;
  }

  /**
   * A deadline `ms` from now. Uses the precise clock: deadlines set between
   * ticks would otherwise fire up to one tick early.
   */
  in(ms: number): number {
    return ms > 0 ? performance.now() + ms : 0;
  }

  private readonly tick = (): void => {
    const now = performance.now();
    this.now = now;
    for (const t of this.members) {
      const d = t.deadline;
      if (d !== 0 && d <= now) {
        t.deadline = 0;
        t.onDeadline(now);
      }
    }
  };

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.members.clear();
  }
}
