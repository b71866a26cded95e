// Child process for netlink-burst.test.ts, run inside a network namespace
// the test created, while the link watch listens: adds N addresses to eth0
// all at once through Rtnl, then deletes them with `ip -batch` while this
// thread waits for it (spawnSync), so that their notifications overflow
// the watch's socket; prints one JSON object.
import { spawnSync } from 'node:child_process';
import { loadNativeAddon } from '../../../src/native/addon.ts';
import { watchLinksAndAddresses } from '../../../src/netlink/link-watch.ts';
import { Rtnl } from '../../../src/netlink/rtnl.ts';

const N = Number(process.argv[2]);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const rtnl = new Rtnl();
let changes = 0;
const errors: string[] = [];
const stop = watchLinksAndAddresses(
  () => changes++,
  (err) => errors.push(err.message),
);
// A second monitor that counts the datagrams themselves: fewer than N means the burst overflowed the socket.
let datagrams = 0;
const counter = new (loadNativeAddon().NetlinkMonitor)([5], (n) => (datagrams += n), (err) => errors.push(err.message));
try {
  const link = (await rtnl.links()).find((l) => l.name === 'eth0');
  if (link === undefined) throw new Error('no eth0');
  const ips = Array.from({ length: N }, (_, i) => `198.18.${100 + Math.floor(i / 250)}.${1 + (i % 250)}`);
  const results = await Promise.allSettled(ips.map((ip) => rtnl.addAddress(link.index, ip, 32)));
  const failed = results.flatMap((r) => (r.status === 'rejected' ? [String((r.reason as Error).message)] : []));
  const held = (await rtnl.addresses()).filter((a) => a.index === link.index && a.ip.startsWith('198.18.')).length;
  await sleep(300);
  const datagramsAfterAdds = datagrams;
  // The deletes' notifications arrive while this thread is blocked: nothing reads them until they have all been sent.
  const batch = spawnSync('ip', ['-batch', '-'], { input: ips.map((ip) => `addr del ${ip}/32 dev eth0\n`).join(''), encoding: 'utf8', timeout: 30_000 });
  if (batch.status !== 0) throw new Error(`ip -batch: ${batch.stderr}`);
  await sleep(300);
  const datagramsOfDeletes = datagrams - datagramsAfterAdds;
  // After the overflow the watch still hears the next change.
  const before = changes;
  await rtnl.addAddress(link.index, '198.18.99.1', 32);
  const deadline = Date.now() + 2_000;
  while (changes === before && Date.now() < deadline) await sleep(20);
  process.stdout.write(`${JSON.stringify({ added: N - failed.length, failed: [...new Set(failed)], held, datagramsAfterAdds, datagramsOfDeletes, heardAfter: changes > before, errors })}\n`);
} finally {
  stop();
  counter.close();
  rtnl.close();
}
