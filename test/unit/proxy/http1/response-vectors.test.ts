// Response vectors: our exact reading under every chunking, and Node's http
// client (llhttp in response mode) reading the same bytes from a raw server.

import http from 'node:http';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { RESPONSE_VECTORS, type ResponseOutcome, readResponse } from './response-vectors.ts';
import { splits } from './serve-simulator.ts';

describe('response vectors: exact outcome under every chunking', () => {
  test.each(RESPONSE_VECTORS.map((v) => [v.name, v] as const))('%s', (_name, v) => {
    for (const chunks of splits(Buffer.from(v.raw, 'latin1'))) {
      expect(readResponse(chunks, v.method)).toEqual(v.expect);
    }
  });
});

describe('node:http client reads every vector as we do, or as documented', () => {
  let server: net.Server;
  let port = 0;
  const pending = new Map<number, Buffer>(); // client port -> bytes to answer with

  beforeAll(async () => {
    server = net.createServer((socket) => {
      socket.on('error', () => {});
      socket.once('data', () => socket.end(pending.get(socket.remotePort!) ?? Buffer.alloc(0)));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as net.AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  function nodeReads(raw: Buffer, method: string): Promise<ResponseOutcome> {
    return new Promise((resolve, reject) => {
      const info: number[] = [];
      const timer = setTimeout(() => reject(new Error('no outcome within 5 s')), 5_000);
      const done = (o: ResponseOutcome) => {
        clearTimeout(timer);
        resolve(o);
      };
      const req = http.request({ host: '127.0.0.1', port, method, agent: false });
      req.on('socket', (s) => s.on('connect', () => pending.set(s.localPort!, raw)));
      req.on('information', (i) => info.push(i.statusCode));
      req.on('response', (res) => {
        let body = 0;
        res.on('data', (d: Buffer) => (body += d.length));
        res.on('end', () => done({ status: res.statusCode!, body, info }));
        res.on('error', () => done({ error: true }));
        res.on('aborted', () => done({ error: true }));
      });
      req.on('error', () => done({ error: true }));
      req.end();
    });
  }

  const withoutCode = (o: ResponseOutcome): ResponseOutcome => ('error' in o ? { error: true } : o);

  test.each(RESPONSE_VECTORS.map((v) => [v.name, v] as const))('%s', async (_name, v) => {
    const node = await nodeReads(Buffer.from(v.raw, 'latin1'), v.method ?? 'GET');
    if (v.node === undefined) {
      expect(node).toEqual(withoutCode(v.expect));
    } else {
      expect(node).toEqual(withoutCode(v.node.expect));
      expect(withoutCode(v.node.expect)).not.toEqual(withoutCode(v.expect));
    }
  });
});
