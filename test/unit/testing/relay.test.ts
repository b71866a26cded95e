// The API relay on loopback and a Unix socket: no namespace needed, so these
// run everywhere. The namespace side is exercised by the lab integration test.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { formatRelayEndpoint, parseRelayEndpoint, startRelay, type Relay } from '../../support/relay.ts';

const RELAY_SCRIPT = fileURLToPath(new URL('../../../test/support/relay.ts', import.meta.url));

/** Reads from `socket` until it ends or `bytes` arrived, within `timeoutMs`. */
async function readAll(socket: Socket, timeoutMs = 3000, bytes = Infinity): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let length = 0;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`read timed out after ${length} bytes`)), timeoutMs);
    const done = (): void => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks));
    };
    socket.on('data', (c: Buffer) => {
      chunks.push(c);
      length += c.length;
      if (length >= bytes) done();
    });
    socket.on('end', done);
    socket.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

describe('relay endpoints', () => {
  it('parses and formats tcp and unix specs', () => {
    expect(parseRelayEndpoint('tcp:127.0.0.1:6443')).toEqual({ kind: 'tcp', host: '127.0.0.1', port: 6443 });
    expect(parseRelayEndpoint('tcp:[::1]:80')).toEqual({ kind: 'tcp', host: '::1', port: 80 });
    expect(parseRelayEndpoint('unix:/run/x/api.sock')).toEqual({ kind: 'unix', path: '/run/x/api.sock' });
    for (const spec of ['tcp:[::1]:80', 'tcp:127.0.0.1:1', 'unix:/a b']) expect(formatRelayEndpoint(parseRelayEndpoint(spec))).toBe(spec);
    for (const bad of ['127.0.0.1:80', 'tcp:127.0.0.1', 'tcp:127.0.0.1:0', 'tcp:127.0.0.1:70000', 'unix:', 'udp:1.2.3.4:5']) {
      expect(() => parseRelayEndpoint(bad), bad).toThrow(/relay endpoint/);
    }
  });
});

describe('relay: tcp -> unix -> tcp, as the lab chains it', () => {
  let dir: string;
  let echo: Server;
  let echoPort: number;
  const relays: Relay[] = [];
  let front: Relay;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mg-relay-'));
    // Echo server: a first chunk starting "ECHO-NOW " comes back at once;
    // everything else comes back only after the client half-closed, so the
    // tests see half-close travel through both relays.
    echo = createServer({ allowHalfOpen: true }, (s) => {
      const chunks: Buffer[] = [];
      s.on('data', (c: Buffer) => {
        if (chunks.length === 0 && c.toString().startsWith('ECHO-NOW ')) s.write(c);
        else chunks.push(c);
      });
      s.on('end', () => s.end(Buffer.concat(chunks)));
      s.on('error', () => {});
    });
    echo.listen(0, '127.0.0.1');
    await once(echo, 'listening');
    echoPort = (echo.address() as { port: number }).port;
    const sock = join(dir, 'api.sock');
    relays.push(await startRelay({ kind: 'unix', path: sock }, { kind: 'tcp', host: '127.0.0.1', port: echoPort }));
    front = await startRelay({ kind: 'tcp', host: '127.0.0.1', port: 0 }, { kind: 'unix', path: sock });
    relays.push(front);
  });

  afterEach(() => front.hold(false));

  afterAll(async () => {
    for (const r of relays) await r.close();
    echo.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const frontPort = (): number => (front.listening.kind === 'tcp' ? front.listening.port : 0);

  it('carries a megabyte both ways intact, and half-close across both hops', async () => {
    const payload = Buffer.alloc(1 << 20);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 31 + 7) & 0xff;
    const s = connect({ host: '127.0.0.1', port: frontPort(), allowHalfOpen: true });
    await once(s, 'connect');
    const reply = readAll(s, 5000);
    s.end(payload); // the server answers only after it saw our end
    expect((await reply).equals(payload)).toBe(true);
  });

  it('holds traffic (a partition) and releases it without losing bytes', async () => {
    const s = connect({ host: '127.0.0.1', port: frontPort() });
    await once(s, 'connect');
    const first = readAll(s, 3000, 11);
    s.write('ECHO-NOW a\n');
    expect((await first).toString()).toBe('ECHO-NOW a\n');

    front.hold(true);
    expect(front.held).toBe(true);
    const during: Buffer[] = [];
    s.on('data', (c: Buffer) => during.push(c));
    s.write('more');
    // A connection opened during the partition waits too.
    const late = connect({ host: '127.0.0.1', port: frontPort(), allowHalfOpen: true });
    await once(late, 'connect');
    const lateReply = readAll(late, 5000);
    late.end('late bytes');
    await sleep(300);
    expect(during).toEqual([]);
    expect(front.connections).toBe(2);

    front.hold(false);
    expect((await lateReply).toString()).toBe('late bytes');
    s.end();
    await once(s, 'close');
    expect(Buffer.concat(during).toString()).toBe('more');
  });

  it('closes the client when the upstream refuses', async () => {
    const closedPort = await new Promise<number>((resolve) => {
      const srv = createServer();
      srv.listen(0, '127.0.0.1', () => {
        const port = (srv.address() as { port: number }).port;
        srv.close(() => resolve(port));
      });
    });
    const dead = await startRelay({ kind: 'tcp', host: '127.0.0.1', port: 0 }, { kind: 'tcp', host: '127.0.0.1', port: closedPort });
    try {
      const s = connect({ host: '127.0.0.1', port: (dead.listening as { port: number }).port });
      s.on('error', () => {});
      await Promise.race([once(s, 'close'), sleep(3000).then(() => Promise.reject(new Error('client not closed')))]);
      expect(dead.connections).toBe(0);
    } finally {
      await dead.close();
    }
  });

  it('runs as a process: ready line, then exits on stdin EOF (parent gone)', async () => {
    const sock = join(dir, 'proc.sock');
    const child = spawn(process.execPath, [RELAY_SCRIPT, '--exit-with-stdin', '--listen', `unix:${sock}`, '--connect', `tcp:127.0.0.1:${echoPort}`], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const exited = once(child, 'exit');
    try {
      const [line] = (await Promise.race([once(child.stdout!, 'data'), sleep(10_000).then(() => [Buffer.from('timeout')])])) as [Buffer];
      expect(line.toString()).toBe(`relay ready unix:${sock}\n`);
      const s = connect({ path: sock, allowHalfOpen: true });
      const reply = readAll(s);
      s.end('through the process');
      expect((await reply).toString()).toBe('through the process');
      child.stdin!.end();
      const [code] = (await Promise.race([exited, sleep(3000).then(() => ['still running'])])) as [unknown];
      expect(code).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
