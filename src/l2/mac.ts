// MAC addresses cross the l2 API as lowercase "aa:bb:cc:dd:ee:ff" strings:
// they compare with ===, log as they are and need no copying. Frames hold
// them as 6 bytes; these helpers convert between the two.

export type MacString = string;

export const BROADCAST_MAC: MacString = 'ff:ff:ff:ff:ff:ff';
export const ZERO_MAC: MacString = '00:00:00:00:00:00';

const HEX_BYTE: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const MAC_PATTERN = /^[0-9a-f]{2}([:-])[0-9a-f]{2}(\1[0-9a-f]{2}){4}$/i;

export function isMac(text: string): boolean {
  return MAC_PATTERN.test(text);
}

/** Accepts colon or dash separators in either case; throws on anything else. */
export function normalizeMac(text: string): MacString {
  if (!MAC_PATTERN.test(text)) throw new TypeError(`invalid MAC address: ${JSON.stringify(text)}`);
  return text.toLowerCase().replaceAll('-', ':');
}

/** Writes the 6 bytes of `mac` at `offset`. */
export function writeMac(mac: MacString, target: Uint8Array, offset: number): void {
  if (!MAC_PATTERN.test(mac)) throw new TypeError(`invalid MAC address: ${JSON.stringify(mac)}`);
  for (let i = 0; i < 6; i++) target[offset + i] = Number.parseInt(mac.slice(i * 3, i * 3 + 2), 16);
}

export function parseMac(text: MacString): Buffer {
  const bytes = Buffer.allocUnsafe(6);
  writeMac(text, bytes, 0);
  return bytes;
}

/** Reads 6 bytes at `offset` as a MAC string. */
export function formatMac(source: Uint8Array, offset = 0): MacString {
  if (offset < 0 || offset + 6 > source.length) throw new RangeError('MAC address runs past the end of the buffer');
  const h = HEX_BYTE;
  return `${h[source[offset]!]}:${h[source[offset + 1]!]}:${h[source[offset + 2]!]}:${h[source[offset + 3]!]}:${h[source[offset + 4]!]}:${h[source[offset + 5]!]}`;
}

/** Group bit set: broadcast or multicast, never a valid sender. */
export function isMulticastMac(mac: MacString): boolean {
  return (Number.parseInt(mac.slice(0, 2), 16) & 1) === 1;
}
