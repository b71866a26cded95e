import { describe, expect, test } from 'vitest';
import { linkKind } from '../../../src/netlink/rtnl.ts';

describe('linkKind (IFLA_LINKINFO)', () => {
  test('reads IFLA_INFO_KIND, skipping other attributes', () => {
    // As the kernel sends it for an ifb: {len 8, type 1, "ifb\0"}
    expect(linkKind(Buffer.from('0800010069666200', 'hex'))).toBe('ifb');
    // IFLA_INFO_DATA (type 2) first, then the kind "veth" padded to 4.
    const data = Buffer.from('08000200aabbccdd', 'hex');
    const kind = Buffer.from('09000100766574680000000000', 'hex').subarray(0, 12);
    expect(linkKind(Buffer.concat([data, kind]))).toBe('veth');
  });

  test('absent or malformed: undefined', () => {
    expect(linkKind(undefined)).toBeUndefined();
    expect(linkKind(Buffer.from('0200', 'hex'))).toBeUndefined();
    expect(linkKind(Buffer.from('ff00010069666200', 'hex'))).toBeUndefined();
  });
});
