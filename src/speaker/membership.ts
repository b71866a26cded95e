// Which speakers are alive, from the one Lease each speaker renews (named
// after its node, in the speaker namespace). Pure state machine: the adapter
// feeds it watch events and freshness marks with local monotonic times; it
// decides, it never waits or reads a clock.
//
// Three rules shape it:
//
// 1. Clock skew. A Lease's renewTime is written by another node's clock, so it
//    is only ever compared for *change*. A lease's deadline is "the local
//    monotonic time we saw it change" + leaseDurationSeconds. Two nodes whose
//    clocks disagree by minutes still agree on who is alive.
//
// 2. No expiry on stale data. Time passing alone never removes a speaker.
//    The adapter calls markFresh(asOf) when it has proof that every Lease
//    change made before `asOf` has reached it - typically when its own renewal,
//    sent at local time `asOf`, comes back through the watch (the watch
//    delivers in resourceVersion order), or when a relist started at `asOf`
//    completes. A lease is expired only when its deadline is at or before the
//    latest such `asOf`. While the API server is unreachable no marks arrive,
//    so nothing expires: the live set freezes at its last known value and every
//    speaker keeps what it owns (the kube-vip failure - losing a VIP because a
//    renewal timed out - cannot happen here).
//
// 3. Recovery grace. After an outage the other speakers could not renew
//    either; their leases look old only because the API was down. When a mark
//    arrives more than `staleAfterMs` after the previous one, every lease that
//    was live at the previous mark gets until `asOf + recoveryGraceMs` to show
//    a renewal. One grace per observation, so a speaker that died during the
//    outage (and so never renews) still expires, even if marks keep arriving
//    late.
//
// A deleted Lease, or one whose holderIdentity was cleared, is a clean stop:
// the speaker is gone at once, whatever the freshness of the view.

import type { V1Lease } from '@kubernetes/client-node';

/** The fields of a coordination.k8s.io/v1 Lease membership reads. */
export interface LeaseObservation {
  /** Lease name: the node name of the speaker holding it. */
  name: string;
  holderIdentity?: string | null;
  /** Opaque: compared for change only, never against our clock. */
  renewTime?: Date | string | null;
  acquireTime?: Date | string | null;
  leaseDurationSeconds?: number | null;
}

export interface MembershipOptions {
  /** Used when a Lease has no leaseDurationSeconds. Default 3000. */
  defaultLeaseDurationMs: number;
  /**
   * Marks further apart than this are an outage (recovery grace applies) and
   * a view without a mark for this long is reported `frozen`. Keep it between
   * the renew interval and the lease duration. Default 1500 (renewals every 1 s).
   */
  staleAfterMs: number;
  /** After an outage, how long the leases that were live before it get to show a renewal. Default 6000. */
  recoveryGraceMs: number;
}

const DEFAULT_MEMBERSHIP_OPTIONS: Readonly<MembershipOptions> = Object.freeze({
  defaultLeaseDurationMs: 3000,
  staleAfterMs: 1500,
  recoveryGraceMs: 6000,
});

export interface MembershipView {
  /** Node names of live speakers. The same Set instance is returned while the membership is unchanged. */
  live: ReadonlySet<string>;
  /** False until the first markFresh: the view is not yet complete; do not act on it. */
  synced: boolean;
  /** No freshness mark for more than staleAfterMs: expiry is suspended. */
  frozen: boolean;
  /** The latest `asOf` passed to markFresh, if any. */
  freshAsOfMs: number | undefined;
}

interface LeaseState {
  /** holder|renewTime|acquireTime: a change of any of them is a renewal or a takeover. */
  fingerprint: string;
  released: boolean;
  /** Local monotonic ms after which the lease is dead, unless renewed. */
  deadlineMs: number;
  /** This observation already received a recovery grace. */
  graced: boolean;
}

export class Membership {
  readonly #options: MembershipOptions;
  readonly #leases = new Map<string, LeaseState>();
  #freshAsOf: number | undefined;
  #lastLive: ReadonlySet<string> = new Set();

  constructor(options: Partial<MembershipOptions> = {}) {
    this.#options = { ...DEFAULT_MEMBERSHIP_OPTIONS, ...options };
    const { defaultLeaseDurationMs, staleAfterMs, recoveryGraceMs } = this.#options;
    if (!(defaultLeaseDurationMs > 0 && staleAfterMs > 0 && recoveryGraceMs >= 0)) {
      throw new RangeError('membership: durations must be positive');
    }
  }

  /** A Lease was added or modified (or replayed by a relist) at local time `now`. */
  observe(lease: LeaseObservation, now: number): void {
    const holder = lease.holderIdentity ?? '';
    const fingerprint = `${holder}|${timeKey(lease.renewTime)}|${timeKey(lease.acquireTime)}`;
    const prev = this.#leases.get(lease.name);
    // A replay of what we already saw (relist, resync, unrelated label edit)
    // is no evidence of life: the clock keeps running.
    if (prev && prev.fingerprint === fingerprint) return;
    const seconds = lease.leaseDurationSeconds;
    const durationMs = seconds != null && seconds > 0 ? seconds * 1000 : this.#options.defaultLeaseDurationMs;
    this.#leases.set(lease.name, {
      fingerprint,
      released: holder === '',
      deadlineMs: now + durationMs,
      graced: false,
    });
  }

  /** The Lease was deleted: the speaker stopped cleanly and is gone at once. */
  remove(name: string): void {
    this.#leases.delete(name);
  }

  /**
   * Every Lease change made before local time `asOf` has been delivered.
   * Marks older than the latest one are ignored.
   */
  markFresh(asOf: number): void {
    const prev = this.#freshAsOf;
    if (prev !== undefined && asOf <= prev) return;
    if (prev !== undefined && asOf - prev > this.#options.staleAfterMs) {
      const until = asOf + this.#options.recoveryGraceMs;
      for (const lease of this.#leases.values()) {
        if (lease.released || lease.graced || lease.deadlineMs <= prev || lease.deadlineMs >= until) continue;
        lease.deadlineMs = until;
        lease.graced = true;
      }
    }
    this.#freshAsOf = asOf;
  }

  /** The membership as of the latest freshness mark; `now` only decides `frozen`. */
  view(now: number): MembershipView {
    const asOf = this.#freshAsOf;
    const cutoff = asOf ?? -Infinity;
    const live = new Set<string>();
    for (const [name, lease] of this.#leases) {
      if (!lease.released && lease.deadlineMs > cutoff) live.add(name);
    }
    if (!sameMembers(live, this.#lastLive)) this.#lastLive = live;
    return {
      live: this.#lastLive,
      synced: asOf !== undefined,
      frozen: asOf !== undefined && now - asOf > this.#options.staleAfterMs,
      freshAsOfMs: asOf,
    };
  }
}

/** Reads the fields membership needs from a Lease object. */
export function leaseObservationFromV1(lease: V1Lease): LeaseObservation | undefined {
  const name = lease.metadata?.name;
  if (!name) return undefined;
  const spec = lease.spec ?? {};
  return {
    name,
    holderIdentity: spec.holderIdentity ?? null,
    renewTime: spec.renewTime ?? null,
    acquireTime: spec.acquireTime ?? null,
    leaseDurationSeconds: spec.leaseDurationSeconds ?? null,
  };
}

function sameMembers(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  if (a.size !== b.size) return false;
  for (const x of a) if (!b.has(x)) return false;
  return true;
}

function timeKey(t: Date | string | null | undefined): string {
  if (t == null) return '';
  if (typeof t === 'string') return t;
  // V1MicroTime arrives as a Date (millisecond precision): renewals are ~1 s apart.
  return String(t.getTime());
}
