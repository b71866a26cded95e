// What this node must change after an election: the IPs to take and to
// give up, and every IP whose owner moved (for logs, Events, metrics). Pure.

import type { Ownership } from './election.ts';

export interface OwnerChange {
  ip: string;
  /** undefined: the IP is new, or had no owner. */
  from: string | undefined;
  /** undefined: the IP is gone, or has no owner now. */
  to: string | undefined;
}

export interface OwnershipDiff {
  /** Elected to us and not held yet, sorted. */
  gained: string[];
  /** Held and no longer ours (or withheld), sorted. */
  lost: string[];
  /** IPs whose owner differs from the previous election (new and removed IPs included), sorted by IP. */
  moved: OwnerChange[];
}

/**
 * @param held the IPs this node holds now
 * @param result the new election
 * @param previous the previous election (undefined on the first one: every owned IP counts as moved)
 * @param withheld IPs this node must not hold even when elected (given up while cut off: a foreign claim, or an interface back after a long absence)
 */
export function diffOwnership(
  self: string,
  held: ReadonlySet<string>,
  result: ReadonlyMap<string, Ownership>,
  previous: ReadonlyMap<string, Ownership> | undefined,
  withheld: ReadonlySet<string> = new Set(),
): OwnershipDiff {
  const gained: string[] = [];
  const lost: string[] = [];
  for (const [ip, o] of result) {
    if (o.owner === self && !held.has(ip) && !withheld.has(ip)) gained.push(ip);
  }
  for (const ip of held) {
    if (result.get(ip)?.owner !== self || withheld.has(ip)) lost.push(ip);
  }
  const moved: OwnerChange[] = [];
  for (const [ip, o] of result) {
    const from = previous?.get(ip)?.owner;
    if (from !== o.owner) moved.push({ ip, from, to: o.owner });
  }
  if (previous) {
    for (const [ip, o] of previous) {
      if (!result.has(ip) && o.owner !== undefined) moved.push({ ip, from: o.owner, to: undefined });
    }
  }
  gained.sort();
  lost.sort();
  moved.sort((a, b) => (a.ip < b.ip ? -1 : a.ip > b.ip ? 1 : 0));
  return { gained, lost, moved };
}
