// A tiny HTTP server for lab pods (the demo's sample app, proxy backends):
// answers every request with JSON saying who answered and what it saw.
//   node test/support/echo-server.ts [--port 8080] [--host ::] [--name NAME]
// Prints "echo-server listening HOST PORT" once it accepts connections;
// exits on SIGTERM/SIGINT after closing its listener.

import { createServer, type IncomingMessage } from 'node:http';
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';

export interface EchoReply {
  name: string;
  hostname: string;
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  remoteAddress: string | undefined;
  remotePort: number | undefined;
  localAddress: string | undefined;
  localPort: number | undefined;
  /** Bytes of request body received. */
  bodyBytes: number;
}

function main(argv: string[]): void {
  let port = 8080;
  let host = '::';
  let name = hostname();
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[++i];
    if (value === undefined) throw new Error(`echo-server: ${flag} needs a value`);
    if (flag === '--port') port = Number(value);
    else if (flag === '--host') host = value;
    else if (flag === '--name') name = value;
    else throw new Error(`echo-server: unknown flag ${flag}`);
  }
  const server = createServer((req, res) => {
    let bodyBytes = 0;
    req.on('data', (c: Buffer) => (bodyBytes += c.length));
    req.on('end', () => {
      const reply: EchoReply = {
        name,
        hostname: hostname(),
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        remoteAddress: req.socket.remoteAddress,
        remotePort: req.socket.remotePort,
        localAddress: req.socket.localAddress,
        localPort: req.socket.localPort,
        bodyBytes,
      };
      const body = `${JSON.stringify(reply)}\n`;
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-served-by': name });
      res.end(body);
    });
  });
  // '::' also accepts IPv4 (dual-stack socket) unless the namespace disabled IPv6.
  server.listen({ port, host, ipv6Only: false }, () => {
    process.stdout.write(`echo-server listening ${host} ${port}\n`);
  });
  const stop = (): void => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
    setTimeout(() => process.exit(0), 2000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    main(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(2);
  }
}
