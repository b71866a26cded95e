// Pure leader-election decision over a coordination.k8s.io Lease.
//
// Expiry is judged by *our* clock from the moment we observed the lease
// record last change, never by comparing the holder's renewTime with our
// clock: two nodes' clocks may disagree by more than a lease duration.

export interface LeaseRecord {
  holder: string;
  /** leaseDurationSeconds in ms. */
  durationMs: number;
  /** renewTime as written by the holder (opaque: only compared for change). */
  renewTime: string;
  transitions: number;
}

export interface Observation {
  record: LeaseRecord;
  /** Our monotonic ms when `record` was first seen in this form. */
  seenAt: number;
}

export type LeaseAction =
  | { kind: 'create' }
  | { kind: 'renew' }
  | { kind: 'acquire'; transitions: number }
  | { kind: 'wait'; holder: string; expiresInMs: number };

/** Updates the observation: the clock restarts only when the record changes. */
export function observe(prev: Observation | undefined, record: LeaseRecord | undefined, now: number): Observation | undefined {
  if (!record) return undefined;
  if (
    prev &&
    prev.record.holder === record.holder &&
    prev.record.renewTime === record.renewTime &&
    prev.record.durationMs === record.durationMs
  ) {
    return prev;
  }
  return { record, seenAt: now };
}

export function decide(identity: string, obs: Observation | undefined, exists: boolean, now: number): LeaseAction {
  if (!exists) return { kind: 'create' };
  if (!obs || obs.record.holder === '') return { kind: 'acquire', transitions: (obs?.record.transitions ?? 0) + 1 };
  if (obs.record.holder === identity) return { kind: 'renew' };
  const expiresInMs = obs.seenAt + obs.record.durationMs - now;
  if (expiresInMs <= 0) return { kind: 'acquire', transitions: obs.record.transitions + 1 };
  return { kind: 'wait', holder: obs.record.holder, expiresInMs };
}
