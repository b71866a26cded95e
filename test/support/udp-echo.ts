// A tiny UDP peer for lab tests of UDP forwarding.
//   serve: node test/support/udp-echo.ts --port 5353 [--name NAME]
//          answers each datagram with JSON {name, remoteAddress, text};
//          prints "udp-echo listening PORT"
//   ask:   node test/support/udp-echo.ts --send HOST PORT [--text T]
//                 [--from-port P] [--timeout-ms MS]
//          sends one datagram (resent every 200 ms, 3 s in all by default)
//          and prints "udp-echo reply <json>", or "udp-echo no reply" and
//          exits 1. --from-port sends from a fixed port, so two runs are one
//          flow to conntrack.
import dgram from 'node:dgram';
import net from 'node:net';
import { hostname } from 'node:os';

const argv = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
};

const send = argv.indexOf('--send');
if (send >= 0) {
  const host = argv[send + 1]!;
  const port = Number(argv[send + 2]);
  const text = flag('text') ?? 'ping';
  const fromPort = Number(flag('from-port') ?? 0);
  const socket = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
  const fail = setTimeout(() => {
    console.log('udp-echo no reply');
    process.exit(1);
  }, Number(flag('timeout-ms') ?? 3000));
  socket.on('message', (msg) => {
    clearTimeout(fail);
    console.log(`udp-echo reply ${msg.toString()}`);
    socket.close();
    process.exit(0);
  });
  const ping = (): void => {
    socket.send(text, port, host);
  };
  // An ICMP error may surface as a socket error: keep trying until the deadline.
  socket.on('error', () => {});
  socket.bind(fromPort, () => {
    ping();
    setInterval(ping, 200).unref();
  });
} else {
  const port = Number(flag('port') ?? 5353);
  const name = flag('name') ?? hostname();
  const socket = dgram.createSocket({ type: 'udp6', ipv6Only: false });
  socket.on('message', (msg, rinfo) => {
    socket.send(JSON.stringify({ name, remoteAddress: rinfo.address.replace(/^::ffff:/, ''), text: msg.toString() }), rinfo.port, rinfo.address);
  });
  socket.bind(port, '::', () => console.log(`udp-echo listening ${port}`));
  const stop = (): void => {
    socket.close(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
