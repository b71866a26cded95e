// Who may open a TCP route's connection and how many may be open at once:
// Traefik's TCP middlewares ipAllowList (ipWhiteList) and inFlightConn on an
// IngressRouteTCP, checked when the connection is handed over (by TLS server
// name, or on accept on an entry point of its own), before any byte reaches
// the backend. inFlightConn counts per client IP, as Traefik's does: one
// client at its limit does not lock the others out; the counts live in the
// node's shared tables (shared-limits.ts), so a client is counted once
// whichever proxy worker thread takes its connection.

import { isParseError, parseCidr, parseIp, rangeContains } from '../../config/ip-range.ts';
import type { IpRange } from '../../config/types.ts';
import { allocateSharedLimits, SharedInFlightCounts } from '../../ingress/runtime/shared-limits.ts';
import { plainIp } from './plain-ip.ts';

export interface TcpLimits {
  /** CIDRs or addresses; absent: anyone. */
  readonly allow?: readonly string[];
  /** Connections one client IP may have open at once; absent: no limit. */
  readonly maxConnections?: number;
}

/** Ends an admitted connection's count; calling it again does nothing. */
export type TcpRelease = () => void;

/** Where the open-connection counts live: the node's shared tables and this route's name in them. */
export interface TcpCountStore {
  readonly counts: SharedInFlightCounts;
  readonly id: string;
}

const NOTHING_TO_RELEASE: TcpRelease = () => {};

export class TcpGuard {
  readonly #ranges: IpRange[] | undefined;
  readonly #max: number;
  readonly #store: TcpCountStore | undefined;

  /** `store`: where to count (default, with a limit: counts of this guard's own). */
  constructor(limits: TcpLimits, store?: TcpCountStore) {
    this.#ranges = limits.allow?.map((text) => {
      const r = text.includes('/') ? parseCidr(text) : parseIp(text);
      if (isParseError(r)) throw new Error(`ipAllowList: ${JSON.stringify(text)}: ${r.error}`);
      return 'range' in r ? r.range : { family: r.family, first: r.value, last: r.value, source: text };
    });
    this.#max = limits.maxConnections ?? 0;
    this.#store = this.#max === 0 ? undefined : (store ?? { counts: new SharedInFlightCounts(allocateSharedLimits(1, 4096)), id: 'tcp' });
  }

  /** Counts the connection in and returns how to count it out, or undefined: refused (the caller closes it). */
  admit(remoteAddress: string | undefined): TcpRelease | undefined {
    const text = plainIp(remoteAddress);
    if (this.#ranges !== undefined) {
      const ip = parseIp(text);
      if (isParseError(ip) || !this.#ranges.some((r) => rangeContains(r, ip))) return undefined;
    }
    const store = this.#store;
    if (store === undefined) return NOTHING_TO_RELEASE;
    const handle = store.counts.acquire(store.id, text, this.#max);
    if (handle === -1) return undefined;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      store.counts.release(handle);
    };
  }
}
