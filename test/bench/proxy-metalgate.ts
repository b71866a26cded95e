// The metalgate side of the proxy benchmarks: an HTTP entrypoint (or the L4
// TCP forwarder) on 127.0.0.1:PORT in front of one backend, in one process or
// in N worker processes. Started by proxy-http.ts / proxy-l4.ts; usable alone:
//
//   node_modules/.bin/node test/bench/proxy-metalgate.ts --port 18084 --backend 127.0.0.1:18081 [--workers 2] [--mode http|tcp] [--sample 0.01] [--reads both|upstream|streams]
//
// Workers (--workers N): with --accept reuseport (default) each process listens
// itself with SO_REUSEPORT and the kernel spreads connections; with --accept
// primary one process listens and hands each accepted socket to a worker over
// IPC (what a listener manager owning the bound sockets would do; the cost is
// per connection, not per request). Prints "ready" once every process serves.

import { fork } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { EndpointSetBackend } from '../../src/proxy/http/backend.ts';
import { HttpEntrypoint } from '../../src/proxy/http/entrypoint.ts';
import { ingressRouter } from '../support/table-router.ts';
import { TcpForwarder } from '../../src/proxy/l4/tcp-forwarder.ts';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : dflt;
}

const port = Number(arg('port', '18084'));
const [bhost, bport] = arg('backend', '127.0.0.1:18081').split(':') as [string, string];
const workers = Number(arg('workers', '1'));
const mode = arg('mode', 'http');
const sample = Number(arg('sample', '0.01'));
const accept = arg('accept', 'reuseport');
const isChild = process.env.METALGATE_BENCH_CHILD === '1';

if (workers > 1 && !isChild) {
  let ready = 0;
  const children = Array.from({ length: workers }, () => {
    const c = fork(fileURLToPath(import.meta.url), process.argv.slice(2), { env: { ...process.env, METALGATE_BENCH_CHILD: '1' }, stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
    c.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes('ready') && ++ready === workers) {
        if (accept !== 'primary') {
          console.log('ready');
          return;
        }
        let next = 0;
        const primary = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, (s) => {
          children[next++ % workers]!.send('socket', s);
        });
        primary.listen({ port, host: '127.0.0.1', backlog: 4096 }, () => console.log('ready'));
      }
    });
    return c;
  });
  const stop = (): void => {
    for (const c of children) c.kill('SIGTERM');
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
} else {
  const endpoint = { ip: bhost, port: Number(bport), ready: true, serving: true, terminating: false };
  let server: net.Server;
  if (mode === 'tcp') {
    // --reads both (default, as the product's listeners: accepted paused,
    // both sides read into the flow's own buffers), upstream (only the dialed
    // side does), streams ('data' events both ways): for comparison.
    const reads = arg('reads', 'both');
    const fwd = new TcpForwarder({ pick: () => endpoint, userBuffers: reads !== 'streams' });
    server = net.createServer({ allowHalfOpen: true, pauseOnConnect: reads === 'both', noDelay: true }, (s) => fwd.handle(s));
  } else {
    const backend = new EndpointSetBackend({ name: 'bench/backend:80', endpoints: [endpoint] });
    // Access log sampled as configured, to /dev/null-like silence unless asked: the cost of deciding stays in.
    const ep = new HttpEntrypoint({ router: ingressRouter([{ backend }]), accessLogger: pino({ level: process.env.BENCH_ACCESS_LOG ? 'info' : 'silent' }), accessLogSampleRate: sample });
    server = net.createServer({ allowHalfOpen: true }, (s) => ep.handle(s, { tls: false }));
  }
  if (isChild && accept === 'primary') {
    // Sockets come from the primary; they were paused on accept.
    process.on('message', (msg, handle) => {
      if (msg === 'socket' && handle instanceof net.Socket) {
        server.emit('connection', handle);
        handle.resume();
      }
    });
    console.log('ready');
  } else {
    server.listen({ port, host: '127.0.0.1', reusePort: workers > 1, backlog: 4096 }, () => console.log('ready'));
  }
  process.on('SIGTERM', () => process.exit(0));
  process.on('SIGINT', () => process.exit(0));
}
