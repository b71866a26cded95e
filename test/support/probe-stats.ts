// Reading a prober's samples (http-prober.ts): where traffic stopped and when
// it came back. Pure.

export interface ProbeSample {
  /** When the probe started, ms since the epoch. */
  t: number;
  /** How long it took, ms. */
  ms: number;
  ok: boolean;
  status?: number;
  /** The x-served-by header (echo-server.ts sets it to the pod or node name). */
  by?: string;
  /** Error code when it failed: ECONNREFUSED, EHOSTUNREACH, TIMEOUT, ... */
  err?: string;
}

export interface Outage {
  /** Start of the first failed probe. */
  start: number;
  /** Start of the first successful probe after it (undefined: not back yet). */
  end: number | undefined;
  /** end - start, or undefined while it lasts. */
  ms: number | undefined;
  failures: number;
}

/** Runs of consecutive failed probes, in order. */
export function outages(samples: readonly ProbeSample[]): Outage[] {
  const out: Outage[] = [];
  let current: Outage | undefined;
  for (const s of samples) {
    if (!s.ok) {
      if (!current) out.push((current = { start: s.t, end: undefined, ms: undefined, failures: 0 }));
      current.failures++;
    } else if (current) {
      current.end = s.t;
      current.ms = s.t - current.start;
      current = undefined;
    }
  }
  return out;
}

/**
 * Milliseconds from `since` (a fault's time) until a probe that started at
 * or after it succeeded and satisfies `accept` (e.g. served by a node other
 * than the dead one), ended in that success; undefined when none did.
 */
export function restoredAfter(samples: readonly ProbeSample[], since: number, accept: (s: ProbeSample) => boolean = () => true): number | undefined {
  for (const s of samples) {
    if (s.t >= since && s.ok && accept(s)) return s.t + s.ms - since;
  }
  return undefined;
}
