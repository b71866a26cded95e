// "As strict as Node", proven: every request vector is also sent as raw bytes
// to a node:http server (llhttp) on 127.0.0.1, and Node's answers must match
// our outcome, or the documented difference recorded in the vector.

import http from 'node:http';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { REQUEST_VECTORS } from './request-vectors.ts';
import type { Outcome } from './serve-simulator.ts';

let server: http.Server;
let port = 0;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let body = 0;
    req.on('data', (d: Buffer) => (body += d.length));
    req.on('end', () => {
      res.setHeader('content-length', 0);
      res.setHeader('x-info', JSON.stringify({ method: req.method, target: req.url, body }));
      res.end();
    });
  });
  // Without a listener Node drops CONNECT; answer it like any request.
  server.on('connect', (req: http.IncomingMessage, socket: net.Socket) => {
    const info = JSON.stringify({ method: req.method, target: req.url, body: 0 });
    socket.end(`HTTP/1.1 200 OK\r\ncontent-length: 0\r\nx-info: ${info}\r\n\r\n`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as net.AddressInfo).port;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

/** Sends raw bytes, half-closes, and collects everything until Node closes. */
function exchange(raw: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const parts: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('node:http did not close the connection within 5 s'));
    }, 5_000);
    socket.on('data', (d: Buffer) => parts.push(d));
    socket.on('error', () => {}); // a reset after Node's 400 is fine
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(parts).toString('latin1'));
    });
    socket.end(raw);
  });
}

/** Reads Node's answers (each carries Content-Length) into outcomes. */
function outcomes(stream: string): Outcome[] {
  const out: Outcome[] = [];
  let pos = 0;
  let sawContinue = false;
  while (pos < stream.length) {
    const end = stream.indexOf('\r\n\r\n', pos);
    if (end < 0) throw new Error(`truncated response: ${JSON.stringify(stream.slice(pos))}`);
    const lines = stream.slice(pos, end).split('\r\n');
    pos = end + 4;
    const status = Number(lines[0]!.split(' ')[1]);
    const fields = new Map(lines.slice(1).map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
    if (fields.get('transfer-encoding') === 'chunked') {
      // Node's own error answers carry an empty chunked body.
      if (!stream.startsWith('0\r\n\r\n', pos)) throw new Error('unexpected chunked body from node:http');
      pos += 5;
    } else {
      pos += Number(fields.get('content-length') ?? 0);
    }
    if (status === 100) {
      sawContinue = true;
      continue;
    }
    const info = fields.get('x-info');
    if (info === undefined) {
      out.push({ status });
    } else {
      const o: Outcome = { ...(JSON.parse(info) as Omit<Outcome, 'status'>), status };
      if (sawContinue) o.continue = true;
      out.push(o);
    }
    sawContinue = false;
  }
  return out;
}

const withoutCodes = (list: Outcome[]): Outcome[] => list.map(({ code: _code, ...rest }) => rest);

describe('node:http answers every vector as we do, or as documented', () => {
  test.each(REQUEST_VECTORS.map((v) => [v.name, v] as const))('%s', async (_name, v) => {
    const node = outcomes(await exchange(Buffer.from(v.raw, 'latin1')));
    if (v.node === undefined) {
      expect(node).toEqual(withoutCodes(v.expect));
    } else {
      expect(v.node.why.length).toBeGreaterThan(10);
      expect(node).toEqual(withoutCodes(v.node.expect));
      expect(withoutCodes(v.node.expect)).not.toEqual(withoutCodes(v.expect));
    }
  });
});
