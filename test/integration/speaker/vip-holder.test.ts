// The holder device through real rtnetlink, in a network namespace of its
// own (never the host's): created (dummy, else ifb with a log line), refused
// when the name belongs to another kind of link, IPs added and removed
// idempotently, IPv6 without duplicate address detection, leftovers flushed.
import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { labSkipReason, nodeBinary } from '../../support/netns-exec.ts';

const skipReason = labSkipReason();
const CHILD = fileURLToPath(new URL('./holder-child.ts', import.meta.url));
const NS = `mgsp-holder-${process.pid}`;

describe.skipIf(skipReason !== null)(`VipHolder in a network namespace${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  beforeAll(() => {
    spawnSync('ip', ['netns', 'del', NS], { stdio: 'ignore' });
    execFileSync('ip', ['netns', 'add', NS]);
    execFileSync('ip', ['-n', NS, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'peer0']);
  });

  afterAll(() => {
    spawnSync('ip', ['netns', 'del', NS], { stdio: 'ignore', timeout: 10_000 });
  });

  test('create, refuse, add, remove, flush', () => {
    const stdout = execFileSync('ip', ['netns', 'exec', NS, nodeBinary(), CHILD], { encoding: 'utf8', timeout: 30_000 });
    const r = JSON.parse(stdout) as Record<string, unknown>;
    expect(String(r.refused)).toContain('holder device eth0 exists and is a veth link');
    expect(r.created).toBe(true);
    expect(r.createdAgain).toBe(false);
    expect((r.link as { kind: string }).kind).toMatch(/^(dummy|ifb)$/);
    expect((r.link as { up: boolean }).up).toBe(true);
    expect(r.held).toEqual(['198.18.0.77', '2001:db8::77']);
    expect(r.afterRemove).toEqual(['2001:db8::77']);
    expect(r.createdByNextRun).toBe(false);
    expect(r.flushed).toEqual(['198.18.0.78/32', '2001:db8::77/128']);
    expect(r.afterFlush).toEqual([]);
    if ((r.link as { kind: string }).kind === 'ifb') {
      expect(r.logs).toContain('this kernel has no dummy link type: holding the IPs on an ifb device instead');
    }
    expect(r.logs).toContain('removed addresses a previous run left on the holder device');
  });

  test('IPv6 addresses on the holder carry nodad', () => {
    execFileSync('ip', ['-n', NS, 'addr', 'flush', 'dev', 'mgtest0']);
    const script = `import { Rtnl } from ${JSON.stringify(fileURLToPath(new URL('../../../src/netlink/rtnl.ts', import.meta.url)))};
const r = new Rtnl(); const l = (await r.links()).find((x) => x.name === 'mgtest0'); await r.addAddress(l.index, '2001:db8::99', 128); r.close();`;
    execFileSync('ip', ['netns', 'exec', NS, nodeBinary(), '--input-type=module', '-e', script], { timeout: 30_000 });
    const addrs = JSON.parse(execFileSync('ip', ['-n', NS, '-j', 'addr', 'show', 'dev', 'mgtest0'], { encoding: 'utf8' })) as Array<{
      addr_info: Array<{ local: string; nodad?: boolean; tentative?: boolean }>;
    }>;
    const a = addrs[0]!.addr_info.find((x) => x.local === '2001:db8::99');
    expect(a?.nodad).toBe(true);
    expect(a?.tentative).toBeFalsy();
  });
});
