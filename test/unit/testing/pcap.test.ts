import { describe, expect, it } from 'vitest';

import { LINKTYPE_ETHERNET, parsePcap, PcapFormatError } from '../../support/pcap.ts';

interface Record {
  seconds: number;
  fraction: number;
  data: Buffer;
  originalLength?: number;
}

/** A pcap file built field by field, the way libpcap lays it out. */
function pcapBytes(opts: { littleEndian: boolean; nanosecond: boolean; snapLength?: number; linkType?: number; records: Record[] }): Buffer {
  const le = opts.littleEndian;
  const header = Buffer.alloc(24);
  const w32 = (b: Buffer, v: number, o: number): void => void (le ? b.writeUInt32LE(v, o) : b.writeUInt32BE(v, o));
  const w16 = (b: Buffer, v: number, o: number): void => void (le ? b.writeUInt16LE(v, o) : b.writeUInt16BE(v, o));
  w32(header, opts.nanosecond ? 0xa1b23c4d : 0xa1b2c3d4, 0);
  w16(header, 2, 4);
  w16(header, 4, 6);
  w32(header, 0, 8); // thiszone
  w32(header, 0, 12); // sigfigs
  w32(header, opts.snapLength ?? 262144, 16);
  w32(header, opts.linkType ?? LINKTYPE_ETHERNET, 20);
  const parts: Buffer[] = [header];
  for (const r of opts.records) {
    const rh = Buffer.alloc(16);
    w32(rh, r.seconds, 0);
    w32(rh, r.fraction, 4);
    w32(rh, r.data.length, 8);
    w32(rh, r.originalLength ?? r.data.length, 12);
    parts.push(rh, r.data);
  }
  return Buffer.concat(parts);
}

// An ARP request from 02:6d:67:00:00:01 (198.18.0.1) for 198.18.0.11, padded to 60 bytes.
const arpFrame = Buffer.from(
  ['ffffffffffff', '026d67000001', '0806', '0001', '0800', '06', '04', '0001', '026d67000001', 'c6120001', '000000000000', 'c612000b', '00'.repeat(18)].join(''),
  'hex',
);
const shortFrame = Buffer.from('026d6700000b026d67000001', 'hex');

describe('parsePcap', () => {
  for (const littleEndian of [true, false]) {
    it(`reads microsecond records (${littleEndian ? 'little' : 'big'} endian)`, () => {
      const file = parsePcap(
        pcapBytes({
          littleEndian,
          nanosecond: false,
          records: [
            { seconds: 1_700_000_000, fraction: 250_000, data: arpFrame },
            { seconds: 1_700_000_001, fraction: 999_999, data: shortFrame, originalLength: 1514 },
          ],
        }),
      );
      expect(file).toMatchObject({ linkType: 1, snapLength: 262144, nanosecond: false, littleEndian, versionMajor: 2, versionMinor: 4, trailingBytes: 0 });
      expect(file.frames).toHaveLength(2);
      expect(file.frames[0]!.data.equals(arpFrame)).toBe(true);
      expect(file.frames[0]!.timestampNs).toBe(1_700_000_000_250_000_000n);
      expect(file.frames[0]!.time).toBeCloseTo(1_700_000_000.25, 6);
      expect(file.frames[0]!.data.readUInt16BE(12)).toBe(0x0806);
      expect(file.frames[1]).toMatchObject({ originalLength: 1514 });
      expect(file.frames[1]!.data.equals(shortFrame)).toBe(true);
      expect(file.frames[1]!.timestampNs).toBe(1_700_000_001_999_999_000n);
    });
  }

  it('reads nanosecond timestamps exactly', () => {
    const file = parsePcap(
      pcapBytes({ littleEndian: true, nanosecond: true, records: [{ seconds: 5, fraction: 123_456_789, data: arpFrame }] }),
    );
    expect(file.nanosecond).toBe(true);
    expect(file.frames[0]!.timestampNs).toBe(5_123_456_789n);
    expect(file.frames[0]!.time).toBeCloseTo(5.123456789, 9);
  });

  it('reads an empty capture (header only)', () => {
    const file = parsePcap(pcapBytes({ littleEndian: true, nanosecond: false, records: [] }));
    expect(file.frames).toEqual([]);
    expect(file.trailingBytes).toBe(0);
  });

  it('reports, not rejects, a partial record at the end (capture still being written)', () => {
    const whole = pcapBytes({
      littleEndian: true,
      nanosecond: false,
      records: [
        { seconds: 1, fraction: 0, data: arpFrame },
        { seconds: 2, fraction: 0, data: arpFrame },
      ],
    });
    const oneAndAHalf = whole.subarray(0, whole.length - 30);
    const file = parsePcap(oneAndAHalf);
    expect(file.frames).toHaveLength(1);
    expect(file.trailingBytes).toBe(16 + arpFrame.length - 30);
    const cutInRecordHeader = parsePcap(whole.subarray(0, 24 + 16 + arpFrame.length + 7));
    expect(cutInRecordHeader.frames).toHaveLength(1);
    expect(cutInRecordHeader.trailingBytes).toBe(7);
  });

  it('masks the FCS bits out of the link type and keeps other link types', () => {
    expect(parsePcap(pcapBytes({ littleEndian: true, nanosecond: false, linkType: 0x10000001, records: [] })).linkType).toBe(1);
    expect(parsePcap(pcapBytes({ littleEndian: false, nanosecond: false, linkType: 276, records: [] })).linkType).toBe(276);
  });

  it('rejects what is not pcap, and records whose lengths lost framing', () => {
    expect(() => parsePcap(Buffer.alloc(10))).toThrow(PcapFormatError);
    expect(() => parsePcap(Buffer.from('0a0d0d0a' + '00'.repeat(40), 'hex'))).toThrow(/pcapng is not supported/);
    const tooLong = pcapBytes({ littleEndian: true, nanosecond: false, snapLength: 64, records: [{ seconds: 1, fraction: 0, data: Buffer.alloc(100) }] });
    expect(() => parsePcap(tooLong)).toThrow(/captured length 100/);
    const longerThanWire = pcapBytes({ littleEndian: true, nanosecond: false, records: [{ seconds: 1, fraction: 0, data: arpFrame, originalLength: 42 }] });
    expect(() => parsePcap(longerThanWire)).toThrow(PcapFormatError);
    const badFraction = pcapBytes({ littleEndian: true, nanosecond: false, records: [{ seconds: 1, fraction: 1_000_000, data: arpFrame }] });
    expect(() => parsePcap(badFraction)).toThrow(/fraction/);
  });

  it('accepts a Uint8Array that is not a Buffer', () => {
    const bytes = pcapBytes({ littleEndian: true, nanosecond: false, records: [{ seconds: 3, fraction: 0, data: shortFrame }] });
    const copy = new Uint8Array(bytes.length + 4).subarray(4);
    copy.set(bytes);
    expect(parsePcap(copy).frames[0]!.data.equals(shortFrame)).toBe(true);
  });
});
