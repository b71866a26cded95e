// Who may open a TCP route's connection and how many may be open at once:
// Traefik's TCP middlewares ipAllowList (ipWhiteList) and inFlightConn on an
// IngressRouteTCP, checked when the connection is handed over (by TLS server
// name, or on accept on an entry point of its own), before any byte reaches
// the backend. inFlightConn counts per client IP, as Traefik's does: one
// client at its limit does not lock the others out.

import { isParseError, parseCidr, parseIp, rangeContains } from '../../config/ip-range.ts';
import type { IpRange } from '../../config/types.ts';
import { plainIp } from './plain-ip.ts';

export interface TcpLimits {
  /** CIDRs or addresses; absent: anyone. */
  readonly allow?: readonly string[];
  /** Connections one client IP may have open at once; absent: no limit. */
  readonly maxConnections?: number;
}

/** Ends an admitted connection's count; calling it again does nothing. */
export type TcpRelease = () => void;

const NOTHING_TO_RELEASE: TcpRelease = () => {};

export class TcpGuard {
  readonly #ranges: IpRange[] | undefined;
  readonly #max: number;
  /** Connections open now, by client address. */
  readonly #open = new Map<string, number>();

  constructor(limits: TcpLimits) {
    this.#ranges = limits.allow?.map((text) => {
      const r = text.includes('/') ? parseCidr(text) : parseIp(text);
      if (isParseError(r)) throw new Error(`ipAllowList: ${JSON.stringify(text)}: ${r.error}`);
      return 'range' in r ? r.range : { family: r.family, first: r.value, last: r.value, source: text };
    });
    this.#max = limits.maxConnections ?? 0;
  }

  /** Counts the connection in and returns how to count it out, or undefined: refused (the caller closes it). */
  admit(remoteAddress: string | undefined): TcpRelease | undefined {
    const text = plainIp(remoteAddress);
    if (this.#ranges !== undefined) {
      const ip = parseIp(text);
      if (isParseError(ip) || !this.#ranges.some((r) => rangeContains(r, ip))) return undefined;
    }
    if (this.#max === 0) return NOTHING_TO_RELEASE;
    const open = this.#open.get(text) ?? 0;
    if (open >= this.#max) return undefined;
    this.#open.set(text, open + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.#open.get(text) ?? 1) - 1;
      if (left > 0) this.#open.set(text, left);
      else this.#open.delete(text);
    };
  }
}
