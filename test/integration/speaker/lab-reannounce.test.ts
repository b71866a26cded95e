// Announcements outside the schedule, on a namespace LAN with the real API
// server: a node defends an IP it owns when a host that is not a speaker
// claims it (the neighbours that followed the claim come back at once, not
// at the next refresh), not when the claim is in another speaker's name (a
// handover in flight), and re-announces what it holds when another speaker
// leaves (that one may have been announcing some of the same IPs without
// anybody knowing).
// Root only; addresses from 198.18.0.0/15.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab, type LabProcess } from '../../support/lab.ts';
import { labSkipReason, repoRoot } from '../../support/netns-exec.ts';
import { useCluster, waitFor } from '../helpers/cluster.ts';
import { announcedIps, holdersOf, logLines, setupCluster, startSpeakerIn } from './lab-helpers.ts';

const skipReason = labSkipReason();
const cluster = useCluster();
/** Six Services, one IP each: with two nodes, each holds some. */
const IPS = ['198.18.0.210', '198.18.0.211', '198.18.0.212', '198.18.0.213', '198.18.0.214', '198.18.0.215'];

describe.skipIf(skipReason !== null)(`announcements outside the schedule${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  let lab: Lab;
  const speakers = new Map<string, LabProcess>();

  beforeAll(async () => {
    const { cp, core } = cluster();
    lab = await Lab.create({ nodes: ['node1', 'node2'], clients: ['observer', 'rogue'], apiServer: cp });
    for (const [i, ip] of IPS.entries()) await setupCluster(core, lab.nodes, 'reannounce', `web${i}`, [ip]);
    for (const n of lab.nodes) {
      const p = startSpeakerIn(lab, n, cp);
      speakers.set(n.name, p);
      await p.waitForOutput('published announce subnets', 30_000);
    }
    for (const ip of IPS) await waitFor(async () => ((await holdersOf(lab.nodes, ip)).length === 1 ? true : undefined), `one holder of ${ip}`, 30_000);
  }, 120_000);

  afterAll(async () => {
    for (const p of speakers.values()) await p.stop('SIGTERM', 5000).catch(() => {});
    await lab?.destroy();
  });

  /** The IPs announced with this reason, one entry per IP and announcement. */
  const announcements = (p: LabProcess, reason: string) => logLines(p).filter((l) => l.reason === reason).flatMap(announcedIps);
  const neighbourMac = async (ip: string): Promise<string | undefined> => {
    const out = JSON.parse(await lab.client('observer').ip(['-j', 'neigh', 'show', ip])) as Array<{ lladdr?: string }>;
    return out[0]?.lladdr;
  };

  it('another host claims an owned IP: the owner reports the conflict and defends it; a neighbour that followed the claim comes back', async () => {
    const ip = IPS[0]!;
    const [ownerName] = await holdersOf(lab.nodes, ip);
    const owner = speakers.get(ownerName!)!;
    // Past the takeover burst, so only an announcement outside the schedule can come within the next seconds.
    await waitFor(() => (logLines(owner).some((l) => l.ip === ip && l.reason === 'takeover' && l.step === 5) ? true : undefined), 'the end of the takeover burst', 15_000);
    const ownerMac = logLines(owner).find((l) => l.ip === ip && l.reason === 'takeover')!.mac as string;
    await lab.client('observer').exec('ping', ['-c', '1', '-W', '2', ip], { timeoutMs: 5000 });
    expect(await neighbourMac(ip)).toBe(ownerMac);

    const script = [
      `import { openArpSocket } from ${JSON.stringify(`${repoRoot}/src/l2/packet-socket.ts`)};`,
      `import { encodeGratuitousArpRequest, encodeGratuitousArpReply } from ${JSON.stringify(`${repoRoot}/src/l2/arp.ts`)};`,
      "const s = openArpSocket('eth0');",
      `s.send(encodeGratuitousArpRequest({ mac: s.mac, ip: ${JSON.stringify(ip)} }));`,
      `s.send(encodeGratuitousArpReply({ mac: s.mac, ip: ${JSON.stringify(ip)} }));`,
      'console.log(JSON.stringify({ claimed: s.mac }));',
      's.close();',
    ].join('\n');
    const rogue = lab.client('rogue').spawnNode('--input-type=module', ['-e', script]);
    await rogue.waitForOutput('claimed', 10_000);
    const rogueMac = (JSON.parse(rogue.output().split('\n').find((l) => l.includes('claimed'))!) as { claimed: string }).claimed;
    await waitFor(async () => ((await neighbourMac(ip)) === rogueMac ? true : undefined), "the observer's entry following the claim", 5000);

    await waitFor(() => (announcements(owner, 'defend').includes(ip) ? true : undefined), 'the owner defending the IP', 5000);
    expect(logLines(owner).some((l) => l.ip === ip && l.mac === rogueMac && String(l.msg).includes('two hosts answer for one IP'))).toBe(true);
    await waitFor(async () => ((await neighbourMac(ip)) === ownerMac ? true : undefined), "the observer's entry back on the owner", 5000);
  }, 60_000);

  it("a claim in another speaker's name is reported but not defended: it is a handover the owner's view has not caught up with, left to the election", async () => {
    const ip = IPS[1]!;
    const [ownerName] = await holdersOf(lab.nodes, ip);
    const otherName = ownerName === 'node1' ? 'node2' : 'node1';
    const owner = speakers.get(ownerName!)!;
    await waitFor(() => (logLines(owner).some((l) => l.ip === ip && l.reason === 'takeover' && l.step === 5) ? true : undefined), 'the end of the takeover burst', 15_000);
    const otherMac = logLines(speakers.get(otherName)!).find((l) => String(l.msg).startsWith('announced IP'))?.mac as string;
    expect(otherMac).toMatch(/^[0-9a-f:]{17}$/);
    // The ARP sender is the other speaker's MAC; the frame leaves from the rogue's own, so the switch learns nothing wrong.
    const script = [
      `import { openArpSocket } from ${JSON.stringify(`${repoRoot}/src/l2/packet-socket.ts`)};`,
      `import { encodeArp, ARP_OP_REQUEST } from ${JSON.stringify(`${repoRoot}/src/l2/arp.ts`)};`,
      "const s = openArpSocket('eth0');",
      `s.send(encodeArp({ op: ARP_OP_REQUEST, ethDst: 'ff:ff:ff:ff:ff:ff', ethSrc: s.mac, senderMac: ${JSON.stringify(otherMac)}, senderIp: ${JSON.stringify(ip)}, targetMac: '00:00:00:00:00:00', targetIp: ${JSON.stringify(ip)} }));`,
      "console.log('claimed');",
      's.close();',
    ].join('\n');
    const rogue = lab.client('rogue').spawnNode('--input-type=module', ['-e', script]);
    await rogue.waitForOutput('claimed', 10_000);
    await waitFor(() => (logLines(owner).some((l) => l.ip === ip && l.mac === otherMac && String(l.msg).includes('two hosts answer for one IP')) ? true : undefined), 'the conflict reported', 5000);
    await new Promise((r) => setTimeout(r, 500));
    expect(announcements(owner, 'defend').filter((a) => a === ip)).toEqual([]);
  }, 60_000);

  it('a speaker stops: the other re-announces the IPs it already held, and takes the stopped one\'s', async () => {
    const held = new Map<string, string[]>();
    for (const ip of IPS) {
      const [h] = await holdersOf(lab.nodes, ip);
      held.set(h!, [...(held.get(h!) ?? []), ip]);
    }
    // Six IPs on two nodes by hash: each node holds some (this layout is fixed by the names and IPs).
    expect([...held.keys()].sort(), JSON.stringify([...held])).toEqual(['node1', 'node2']);
    const stays = speakers.get('node1')!;
    const before = announcements(stays, 'peer-left').length;
    await speakers.get('node2')!.stop('SIGTERM', 10_000);
    speakers.delete('node2');
    await waitFor(() => (announcements(stays, 'peer-left').length - before >= held.get('node1')!.length ? true : undefined), 'node1 re-announcing its IPs', 10_000);
    expect(new Set(announcements(stays, 'peer-left').slice(before))).toEqual(new Set(held.get('node1')));
    for (const ip of held.get('node2')!) await waitFor(async () => ((await holdersOf(lab.nodes, ip)).join() === 'node1' ? true : undefined), `node1 taking ${ip}`, 10_000);
  }, 60_000);
});
