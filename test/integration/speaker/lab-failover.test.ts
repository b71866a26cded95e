// Election, announcement and failover on a real LAN of network namespaces (test/support/lab.ts): a client
// and three nodes on a bridge, the real API server reachable from the nodes,
// `metalgate speaker` in each node, an echo server on every node (all
// addresses: whichever node holds the IP answers, naming itself), a Service
// with 198.18.0.200 and 2001:db8::200.
// Root only; addresses from 198.18.0.0/15 and 2001:db8::/32.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ARP_OP_REPLY, ARP_OP_REQUEST, decodeArp } from '../../../src/l2/arp.ts';
import { decodeNdp } from '../../../src/l2/ndp.ts';
import { Lab, type Capture, type LabNode, type LabProcess } from '../../support/lab.ts';
import { hasProgram, labSkipReason, nodeBinary, repoRoot } from '../../support/netns-exec.ts';
import { restoredAfter, type ProbeSample } from '../../support/probe-stats.ts';
import { useCluster, waitFor, waitForEvent } from '../helpers/cluster.ts';
import { announcedIps, ECHO_PORT, holderAddresses, holdersOf, logLines, setupCluster, startEcho, startSpeakerIn, VIP4, VIP6 } from './lab-helpers.ts';

const HELD_REQUEST_SCRIPT = join(repoRoot, 'test/support/held-request.ts');
const skipReason = labSkipReason() ?? (hasProgram('tcpdump') ? null : 'needs tcpdump');
const cluster = useCluster();

describe.skipIf(skipReason !== null)(`speaker on a namespace LAN${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  let lab: Lab;
  const speakers = new Map<string, LabProcess>();
  let arpCapture: Capture;
  let ndpCapture: Capture;

  const node = (name: string): LabNode => lab.node(name);
  const url = (ip: string) => (ip.includes(':') ? `http://[${ip}]:${ECHO_PORT}/` : `http://${ip}:${ECHO_PORT}/`);

  /** The one node holding `ip`, once exactly one does. */
  const ownerOf = (ip: string, timeoutMs = 20_000): Promise<string> =>
    waitFor(async () => {
      const h = await holdersOf(lab.nodes, ip);
      return h.length === 1 ? h[0] : undefined;
    }, `exactly one holder of ${ip}`, timeoutMs);

  /** One GET from the client on a new connection: the name of the node that answered. */
  const fetchFrom = async (ip: string): Promise<string> => {
    const { stdout } = await lab.client('client').exec('curl', ['-s', '-m', '2', url(ip)], { timeoutMs: 5000 });
    return (JSON.parse(stdout) as { name: string }).name;
  };

  /** Starts a node's speaker and waits until it has published its Lease (it is synced then). */
  const startSpeaker = async (name: string): Promise<LabProcess> => {
    const p = startSpeakerIn(lab, node(name), cluster().cp);
    speakers.set(name, p);
    await p.waitForOutput('published announce subnets', 30_000);
    return p;
  };

  /**
   * A clean handover loses no request: nothing times out, finds no host, or
   * is reset. A connection open at the very moment the client's neighbour
   * entry flips to the new owner's MAC is forwarded by the new owner to the
   * old one, which still serves it (handover-forward.ts); before that, the
   * new owner reset about one such connection per handover.
   */
  const expectNoLostRequest = (samples: readonly ProbeSample[], t0: number): void => {
    const failed = samples.filter((s) => s.t >= t0 && !s.ok);
    expect(failed, JSON.stringify(failed)).toEqual([]);
  };

  /** `ip` has one holder and the client reaches it there: that node, else undefined. */
  const servedBy = async (ip: string): Promise<string | undefined> => {
    const holders = await holdersOf(lab.nodes, ip);
    if (holders.length !== 1) return undefined;
    const by = await fetchFrom(ip).catch(() => '');
    return by === holders[0] ? by : undefined;
  };

  /**
   * Waits until `ip` has one holder, the client reaches it there, and that
   * still holds a second later (a node rejoining after a fault may take the
   * IP back a moment after the first check); returns that node.
   */
  const settled = async (ip: string): Promise<string> => {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const first = await waitFor(() => servedBy(ip), `one holder of ${ip}, reached there by the client`, 20_000, 100);
      await sleep(1000);
      if ((await servedBy(ip)) === first) return first;
      if (Date.now() > deadline) throw new Error(`${ip} did not settle on one node`);
    }
  };

  /** Probes `ip` from the client while `fault` runs; returns the samples and the fault time. */
  const underProbe = async (ip: string, fault: () => Promise<void>, until: (s: ProbeSample, t0: number) => boolean) => {
    const probe = lab.client('client').probeHttp(url(ip), { intervalMs: 20, timeoutMs: 250 });
    await probe.waitFor((s) => s.ok, 10_000, 'a first answer');
    const t0 = Date.now();
    await fault();
    await probe.waitFor((s) => until(s, t0), 15_000, 'the expected answer after the fault');
    await sleep(300);
    return { samples: await probe.stop(), t0 };
  };

  beforeAll(async () => {
    const { cp, core } = cluster();
    lab = await Lab.create({ nodes: ['node1', 'node2', 'node3'], clients: ['client'], apiServer: cp });
    // Captures first: they must see the takeover bursts of the first owners.
    arpCapture = await lab.capture(lab.client('client'), 'eth0', 'arp');
    ndpCapture = await lab.capture(lab.client('client'), 'eth0', 'icmp6');
    await setupCluster(core, lab.nodes, 'lab', 'web', [VIP4, VIP6]);
    for (const n of lab.nodes) await startEcho(n);
    await Promise.all(lab.nodes.map((n) => startSpeaker(n.name)));
    await settled(VIP4);
    await settled(VIP6);
  });

  afterAll(async () => {
    // Speakers first, so they still reach the API to delete their Leases.
    await Promise.all([...speakers.values()].map((p) => p.stop('SIGTERM', 5000).catch(() => {})));
    await lab?.destroy();
  });

  it('the client reaches both IPs on their owner; its capture sees both gratuitous ARP forms and an unsolicited NA with Override', async () => {
    const owner4 = await ownerOf(VIP4);
    const owner6 = await ownerOf(VIP6);
    expect(await fetchFrom(VIP4)).toBe(owner4);
    expect(await fetchFrom(VIP6)).toBe(owner6);
    const mac4 = node(owner4).mac;
    const gratuitous = async () =>
      (await arpCapture.frames())
        .map((f) => decodeArp(f.data))
        .filter((p) => p !== null && p.senderMac === mac4 && p.senderIp === VIP4 && p.targetIp === VIP4)
        .map((p) => p!);
    // The burst: several rounds (0, 0.1, 0.3, 0.7 s ...), not one.
    const garp = await waitFor(async () => {
      const g = await gratuitous();
      return g.filter((p) => p.op === ARP_OP_REQUEST).length >= 3 ? g : undefined;
    }, 'three rounds of gratuitous ARP', 10_000);
    expect(garp.some((p) => p.op === ARP_OP_REQUEST && p.ethDst === 'ff:ff:ff:ff:ff:ff' && p.targetMac === '00:00:00:00:00:00')).toBe(true);
    expect(garp.some((p) => p.op === ARP_OP_REPLY && p.ethDst === 'ff:ff:ff:ff:ff:ff' && p.targetMac === mac4)).toBe(true);
    const mac6 = node(owner6).mac;
    const nas = (await ndpCapture.frames()).map((f) => decodeNdp(f.data)).filter((m) => m?.type === 'na');
    expect(
      nas.some((m) => m!.type === 'na' && m.target === VIP6 && m.override && !m.solicited && m.dstIp === 'ff02::1' && m.targetLinkAddr === mac6),
    ).toBe(true);
    // The owner logs each announcement with ip, interface, mac, services and reason.
    const line = logLines(speakers.get(owner4)!).find((l) => l.ip === VIP4 && l.reason === 'takeover');
    expect(line).toMatchObject({ interface: 'eth0', mac: mac4, services: ['lab/web'], step: 0 });
    await arpCapture.stop();
    await ndpCapture.stop();
  });

  it('another MAC claiming an owned IP: a warning naming it, a counted conflict and an IPConflict Event on the Service', async () => {
    const owner = await settled(VIP4);
    const client = lab.client('client');
    // The client plays a rogue host: gratuitous ARP replies for the IP, 8 of them 200 ms apart.
    const script = [
      `import { openArpSocket } from ${JSON.stringify(`${repoRoot}/src/l2/packet-socket.ts`)};`,
      `import { encodeGratuitousArpReply } from ${JSON.stringify(`${repoRoot}/src/l2/arp.ts`)};`,
      "const s = openArpSocket('eth0'); let n = 0;",
      `const t = setInterval(() => { s.send(encodeGratuitousArpReply({ mac: s.mac, ip: ${JSON.stringify(VIP4)} })); if (++n >= 8) { clearInterval(t); s.close(); } }, 200);`,
    ].join('\n');
    await client.exec(nodeBinary(), ['--input-type=module', '-e', script], { timeoutMs: 15_000 });
    const warning = await waitFor(
      () => logLines(speakers.get(owner)!).find((l) => l.level === 40 && l.ip === VIP4 && l.mac === client.mac),
      'the conflict warning',
      10_000,
    );
    expect(String(warning.msg)).toContain(`also claimed by ${client.mac}`);
    const ev = await waitForEvent(cluster().core, 'lab', 'Service', 'web', 'IPConflict');
    expect(ev.type).toBe('Warning');
    expect(ev.message).toContain(client.mac);
    // Our own answer still wins the client back: it re-resolves to the owner.
    await client.ip(['neigh', 'flush', 'to', VIP4, 'dev', 'eth0']);
    expect(await fetchFrom(VIP4)).toBe(owner);
  });

  it('kill -9 of the owner: the client reaches the new owner, and the old node no longer answers ARP', async () => {
    const old = await settled(VIP4);
    const { samples, t0 } = await underProbe(
      VIP4,
      async () => {
        await speakers.get(old)!.stop('SIGKILL');
      },
      (s, t) => s.t >= t && s.ok && s.by !== old,
    );
    const ms = restoredAfter(samples, t0, (s) => s.by !== old)!;
    expect(ms).toBeLessThan(5000);
    const next = await waitFor(async () => {
      const others = (await holdersOf(lab.nodes, VIP4)).filter((n) => n !== old);
      return others.length === 1 ? others[0] : undefined;
    }, 'the new holder');
    // The crashed speaker could not remove its address: the old node still holds it, yet only the new owner answers.
    expect(await holderAddresses(node(old))).toContain(VIP4);
    const capture = await lab.capture(lab.client('client'), 'eth0', 'arp');
    await lab.client('client').ip(['neigh', 'flush', 'to', VIP4, 'dev', 'eth0']);
    const by = await fetchFrom(VIP4);
    expect(by).toBe(next);
    await capture.waitForFrame((f) => decodeArp(f.data)?.op === ARP_OP_REPLY && decodeArp(f.data)?.senderIp === VIP4, 3000, 'an ARP reply');
    await sleep(300);
    const replies = (await capture.frames()).map((f) => decodeArp(f.data)).filter((p) => p?.op === ARP_OP_REPLY && p.senderIp === VIP4 && p.targetIp !== VIP4);
    await capture.stop();
    expect(replies.map((p) => p!.senderMac)).toEqual(replies.map(() => node(by).mac));
    expect(replies.some((p) => p!.senderMac === node(old).mac)).toBe(false);
  });

  it('a restarted speaker first removes what its crashed run left on the holder device', async () => {
    const crashed = lab.nodes.find((n) => !speakers.get(n.name)!.running)!;
    expect(await holderAddresses(crashed)).toContain(VIP4);
    const p = await startSpeaker(crashed.name);
    await p.waitForOutput('removed addresses a previous run left on the holder device', 15_000);
    // Whoever owns it once things settle, exactly one node holds each IP.
    await settled(VIP4);
    await settled(VIP6);
    for (const n of lab.nodes) {
      const held = await holderAddresses(n);
      for (const ip of held) expect([VIP4, VIP6]).toContain(ip);
    }
  });

  it("the owner's link cut (carrier lost): another node takes over, and the IP comes back when the link does", async () => {
    const old = await settled(VIP4);
    const { samples, t0 } = await underProbe(
      VIP4,
      () => lab.setLink(old, 'down'),
      (s, t) => s.t >= t && s.ok && s.by !== old,
    );
    expect(restoredAfter(samples, t0, (s) => s.by !== old)).toBeLessThan(3000);
    // The node saw its carrier go and gave the IP up itself.
    await waitFor(async () => !(await holderAddresses(node(old))).includes(VIP4), 'the cut node to drop the IP', 5000);
    await lab.setLink(old, 'up');
    await settled(VIP4);
  });

  it('node death (link silently cut and the API path gone): the others take over when its Lease expires', async () => {
    const old = await settled(VIP4);
    const { samples, t0 } = await underProbe(
      VIP4,
      async () => {
        await lab.isolateApi(old, true, 'blackhole');
        await lab.setLink(old, 'down', 'silent');
      },
      (s, t) => s.t >= t && s.ok && s.by !== old,
    );
    const ms = restoredAfter(samples, t0, (s) => s.by !== old)!;
    expect(ms).toBeGreaterThan(1000); // the Lease had to expire: nothing else told the others
    expect(ms).toBeLessThan(5000);
    // The node comes back: it must not fight the new owner.
    await lab.setLink(old, 'up', 'silent');
    await lab.isolateApi(old, false);
    await settled(VIP4);
  });

  it('cable and API path cut for longer than a Lease: when the cable comes back first, the node gives the IP up instead of announcing it from its stale view', async () => {
    const old = await settled(VIP4);
    await lab.isolateApi(old, true);
    await lab.setLink(old, 'down');
    const cutAt = Date.now();
    try {
      const next = await waitFor(async () => {
        const others = (await holdersOf(lab.nodes, VIP4)).filter((n) => n !== old);
        return others.length === 1 ? others[0] : undefined;
      }, 'another node to take over', 10_000);
      expect(await fetchFrom(VIP4)).toBe(next);
      await sleep(Math.max(0, 2500 - (Date.now() - cutAt))); // longer than the Lease (2 s)
      const before = logLines(speakers.get(old)!).length;
      await lab.setLink(old, 'up');
      await speakers.get(old)!.waitForOutput('is back after longer than a Lease lasts', 5000);
      await waitFor(async () => !(await holderAddresses(node(old))).includes(VIP4), 'the returning node to drop the IP', 5000);
      // No takeover burst from the stale view: the client, its neighbour entry untouched, still reaches the new owner.
      await sleep(1000);
      const announced = logLines(speakers.get(old)!).slice(before).filter((l) => announcedIps(l).includes(VIP4));
      expect(announced).toEqual([]);
      expect(await fetchFrom(VIP4)).toBe(next);
    } finally {
      await lab.setLink(old, 'up');
      await lab.isolateApi(old, false);
    }
    await settled(VIP4);
  });

  it('a node cut off from the API server (link up) is taken over; when it sees the new owner claim the IP it gives it up', async () => {
    const old = await settled(VIP4);
    await lab.isolateApi(old, true);
    try {
      const next = await waitFor(async () => {
        const others = (await holdersOf(lab.nodes, VIP4)).filter((n) => n !== old);
        return others.length === 1 ? others[0] : undefined;
      }, 'another node to take over', 10_000);
      await speakers.get(old)!.waitForOutput('giving it up', 10_000);
      await waitFor(async () => !(await holderAddresses(node(old))).includes(VIP4), 'the cut-off node to drop the IP', 5000);
      await lab.client('client').ip(['neigh', 'flush', 'to', VIP4, 'dev', 'eth0']);
      expect(await fetchFrom(VIP4)).toBe(next);
    } finally {
      await lab.isolateApi(old, false);
    }
    await settled(VIP4);
  });

  it('clean stop: the Lease goes at once and the client moves to the new owner without a failed request', async () => {
    const old = await settled(VIP4);
    const { samples, t0 } = await underProbe(
      VIP4,
      async () => {
        await speakers.get(old)!.stop('SIGTERM', 5000);
      },
      (s, t) => s.t >= t && s.ok && s.by !== old,
    );
    expectNoLostRequest(samples, t0);
    expect(restoredAfter(samples, t0, (s) => s.by !== old)).toBeLessThan(1500);
    expect(await holderAddresses(node(old))).not.toContain(VIP4);
    await startSpeaker(old);
    await settled(VIP4);
  });

  it.each([VIP4, VIP6])('clean stop: a connection open on the old owner (%s) is still answered by it after the client has moved to the new owner', async (vip) => {
    const old = await settled(vip);
    const goFile = join(lab.runDir, `go-${Date.now()}`);
    const held = lab.client('client').spawnNode(HELD_REQUEST_SCRIPT, [vip, String(ECHO_PORT), goFile, '15000']);
    await held.waitForOutput(/^held \d+/m, 10_000);
    const stopping = speakers.get(old)!.stop('SIGTERM', 5000);
    // The client's neighbour entry follows the new owner's gratuitous ARP.
    const clientMacOf = async (): Promise<string | undefined> => {
      const out = JSON.parse(await lab.client('client').ip(['-j', 'neigh', 'show', vip, 'dev', 'eth0'])) as Array<{ lladdr?: string }>;
      return out[0]?.lladdr;
    };
    const movedTo = await waitFor(async () => {
      const mac = await clientMacOf();
      return mac !== undefined && mac !== node(old).mac ? mac : undefined;
    }, 'the client to follow the new owner', 5000, 10);
    const newOwner = lab.nodes.find((n) => n.mac === movedTo)!.name;
    await writeFile(goFile, '');
    const line = await held.waitForOutput(/^(answer|error) .*/m, 10_000);
    // The request's second half went to the new owner's MAC; the old owner, still lingering, answered it.
    const takeover = logLines(speakers.get(newOwner)!).filter((l) => l.ip === vip && /forwarding|took over/.test(String(l.msg)));
    expect(line, `the new owner's takeover of ${vip}: ${JSON.stringify(takeover)}`).toMatch(/^answer /);
    expect((JSON.parse(line.slice('answer '.length)) as { name: string }).name).toBe(old);
    expect(logLines(speakers.get(newOwner)!).some((l) => l.msg === "forwarding the previous owner's connections to it while it lingers" && l.ip === vip)).toBe(true);
    await stopping;
    await startSpeaker(old);
    await settled(vip);
  });

  it('IPv6 the same way: kill -9 moves the client to the new owner, and only it answers Neighbor Solicitations', async () => {
    const old = await settled(VIP6);
    const { samples, t0 } = await underProbe(
      VIP6,
      async () => {
        await speakers.get(old)!.stop('SIGKILL');
      },
      (s, t) => s.t >= t && s.ok && s.by !== old,
    );
    expect(restoredAfter(samples, t0, (s) => s.by !== old)).toBeLessThan(5000);
    const capture = await lab.capture(lab.client('client'), 'eth0', 'icmp6');
    await lab.client('client').ip(['neigh', 'flush', 'to', VIP6, 'dev', 'eth0']);
    const by = await fetchFrom(VIP6);
    expect(by).not.toBe(old);
    await capture.waitForFrame((f) => { const m = decodeNdp(f.data); return m?.type === 'na' && m.solicited && m.target === VIP6; }, 3000, 'a solicited NA');
    await sleep(300);
    const answers = (await capture.frames()).map((f) => decodeNdp(f.data)).filter((m) => m?.type === 'na' && m.solicited && m.target === VIP6);
    await capture.stop();
    expect(answers.every((m) => m?.type === 'na' && m.targetLinkAddr === node(by).mac)).toBe(true);
    await startSpeaker(old);
    await settled(VIP6);
    // IPv6 clean stop too.
    const old2 = await settled(VIP6);
    const second = await underProbe(
      VIP6,
      async () => {
        await speakers.get(old2)!.stop('SIGTERM', 5000);
      },
      (s, t) => s.t >= t && s.ok && s.by !== old2,
    );
    expectNoLostRequest(second.samples, second.t0);
    await startSpeaker(old2);
    await settled(VIP6);
  });
});
