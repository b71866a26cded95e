import { describe, expect, test } from 'vitest';
import { Base64Decoder, Base64Encoder, grpcWebMode, toGrpcContentType, toGrpcWebContentType, trailerFrame } from '../../../../src/proxy/http/grpc-web-codec.ts';

describe('gRPC-Web content types', () => {
  test.each([
    ['application/grpc-web', 'binary', 'application/grpc'],
    ['application/grpc-web+proto', 'binary', 'application/grpc+proto'],
    ['application/grpc-web-text', 'text', 'application/grpc'],
    ['Application/gRPC-Web-Text+proto', 'text', 'application/grpc+proto'],
  ] as const)('%s: %s, sent as %s', (ct, mode, grpc) => {
    expect(grpcWebMode(ct)).toBe(mode);
    expect(toGrpcContentType(ct)).toBe(grpc);
  });
  test('other types are not gRPC-Web', () => {
    for (const ct of [undefined, 'application/grpc', 'application/json', 'text/plain']) expect(grpcWebMode(ct)).toBeUndefined();
  });
  test('the answer gets the type of the request mode, its format kept', () => {
    expect(toGrpcWebContentType('application/grpc+proto', 'binary')).toBe('application/grpc-web+proto');
    expect(toGrpcWebContentType('application/grpc', 'text')).toBe('application/grpc-web-text');
    expect(toGrpcWebContentType(undefined, 'text')).toBe('application/grpc-web-text');
  });
});

describe('trailer frame', () => {
  test('0x80, big-endian length, lowercase field lines; pseudo-fields left out', () => {
    const f = trailerFrame({ 'Grpc-Status': '5', 'grpc-message': 'not found', ':status': '200', 'x-multi': ['a', 'b'] });
    const payload = 'grpc-status: 5\r\ngrpc-message: not found\r\nx-multi: a\r\nx-multi: b\r\n';
    expect(f[0]).toBe(0x80);
    expect(f.readUInt32BE(1)).toBe(payload.length);
    expect(f.subarray(5).toString('latin1')).toBe(payload);
  });
});

describe('streamed base64', () => {
  test('the encoder gives what one base64 of the whole stream gives, whatever the chunking (model check)', () => {
    let seed = 7;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n);
    for (let round = 0; round < 200; round++) {
      const data = Buffer.from(Array.from({ length: rnd(64) }, () => rnd(256)));
      const e = new Base64Encoder();
      let out = '';
      for (let i = 0; i < data.length; ) {
        const n = 1 + rnd(7);
        out += e.push(data.subarray(i, i + n));
        i += n;
      }
      out += e.end();
      expect(out).toBe(data.toString('base64'));
      // And back, through the decoder, cut anywhere.
      const d = new Base64Decoder();
      const parts: Buffer[] = [];
      for (let i = 0; i < out.length; ) {
        const n = 1 + rnd(9);
        parts.push(d.push(Buffer.from(out.slice(i, i + n), 'latin1'))!);
        i += n;
      }
      expect(d.end()).toBe(true);
      expect(Buffer.concat(parts)).toEqual(data);
    }
  });
  test('padded segments back to back (one per message) decode; junk and a cut quantum do not', () => {
    const d = new Base64Decoder();
    expect(d.push(Buffer.from(`${Buffer.from('ab').toString('base64')}${Buffer.from('cde').toString('base64')}`))!.toString()).toBe('abcde');
    expect(new Base64Decoder().push(Buffer.from('YW=j'))).toBeUndefined();
    expect(new Base64Decoder().push(Buffer.from('not base64!'))).toBeUndefined();
    const cut = new Base64Decoder();
    cut.push(Buffer.from('YWJj', 'latin1'));
    cut.push(Buffer.from('YQ', 'latin1'));
    expect(cut.end()).toBe(false);
  });
});
