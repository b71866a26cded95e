// Reader for classic libpcap capture files (what `tcpdump -w` writes), so
// tests can look at the frames a capture in the lab saw. Pure: bytes in,
// frames out. Both byte orders and both timestamp resolutions (microsecond
// magic 0xa1b2c3d4, nanosecond magic 0xa1b23c4d) are read. A file still
// being written may end in part of a record: that tail is reported, not an
// error, so a capture can be read while it runs.

/** Link type of Ethernet II frames (LINKTYPE_ETHERNET, tcpdump's EN10MB). */
export const LINKTYPE_ETHERNET = 1;

const MAGIC_MICROSECONDS = 0xa1b2c3d4;
const MAGIC_NANOSECONDS = 0xa1b23c4d;
const FILE_HEADER_LENGTH = 24;
const RECORD_HEADER_LENGTH = 16;

export interface PcapFrame {
  /** Capture time in seconds since the epoch, with its fraction (float). */
  time: number;
  /** Capture time in nanoseconds since the epoch, exact. */
  timestampNs: bigint;
  /** Length of the frame on the wire; more than `data.length` when the snap length cut it. */
  originalLength: number;
  /** The captured bytes (a view into the file's buffer). */
  data: Buffer;
}

export interface PcapFile {
  linkType: number;
  snapLength: number;
  /** True for nanosecond timestamps. */
  nanosecond: boolean;
  littleEndian: boolean;
  versionMajor: number;
  versionMinor: number;
  frames: PcapFrame[];
  /** Bytes at the end that do not yet form a whole record (a capture still being written). */
  trailingBytes: number;
}

export class PcapFormatError extends Error {
  override name = 'PcapFormatError';
}

/** Parses a whole pcap file; throws PcapFormatError when the file header is not pcap. */
export function parsePcap(bytes: Uint8Array): PcapFile {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < FILE_HEADER_LENGTH) {
    throw new PcapFormatError(`pcap file header needs ${FILE_HEADER_LENGTH} bytes, got ${buf.length}`);
  }
  const magicLe = buf.readUInt32LE(0);
  const magicBe = buf.readUInt32BE(0);
  let littleEndian: boolean;
  let nanosecond: boolean;
  if (magicLe === MAGIC_MICROSECONDS || magicLe === MAGIC_NANOSECONDS) {
    littleEndian = true;
    nanosecond = magicLe === MAGIC_NANOSECONDS;
  } else if (magicBe === MAGIC_MICROSECONDS || magicBe === MAGIC_NANOSECONDS) {
    littleEndian = false;
    nanosecond = magicBe === MAGIC_NANOSECONDS;
  } else {
    throw new PcapFormatError(`not a pcap file (magic 0x${magicBe.toString(16).padStart(8, '0')}); pcapng is not supported`);
  }
  const u16 = (offset: number): number => (littleEndian ? buf.readUInt16LE(offset) : buf.readUInt16BE(offset));
  const u32 = (offset: number): number => (littleEndian ? buf.readUInt32LE(offset) : buf.readUInt32BE(offset));

  const snapLength = u32(16);
  // The top bits of the link-type field carry FCS information in newer files.
  const linkType = u32(20) & 0x0fffffff;
  const fractionToNs = nanosecond ? 1n : 1000n;
  const fractionLimit = nanosecond ? 1_000_000_000 : 1_000_000;
  const fractionScale = nanosecond ? 1e-9 : 1e-6;

  const frames: PcapFrame[] = [];
  let offset = FILE_HEADER_LENGTH;
  while (buf.length - offset >= RECORD_HEADER_LENGTH) {
    const seconds = u32(offset);
    const fraction = u32(offset + 4);
    const capturedLength = u32(offset + 8);
    const originalLength = u32(offset + 12);
    if (fraction >= fractionLimit) {
      throw new PcapFormatError(`record at byte ${offset}: timestamp fraction ${fraction} out of range`);
    }
    // A snap length of 0 in old files means "no limit"; a record can never
    // be longer than its wire length. A bad length means we lost framing.
    if ((snapLength > 0 && capturedLength > snapLength) || capturedLength > originalLength) {
      throw new PcapFormatError(
        `record at byte ${offset}: captured length ${capturedLength} (wire ${originalLength}, snap ${snapLength}) is corrupt`,
      );
    }
    const start = offset + RECORD_HEADER_LENGTH;
    if (buf.length - start < capturedLength) break; // partial record still being written
    frames.push({
      time: seconds + fraction * fractionScale,
      timestampNs: BigInt(seconds) * 1_000_000_000n + BigInt(fraction) * fractionToNs,
      originalLength,
      data: buf.subarray(start, start + capturedLength),
    });
    offset = start + capturedLength;
  }
  return {
    linkType,
    snapLength,
    nanosecond,
    littleEndian,
    versionMajor: u16(4),
    versionMinor: u16(6),
    frames,
    trailingBytes: buf.length - offset,
  };
}
