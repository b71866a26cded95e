import { describe, expect, test } from 'vitest';
import { attribute, findAttribute, nested, stringAttribute, u32Attribute } from '../../../src/netlink/attribute.ts';

describe('netlink attributes', () => {
  test('length excludes the padding; padding is zero', () => {
    expect(attribute(5, Buffer.from([0xaa])).toString('hex')).toBe('05000500aa000000');
    expect(attribute(5, Buffer.alloc(0)).toString('hex')).toBe('04000500');
    expect(u32Attribute(0x1d, 8).toString('hex')).toBe('08001d0008000000');
    expect(stringAttribute(3, 'lo').toString('hex')).toBe('070003006c6f0000');
  });

  test('nested sets NLA_F_NESTED and wraps the children', () => {
    expect(nested(2, [u32Attribute(1, 1), u32Attribute(2, 2)]).toString('hex')).toBe('14000280' + '0800010001000000' + '0800020002000000');
  });

  test('findAttribute skips padding and other types, ignores flag bits, stops on a malformed list', () => {
    const list = Buffer.concat([stringAttribute(3, 'eth0'), nested(26, [u32Attribute(1, 7)]), u32Attribute(4, 1500)]);
    expect(findAttribute(list, 4)?.readUInt32LE(0)).toBe(1500);
    expect(findAttribute(findAttribute(list, 26), 1)?.readUInt32LE(0)).toBe(7);
    expect(findAttribute(list, 9)).toBeUndefined();
    expect(findAttribute(undefined, 3)).toBeUndefined();
    expect(findAttribute(Buffer.from('0300ffff', 'hex'), 0x3fff)).toBeUndefined(); // length below the header
    expect(() => attribute(1, Buffer.alloc(0x10000))).toThrow(RangeError);
  });
});
