// Finds the lowest free address of one range without scanning the used ones.
//
// Everything at or above `#next` that is free has never been handed out
// since the cursor was built; every free address below `#next` sits in
// `#freed`. The lowest free address is then the top of `#freed`, or `#next`
// once it is advanced past used (and skipped) addresses. `#next` only moves
// forward, so its walk costs O(1) amortised per claimed address; heap
// entries claimed behind our back (explicit requests, restores) are dropped
// lazily when they reach the top. Memory: one bigint per freed address.
import type { IpRange } from '../config/types.ts';
import { BigintMinHeap } from './bigint-min-heap.ts';
import { isSkipped } from './usable-addresses.ts';

export type IsUsed = (address: bigint) => boolean;

export class RangeCursor {
  readonly range: IpRange;
  readonly #avoidBuggyIps: boolean;
  readonly #isUsed: IsUsed;
  #next: bigint;
  readonly #freed = new BigintMinHeap();
  /** Dedupes `#freed` when an address is freed, claimed and freed again. */
  readonly #inFreed = new Set<bigint>();

  constructor(range: IpRange, avoidBuggyIps: boolean, isUsed: IsUsed) {
    this.range = range;
    this.#avoidBuggyIps = avoidBuggyIps;
    this.#isUsed = isUsed;
    this.#next = range.first;
  }

  /** The lowest address that is free and not skipped, without claiming it. */
  lowestFree(): bigint | undefined {
    for (;;) {
      const top = this.#freed.peek();
      if (top === undefined) break;
      if (!this.#isUsed(top)) return top;
      this.#freed.pop();
      this.#inFreed.delete(top);
    }
    const { family, last } = this.range;
    let next = this.#next;
    while (next <= last && (this.#isUsed(next) || isSkipped(family, this.#avoidBuggyIps, next))) next++;
    this.#next = next;
    return next <= last ? next : undefined;
  }

  /** Tell the cursor that `address` (inside the range) has no holder any more. */
  released(address: bigint): void {
    if (address >= this.#next) return;
    if (isSkipped(this.range.family, this.#avoidBuggyIps, address)) return;
    if (this.#inFreed.has(address)) return;
    this.#freed.push(address);
    this.#inFreed.add(address);
  }
}
