// Who may open a TCP route's connection and how many may be open at once:
// Traefik's TCP middlewares ipAllowList (ipWhiteList) and inFlightConn on an
// IngressRouteTCP, checked when the connection is handed over (by TLS server
// name), before any byte reaches the backend.

import { isParseError, parseCidr, parseIp, rangeContains } from '../../config/ip-range.ts';
import type { IpRange } from '../../config/types.ts';

export interface TcpLimits {
  /** CIDRs or addresses; absent: anyone. */
  readonly allow?: readonly string[];
  /** Connections open at once; absent: no limit. */
  readonly maxConnections?: number;
}

export class TcpGuard {
  readonly #ranges: IpRange[] | undefined;
  readonly #max: number;
  #open = 0;

  constructor(limits: TcpLimits) {
    this.#ranges = limits.allow?.map((text) => {
      const r = text.includes('/') ? parseCidr(text) : parseIp(text);
      if (isParseError(r)) throw new Error(`ipAllowList: ${JSON.stringify(text)}: ${r.error}`);
      return 'range' in r ? r.range : { family: r.family, first: r.value, last: r.value, source: text };
    });
    this.#max = limits.maxConnections ?? 0;
  }

  /** Counts the connection in and returns true, or returns false (the caller closes it). */
  admit(remoteAddress: string | undefined): boolean {
    if (this.#ranges !== undefined) {
      const text = (remoteAddress ?? '').startsWith('::ffff:') ? remoteAddress!.slice(7) : (remoteAddress ?? '');
      const ip = parseIp(text);
      if (isParseError(ip) || !this.#ranges.some((r) => rangeContains(r, ip))) return false;
    }
    if (this.#max > 0 && this.#open >= this.#max) return false;
    this.#open++;
    return true;
  }

  release(): void {
    if (this.#open > 0) this.#open--;
  }
}
