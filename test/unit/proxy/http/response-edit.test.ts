import { describe, expect, test } from 'vitest';
import { ResponseEdit } from '../../../../src/proxy/http/response-edit.ts';

const lookup = (fields: Record<string, string>) => (lower: string) => fields[lower];
const upper = (first: Uint8Array) => Buffer.from(first).toString().toUpperCase();

describe('ResponseEdit: a field from the first body read', () => {
  test('set from the first bytes; an empty body leaves it out', () => {
    const e = new ResponseEdit(200, true, lookup({}));
    e.setHeaderFromFirstBody('x-first', upper);
    expect(e.late).toBeDefined();
    expect(e.settleLate(Buffer.from('abc'))!.addedValues('x-first')).toEqual(['ABC']);
    expect(e.late).toBeUndefined();
    const empty = new ResponseEdit(200, true, lookup({}));
    empty.setHeaderFromFirstBody('x-first', upper);
    expect(empty.settleLate(new Uint8Array(0))).toBeUndefined();
  });

  test('a field another middleware set meanwhile stays; a response without a body asks for nothing', () => {
    const e = new ResponseEdit(200, true, lookup({}));
    e.setHeaderFromFirstBody('content-type', upper);
    e.setHeader('content-type', 'application/json');
    expect(e.settleLate(Buffer.from('<html>'))!.addedValues('content-type')).toEqual(['application/json']);
    const head = new ResponseEdit(204, false, lookup({}));
    head.setHeaderFromFirstBody('content-type', upper);
    expect(head.late).toBeUndefined();
  });
});
