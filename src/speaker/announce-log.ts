// The log lines of an announcement round that covers many IPs at once (the
// periodic refresh, a peer leaving): one line per interface and address
// family listing the IPs, where the per-IP announcements (a takeover's
// burst, a defence) keep one line each. Pure: what was sent in, lines out.
//
// Why: with one line per refreshed IP, 1,000 IPs at the 10 s refresh logged
// 100 lines a second (about 28 KB/s, 2.4 GB a day per node) saying nothing
// new; grouped, every announcement is still in the log, by IP, in a few
// lines per round (the schedule sends at most one round per 500 ms).

export type RoundReason = 'refresh' | 'peer-left';

/** One IP announced in the round. */
export interface RoundAnnouncement {
  readonly ip: string;
  readonly v6: boolean;
  readonly interface: string;
  readonly mac: string;
}

export interface RoundLine {
  readonly msg: string;
  readonly fields: { interface: string; mac: string; reason: RoundReason; ips: string[] };
}

/**
 * At most this many IPs per line: 200 IPv6 addresses in full are under 9 KB,
 * below the 16 KiB at which container runtimes split a log line
 * (containerd's max_container_log_line_size).
 */
export const IPS_PER_LINE = 200;

export const announcedMessage = (v6: boolean, several: boolean): string =>
  `announced IP${several ? 's' : ''} ${v6 ? '(unsolicited NA)' : '(gratuitous ARP, request and reply)'}`;

/** The round's lines: per interface and family, in the order first sent, IPs in the order sent. */
export function roundLines(reason: RoundReason, sent: readonly RoundAnnouncement[]): RoundLine[] {
  const groups = new Map<string, { first: RoundAnnouncement; ips: string[] }>();
  for (const a of sent) {
    const key = `${a.interface} ${a.v6 ? 6 : 4}`;
    const g = groups.get(key);
    if (g) g.ips.push(a.ip);
    else groups.set(key, { first: a, ips: [a.ip] });
  }
  const lines: RoundLine[] = [];
  for (const { first, ips } of groups.values()) {
    for (let i = 0; i < ips.length; i += IPS_PER_LINE) {
      lines.push({ msg: announcedMessage(first.v6, true), fields: { interface: first.interface, mac: first.mac, reason, ips: ips.slice(i, i + IPS_PER_LINE) } });
    }
  }
  return lines;
}
