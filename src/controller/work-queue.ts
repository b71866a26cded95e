// A keyed work queue: each key is decided synchronously (the allocator is
// pure and fast), then its API write runs with bounded concurrency. A key
// is never written twice at once; a key changed during its write is decided
// again after it. Failed writes come back with per-key exponential backoff.

export type Reconcile = (key: string) => (() => Promise<void>) | undefined;

export class WorkQueue {
  private readonly pending = new Set<string>();
  private readonly inflight = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly backoff = new Map<string, number>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private active = 0;
  private scheduled = false;
  private stopped = false;
  private idleWaiters: Array<() => void> = [];
  private readonly reconcile: Reconcile;
  private readonly concurrency: number;
  private readonly onError: (key: string, err: unknown) => void;

  constructor(reconcile: Reconcile, concurrency: number, onError: (key: string, err: unknown) => void) {
    this.reconcile = reconcile;
    this.concurrency = Math.max(1, concurrency);
    this.onError = onError;
  }

  add(key: string): void {
    if (this.stopped) return;
    if (this.inflight.has(key)) {
      this.dirty.add(key);
      return;
    }
    this.pending.add(key);
    this.schedule();
  }

  get length(): number {
    return this.pending.size + this.inflight.size;
  }

  stop(): void {
    this.stopped = true;
    this.pending.clear();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  /** Resolves when no write is in flight. */
  drain(): Promise<void> {
    if (this.active === 0) return Promise.resolve();
    return new Promise((res) => this.idleWaiters.push(res));
  }

  private schedule(): void {
    if (this.scheduled || this.stopped) return;
    this.scheduled = true;
    // setImmediate lets a burst of informer events coalesce into one pass.
    setImmediate(() => this.pump());
  }

  private pump(): void {
    this.scheduled = false;
    for (const key of this.pending) {
      if (this.stopped || this.active >= this.concurrency) break;
      this.pending.delete(key);
      const write = this.reconcile(key);
      if (!write) {
        this.backoff.delete(key);
        continue;
      }
      this.active++;
      this.inflight.add(key);
      write().then(
        () => this.backoff.delete(key),
        (err: unknown) => {
          this.onError(key, err);
          const delay = Math.min((this.backoff.get(key) ?? 50) * 2, 10_000);
          this.backoff.set(key, delay);
          const t = setTimeout(() => {
            this.timers.delete(t);
            this.add(key);
          }, delay);
          this.timers.add(t);
        },
      ).finally(() => {
        this.active--;
        this.inflight.delete(key);
        if (this.dirty.delete(key)) this.add(key);
        if (this.pending.size > 0) this.schedule();
        if (this.active === 0) {
          const waiters = this.idleWaiters;
          this.idleWaiters = [];
          for (const w of waiters) w();
        }
      });
    }
  }
}
