// How long to wait before binding IP:port again. A bind fails with
// EADDRNOTAVAIL while the IP is not (yet, or no longer) on a local interface
// - the speaker adds it to the holder device before it reports ownership, but
// an IPv6 address in DAD or someone else's hand can still lag - and with
// EADDRINUSE while an earlier socket on that IP:port (ours being closed, or a
// foreign process) holds it. Both settle by themselves: retry, quickly at
// first, then every maxMs. Pure.
//
// Node has no per-socket IP_FREEBIND and net.ipv4.ip_nonlocal_bind is a
// namespace-wide sysctl we do not want to flip, so the order is the contract:
// the speaker brings the IP up, then the proxy binds; the speaker reports loss
// before it removes the IP, and the proxy closes its listeners then.

export interface BindBackoff {
  readonly minMs: number;
  readonly maxMs: number;
}

export const DEFAULT_BIND_BACKOFF: BindBackoff = { minMs: 50, maxMs: 2000 };

/** Delay before attempt number `failures + 1` (failures >= 1). */
export function bindRetryDelayMs(failures: number, b: BindBackoff = DEFAULT_BIND_BACKOFF): number {
  const exp = Math.min(30, Math.max(0, failures - 1));
  return Math.min(b.maxMs, b.minMs * 2 ** exp);
}

/** Failures worth a warning (the first, then every 10th): the rest are debug. */
export function shouldWarnBindFailure(failures: number): boolean {
  return failures === 1 || failures % 10 === 0;
}
