// The native packet socket and the frame codecs against real Linux
// neighbour tables: namespace A runs ns-speaker-child.ts on its veth end,
// namespace B is the neighbour whose ARP/NDP cache must follow.
// Root only; addresses from 198.18.0.0/15 and 2001:db8::/32.

import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { asNobody } from '../helpers/as-nobody.ts';
import { PACKET_BROADCAST, PACKET_MULTICAST, PacketSocket } from '../../../src/l2/packet-socket.ts';
import { createVethPair, deleteVethPair, ipIn, namespaceSkipReason, neighbour, type VethPair, waitFor } from './netns.ts';

const skipReason = namespaceSkipReason();
const CHILD = fileURLToPath(new URL('./ns-speaker-child.ts', import.meta.url));
const LOOPBACK_CHILD = fileURLToPath(new URL('./loopback-child.ts', import.meta.url));
const OLD_MAC = '02:00:00:00:00:aa';
const WAIT_MS = 5_000;

type ChildEvent = Record<string, unknown> & { event: string };

describe.skipIf(skipReason !== null)(`packet socket in network namespaces${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  const prefix = `mgl2-${process.pid}`;
  let pair: VethPair | undefined;
  let child: ChildProcessWithoutNullStreams | undefined;
  let childExit: Promise<number | null> | undefined;
  const events: ChildEvent[] = [];
  let stderr = '';
  let macA = '';
  let macB = '';

  const send = async (command: Record<string, unknown>): Promise<ChildEvent> => {
    const seen = events.length;
    child!.stdin.write(`${JSON.stringify(command)}\n`);
    const reply = await waitFor(`child to run ${JSON.stringify(command)}`, WAIT_MS, () =>
      events.slice(seen).find((e) => (e.event === 'done' || e.event === 'failed') && e.cmd === command.cmd),
    );
    expect(reply, String(reply.message)).toMatchObject({ event: 'done' });
    return reply;
  };

  const eventAfter = (seen: number, what: string, match: (e: ChildEvent) => boolean): Promise<ChildEvent> =>
    waitFor(`${what} (child stderr: ${stderr.slice(-500)})`, WAIT_MS, () => events.slice(seen).find(match));

  /** Sends one UDP datagram from namespace B, which makes B's kernel resolve `address` first. */
  const resolveFromB = (address: string): void => {
    // Rather than ping or arping (either may be missing): any datagram makes
    // B's kernel send the same ARP request / Neighbor Solicitation first.
    const script = `const s=require('node:dgram').createSocket(process.argv[1].includes(':')?'udp6':'udp4');s.send('x',9,process.argv[1],()=>s.close())`;
    const sender = spawn('ip', ['netns', 'exec', pair!.nsB, process.execPath, '-e', script, address], {
      stdio: 'ignore',
      timeout: WAIT_MS,
    });
    sender.on('error', () => {});
  };

  const macOf = (ns: string, ifname: string): string =>
    (JSON.parse(ipIn(ns, ['-j', 'link', 'show', 'dev', ifname])) as Array<{ address: string }>)[0]!.address;

  beforeAll(async () => {
    deleteVethPair({ nsA: `${prefix}-a`, nsB: `${prefix}-b` }); // leftovers of a crashed run with this pid
    pair = createVethPair(prefix);
    ipIn(pair.nsA, ['addr', 'add', '198.18.0.1/24', 'dev', pair.ifA]);
    ipIn(pair.nsB, ['addr', 'add', '198.18.0.2/24', 'dev', pair.ifB]);
    ipIn(pair.nsA, ['-6', 'addr', 'add', '2001:db8:12::1/64', 'dev', pair.ifA, 'nodad']);
    ipIn(pair.nsB, ['-6', 'addr', 'add', '2001:db8:12::2/64', 'dev', pair.ifB, 'nodad']);
    // A long lock time in B: only a reply Linux counts as gratuitous may
    // replace a cached MAC, which is what the reply-form test checks.
    ipIn(pair.nsB, ['ntable', 'change', 'name', 'arp_cache', 'dev', pair.ifB, 'locktime', '60000']);
    macA = macOf(pair.nsA, pair.ifA);
    macB = macOf(pair.nsB, pair.ifB);

    child = spawn('ip', ['netns', 'exec', pair.nsA, process.execPath, CHILD, pair.ifA], { stdio: 'pipe' });
    childExit = new Promise((resolve) => child!.on('exit', (code) => resolve(code)));
    let partial = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      partial += chunk;
      const lines = partial.split('\n');
      partial = lines.pop()!;
      for (const line of lines) if (line.trim() !== '') events.push(JSON.parse(line) as ChildEvent);
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    const ready = await eventAfter(0, 'child ready', (e) => e.event === 'ready');
    expect(ready).toMatchObject({ mac: macA, hwType: 1 });
  });

  afterAll(async () => {
    try {
      if (child !== undefined && child.exitCode === null) {
        child.stdin.end();
        const exited = await Promise.race([childExit, new Promise((resolve) => setTimeout(() => resolve('timeout'), 3_000))]);
        if (exited === 'timeout') child.kill('SIGKILL');
      }
    } finally {
      deleteVethPair({ nsA: `${prefix}-a`, nsB: `${prefix}-b` });
    }
  });

  it('gratuitous ARP, request form, replaces a stale neighbour MAC', async () => {
    ipIn(pair!.nsB, ['neigh', 'add', '198.18.0.100', 'lladdr', OLD_MAC, 'dev', pair!.ifB, 'nud', 'stale']);
    expect(neighbour(pair!.nsB, pair!.ifB, '198.18.0.100')?.lladdr).toBe(OLD_MAC);
    await send({ cmd: 'garp-request', ip: '198.18.0.100' });
    await waitFor('B to learn the new MAC of 198.18.0.100', WAIT_MS, () =>
      neighbour(pair!.nsB, pair!.ifB, '198.18.0.100')?.lladdr === macA,
    );
  });

  it('gratuitous ARP, reply form with target MAC = own MAC, overrides within the lock time', async () => {
    for (const address of ['198.18.0.101', '198.18.0.102']) {
      ipIn(pair!.nsB, ['neigh', 'add', address, 'lladdr', OLD_MAC, 'dev', pair!.ifB, 'nud', 'stale']);
    }
    // Sent first: with a broadcast target MAC Linux waits out the lock time.
    await send({ cmd: 'garp-reply', ip: '198.18.0.102', targetMac: 'broadcast' });
    await send({ cmd: 'garp-reply', ip: '198.18.0.101' });
    await waitFor('B to learn the new MAC of 198.18.0.101', WAIT_MS, () =>
      neighbour(pair!.nsB, pair!.ifB, '198.18.0.101')?.lladdr === macA,
    );
    // The frames arrive in order, so .102's reply has been handled by now.
    expect(neighbour(pair!.nsB, pair!.ifB, '198.18.0.102')?.lladdr).toBe(OLD_MAC);
  });

  it('unsolicited Neighbor Advertisement with Override replaces a stale neighbour MAC', async () => {
    ipIn(pair!.nsB, ['-6', 'neigh', 'add', '2001:db8:12::100', 'lladdr', OLD_MAC, 'dev', pair!.ifB, 'nud', 'stale']);
    await send({ cmd: 'unsolicited-na', ip: '2001:db8:12::100' });
    await waitFor('B to learn the new MAC of 2001:db8:12::100', WAIT_MS, () =>
      neighbour(pair!.nsB, pair!.ifB, '2001:db8:12::100')?.lladdr === macA,
    );
  });

  it('receives and decodes an ARP request, and its answer resolves the IP in B', async () => {
    await send({ cmd: 'own', ip: '198.18.0.200' });
    const seen = events.length;
    resolveFromB('198.18.0.200');
    const received = await eventAfter(
      seen,
      'the ARP request for 198.18.0.200',
      (e) => e.event === 'arp' && (e.packet as { targetIp?: string } | null)?.targetIp === '198.18.0.200',
    );
    expect(received).toMatchObject({
      packetType: PACKET_BROADCAST,
      packet: { op: 1, ethDst: 'ff:ff:ff:ff:ff:ff', ethSrc: macB, senderMac: macB, senderIp: '198.18.0.2', targetIp: '198.18.0.200' },
    });
    await eventAfter(seen, 'the answer', (e) => e.event === 'answered' && e.ip === '198.18.0.200');
    const entry = await waitFor('B to resolve 198.18.0.200', WAIT_MS, () => {
      const found = neighbour(pair!.nsB, pair!.ifB, '198.18.0.200');
      return found?.lladdr === macA ? found : undefined;
    });
    expect(entry.state).toContain('REACHABLE');
  });

  it('receives and decodes a Neighbor Solicitation, and its answer resolves the IP in B', async () => {
    await send({ cmd: 'own', ip: '2001:db8:12::200' });
    const seen = events.length;
    resolveFromB('2001:db8:12::200');
    const received = await eventAfter(
      seen,
      'the Neighbor Solicitation for 2001:db8:12::200',
      (e) => e.event === 'ndp' && (e.message as { target?: string } | null)?.target === '2001:db8:12::200',
    );
    expect(received).toMatchObject({
      packetType: PACKET_MULTICAST,
      message: {
        type: 'ns',
        ethDst: '33:33:ff:00:02:00',
        ethSrc: macB,
        srcIp: '2001:db8:12::2',
        dstIp: 'ff02::1:ff00:200',
        sourceLinkAddr: macB,
      },
    });
    await eventAfter(seen, 'the answer', (e) => e.event === 'answered' && e.ip === '2001:db8:12::200');
    const entry = await waitFor('B to resolve 2001:db8:12::200', WAIT_MS, () => {
      const found = neighbour(pair!.nsB, pair!.ifB, '2001:db8:12::200');
      return found?.lladdr === macA ? found : undefined;
    });
    expect(entry.state).toContain('REACHABLE');
  });

  it('the NDP filter keeps other IPv6 out of the NDP socket', async () => {
    // The datagrams B sent after resolving reached A as IPv6/UDP: the
    // unfiltered control socket saw them, the NDP socket did not.
    const counts = await waitFor('non-NDP IPv6 frames at A', WAIT_MS, async () => {
      const reply = await send({ cmd: 'counts' });
      const result = reply.result as { ndp: number; allIpv6: number; allIpv6NotNdp: number };
      return result.allIpv6NotNdp > 0 ? result : undefined;
    });
    expect(counts.ndp).toBeGreaterThan(0);
    expect(counts.allIpv6).toBeGreaterThan(counts.ndp);
    const ndp = events.filter((e) => e.event === 'ndp');
    expect(ndp.length).toBeGreaterThanOrEqual(counts.ndp); // more may have come in since
    expect(ndp.every((e) => e.message !== null)).toBe(true);
    expect(events.filter((e) => e.event === 'arp').every((e) => e.packet !== null)).toBe(true);
    expect(events.filter((e) => e.event === 'error')).toEqual([]);
  });

  it('joins a link-layer multicast group on the interface', async () => {
    await send({ cmd: 'add-multicast', mac: '33:33:ff:00:03:00' });
    expect(ipIn(pair!.nsA, ['maddr', 'show', 'dev', pair!.ifA])).toContain('33:33:ff:00:03:00');
  });

  it('delivers bursts in order, survives close() and throws inside listeners, tears down with a worker (loopback of A)', () => {
    const result = spawnSync('ip', ['netns', 'exec', pair!.nsA, process.execPath, LOOPBACK_CHILD], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(result.status, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({
      burst: { sent: 2000, received: 2000, inOrder: true },
      closeInListener: { received: 1 },
      throwingListener: { uncaught: ['boom from listener'], afterwards: 1 },
      workerTeardown: 'terminated',
    });
  });

  it('closing the sockets lets the child exit', async () => {
    child!.stdin.end();
    const code = await Promise.race([childExit, new Promise((resolve) => setTimeout(() => resolve('timeout'), WAIT_MS))]);
    expect(code).toBe(0);
    expect(ipIn(pair!.nsA, ['maddr', 'show', 'dev', pair!.ifA])).not.toContain('33:33:ff:00:03:00');
  });
});

describe.skipIf(skipReason !== null)(`PacketSocket errors${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  // Opening a socket on the host's loopback only reads interface data; nothing is sent.
  it('reports the interface and closes idempotently', () => {
    const socket = new PacketSocket({ interface: 'lo', ethertype: 0x88b5 });
    expect(socket).toMatchObject({ ifindex: 1, hwType: 772, mac: '00:00:00:00:00:00', interfaceName: 'lo' });
    socket.close();
    socket.close();
    expect(socket.closed).toBe(true);
    expect(() => socket.send(Buffer.alloc(60))).toThrow(expect.objectContaining({ code: 'EBADF' }));
  });

  it('throws errno-coded errors naming the syscall', () => {
    expect(() => new PacketSocket({ interface: 'mg-nonexistent', ethertype: 0x88b5 })).toThrow(
      expect.objectContaining({ code: 'ENODEV', syscall: 'ioctl', message: expect.stringContaining('SIOCGIFINDEX') }),
    );
    // A jump past the end: the kernel's verifier refuses it.
    const badFilter = Buffer.from('1500ff0000000000' + '0600000000000000', 'hex');
    expect(() => new PacketSocket({ interface: 'lo', ethertype: 0x88b5, filter: badFilter })).toThrow(
      expect.objectContaining({ code: 'EINVAL', syscall: 'setsockopt' }),
    );
  });

  it('throws EPERM without CAP_NET_RAW', () => {
    // The same wrapper in a process dropped to nobody, without capabilities.
    const wrapper = fileURLToPath(new URL('../../../src/l2/packet-socket.ts', import.meta.url));
    const script = `import { PacketSocket } from ${JSON.stringify(wrapper)};
      try { new PacketSocket({ interface: 'lo', ethertype: 0x88b5 }); console.log('opened'); }
      catch (e) { console.log(JSON.stringify({ code: e.code, syscall: e.syscall, message: e.message })); }`;
    const nobody = asNobody([process.execPath, '--input-type=module', '-e', script], ['--inh-caps=-all']);
    const result = spawnSync(nobody.argv[0]!, nobody.argv.slice(1), { encoding: 'utf8', timeout: 15_000 });
    nobody.cleanup();
    expect(result.status, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ code: 'EPERM', syscall: 'socket', message: expect.stringContaining('socket') });
  });
});
