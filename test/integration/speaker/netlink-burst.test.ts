// A burst of address changes through real rtnetlink, in a network namespace
// of its own (never the host's): a node that takes over hundreds of IPs at
// once adds as many addresses, and each add is an acknowledgement on the
// request socket and a notification on the link watch's. Both sockets
// overflowed with the netlink package alone (500 adds at once), and its
// poll callback then aborted the process. Now the requests are capped in
// flight (src/netlink/rtnl.ts) and the watch drops what does not fit
// without error (native/src/netlink_monitor.cc), and still hears the next
// change.
import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { labSkipReason, nodeBinary } from '../../support/netns-exec.ts';

const skipReason = labSkipReason();
const CHILD = fileURLToPath(new URL('./netlink-burst-child.ts', import.meta.url));
const NS = `mgsp-nlburst-${process.pid}`;
const N = 2000;

describe.skipIf(skipReason !== null)(`netlink under a burst of address changes${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  beforeAll(() => {
    spawnSync('ip', ['netns', 'del', NS], { stdio: 'ignore' });
    execFileSync('ip', ['netns', 'add', NS]);
    execFileSync('ip', ['-n', NS, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'peer0']);
    execFileSync('ip', ['-n', NS, 'link', 'set', 'eth0', 'up']);
  });

  afterAll(() => {
    spawnSync('ip', ['netns', 'del', NS], { stdio: 'ignore', timeout: 10_000 });
  });

  test(`${N} addresses added at once, then deleted while the watch cannot read: all added, the process lives, the watch hears the next change`, () => {
    const child = spawnSync('ip', ['netns', 'exec', NS, nodeBinary(), CHILD, String(N)], { encoding: 'utf8', timeout: 60_000 });
    // An abort (the netlink package's uncaught C++ exception) is a signal and no JSON.
    expect({ status: child.status, signal: child.signal, stderr: child.stderr.slice(-2000) }).toMatchObject({ status: 0, signal: null });
    const r = JSON.parse(child.stdout) as { added: number; failed: string[]; held: number; datagramsAfterAdds: number; datagramsOfDeletes: number; heardAfter: boolean; errors: string[] };
    expect(r.failed).toEqual([]);
    expect(r.added).toBe(N);
    expect(r.held).toBe(N);
    expect(r.datagramsAfterAdds).toBeGreaterThan(0);
    // The deletes did overflow the monitors' sockets: fewer notifications came than addresses went.
    expect(r.datagramsOfDeletes).toBeGreaterThan(0);
    expect(r.datagramsOfDeletes).toBeLessThan(N);
    expect(r.heardAfter).toBe(true);
    expect(r.errors).toEqual([]);
  });
});
