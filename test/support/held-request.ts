// One HTTP request sent in two halves on one connection, for handover tests:
//   node test/support/held-request.ts HOST PORT GO_FILE [TIMEOUT_MS]
// Connects, sends the request head without its final empty line, prints
// "held <local port>", then waits (polling, bounded by TIMEOUT_MS, default
// 10 s) until GO_FILE exists, sends the empty line and prints "answer
// <body>" or "error <code>". Exits 0 either way; the test reads the line.

import { existsSync } from 'node:fs';
import { connect } from 'node:net';

const [host, portText, goFile, timeoutText] = process.argv.slice(2);
if (!host || !portText || !goFile) {
  console.error('usage: held-request.ts HOST PORT GO_FILE [TIMEOUT_MS]');
  process.exit(2);
}
const deadline = Date.now() + Number(timeoutText ?? 10_000);
const hostHeader = host.includes(':') ? `[${host}]` : host;
let answer = '';
let done = false;
const finish = (line: string): void => {
  if (done) return;
  done = true;
  console.log(line);
  process.exit(0);
};
const socket = connect(Number(portText), host, () => {
  socket.write(`GET / HTTP/1.1\r\nHost: ${hostHeader}\r\nConnection: close\r\n`);
  console.log(`held ${socket.localPort}`);
  const wait = setInterval(() => {
    if (existsSync(goFile)) {
      clearInterval(wait);
      socket.write('\r\n');
    } else if (Date.now() > deadline) {
      clearInterval(wait);
      finish('error GO_FILE never appeared');
    }
  }, 5);
});
socket.setEncoding('utf8');
socket.on('data', (d: string) => (answer += d));
socket.on('end', () => finish(`answer ${answer.slice(answer.indexOf('\r\n\r\n') + 4)}`));
socket.on('error', (err: NodeJS.ErrnoException) => finish(`error ${err.code ?? err.message}`));
setTimeout(() => finish('error no answer in time'), Math.max(0, deadline - Date.now()) + 5000).unref();
