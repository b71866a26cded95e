// A peer address as people read it: dual-stack sockets report an IPv4 client
// as "::ffff:198.18.0.1"; logs, X-Forwarded-For and per-client counts want
// "198.18.0.1", so one client is one key whichever socket it came in on.

/** Strips the IPv4-mapped prefix; undefined (a socket already gone) reads as ''. */
export function plainIp(address: string | undefined): string {
  if (address === undefined) return '';
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}
