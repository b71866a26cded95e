// A byte relay between a TCP address and a Unix socket, so processes inside
// a lab network namespace reach the API server on the host's loopback without
// any host interface: the file system (and so a Unix socket) is shared across
// network namespaces, loopback is not.
//
//   host:       unix:<run dir>/api.sock  ->  tcp:127.0.0.1:PORT (the API server)
//   namespace:  tcp:127.0.0.1:PORT       ->  unix:<run dir>/api.sock
//
// Run as a process: node test/support/relay.ts --listen SPEC --connect SPEC
//   prints "relay ready <listen>" on stdout once listening;
//   SIGUSR1 holds traffic (a partition: bytes wait, new connections wait),
//   SIGUSR2 releases it; SIGTERM/SIGINT exit, and with --exit-with-stdin so
//   does stdin EOF (the parent that spawned us died without stopping us).

import { once } from 'node:events';
import { rmSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';

export type RelayEndpoint = { kind: 'tcp'; host: string; port: number } | { kind: 'unix'; path: string };

/** `tcp:HOST:PORT` (IPv6 hosts in brackets) or `unix:/path`. */
export function parseRelayEndpoint(spec: string): RelayEndpoint {
  if (spec.startsWith('unix:')) {
    const path = spec.slice(5);
    if (path === '') throw new Error(`relay endpoint "${spec}": empty socket path`);
    return { kind: 'unix', path };
  }
  const m = /^tcp:(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(spec);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port < 1 || port > 65535) throw new Error(`relay endpoint "${spec}": expected tcp:HOST:PORT or unix:/path`);
  return { kind: 'tcp', host: (m[1] ?? m[2])!, port };
}

export function formatRelayEndpoint(e: RelayEndpoint): string {
  return e.kind === 'unix' ? `unix:${e.path}` : `tcp:${e.host.includes(':') ? `[${e.host}]` : e.host}:${e.port}`;
}

export interface Relay {
  /** Where it listens (a TCP port asked as 0 is filled in). */
  readonly listening: RelayEndpoint;
  /** Open client connections (held ones included). */
  readonly connections: number;
  readonly held: boolean;
  /** Holds (true) or releases (false) all traffic, as a network partition that heals would. */
  hold(on: boolean): void;
  /** Stops listening and closes every connection. */
  close(): Promise<void>;
}

interface Pair {
  client: Socket;
  upstream: Socket | undefined;
}

export async function startRelay(listen: RelayEndpoint, target: RelayEndpoint): Promise<Relay> {
  const pairs = new Set<Pair>();
  let held = false;

  const connectUpstream = (pair: Pair): void => {
    const upstream =
      target.kind === 'unix' ? connect({ path: target.path, allowHalfOpen: true }) : connect({ host: target.host, port: target.port, allowHalfOpen: true, noDelay: true });
    pair.upstream = upstream;
    // An error (connect refused, reset) ends the other side abruptly too; a
    // clean end travels through pipe() so buffered bytes still arrive.
    upstream.on('error', () => pair.client.destroy());
    upstream.once('connect', () => {
      if (!held) join(pair);
    });
  };

  const join = (pair: Pair): void => {
    // pipe() carries half-close (end) across and resumes paused sockets.
    pair.client.pipe(pair.upstream!);
    pair.upstream!.pipe(pair.client);
  };

  const server: Server = createServer({ allowHalfOpen: true, noDelay: true }, (client) => {
    const pair: Pair = { client, upstream: undefined };
    pairs.add(pair);
    client.on('error', () => pair.upstream?.destroy());
    client.on('close', () => {
      pairs.delete(pair);
      // Closed before the upstream connected, or while held: nobody else ends it.
      if (pair.upstream && !pair.upstream.destroyed && !pair.upstream.writableEnded) pair.upstream.end();
    });
    if (held) client.pause();
    else connectUpstream(pair);
  });

  if (listen.kind === 'unix') rmSync(listen.path, { force: true }); // stale socket of a crashed run
  server.listen(listen.kind === 'unix' ? { path: listen.path } : { host: listen.host, port: listen.port });
  await Promise.race([
    once(server, 'listening'),
    once(server, 'error').then(([err]) => {
      throw err;
    }),
  ]);

  const bound = server.address();
  const listening: RelayEndpoint =
    listen.kind === 'tcp' && bound !== null && typeof bound === 'object' ? { kind: 'tcp', host: listen.host, port: bound.port } : listen;

  return {
    listening,
    get connections() {
      return pairs.size;
    },
    get held() {
      return held;
    },
    hold(on) {
      if (on === held) return;
      held = on;
      for (const pair of pairs) {
        if (on) {
          // Stop moving bytes; the kernel buffers fill and senders stall, as
          // they would behind a dead link.
          if (pair.upstream) {
            pair.client.unpipe(pair.upstream);
            pair.upstream.unpipe(pair.client);
            pair.upstream.pause();
          }
          pair.client.pause();
        } else if (pair.upstream === undefined) {
          connectUpstream(pair);
        } else if (pair.upstream.connecting) {
          // its 'connect' handler joins it
        } else {
          join(pair);
        }
      }
    },
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const pair of pairs) {
        pair.client.destroy();
        pair.upstream?.destroy();
      }
      await closed;
    },
  };
}

async function main(argv: string[]): Promise<void> {
  let listen: string | undefined;
  let target: string | undefined;
  let exitWithStdin = false;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--exit-with-stdin') exitWithStdin = true;
    else if (argv[i] === '--listen') listen = argv[++i];
    else if (argv[i] === '--connect') target = argv[++i];
    else throw new Error(`relay: unknown argument ${argv[i]}`);
  }
  if (!listen || !target) throw new Error('usage: relay.ts [--exit-with-stdin] --listen tcp:HOST:PORT|unix:PATH --connect tcp:HOST:PORT|unix:PATH');
  const relay = await startRelay(parseRelayEndpoint(listen), parseRelayEndpoint(target));
  const exit = (): void => {
    void relay.close().finally(() => process.exit(0));
    setTimeout(() => process.exit(0), 1000).unref();
  };
  process.on('SIGTERM', exit);
  process.on('SIGINT', exit);
  process.on('SIGUSR1', () => relay.hold(true));
  process.on('SIGUSR2', () => relay.hold(false));
  if (exitWithStdin) {
    process.stdin.on('end', exit);
    process.stdin.on('error', exit);
    process.stdin.resume();
  }
  process.stdout.write(`relay ready ${listen}\n`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`relay: ${(err as Error).message}\n`);
    process.exit(1);
  });
}
