// sessionAffinity: ClientIP - which endpoint each client IP was last sent
// to, remembered for the timeout since its last new connection (sliding, like
// kube-proxy's iptables `recent` match). Pure: time comes from the caller.
// Bounded: beyond maxEntries the least recently used client is forgotten
// (Map insertion order, refreshed on use), so a scan cannot grow it.

const DEFAULT_AFFINITY_MAX_ENTRIES = 65_536;

interface Entry {
  endpointKey: string;
  expiresAt: number;
}

export class AffinityTable {
  readonly #entries = new Map<string, Entry>();
  readonly #maxEntries: number;

  constructor(maxEntries = DEFAULT_AFFINITY_MAX_ENTRIES) {
    this.#maxEntries = Math.max(1, maxEntries);
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The endpoint key this client sticks to, if the entry has not expired. */
  lookup(clientIp: string, now: number): string | undefined {
    const e = this.#entries.get(clientIp);
    if (e === undefined) return undefined;
    if (e.expiresAt <= now) {
      this.#entries.delete(clientIp);
      return undefined;
    }
    return e.endpointKey;
  }

  /** Records (or refreshes) the client's endpoint. */
  remember(clientIp: string, endpointKey: string, now: number, timeoutMs: number): void {
    this.#entries.delete(clientIp);
    this.#entries.set(clientIp, { endpointKey, expiresAt: now + timeoutMs });
    if (this.#entries.size > this.#maxEntries) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
  }

  forget(clientIp: string): void {
    this.#entries.delete(clientIp);
  }

  clear(): void {
    this.#entries.clear();
  }
}
