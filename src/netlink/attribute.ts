// Netlink attributes (struct nlattr, linux/netlink.h), for the messages the
// `netlink` package's typed API cannot build or read. Pure: no socket here.
// Lengths and types are in host byte order; every machine this runs on is
// little-endian (x86-64, arm64).

/** Set on the type of an attribute whose payload is itself a list of attributes. */
const NLA_F_NESTED = 0x8000;
/** The bits of nla_type that are the type (the top two are flags). */
const NLA_TYPE_MASK = 0x3fff;
const NLA_HDRLEN = 4;

/** One attribute: 2-byte length (header included, padding not), 2-byte type, payload, zero padding to 4 bytes. */
export function attribute(type: number, payload: Uint8Array): Buffer {
  const length = NLA_HDRLEN + payload.length;
  if (length > 0xffff) throw new RangeError(`netlink attribute ${type} too long: ${length} bytes`);
  const out = Buffer.alloc((length + 3) & ~3);
  out.writeUInt16LE(length, 0);
  out.writeUInt16LE(type, 2);
  out.set(payload, NLA_HDRLEN);
  return out;
}

/** An attribute holding other attributes, flagged NLA_F_NESTED. */
export function nested(type: number, children: readonly Uint8Array[]): Buffer {
  return attribute(type | NLA_F_NESTED, Buffer.concat(children));
}

export function u32Attribute(type: number, value: number): Buffer {
  const payload = Buffer.alloc(4);
  payload.writeUInt32LE(value);
  return attribute(type, payload);
}

/** A NUL-terminated string attribute (NLA_STRING / NLA_NUL_STRING). */
export function stringAttribute(type: number, value: string): Buffer {
  return attribute(type, Buffer.from(`${value}\0`, 'latin1'));
}

/**
 * The payload of the first attribute of `type` in a list of attributes (flag
 * bits ignored); undefined when absent or when the list is malformed before
 * reaching it. A view into `list`, not a copy.
 */
export function findAttribute(list: Buffer | undefined, type: number): Buffer | undefined {
  if (!list) return undefined;
  for (let offset = 0; offset + NLA_HDRLEN <= list.length; ) {
    const length = list.readUInt16LE(offset);
    if (length < NLA_HDRLEN || offset + length > list.length) return undefined;
    if ((list.readUInt16LE(offset + 2) & NLA_TYPE_MASK) === type) return list.subarray(offset + NLA_HDRLEN, offset + length);
    offset += (length + 3) & ~3;
  }
  return undefined;
}
