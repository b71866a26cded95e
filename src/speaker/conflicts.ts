// Split-brain detection: another MAC claiming an IP we own. Pure: the
// announcer hands every ARP packet and Neighbor Advertisement it sees (with
// `now`) to observe(); the events that come out go to the warning log,
// metrics and Kubernetes Events.
//
// A claim is the (sender MAC, sender IP) of an ARP request or reply, or the
// (target link-layer address, target address) of an NA. Not claims: ARP
// probes and IPv6 DAD (unspecified sender address: the prober is asking, and
// our answer is what tells it to back off), and our own MACs (our frames
// looped back by a bridge, or our other interfaces).
//
// Reporting is rate-limited so a flood cannot spam: per (IP, MAC), the first
// claim is reported at once, later ones are counted and reported at most once
// per reportIntervalMs with the count; a global token bucket caps the events
// of all pairs together (a flood spraying random MACs); the number of pairs
// tracked is bounded. A pair silent for resolveAfterMs is reported resolved.

import { formatAddress, isParseError, parseIp } from '../config/ip-range.ts';

export type ClaimKind = 'arp-request' | 'arp-reply' | 'na';

export interface ObservedClaim {
  kind: ClaimKind;
  /** ARP sender hardware address, or the NA's target link-layer address (else its Ethernet source). */
  mac: string;
  /** ARP sender protocol address, or the NA's target address, in canonical text (as formatIp prints it). */
  ip: string;
  /** Interface the packet arrived on. */
  interface?: string | undefined;
}

export interface ConflictOptions {
  /** Per (IP, MAC): after a report, further claims are only counted for this long. Default 60 s. */
  reportIntervalMs: number;
  /** A pair with no claim for this long is over: a 'conflict-resolved' event. Default 120 s. */
  resolveAfterMs: number;
  /** Most (IP, MAC) pairs tracked; beyond, the longest silent one is forgotten. Default 1024. */
  maxTracked: number;
  /** All pairs together: at most this many events per reportIntervalMs (token bucket). Default 20. */
  maxEventsPerInterval: number;
}

const DEFAULT_CONFLICT_OPTIONS: Readonly<ConflictOptions> = Object.freeze({
  reportIntervalMs: 60_000,
  resolveAfterMs: 120_000,
  maxTracked: 1024,
  maxEventsPerInterval: 20,
});

export interface ConflictEvent {
  type: 'conflict' | 'conflict-resolved';
  ip: string;
  mac: string;
  /** Kind and interface of the latest claim. */
  kind: ClaimKind;
  interface: string | undefined;
  firstSeenMs: number;
  lastSeenMs: number;
  /** Claims seen from this MAC for this IP since first seen. */
  claims: number;
  /** Claims since the previous report of this pair that were not reported. */
  suppressed: number;
  /** Events of any pair dropped by the global cap since the previous event went out. */
  droppedEvents: number;
  message: string;
}

interface Tracked {
  kind: ClaimKind;
  iface: string | undefined;
  firstSeen: number;
  lastSeen: number;
  /** undefined: never reported (or the report was dropped by the global cap). */
  lastReported: number | undefined;
  claims: number;
  suppressed: number;
}

/** The form claims are compared in (RFC 5952 for IPv6): what a frame decodes to. */
function canonicalIp(text: string): string {
  const ip = parseIp(text);
  return isParseError(ip) ? text : formatAddress(ip);
}

export class ConflictDetector {
  readonly #options: ConflictOptions;
  #owned = new Set<string>();
  #ownMacs = new Set<string>();
  /** ip -> mac -> state. Nested so a flood from one MAC allocates no key strings. */
  readonly #pairs = new Map<string, Map<string, Tracked>>();
  #tracked = 0;
  #tokens: number;
  #tokensAt: number | undefined;
  #dropped = 0;

  constructor(options: Partial<ConflictOptions> = {}) {
    this.#options = { ...DEFAULT_CONFLICT_OPTIONS, ...options };
    const o = this.#options;
    if (!(o.reportIntervalMs > 0 && o.resolveAfterMs > 0 && o.maxTracked >= 1 && o.maxEventsPerInterval >= 1)) {
      throw new RangeError('conflict detector: intervals and limits must be positive');
    }
    this.#tokens = o.maxEventsPerInterval;
  }

  /**
   * An IP we announce from now on. One at a time, not the whole set: a node
   * taking 1,000 IPs at once called this per IP, and rebuilding the set each
   * time (every IP parsed again) was a tenth of the takeover's CPU.
   */
  ownIp(text: string): void {
    this.#owned.add(canonicalIp(text));
  }

  /** An IP we no longer announce: its pairs are forgotten without an event. */
  disownIp(text: string): void {
    const ip = canonicalIp(text);
    this.#owned.delete(ip);
    const macs = this.#pairs.get(ip);
    if (macs === undefined) return;
    this.#tracked -= macs.size;
    this.#pairs.delete(ip);
  }

  /** Our interfaces' MACs (any case, ':' or '-' separated). */
  setOwnMacs(macs: Iterable<string>): void {
    const own = new Set<string>();
    for (const mac of macs) own.add(normalizeMac(mac) ?? mac.toLowerCase());
    this.#ownMacs = own;
  }

  /** One ARP packet or NA seen at `now`; an event when it must be reported. */
  observe(claim: ObservedClaim, now: number): ConflictEvent | undefined {
    // Cheap checks first: nearly every packet is about an IP we do not own.
    if (!this.#owned.has(claim.ip)) return undefined;
    if (claim.ip === '0.0.0.0' || claim.ip === '::') return undefined;
    const mac = normalizeMac(claim.mac);
    if (mac === undefined || mac === '00:00:00:00:00:00' || this.#ownMacs.has(mac)) return undefined;

    let macs = this.#pairs.get(claim.ip);
    if (!macs) {
      macs = new Map();
      this.#pairs.set(claim.ip, macs);
    }
    let t = macs.get(mac);
    if (!t) {
      if (this.#tracked >= this.#options.maxTracked) this.#evictOldest();
      t = { kind: claim.kind, iface: claim.interface, firstSeen: now, lastSeen: now, lastReported: undefined, claims: 0, suppressed: 0 };
      macs.set(mac, t);
      this.#tracked++;
    }
    t.kind = claim.kind;
    t.iface = claim.interface;
    t.lastSeen = now;
    t.claims++;
    if (t.lastReported !== undefined && now - t.lastReported < this.#options.reportIntervalMs) {
      t.suppressed++;
      return undefined;
    }
    if (!this.#takeToken(now)) {
      t.suppressed++;
      return undefined;
    }
    const event = this.#event('conflict', claim.ip, mac, t);
    t.lastReported = now;
    t.suppressed = 0;
    return event;
  }

  /**
   * When another MAC last claimed `ip` (rate limits aside: every claim
   * counts), or undefined when none is tracked.
   */
  lastClaimMs(ip: string): number | undefined {
    const parsed = parseIp(ip);
    const macs = this.#pairs.get(isParseError(parsed) ? ip : formatAddress(parsed));
    if (macs === undefined) return undefined;
    let last: number | undefined;
    for (const t of macs.values()) if (last === undefined || t.lastSeen > last) last = t.lastSeen;
    return last;
  }

  /** Pairs silent for resolveAfterMs are over; the reported ones yield 'conflict-resolved'. */
  sweep(now: number): ConflictEvent[] {
    const out: ConflictEvent[] = [];
    for (const [ip, macs] of this.#pairs) {
      for (const [mac, t] of macs) {
        if (now - t.lastSeen < this.#options.resolveAfterMs) continue;
        macs.delete(mac);
        this.#tracked--;
        if (t.lastReported !== undefined && this.#takeToken(now)) out.push(this.#event('conflict-resolved', ip, mac, t));
      }
      if (macs.size === 0) this.#pairs.delete(ip);
    }
    return out;
  }

  /** The pairs currently tracked (for a gauge): those claimed in the last resolveAfterMs, as of the last sweep. */
  active(): Array<{ ip: string; mac: string }> {
    const out: Array<{ ip: string; mac: string }> = [];
    for (const [ip, macs] of this.#pairs) for (const mac of macs.keys()) out.push({ ip, mac });
    return out;
  }

  #takeToken(now: number): boolean {
    const { maxEventsPerInterval: capacity, reportIntervalMs } = this.#options;
    if (this.#tokensAt !== undefined && now > this.#tokensAt) {
      this.#tokens = Math.min(capacity, this.#tokens + ((now - this.#tokensAt) * capacity) / reportIntervalMs);
    }
    if (this.#tokensAt === undefined || now > this.#tokensAt) this.#tokensAt = now;
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      return true;
    }
    this.#dropped++;
    return false;
  }

  #evictOldest(): void {
    let oldestIp: string | undefined;
    let oldestMac: string | undefined;
    let oldest = Infinity;
    for (const [ip, macs] of this.#pairs) {
      for (const [mac, t] of macs) {
        if (t.lastSeen < oldest) {
          oldest = t.lastSeen;
          oldestIp = ip;
          oldestMac = mac;
        }
      }
    }
    if (oldestIp === undefined || oldestMac === undefined) return;
    const macs = this.#pairs.get(oldestIp)!;
    macs.delete(oldestMac);
    if (macs.size === 0) this.#pairs.delete(oldestIp);
    this.#tracked--;
  }

  #event(type: ConflictEvent['type'], ip: string, mac: string, t: Tracked): ConflictEvent {
    const dropped = this.#dropped;
    this.#dropped = 0;
    const via = t.iface ? `${t.kind} on ${t.iface}` : t.kind;
    let message: string;
    if (type === 'conflict') {
      message = `IP ${ip}, which this node announces, is also claimed by ${mac} (${via}): two hosts answer for one IP`;
      if (t.suppressed > 0) {
        message +=
          t.lastReported === undefined
            ? `; ${t.suppressed} earlier claims held back by the rate limit`
            : `; ${t.suppressed} more claims since the last report`;
      }
    } else {
      message = `IP ${ip} is no longer claimed by ${mac} (${t.claims} claims, last ${via})`;
    }
    if (dropped > 0) message += ` (${dropped} other conflict events dropped by the rate limit)`;
    return {
      type,
      ip,
      mac,
      kind: t.kind,
      interface: t.iface,
      firstSeenMs: t.firstSeen,
      lastSeenMs: t.lastSeen,
      claims: t.claims,
      suppressed: t.suppressed,
      droppedEvents: dropped,
      message,
    };
  }
}

/** Lower-case, ':'-separated, two digits per byte; undefined when not a 6-byte MAC. */
export function normalizeMac(text: string): string | undefined {
  if (text.length === 17 && /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/.test(text)) return text;
  const parts = text.split(/[:-]/);
  if (parts.length !== 6) return undefined;
  let out = '';
  for (const part of parts) {
    if (!/^[0-9a-fA-F]{1,2}$/.test(part)) return undefined;
    out += (out ? ':' : '') + part.toLowerCase().padStart(2, '0');
  }
  return out;
}
