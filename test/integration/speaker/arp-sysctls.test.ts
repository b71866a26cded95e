// arp_ignore/arp_announce on a real kernel, in a network namespace of its
// own (veth eth0, and eth0.7 for a dotted name): set through rtnetlink and
// read back from that namespace's /proc/sys; with /proc/sys read-only and
// only the container's capabilities (NET_ADMIN, NET_RAW, NET_BIND_SERVICE),
// as a Kubernetes DaemonSet runs the speaker, the file write fails and the
// rtnetlink path still works; without NET_ADMIN the kernel refuses the
// netlink request (EPERM) and the /proc/sys fallback does the job when it is
// writable. The read-only /proc/sys lives in a private mount namespace
// (unshare --mount --propagation private): the host's stays as it is.
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { hasProgram, labSkipReason, nodeBinary, repoRoot } from '../../support/netns-exec.ts';

const NS = `mgsp-arp-${process.pid}`;
const ARP_SYSCTLS = fileURLToPath(new URL('../../../src/speaker/arp-sysctls.ts', import.meta.url));
const CONTAINER_CAPS = '-all,+net_admin,+net_raw,+net_bind_service';
const NO_NET_ADMIN = '-all,+net_raw,+net_bind_service';

function skipReason(): string | null {
  const lab = labSkipReason();
  if (lab) return lab;
  for (const tool of ['unshare', 'nsenter', 'setpriv', 'mount']) {
    if (!hasProgram(tool)) return `needs ${tool} (util-linux)`;
  }
  return null;
}
const skip = skipReason();

interface LogLine {
  level: number;
  msg: string;
  sysctl?: string;
  value?: number;
  was?: number;
  via?: string;
  err?: string;
}
interface ChildResult {
  /** Outcome of writing the current value back to /proc/sys (errno code, or "ok"). */
  probe: string;
  logs: LogLine[];
  /** /proc/sys as this child sees it after applyArpSysctls. */
  after: { arp_ignore: string; arp_announce: string };
}

/** The child: probes /proc/sys writability harmlessly, runs applyArpSysctls, prints what it saw. */
function childScript(ifname: string): string {
  return `import { readFile, writeFile } from 'node:fs/promises';
import { pino } from 'pino';
import { applyArpSysctls, sysctlPath } from ${JSON.stringify(ARP_SYSCTLS)};
const ifname = ${JSON.stringify(ifname)};
const logs = [];
const log = pino({ level: 'debug' }, { write: (s) => logs.push(JSON.parse(s)) });
let probe = 'ok';
try {
  const path = sysctlPath(ifname, 'arp_ignore');
  await writeFile(path, await readFile(path, 'utf8'));
} catch (err) {
  probe = err.code ?? err.message;
}
await applyArpSysctls(ifname, log);
const read = async (key) => (await readFile(sysctlPath(ifname, key), 'utf8')).trim();
process.stdout.write(JSON.stringify({ probe, logs, after: { arp_ignore: await read('arp_ignore'), arp_announce: await read('arp_announce') } }) + '\\n');
`;
}

/** Runs the child in the test namespace, optionally with /proc/sys read-only and fewer capabilities. */
function runChild(ifname: string, opts: { readOnlyProcSys: boolean; caps?: string }): ChildResult {
  const node = [nodeBinary(), '--input-type=module', '-e', childScript(ifname)];
  const capped = opts.caps ? ['setpriv', `--bounding-set=${opts.caps}`, '--inh-caps=-all', ...node] : node;
  const inNetns = ['nsenter', `--net=/run/netns/${NS}`, ...capped];
  const argv = opts.readOnlyProcSys
    ? [
        'unshare',
        '--mount',
        '--propagation',
        'private',
        'sh',
        '-c',
        // /proc/sys is not a mount point of its own: bind it onto itself, then make that read-only.
        'mount --bind /proc/sys /proc/sys && mount -o remount,bind,ro /proc/sys && exec "$@"',
        'sh',
        ...inNetns,
      ]
    : inNetns;
  const stdout = execFileSync(argv[0]!, argv.slice(1), { encoding: 'utf8', cwd: repoRoot, timeout: 30_000 });
  return JSON.parse(stdout) as ChildResult;
}

/** What the namespace's /proc/sys holds, read by a separate process (not the child's view). */
function nsValue(ifname: string, key: string): string {
  return execFileSync('ip', ['netns', 'exec', NS, 'cat', `/proc/sys/net/ipv4/conf/${ifname}/${key}`], { encoding: 'utf8', timeout: 10_000 }).trim();
}

function resetToZero(ifname: string): void {
  for (const key of ['arp_ignore', 'arp_announce']) {
    execFileSync('ip', ['netns', 'exec', NS, 'sh', '-c', `echo 0 > /proc/sys/net/ipv4/conf/${ifname}/${key}`], { timeout: 10_000 });
  }
}

function setLines(r: ChildResult): LogLine[] {
  return r.logs.filter((l) => l.msg === 'set ARP sysctl for the announcing interface');
}

/** Mount entries for /proc/sys in this (the host's) mount namespace. */
function hostProcSysMounts(): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((l) => l.split(' ')[4] === '/proc/sys');
}

describe.skipIf(skip !== null)(`ARP sysctls through rtnetlink${skip ? ` (skipped: ${skip})` : ''}`, () => {
  const hostMountsBefore = skip ? [] : hostProcSysMounts();

  beforeAll(() => {
    spawnSync('ip', ['netns', 'del', NS], { stdio: 'ignore' });
    execFileSync('ip', ['netns', 'add', NS]);
    execFileSync('ip', ['-n', NS, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'peer0']);
    execFileSync('ip', ['-n', NS, 'link', 'add', 'eth0.7', 'type', 'veth', 'peer', 'name', 'peer7']);
  });

  afterAll(() => {
    spawnSync('ip', ['netns', 'del', NS], { stdio: 'ignore', timeout: 10_000 });
    // The read-only bind mounts lived in private mount namespaces that died with their children.
    expect(hostProcSysMounts()).toEqual(hostMountsBefore);
  });

  beforeEach(() => {
    resetToZero('eth0');
    resetToZero('eth0.7');
  });

  test('sets both through rtnetlink; the namespace reads them back; a second run changes nothing', () => {
    const r = runChild('eth0', { readOnlyProcSys: false });
    expect(nsValue('eth0', 'arp_ignore')).toBe('1');
    expect(nsValue('eth0', 'arp_announce')).toBe('2');
    expect(nsValue('peer0', 'arp_ignore')).toBe('0'); // only the announcing interface
    expect(setLines(r).map(({ sysctl, value, was, via }) => ({ sysctl, value, was, via }))).toEqual([
      { sysctl: 'net.ipv4.conf.eth0.arp_ignore', value: 1, was: 0, via: 'rtnetlink' },
      { sysctl: 'net.ipv4.conf.eth0.arp_announce', value: 2, was: 0, via: 'rtnetlink' },
    ]);
    const again = runChild('eth0', { readOnlyProcSys: false });
    expect(setLines(again)).toEqual([]);
    expect(again.logs.filter((l) => l.msg === 'ARP sysctl already set')).toHaveLength(2);
  });

  test('/proc/sys read-only, container capabilities only: the file write fails, rtnetlink sets them', () => {
    const r = runChild('eth0', { readOnlyProcSys: true, caps: CONTAINER_CAPS });
    expect(r.probe).toBe('EROFS');
    expect(r.logs.filter((l) => l.level >= 40)).toEqual([]);
    expect(setLines(r).map((l) => [l.sysctl, l.value, l.via])).toEqual([
      ['net.ipv4.conf.eth0.arp_ignore', 1, 'rtnetlink'],
      ['net.ipv4.conf.eth0.arp_announce', 2, 'rtnetlink'],
    ]);
    expect(r.after).toEqual({ arp_ignore: '1', arp_announce: '2' }); // the child's read-only view
    expect(nsValue('eth0', 'arp_ignore')).toBe('1'); // and the namespace's, from outside
    expect(nsValue('eth0', 'arp_announce')).toBe('2');
  });

  test('without NET_ADMIN the kernel refuses rtnetlink; a writable /proc/sys is the fallback (dotted name)', () => {
    const r = runChild('eth0.7', { readOnlyProcSys: false, caps: NO_NET_ADMIN });
    expect(r.probe).toBe('ok');
    expect(setLines(r).map((l) => [l.sysctl, l.value, l.via])).toEqual([
      ['net.ipv4.conf.eth0/7.arp_ignore', 1, '/proc/sys'],
      ['net.ipv4.conf.eth0/7.arp_announce', 2, '/proc/sys'],
    ]);
    expect(nsValue('eth0.7', 'arp_ignore')).toBe('1');
    expect(nsValue('eth0.7', 'arp_announce')).toBe('2');
  });

  test('without NET_ADMIN and with /proc/sys read-only: a warning naming both failures, values unchanged', () => {
    const r = runChild('eth0', { readOnlyProcSys: true, caps: NO_NET_ADMIN });
    expect(r.probe).toBe('EROFS');
    expect(setLines(r)).toEqual([]);
    const warnings = r.logs.filter((l) => l.msg === 'could not set ARP sysctl: the kernel may answer ARP for owned IPs itself');
    expect(warnings.map((l) => l.sysctl)).toEqual(['arp_ignore', 'arp_announce']);
    expect(warnings[0]!.err).toMatch(/rtnetlink: .*EPERM.*; \/proc\/sys: .*EROFS/);
    expect(r.after).toEqual({ arp_ignore: '0', arp_announce: '0' });
  });
});
