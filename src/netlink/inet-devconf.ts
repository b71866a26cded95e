// IPv4 per-device configuration over rtnetlink: the values behind
// /proc/sys/net/ipv4/conf/<if>/*. The kernel also takes them in RTM_SETLINK,
// IFLA_AF_SPEC > AF_INET > IFLA_INET_CONF holding one u32 attribute per
// value, typed by its IPV4_DEVCONF_* index (inet_validate_link_af and
// inet_set_link_af in net/ipv4/devinet.c). rtnetlink checks CAP_NET_ADMIN in
// the network namespace, not whether /proc/sys is writable: that is what lets
// an unprivileged container with NET_ADMIN set them.
// Reading is not symmetric: RTM_GETLINK reports IFLA_INET_CONF as a flat
// array of u32 where entry i holds IPV4_DEVCONF_(i+1) (inet_fill_link_af).
// Pure: builds request payloads (ifinfomsg + attributes; the socket adds the
// nlmsghdr) and reads reply payloads.

import { attribute, findAttribute, nested, stringAttribute, u32Attribute } from './attribute.ts';

const AF_INET = 2;
// linux/rtnetlink.h
export const RTM_NEWLINK = 16;
const RTM_GETLINK = 18;
export const RTM_SETLINK = 19;
// linux/if_link.h
const IFLA_IFNAME = 3;
const IFLA_AF_SPEC = 26;
const IFLA_EXT_MASK = 29;
const IFLA_INET_CONF = 1;
const RTEXT_FILTER_SKIP_STATS = 1 << 3;
// struct ifinfomsg: family u8, pad u8, type u16, index s32, flags u32, change u32
const IFINFOMSG_SIZE = 16;
const IFNAMSIZ = 16;

// linux/ip.h, enum starting at IPV4_DEVCONF_FORWARDING=1
export const IPV4_DEVCONF_ARP_ANNOUNCE = 18;
export const IPV4_DEVCONF_ARP_IGNORE = 19;

/** One IPv4 per-device setting: its IPV4_DEVCONF_* index and value. */
export interface InetConfValue {
  id: number;
  value: number;
}

/** A link by ifindex, or by name (the kernel looks the name up when the index is 0). */
export type LinkRef = number | string;

function linkHeader(link: LinkRef): Buffer[] {
  const header = Buffer.alloc(IFINFOMSG_SIZE); // AF_UNSPEC; flags and change 0: link flags untouched
  if (typeof link === 'number') {
    if (!Number.isInteger(link) || link <= 0 || link > 0x7fffffff) throw new RangeError(`bad ifindex ${link}`);
    header.writeInt32LE(link, 4);
    return [header];
  }
  const bytes = Buffer.byteLength(link, 'latin1');
  if (bytes === 0 || bytes >= IFNAMSIZ) throw new RangeError(`bad interface name ${JSON.stringify(link)}`);
  return [header, stringAttribute(IFLA_IFNAME, link)];
}

/** RTM_SETLINK payload setting `values` on `link`. */
export function encodeSetInetConf(link: LinkRef, values: readonly InetConfValue[]): Buffer {
  if (values.length === 0) throw new RangeError('no IPv4 device setting to set');
  const settings = values.map(({ id, value }) => {
    if (!Number.isInteger(id) || id < 1 || id > 0x3fff) throw new RangeError(`bad IPV4_DEVCONF index ${id}`);
    if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) throw new RangeError(`bad value ${value} for IPV4_DEVCONF ${id}`);
    return u32Attribute(id, value);
  });
  const afSpec = nested(IFLA_AF_SPEC, [nested(AF_INET, [nested(IFLA_INET_CONF, settings)])]);
  return Buffer.concat([...linkHeader(link), afSpec]);
}

/** RTM_GETLINK payload asking for one link, without statistics. */
export function encodeGetLink(link: LinkRef): Buffer {
  const extMask = Buffer.alloc(4);
  extMask.writeUInt32LE(RTEXT_FILTER_SKIP_STATS);
  return Buffer.concat([...linkHeader(link), attribute(IFLA_EXT_MASK, extMask)]);
}

/**
 * The IPv4 settings in an RTM_NEWLINK payload, IPV4_DEVCONF_* index to
 * value; undefined when the link reports none (no IPv4 on it, or a
 * malformed message).
 */
export function decodeInetConf(linkMessage: Buffer): Map<number, number> | undefined {
  if (linkMessage.length < IFINFOMSG_SIZE) return undefined;
  const afSpec = findAttribute(linkMessage.subarray(IFINFOMSG_SIZE), IFLA_AF_SPEC);
  const conf = findAttribute(findAttribute(afSpec, AF_INET), IFLA_INET_CONF);
  if (!conf) return undefined;
  const out = new Map<number, number>();
  for (let i = 0; i + 4 <= conf.length; i += 4) out.set(i / 4 + 1, conf.readUInt32LE(i));
  return out;
}
