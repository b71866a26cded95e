// When to (re)announce each owned IP: gratuitous ARP (request and reply
// forms) for IPv4, unsolicited NA with Override for IPv6. Pure: the announcer
// passes per-IP state and `now`, sends what is due, records lastSentMs, and
// sleeps until nextWakeMs.
//
// Why a burst and then a refresh: one gratuitous ARP can be lost, or arrive
// while a neighbour still holds the old entry in its 1 s lock time (RFC 826
// replies are ignored then; the request form is not), so a takeover sends a
// short burst with growing gaps. Afterwards the IP is refreshed periodically
// because switches forget MACs that stay silent (forwarding tables age out
// after ~300 s by default, some after 60 s) and an ingress-only VIP may never
// send anything else. Sending only once is the complaint this answers.
//
// Missed steps are not caught up: after a stall the IP is sent once, and the
// burst continues with its next step after now.

import { spreadHash } from '../common/hash32.ts';

export interface AnnounceScheduleOptions {
  /** Offsets from the start of a burst; ascending, the first usually 0. Default 0, 0.1, 0.3, 0.7, 1.5, 3.1 s. */
  burstOffsetsMs: readonly number[];
  /** After the burst, announce every this often. Default 10 s. */
  refreshIntervalMs: number;
  /**
   * Each IP's refresh period is shortened by up to this fraction, chosen by a
   * hash of the IP, so that IPs taken over together drift apart instead of
   * refreshing in lock-step (switches police ARP to the CPU). Default 0.1.
   */
  refreshJitter: number;
  /**
   * Refreshes due within this window are sent early, with the current round.
   * Jitter spreads refreshes over time; without batching, thousands of IPs
   * would mean a wake-up (and a scan of every IP) per IP. Bursts are exact.
   * Default 500 ms: at most about two refresh rounds a second.
   */
  refreshBatchMs: number;
}

export const DEFAULT_ANNOUNCE_SCHEDULE: Readonly<AnnounceScheduleOptions> = Object.freeze({
  burstOffsetsMs: Object.freeze([0, 100, 300, 700, 1500, 3100]),
  refreshIntervalMs: 10_000,
  refreshJitter: 0.1,
  refreshBatchMs: 500,
});

/** Completes and checks options; throws RangeError naming the bad field. */
export function resolveAnnounceSchedule(options: Partial<AnnounceScheduleOptions> = {}): AnnounceScheduleOptions {
  const resolved = { ...DEFAULT_ANNOUNCE_SCHEDULE, ...options };
  const offsets = resolved.burstOffsetsMs;
  if (offsets.length === 0) throw new RangeError('burstOffsetsMs: at least one step is needed');
  for (let i = 0; i < offsets.length; i++) {
    const o = offsets[i]!;
    if (!Number.isFinite(o) || o < 0 || (i > 0 && o <= offsets[i - 1]!)) {
      throw new RangeError('burstOffsetsMs: must be finite, non-negative and strictly ascending');
    }
  }
  if (!(resolved.refreshIntervalMs > 0) || !Number.isFinite(resolved.refreshIntervalMs)) {
    throw new RangeError('refreshIntervalMs: must be a positive number');
  }
  if (!(resolved.refreshJitter >= 0 && resolved.refreshJitter < 1)) throw new RangeError('refreshJitter: must be in [0, 1)');
  const shortestPeriod = resolved.refreshIntervalMs * (1 - resolved.refreshJitter);
  if (!(resolved.refreshBatchMs >= 0 && resolved.refreshBatchMs < shortestPeriod / 2)) {
    throw new RangeError('refreshBatchMs: must be non-negative and under half the shortest refresh period');
  }
  return resolved;
}

export interface AnnounceState {
  ip: string;
  /**
   * Start of the current burst: when the IP was taken over. Set it again to
   * restart a burst (interface back up, MAC changed).
   */
  burstStartMs: number;
  /** When the last announcement of this IP went out; undefined if never. */
  lastSentMs?: number | undefined;
}

export type AnnounceReason = 'takeover' | 'refresh';

export interface DueAnnouncement {
  ip: string;
  reason: AnnounceReason;
  /** For 'takeover': the burst step (0-based), for logs. */
  step: number;
}

export interface AnnounceRound {
  due: DueAnnouncement[];
  /** When to call again (assuming everything due is sent at `now`); undefined with no IPs. */
  nextWakeMs: number | undefined;
}

/** The next announcement of one IP. step is -1 for a refresh. */
export interface NextAnnouncement {
  atMs: number;
  reason: AnnounceReason;
  step: number;
}

export function nextAnnouncement(
  state: AnnounceState,
  options: AnnounceScheduleOptions = DEFAULT_ANNOUNCE_SCHEDULE,
): NextAnnouncement {
  const step = nextStep(state.burstStartMs, state.lastSentMs, options.burstOffsetsMs);
  if (step >= 0) return { atMs: state.burstStartMs + options.burstOffsetsMs[step]!, reason: 'takeover', step };
  return { atMs: state.lastSentMs! + refreshPeriod(state.ip, options), reason: 'refresh', step: -1 };
}

/** Which IPs are due at `now`, and when the earliest next one is. */
export function dueAnnouncements(
  states: Iterable<AnnounceState>,
  now: number,
  options: AnnounceScheduleOptions = DEFAULT_ANNOUNCE_SCHEDULE,
): AnnounceRound {
  const offsets = options.burstOffsetsMs;
  const due: DueAnnouncement[] = [];
  let nextWake = Infinity;
  for (const state of states) {
    const start = state.burstStartMs;
    let last = state.lastSentMs;
    let step = nextStep(start, last, offsets);
    let at = step >= 0 ? start + offsets[step]! : last! + refreshPeriod(state.ip, options);
    if (at <= (step >= 0 ? now : now + options.refreshBatchMs)) {
      due.push({ ip: state.ip, reason: step >= 0 ? 'takeover' : 'refresh', step: Math.max(step, 0) });
      // As if sent now: the next step after now, or the first refresh.
      last = now;
      step = nextStep(start, last, offsets);
      at = step >= 0 ? start + offsets[step]! : now + refreshPeriod(state.ip, options);
    }
    if (at < nextWake) nextWake = at;
  }
  return { due, nextWakeMs: nextWake === Infinity ? undefined : nextWake };
}

/** The burst step due after `last`, or -1 when the burst is over. */
function nextStep(start: number, last: number | undefined, offsets: readonly number[]): number {
  if (last === undefined || last < start) return 0;
  for (let i = 0; i < offsets.length; i++) if (start + offsets[i]! > last) return i;
  return -1;
}

/** The IP's refresh period: the interval shortened by its own share of the jitter. */
export function refreshPeriod(ip: string, options: AnnounceScheduleOptions = DEFAULT_ANNOUNCE_SCHEDULE): number {
  if (options.refreshJitter === 0) return options.refreshIntervalMs;
  return Math.round(options.refreshIntervalMs * (1 - options.refreshJitter * (spreadHash(ip) / 0x1_0000_0000)));
}

