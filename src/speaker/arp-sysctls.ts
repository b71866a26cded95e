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
//
// How: rtnetlink first (RTM_SETLINK, see src/netlink/inet-devconf.ts), then
// /proc/sys if that fails. rtnetlink needs only CAP_NET_ADMIN, which the
// speaker has wherever it can work at all (it puts owned IPs on the holder
// device the same way), while /proc/sys is read-only in an unprivileged
// container; it also sets both values in one message. /proc/sys stays as
// the fallback for a kernel or sandbox that refuses the netlink request.
// Either way the values are read back from the kernel before they are
// reported as set.
// Both act on the caller's network namespace.

import { readFile, writeFile } from 'node:fs/promises';
import type { Logger } from 'pino';

import { IPV4_DEVCONF_ARP_ANNOUNCE, IPV4_DEVCONF_ARP_IGNORE, type InetConfValue } from '../netlink/inet-devconf.ts';
import { Rtnl } from '../netlink/rtnl.ts';

export const ARP_SYSCTLS = [
  { key: 'arp_ignore', id: IPV4_DEVCONF_ARP_IGNORE, value: 1 },
  { key: 'arp_announce', id: IPV4_DEVCONF_ARP_ANNOUNCE, value: 2 },
] as const;

type ArpSysctl = (typeof ARP_SYSCTLS)[number];
type ArpKey = ArpSysctl['key'];

/** How a value was written, as logged. */
export type SetVia = 'rtnetlink' | '/proc/sys';

/** The kernel's IPv4 per-device settings, two ways. Tests may pass their own. */
export interface ArpSysctlAccess {
  /** IPV4_DEVCONF_* index to value. */
  readNetlink(ifname: string): Promise<ReadonlyMap<number, number>>;
  setNetlink(ifname: string, values: readonly InetConfValue[]): Promise<void>;
  readProc(path: string): Promise<string>;
  writeProc(path: string, value: string): Promise<void>;
  close(): void;
}

/** /proc/sys path of an IPv4 conf key: the interface name as it is, dots included (VLAN eth0.7 is conf/eth0.7/). */
export function sysctlPath(ifname: string, key: string): string {
  return `/proc/sys/net/ipv4/conf/${ifname}/${key}`;
}

/** The key as sysctl(8) spells it: there dots separate levels, so a dot in the interface name becomes a slash. */
export function sysctlKey(ifname: string, key: string): string {
  return `net.ipv4.conf.${ifname.replaceAll('.', '/')}.${key}`;
}

/** The real kernel: one rtnetlink socket, opened on first use, closed by close(). */
export function kernelArpSysctlAccess(): ArpSysctlAccess {
  let rtnl: Rtnl | undefined;
  const socket = (): Rtnl => (rtnl ??= new Rtnl());
  return {
    readNetlink: (ifname) => socket().inetConf(ifname),
    setNetlink: (ifname, values) => socket().setInetConf(ifname, values),
    readProc: (path) => readFile(path, 'utf8'),
    writeProc: (path, value) => writeFile(path, value),
    close: () => rtnl?.close(),
  };
}

type Values = Map<ArpKey, number>;

/** Current values through rtnetlink, else /proc/sys; throws when neither answers. */
async function readValues(ifname: string, access: ArpSysctlAccess): Promise<Values> {
  const out: Values = new Map();
  try {
    const conf = await access.readNetlink(ifname);
    for (const s of ARP_SYSCTLS) {
      const v = conf.get(s.id);
      if (v !== undefined) out.set(s.key, v);
    }
    if (out.size === ARP_SYSCTLS.length) return out;
  } catch {
    // /proc/sys below answers, or says why not.
  }
  for (const s of ARP_SYSCTLS) out.set(s.key, Number((await access.readProc(sysctlPath(ifname, s.key))).trim()));
  return out;
}

/** Writes `wanted`, rtnetlink first; returns how, or throws both failures. */
async function writeValues(ifname: string, wanted: readonly ArpSysctl[], access: ArpSysctlAccess): Promise<SetVia> {
  let netlinkError: Error;
  try {
    await access.setNetlink(ifname, wanted.map(({ id, value }) => ({ id, value })));
    return 'rtnetlink';
  } catch (err) {
    netlinkError = err as Error;
  }
  try {
    for (const s of wanted) await access.writeProc(sysctlPath(ifname, s.key), String(s.value));
    return '/proc/sys';
  } catch (err) {
    throw new Error(`rtnetlink: ${netlinkError.message}; /proc/sys: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Sets arp_ignore/arp_announce on `ifname` (rtnetlink, else /proc/sys) and
 * logs each value it changed as read back from the kernel; never throws (a
 * failure is logged as a warning).
 */
export async function applyArpSysctls(ifname: string, log: Logger, access: ArpSysctlAccess = kernelArpSysctlAccess()): Promise<void> {
  let wanted: readonly ArpSysctl[] = ARP_SYSCTLS;
  try {
    let before: Values | undefined;
    try {
      before = await readValues(ifname, access);
    } catch {
      // Unknown: set both and see.
    }
    wanted = ARP_SYSCTLS.filter((s) => before?.get(s.key) !== s.value);
    for (const s of ARP_SYSCTLS) {
      if (!wanted.includes(s)) log.debug({ interface: ifname, sysctl: s.key, value: s.value }, 'ARP sysctl already set');
    }
    if (wanted.length === 0) return;
    const via = await writeValues(ifname, wanted, access);
    const after = await readValues(ifname, access);
    for (const s of wanted) {
      const fields = { interface: ifname, sysctl: sysctlKey(ifname, s.key), value: after.get(s.key), was: before?.get(s.key), via };
      if (after.get(s.key) === s.value) log.info(fields, 'set ARP sysctl for the announcing interface');
      else log.warn({ ...fields, wanted: s.value }, 'ARP sysctl written but reads back another value: the kernel may answer ARP for owned IPs itself');
    }
  } catch (err) {
    for (const s of wanted) {
      log.warn(
        { interface: ifname, sysctl: s.key, err: (err as Error).message },
        'could not set ARP sysctl: the kernel may answer ARP for owned IPs itself',
      );
    }
  } finally {
    access.close();
  }
}
