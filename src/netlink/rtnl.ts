// Thin adapter over the `netlink` package's rtnetlink socket: the few link
// and address operations the speaker needs, in plain types (./types.ts).
// Every request works on the network namespace the process was in when the
// socket was opened. Failures throw Errors whose `code` is the errno name
// (EEXIST, ENOTSUP, EPERM, ...), as Node's own system errors do.

import { util } from '../common/builtins.ts';
import { createRtNetlink, rt, type NetlinkMessage, type RtNetlinkSocket } from 'netlink';

import { formatIpv4, formatIpv6, writeIpv4, writeIpv6 } from '../l2/ip-bytes.ts';
import { formatMac } from '../l2/mac.ts';
import { attribute, findAttribute } from './attribute.ts';
import { decodeInetConf, encodeGetLink, encodeSetInetConf, RTM_NEWLINK, RTM_SETLINK, type InetConfValue, type LinkRef } from './inet-devconf.ts';
import type { AddressInfo, LinkInfo } from './types.ts';

const AF_INET = 2;
const AF_INET6 = 10;
// netlink message types and flags (linux/netlink.h, linux/rtnetlink.h)
const NLMSG_ERROR = 2;
const RTM_GETLINK = 18;
const RTM_GETADDR = 22;
const NLM_F_REQUEST = 0x1;
const NLM_F_DUMP = 0x300;
const NLM_F_EXCL = 0x200;
const NLM_F_CREATE = 0x400;
// nested IFLA_LINKINFO attribute (linux/if_link.h)
const IFLA_INFO_KIND = 1;
const IFLA_EXT_MASK = 29;
const RTEXT_FILTER_SKIP_STATS = 1 << 3;

const REQUEST_TIMEOUT_MS = 5_000;
/**
 * Requests in flight on the socket at once. The kernel queues each one's
 * acknowledgement on the socket, and when its receive buffer (about 200 KiB
 * by default) is full it drops the acknowledgement and flags the socket
 * with ENOBUFS, on which the netlink package's poll callback aborts the
 * process: 500 address adds at once did that (a node taking over 500 IPs).
 * 32 acknowledgements take a few dozen KiB, and 2,000 adds take 0.3 s
 * this way (test/integration/speaker/netlink-burst.test.ts).
 */
const MAX_REQUESTS_IN_FLIGHT = 32;

export type NetlinkError = Error & { code: string; operation: string };

/** Wraps a rejection of the netlink package ("Request rejected: EEXIST") as an Error with `code`. */
function netlinkError(operation: string, err: unknown): NetlinkError {
  const message = err instanceof Error ? err.message : String(err);
  const errno = /\b(E[A-Z0-9]+)\b/.exec(message)?.[1] ?? (err as { code?: string } | null)?.code;
  const code = errno ?? 'EUNKNOWN';
  return Object.assign(new Error(`${operation}: ${errno ?? message}`, { cause: err }), { code, operation });
}

async function call<T>(operation: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    throw netlinkError(operation, err);
  }
}

/** The IFLA_INFO_KIND string inside a raw IFLA_LINKINFO attribute. */
export function linkKind(linkinfo: Buffer | undefined): string | undefined {
  return findAttribute(linkinfo, IFLA_INFO_KIND)?.toString('latin1').replace(/\0+$/, '');
}

function errnoName(errno: number): string {
  try {
    return util.getSystemErrorName(-errno);
  } catch {
    return String(errno);
  }
}

function ipBytes(ip: string): { family: number; bytes: Buffer } {
  if (ip.includes(':')) {
    const bytes = Buffer.alloc(16);
    writeIpv6(ip, bytes, 0);
    return { family: AF_INET6, bytes };
  }
  const bytes = Buffer.alloc(4);
  writeIpv4(ip, bytes, 0);
  return { family: AF_INET, bytes };
}

export class Rtnl {
  readonly #socket: RtNetlinkSocket;
  #closed = false;
  #dumps: Promise<unknown> = Promise.resolve();
  #inFlight = 0;
  /** Requests waiting for a place in flight, first come first served. */
  readonly #waiting: Array<() => void> = [];

  constructor() {
    this.#socket = createRtNetlink();
  }

  async links(): Promise<LinkInfo[]> {
    // ifinfomsg (all zero: every family, every link) and IFLA_EXT_MASK: no statistics, smaller messages.
    const extMask = Buffer.alloc(4);
    extMask.writeUInt32LE(RTEXT_FILTER_SKIP_STATS);
    const request = Buffer.concat([Buffer.alloc(16), attribute(IFLA_EXT_MASK, extMask)]);
    const messages = await this.#dump('list links', RTM_GETLINK, request);
    const out: LinkInfo[] = [];
    for (const message of messages) {
      const { data, attrs } = rt.parseLinkMessage(message.data);
      if (data.index === undefined || attrs.ifname === undefined) continue;
      const flags = data.flags ?? {};
      out.push({
        index: data.index,
        name: attrs.ifname,
        kind: linkKind(attrs.linkinfo),
        hwType: String(data.type ?? ''),
        mac: attrs.address?.length === 6 ? formatMac(attrs.address) : undefined,
        up: flags.up === true,
        carrier: attrs.carrier !== undefined ? attrs.carrier === 1 : flags.lowerUp === true,
        master: attrs.master || undefined,
        noArp: flags.noarp === true,
      });
    }
    return out;
  }

  async addresses(): Promise<AddressInfo[]> {
    const messages = await this.#dump('list addresses', RTM_GETADDR, Buffer.alloc(8));
    const out: AddressInfo[] = [];
    for (const message of messages) {
      const { data, attrs } = rt.parseAddressMessage(message.data);
      // IFA_LOCAL is the local address on point-to-point links; IFA_ADDRESS otherwise.
      const raw = data.family === AF_INET ? (attrs.local ?? attrs.address) : attrs.address;
      if (data.index === undefined || raw === undefined) continue;
      if (data.family === AF_INET && raw.length === 4) {
        out.push(address(data.index, 4, formatIpv4(raw), data, attrs.flags));
      } else if (data.family === AF_INET6 && raw.length === 16) {
        out.push(address(data.index, 6, formatIpv6(raw), data, attrs.flags));
      }
    }
    return out;
  }

  /**
   * Adds ip/prefixLength to the link. IPv6 addresses get `nodad`: usable at
   * once, without the ~1 s of duplicate address detection. An address that
   * is already there is not an error.
   */
  async addAddress(index: number, ip: string, prefixLength: number): Promise<void> {
    const { family, bytes } = ipBytes(ip);
    const v6 = family === AF_INET6;
    try {
      await this.#request(`add ${ip}/${prefixLength}`, () =>
        this.#socket.newAddress(
          { family, prefixlen: prefixLength, index, ...(v6 ? { flags: { nodad: true } } : {}) },
          v6 ? { address: bytes, flags: { nodad: true } } : { local: bytes, address: bytes },
          { flags: NLM_F_CREATE | NLM_F_EXCL, timeout: REQUEST_TIMEOUT_MS },
        ),
      );
    } catch (err) {
      if ((err as NetlinkError).code !== 'EEXIST') throw err;
    }
  }

  /** Removes ip/prefixLength from the link; an address that is not there is not an error. */
  async deleteAddress(index: number, ip: string, prefixLength: number): Promise<void> {
    const { family, bytes } = ipBytes(ip);
    try {
      await this.#request(`delete ${ip}/${prefixLength}`, () =>
        this.#socket.delAddress(
          { family, prefixlen: prefixLength, index },
          family === AF_INET ? { local: bytes, address: bytes } : { address: bytes },
          { timeout: REQUEST_TIMEOUT_MS },
        ),
      );
    } catch (err) {
      const code = (err as NetlinkError).code;
      if (code !== 'EADDRNOTAVAIL' && code !== 'ENODEV') throw err;
    }
  }

  /** Creates a link of `kind` ("dummy", "ifb", ...); EEXIST when the name is taken, ENOTSUP/EOPNOTSUPP for an unknown kind. */
  async createLink(name: string, kind: string): Promise<void> {
    const linkinfo = attribute(IFLA_INFO_KIND, Buffer.from(`${kind}\0`, 'latin1'));
    await this.#request(`create link ${name} (${kind})`, () =>
      this.#socket.newLink({}, { ifname: name, linkinfo }, { flags: NLM_F_CREATE | NLM_F_EXCL, timeout: REQUEST_TIMEOUT_MS }),
    );
  }

  async setLinkUp(index: number): Promise<void> {
    await this.#request(`set link ${index} up`, () =>
      this.#socket.setLink({ index, change: { up: true }, flags: { up: true } }, undefined, { timeout: REQUEST_TIMEOUT_MS }),
    );
  }

  /**
   * Sets IPv4 per-device settings (IPV4_DEVCONF_*: what
   * /proc/sys/net/ipv4/conf/<if>/ shows) in one RTM_SETLINK. Needs
   * CAP_NET_ADMIN in this network namespace; works with /proc/sys read-only.
   * ENODEV for an unknown link, EAFNOSUPPORT when it has no IPv4 state.
   */
  async setInetConf(link: LinkRef, values: readonly InetConfValue[]): Promise<void> {
    const payload = encodeSetInetConf(link, values);
    await this.#request(`set IPv4 settings of link ${link}`, () => this.#socket.socket.request(RTM_SETLINK, payload, { timeout: REQUEST_TIMEOUT_MS }));
  }

  /** Every IPv4 per-device setting of the link as the kernel reports it, IPV4_DEVCONF_* index to value. Needs no privilege. */
  async inetConf(link: LinkRef): Promise<Map<number, number>> {
    const operation = `read IPv4 settings of link ${link}`;
    const payload = encodeGetLink(link);
    const [messages] = await this.#request(operation, () => this.#socket.socket.request(RTM_GETLINK, payload, { timeout: REQUEST_TIMEOUT_MS }));
    const reply = messages.find((m) => m.type === RTM_NEWLINK);
    const conf = reply && decodeInetConf(reply.data);
    if (!conf) throw netlinkError(operation, new Error('ENODATA: no IPv4 settings in the reply'));
    return conf;
  }

  /** One request (not a dump), once fewer than MAX_REQUESTS_IN_FLIGHT are. */
  async #request<T>(operation: string, run: () => Promise<T>): Promise<T> {
    if (this.#inFlight < MAX_REQUESTS_IN_FLIGHT) this.#inFlight++;
    else await new Promise<void>((resolve) => this.#waiting.push(resolve));
    try {
      return await call(operation, run);
    } finally {
      // The place goes straight to the next waiting request, if any.
      const next = this.#waiting.shift();
      if (next) next();
      else this.#inFlight--;
    }
  }

  /**
   * A dump request and every reply message up to NLMSG_DONE. The netlink
   * package's request() fails a dump whose replies span more than one
   * datagram ("Multipart message not terminated properly": a handful of
   * links with IPv6 is enough), so the parts are collected here. One dump at
   * a time per socket, as the kernel requires.
   */
  #dump(operation: string, type: number, payload: Buffer): Promise<NetlinkMessage[]> {
    const run = this.#dumps.then(() => this.#dumpNow(operation, type, payload));
    this.#dumps = run.catch(() => {});
    return run;
  }

  #dumpNow(operation: string, type: number, payload: Buffer): Promise<NetlinkMessage[]> {
    const socket = this.#socket.socket;
    return new Promise<NetlinkMessage[]>((resolve, reject) => {
      const parts: NetlinkMessage[] = [];
      let seq = -1;
      const finish = (err: Error | undefined): void => {
        clearTimeout(timer);
        socket.off('message', onFinal);
        socket.off('invalid', onPart);
        if (err) reject(netlinkError(operation, err));
        else resolve(parts);
      };
      // A datagram without NLMSG_DONE arrives as 'invalid' (more to come)...
      const onPart = (_err: unknown, msgs: NetlinkMessage[] | Buffer): void => {
        if (!Array.isArray(msgs) || msgs[0]?.seq !== seq) return;
        parts.push(...msgs);
      };
      // ...and the last one, DONE removed, as 'message'.
      const onFinal = (msgs: NetlinkMessage[]): void => {
        // An empty list is a datagram holding only NLMSG_DONE: ours, as dumps run one at a time.
        if (msgs.length > 0 && msgs[0]!.seq !== seq) return;
        for (const m of msgs) {
          if (m.type === NLMSG_ERROR) {
            const errno = -m.data.readInt32LE(0);
            if (errno !== 0) return finish(new Error(errnoName(errno)));
            continue;
          }
          parts.push(m);
        }
        finish(undefined);
      };
      const timer = setTimeout(() => finish(new Error('ETIMEDOUT: no reply from the kernel')), REQUEST_TIMEOUT_MS);
      socket.on('invalid', onPart);
      socket.on('message', onFinal);
      try {
        seq = socket.send(type, payload, { flags: NLM_F_REQUEST | NLM_F_DUMP }, (err) => err && finish(err));
      } catch (err) {
        finish(err as Error);
      }
    });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#socket.socket.close();
  }
}

function address(
  index: number,
  family: 4 | 6,
  ip: string,
  data: { prefixlen?: number; scope?: number; flags?: { tentative?: true; dadfailed?: true } },
  extFlags: { tentative?: true; dadfailed?: true } | undefined,
): AddressInfo {
  const flags = extFlags ?? data.flags ?? {};
  return {
    index,
    family,
    ip,
    prefixLength: data.prefixlen ?? (family === 4 ? 32 : 128),
    scope: data.scope ?? 0,
    tentative: flags.tentative === true || flags.dadfailed === true,
  };
}
