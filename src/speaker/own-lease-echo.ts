// Pairs each renewal of our own Lease with its echo through the watch, so
// that Membership.markFresh(sentAt) is called once the watch has delivered
// everything up to that renewal. The PATCH response and the watch event race:
// whichever arrives second completes the pair. Pure and bounded.

const MAX_PENDING = 32;

export class OwnLeaseEcho {
  /** resourceVersion -> local time the renewal was sent, awaiting its watch event. */
  readonly #sent = new Map<string, number>();
  /** resourceVersions seen through the watch before their response arrived. */
  readonly #seen = new Set<string>();

  /** Our renewal sent at `sentAt` was stored as `resourceVersion`. Returns `sentAt` when the watch already delivered it. */
  renewed(resourceVersion: string, sentAt: number): number | undefined {
    if (this.#seen.delete(resourceVersion)) return sentAt;
    this.#sent.set(resourceVersion, sentAt);
    trim(this.#sent);
    return undefined;
  }

  /** The watch delivered our Lease at `resourceVersion`. Returns the send time to mark fresh, if known. */
  echoed(resourceVersion: string): number | undefined {
    const sentAt = this.#sent.get(resourceVersion);
    if (sentAt !== undefined) {
      this.#sent.delete(resourceVersion);
      // Older renewals still pending were overtaken (or lost): forget them.
      for (const [rv, at] of this.#sent) if (at <= sentAt) this.#sent.delete(rv);
      return sentAt;
    }
    this.#seen.add(resourceVersion);
    trim(this.#seen);
    return undefined;
  }

  clear(): void {
    this.#sent.clear();
    this.#seen.clear();
  }
}

function trim(collection: Map<string, number> | Set<string>): void {
  while (collection.size > MAX_PENDING) {
    const first = collection.keys().next().value as string;
    collection.delete(first);
  }
}
