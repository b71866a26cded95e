// ARP behaviour of an announcing interface, the values kube-proxy's strictARP
// sets:
// - arp_ignore=1: the kernel answers an ARP request only for an address
//   configured on the interface it arrived on. Owned IPs live on the holder
//   device, so the kernel never answers for them: the speaker does, and when
//   it dies the answers stop (the other speakers' takeover is not contested
//   by a kernel that still has the IP).
// - arp_announce=2: the kernel's own ARP requests use the interface's
//   primary address as sender, never an owned IP, so neighbours do not learn
//   an owned IP from routine traffic of the wrong node.
// The kernel uses the larger of conf/all and conf/<interface>, so setting the
// interface is enough. IPv6 needs nothing: Linux answers a Neighbor
// Solicitation only for addresses on the receiving interface.
// /proc/sys/net is per network namespace: this writes the caller's.

import { readFile, writeFile } from 'node:fs/promises';
import type { Logger } from 'pino';

export const ARP_SYSCTLS = [
  { key: 'arp_ignore', value: '1' },
  { key: 'arp_announce', value: '2' },
] as const;

/** /proc/sys path of an IPv4 conf key; dots in interface names (VLANs) become slashes there. */
export function sysctlPath(ifname: string, key: string): string {
  return `/proc/sys/net/ipv4/conf/${ifname.replaceAll('.', '/')}/${key}`;
}

/** Sets arp_ignore/arp_announce on `ifname`; logs what changed; never throws (a failure is logged). */
export async function applyArpSysctls(ifname: string, log: Logger): Promise<void> {
  for (const { key, value } of ARP_SYSCTLS) {
    const path = sysctlPath(ifname, key);
    try {
      const before = (await readFile(path, 'utf8')).trim();
      if (before === value) {
        log.debug({ interface: ifname, sysctl: key, value }, 'ARP sysctl already set');
        continue;
      }
      await writeFile(path, value);
      log.info({ interface: ifname, sysctl: `net.ipv4.conf.${ifname}.${key}`, value, was: before }, 'set ARP sysctl for the announcing interface');
    } catch (err) {
      log.warn(
        { interface: ifname, sysctl: key, err: (err as Error).message },
        'could not set ARP sysctl: the kernel may answer ARP for owned IPs itself',
      );
    }
  }
}
