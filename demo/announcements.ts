// The speakers' announcement lines, read back from their JSON logs and told
// in a few lines: the announcer logs one info line per gratuitous ARP / NA
// of a takeover (reason takeover with its burst step), one per refresh round
// listing its IPs (reason refresh, `ips`), and one per ARP/NS answered
// (reason reply, rate-limited). Also the ownership lines ("took
// over IP" / "gave up IP"). Pure: log text in, records and lines out.

export type AnnounceReason = 'takeover' | 'refresh' | 'reply';

export interface Announcement {
  node: string;
  /** ISO time from the log line. */
  time: string;
  ip: string;
  reason: AnnounceReason;
  interface: string;
  mac: string;
  services: string[];
  /** Burst step of a takeover. */
  step?: number;
  /** Who was answered (reply). */
  to?: { mac: string; ip: string };
  msg: string;
}

export interface OwnershipChange {
  node: string;
  time: string;
  ip: string;
  owned: boolean;
  why?: string;
}

function jsonLines(text: string): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      out.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // a line cut short (process killed mid-write)
    }
  }
  return out;
}

const REASONS = new Set<string>(['takeover', 'refresh', 'reply']);

/** The announcement lines of one speaker's log. */
export function parseAnnouncements(node: string, logText: string): Announcement[] {
  const out: Announcement[] = [];
  for (const l of jsonLines(logText)) {
    if (typeof l.reason !== 'string' || !REASONS.has(l.reason) || typeof l.mac !== 'string') continue;
    // A round over many IPs (refresh) is one line listing them.
    const ips = typeof l.ip === 'string' ? [l.ip] : Array.isArray(l.ips) ? l.ips.filter((ip): ip is string => typeof ip === 'string') : [];
    const to = l.to as { mac?: unknown; ip?: unknown } | undefined;
    for (const ip of ips) {
      out.push({
        node,
        time: String(l.time ?? ''),
        ip,
        reason: l.reason as AnnounceReason,
        interface: String(l.interface ?? ''),
        mac: l.mac,
        services: Array.isArray(l.services) ? l.services.map(String) : [],
        ...(typeof l.step === 'number' ? { step: l.step } : {}),
        ...(to && typeof to.mac === 'string' && typeof to.ip === 'string' ? { to: { mac: to.mac, ip: to.ip } } : {}),
        msg: String(l.msg ?? ''),
      });
    }
  }
  return out;
}

/** "took over IP" / "gave up IP" lines of one speaker's log. */
export function parseOwnership(node: string, logText: string): OwnershipChange[] {
  const out: OwnershipChange[] = [];
  for (const l of jsonLines(logText)) {
    if (typeof l.ip !== 'string' || typeof l.msg !== 'string') continue;
    const took = l.msg.startsWith('took over IP');
    if (!took && !l.msg.startsWith('gave up IP')) continue;
    out.push({ node, time: String(l.time ?? ''), ip: l.ip, owned: took, ...(typeof l.why === 'string' ? { why: l.why } : {}) });
  }
  return out;
}

/** HH:MM:SS.mmm of an ISO time (as logged), or the text as is. */
export function clockOf(iso: string): string {
  const m = /T(\d\d:\d\d:\d\d(?:\.\d{1,3})?)/.exec(iso);
  return m ? m[1]! : iso;
}

export function formatAnnouncement(a: Announcement): string {
  const what =
    a.reason === 'takeover'
      ? `takeover${a.step !== undefined ? ` step ${a.step}` : ''}`
      : a.reason === 'reply'
        ? `reply to ${a.to ? `${a.to.ip} (${a.to.mac})` : '?'}`
        : 'refresh';
  const services = a.services.length ? ` for ${a.services.join(', ')}` : '';
  return `${clockOf(a.time)} ${a.node}: ${a.ip} on ${a.interface} ${a.mac} reason=${a.reason} (${what})${services} - ${a.msg}`;
}

/**
 * A short account of the announcements: per node, IP and reason, the first
 * line as logged and how many more of the same kind followed. In time order
 * of each group's first line.
 */
export function summarizeAnnouncements(all: readonly Announcement[]): string[] {
  const groups = new Map<string, { first: Announcement; more: number }>();
  for (const a of [...all].sort((x, y) => x.time.localeCompare(y.time))) {
    const key = `${a.node} ${a.ip} ${a.reason}`;
    const g = groups.get(key);
    if (g) g.more++;
    else groups.set(key, { first: a, more: 0 });
  }
  return [...groups.values()].map(({ first, more }) => {
    const tail = more > 0 ? ` [+${more} more ${first.reason} line${more === 1 ? '' : 's'}]` : '';
    return `${formatAnnouncement(first)}${tail}`;
  });
}
