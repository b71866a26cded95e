import net from 'node:net';
import tls from 'node:tls';
import { describe, expect, test } from 'vitest';
import { MAX_HELLO_BYTES, readClientHello } from '../../../../src/proxy/http/client-hello.ts';

/** The first bytes Node's TLS client sends for `servername` (a real ClientHello). */
async function helloFor(servername: string | undefined): Promise<Buffer> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  const got = new Promise<Buffer>((resolve) => {
    server.once('connection', (s) => {
      const chunks: Buffer[] = [];
      s.on('data', (c: Buffer) => {
        chunks.push(c);
        const all = Buffer.concat(chunks);
        if (readClientHello(all).kind !== 'more') {
          resolve(all);
          s.destroy();
        }
      });
    });
  });
  const client = tls.connect({ host: '127.0.0.1', port, ...(servername !== undefined ? { servername } : {}), rejectUnauthorized: false });
  client.on('error', () => {});
  const hello = await got;
  client.destroy();
  server.close();
  return hello;
}

describe('readClientHello', () => {
  test('the SNI of a real ClientHello, lowercased', async () => {
    expect(readClientHello(await helloFor('Pass.Example.com'))).toEqual({ kind: 'hello', sni: 'pass.example.com' });
  });

  test('fed one byte at a time: "more" until the whole message is there', async () => {
    const hello = await helloFor('a.example.com');
    for (let n = 0; n < hello.length; n++) expect(readClientHello(hello.subarray(0, n)).kind).toBe('more');
    expect(readClientHello(hello)).toEqual({ kind: 'hello', sni: 'a.example.com' });
  });

  test('a ClientHello split over two handshake records', async () => {
    const hello = await helloFor('split.example.com');
    const body = hello.subarray(5);
    const cut = 40;
    const rec = (b: Buffer) => Buffer.concat([Buffer.from([22, 3, 1, b.length >> 8, b.length & 255]), b]);
    expect(readClientHello(Buffer.concat([rec(body.subarray(0, cut)), rec(body.subarray(cut))]))).toEqual({ kind: 'hello', sni: 'split.example.com' });
  });

  test('no server name (an IP address was dialled)', async () => {
    expect(readClientHello(await helloFor(undefined))).toEqual({ kind: 'hello', sni: undefined });
  });

  test('plain HTTP, other record types, garbage and oversize messages are "other"', () => {
    expect(readClientHello(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'))).toEqual({ kind: 'other' });
    expect(readClientHello(Buffer.from([23, 3, 3, 0, 5, 1, 2, 3, 4, 5]))).toEqual({ kind: 'other' });
    expect(readClientHello(Buffer.from([22, 3, 1, 0, 4, 2, 0, 0, 0]))).toEqual({ kind: 'other' });
    const big = Buffer.alloc(MAX_HELLO_BYTES + 10);
    big.set([22, 3, 1, 0x40, 0x00, 1, 0x01, 0x00, 0x00]);
    expect(readClientHello(big)).toEqual({ kind: 'other' });
  });

  test('a truncated message inside a complete record is "other", not a wait', () => {
    // A record that claims the whole handshake but whose ClientHello fields run past its end.
    const body = Buffer.from([1, 0, 0, 6, 3, 3, 0, 0, 0, 0]);
    expect(readClientHello(Buffer.concat([Buffer.from([22, 3, 1, 0, body.length]), body])).kind).toBe('other');
  });
});
