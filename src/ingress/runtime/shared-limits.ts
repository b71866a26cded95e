// The counters of the rate and in-flight limits (Traefik rateLimit and
// inFlightReq, ingress-nginx limit-rps/-rpm, limit-connections and
// global-rate-limit), kept in
// shared memory so that a node's proxy worker threads count together, as
// nginx's workers share a limit_req zone: a client whose connections land on
// different workers gets the limit once, not once per worker.
//
// Two fixed tables of slots in SharedArrayBuffers, allocated once per
// process and handed to every worker: token buckets and in-flight counts,
// each slot keyed by a 64-bit hash of (middleware identity, client key). A
// key lives in one of PROBE slots from its hash; a slot is taken under a
// per-slot spin lock (Atomics), held for a few loads and stores. When every
// slot a key may use is taken, a token bucket evicts the one least recently
// used (that client starts with a full bucket again, as the per-worker maps
// did past their bound); an in-flight count is never evicted, and a key
// finding no free slot is let through (the table holds 65,536 keys with
// requests in flight at once per node).
//
// Not I/O: memory and Atomics only, tested directly and across threads.

const RATE_SLOTS = 131_072;
const COUNT_SLOTS = 65_536;
/** Slots a key may live in, from its hash on. */
const PROBE = 8;
/** Per slot: lock, hash high, hash low, count (Int32); tokens, last use in ms (Float64). */
const INTS = 4;
const FLOATS = 2;

export interface SharedLimitsMemory {
  readonly rate: SharedArrayBuffer;
  readonly counts: SharedArrayBuffer;
}

/** The process's tables: allocate once and give every worker the same memory. */
export function allocateSharedLimits(rateSlots = RATE_SLOTS, countSlots = COUNT_SLOTS): SharedLimitsMemory {
  return { rate: new SharedArrayBuffer(rateSlots * (INTS * 4 + FLOATS * 8)), counts: new SharedArrayBuffer(countSlots * (INTS * 4 + FLOATS * 8)) };
}

/**
 * Milliseconds on the monotonic clock, the same in every thread of the
 * process (performance.now() counts from each thread's own start, and
 * timeOrigin + now() differed between threads by enough to lose a tenth of a
 * bucket's refill).
 */
export function sharedNow(): number {
  return Number(process.hrtime.bigint() / 1000n) / 1000;
}

/** Two independent 32-bit hashes of the text (FNV-1a, and FNV-1a from another basis with a final mix); never 0/0 (the empty slot's key). */
function hash64(text: string): [number, number] {
  let hi = 0x811c9dc5 | 0;
  let lo = 0x2f2ac20b | 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    hi = Math.imul(hi ^ c, 0x01000193);
    lo = Math.imul(lo ^ c, 0x01000193) ^ (lo >>> 13);
  }
  lo = Math.imul(lo ^ (lo >>> 16), 0x85ebca6b);
  lo ^= lo >>> 13;
  if (hi === 0 && lo === 0) lo = 1;
  return [hi, lo];
}

/** One table: slots, their locks, and finding a key's slot. */
class SlotTable {
  readonly ints: Int32Array;
  readonly floats: Float64Array;
  readonly slots: number;

  constructor(buffer: SharedArrayBuffer) {
    const size = INTS * 4 + FLOATS * 8;
    this.slots = Math.floor(buffer.byteLength / size);
    // Floats first (8-byte aligned), ints after them.
    this.floats = new Float64Array(buffer, 0, this.slots * FLOATS);
    this.ints = new Int32Array(buffer, this.slots * FLOATS * 8, this.slots * INTS);
  }

  lock(slot: number): void {
    const at = slot * INTS;
    // Held for a few loads and stores: spinning is cheaper than waiting.
    while (Atomics.compareExchange(this.ints, at, 0, 1) !== 0);
  }

  unlock(slot: number): void {
    Atomics.store(this.ints, slot * INTS, 0);
  }

  /**
   * The slot holding (hi, lo), or one to take for it, returned locked;
   * `free(slot)` says whether a slot of another key may be taken (checked
   * under its lock); -1 when none may.
   */
  acquire(hi: number, lo: number, free: (slot: number) => boolean, rank: (slot: number) => number): number {
    const start = ((hi ^ lo) >>> 0) % this.slots;
    for (let attempt = 0; attempt < 3; attempt++) {
      let pick = -1;
      let pickRank = Infinity;
      for (let p = 0; p < PROBE; p++) {
        const slot = (start + p) % this.slots;
        this.lock(slot);
        const i = slot * INTS;
        if (this.ints[i + 1] === hi && this.ints[i + 2] === lo) return slot; // held: the caller unlocks
        const empty = this.ints[i + 1] === 0 && this.ints[i + 2] === 0;
        const r = empty ? -1 : free(slot) ? rank(slot) : Infinity;
        this.unlock(slot);
        if (r < pickRank) {
          pick = slot;
          pickRank = r;
        }
      }
      if (pick < 0) return -1;
      this.lock(pick);
      const i = pick * INTS;
      const same = this.ints[i + 1] === hi && this.ints[i + 2] === lo;
      const empty = this.ints[i + 1] === 0 && this.ints[i + 2] === 0;
      if (same) return pick;
      if (empty || free(pick)) {
        this.ints[i + 1] = hi;
        this.ints[i + 2] = lo;
        this.ints[i + 3] = 0;
        this.floats[pick * FLOATS] = Number.NaN; // new: the caller initialises it
        this.floats[pick * FLOATS + 1] = 0;
        return pick;
      }
      this.unlock(pick); // taken meanwhile by another key: look again
    }
    return -1;
  }

  /** `acquire` where any slot may be taken, the least recently used first (the second float holds the last use). */
  acquireEvicting(hi: number, lo: number): number {
    return this.acquire(
      hi,
      lo,
      () => true,
      (s) => this.floats[s * FLOATS + 1]!,
    );
  }
}

export interface TakeResult {
  readonly ok: boolean;
  /** Tokens left (below 1 when refused). */
  readonly tokens: number;
}

/** Token buckets: `take` one token of (id, key)'s bucket. */
export class SharedRateBuckets {
  readonly #t: SlotTable;

  constructor(memory: SharedLimitsMemory) {
    this.#t = new SlotTable(memory.rate);
  }

  take(id: string, key: string, burst: number, perMs: number, now = sharedNow()): TakeResult {
    const [hi, lo] = hash64(`${id}\u0000${key}`);
    const t = this.#t;
    // Any bucket may be evicted; the least recently used goes first.
    const slot = t.acquireEvicting(hi, lo);
    if (slot < 0) return { ok: true, tokens: burst }; // unreachable with always-free slots
    const f = slot * FLOATS;
    let tokens = t.floats[f]!;
    const at = t.floats[f + 1]!;
    tokens = Number.isNaN(tokens) ? burst : Math.min(burst, tokens + Math.max(0, now - at) * perMs);
    const ok = tokens >= 1;
    if (ok) tokens -= 1;
    t.floats[f] = tokens;
    t.floats[f + 1] = Math.max(at, now);
    t.unlock(slot);
    return { ok, tokens };
  }
}

/** In-flight counts: `acquire` a place of (id, key) under `max`, `release` the handle returned. */
export class SharedInFlightCounts {
  readonly #t: SlotTable;

  constructor(memory: SharedLimitsMemory) {
    this.#t = new SlotTable(memory.counts);
  }

  /** A handle for release (>= 0), -1 when the key is at `max`, -2 when no slot was free (let through, not counted). */
  acquire(id: string, key: string, max: number): number {
    const [hi, lo] = hash64(`${id}\u0000${key}`);
    const t = this.#t;
    const slot = t.acquire(
      hi,
      lo,
      (s) => t.ints[s * INTS + 3] === 0,
      () => 0,
    );
    if (slot < 0) return -2;
    const c = slot * INTS + 3;
    const n = t.ints[c]!;
    if (n >= max) {
      t.unlock(slot);
      return -1;
    }
    t.ints[c] = n + 1;
    t.unlock(slot);
    return slot;
  }

  /** Gives back the place `acquire` returned. The slot is still the key's: a slot is taken by another key only when its count is 0. */
  release(handle: number): void {
    if (handle < 0) return;
    const t = this.#t;
    t.lock(handle);
    const c = handle * INTS + 3;
    if (t.ints[c]! > 0) t.ints[c] = t.ints[c]! - 1;
    t.unlock(handle);
  }
}

export interface WindowHit {
  readonly ok: boolean;
  /** Milliseconds until the current fixed window ends (when refused: until the count starts over). */
  readonly remainingMs: number;
}

/**
 * Sliding-window counts (ingress-nginx global-rate-limit): per key, the
 * count of the current fixed window and of the one before, in the rate
 * table's slots (the count in the slot's int, the previous count and the
 * last use in its two floats: the last use says which window the count
 * belongs to). A request is refused when the current count has reached the
 * limit, or when the rate of the sliding window (the previous count over
 * the part of the previous window it still covers, plus the current count)
 * carried to the end of this window reaches it; a refused request is not
 * counted. Windows are aligned on the wall clock, as lua-resty-global-throttle's.
 */
export class SharedWindowCounts {
  readonly #t: SlotTable;

  constructor(memory: SharedLimitsMemory) {
    this.#t = new SlotTable(memory.rate);
  }

  hit(id: string, key: string, limit: number, windowMs: number, now = Date.now()): WindowHit {
    const [hi, lo] = hash64(`${id}\u0000${key}`);
    const t = this.#t;
    // As the buckets: the least recently used goes first (that client's counts start over).
    const slot = t.acquireEvicting(hi, lo);
    const window = Math.floor(now / windowMs);
    const remainingMs = windowMs - (now - window * windowMs);
    if (slot < 0) return { ok: true, remainingMs };
    const f = slot * FLOATS;
    const c = slot * INTS + 3;
    const last = t.floats[f]!;
    const stored = Number.isNaN(last) ? Number.NaN : Math.floor(t.floats[f + 1]! / windowMs);
    let count = 0;
    let previous = 0;
    if (stored === window) {
      count = t.ints[c]!;
      previous = last;
    } else if (stored === window - 1) {
      previous = t.ints[c]!;
    }
    // The previous window's rate over the part of it the sliding window still covers, carried to the end of this one.
    const rate = ((previous / windowMs) * remainingMs + count) / windowMs;
    const ok = count < limit && rate * remainingMs + count < limit;
    if (ok) count += 1;
    t.ints[c] = count;
    t.floats[f] = previous;
    t.floats[f + 1] = now;
    t.unlock(slot);
    return { ok, remainingMs };
  }
}

export interface SharedLimits {
  readonly rate: SharedRateBuckets;
  readonly inFlight: SharedInFlightCounts;
  readonly windows: SharedWindowCounts;
}

export function sharedLimitsOf(memory: SharedLimitsMemory): SharedLimits {
  return { rate: new SharedRateBuckets(memory), inFlight: new SharedInFlightCounts(memory), windows: new SharedWindowCounts(memory) };
}
