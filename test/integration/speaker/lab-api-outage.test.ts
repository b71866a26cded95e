// The API server stopped for 30 s while a client keeps sending requests to
// both IPs: the speakers keep what they own and keep answering ARP/NDP, no
// request fails, nobody flaps, and ownership follows the cluster again after.
// Root only; its own control plane and lab (the outage affects every test
// sharing them).
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab, type LabProcess } from '../../support/lab.ts';
import { labSkipReason } from '../../support/netns-exec.ts';
import { outages } from '../../support/probe-stats.ts';
import { useCluster, waitFor } from '../helpers/cluster.ts';
import { ECHO_PORT, holdersOf, logLines, setupCluster, startEcho, startSpeakerIn, VIP4, VIP6 } from './lab-helpers.ts';

const skipReason = labSkipReason();
const cluster = useCluster();
const OUTAGE_MS = 30_000;

describe.skipIf(skipReason !== null)(`speaker during an API server outage${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  let lab: Lab;
  const speakers: LabProcess[] = [];

  const owners = async (): Promise<string[]> => [...(await holdersOf(lab.nodes, VIP4)), '|', ...(await holdersOf(lab.nodes, VIP6))];

  beforeAll(async () => {
    const { cp, core } = cluster();
    lab = await Lab.create({ nodes: ['node1', 'node2', 'node3'], clients: ['client'], apiServer: cp });
    await setupCluster(core, lab.nodes, 'outage', 'web', [VIP4, VIP6]);
    for (const n of lab.nodes) await startEcho(n);
    for (const n of lab.nodes) speakers.push(startSpeakerIn(lab, n, cp));
    await Promise.all(speakers.map((p) => p.waitForOutput('published announce subnets', 30_000)));
    await waitFor(async () => {
      const o = await owners();
      return o.length === 3 ? o : undefined;
    }, 'one holder per IP', 20_000);
    await sleep(2000); // past the takeover bursts
  });

  afterAll(async () => {
    await Promise.all(speakers.map((p) => p.stop('SIGTERM', 5000).catch(() => {})));
    await lab?.destroy();
  });

  it(`no request fails while the API server is down for ${OUTAGE_MS / 1000} s, and nobody flaps`, async () => {
    const { cp } = cluster();
    const client = lab.client('client');
    const before = await owners();
    const probes = [VIP4, `[${VIP6}]`].map((host) => client.probeHttp(`http://${host}:${ECHO_PORT}/`, { intervalMs: 25, timeoutMs: 1000 }));
    await Promise.all(probes.map((p) => p.waitFor((s) => s.ok, 10_000, 'a first answer')));
    const start = Date.now();
    await cp.stopApiServer();
    // Neighbour entries age out in well under 30 s (base_reachable_time 30 s, randomised down to 15 s):
    // flush them half-way, so the client must resolve the IPs again while the API is down.
    await sleep(OUTAGE_MS / 2);
    await client.ip(['neigh', 'flush', 'dev', 'eth0']);
    await sleep(OUTAGE_MS / 2);
    expect(await owners()).toEqual(before);
    await cp.startApiServer();
    // Let renewals and watches come back, and a few elections run on fresh data.
    await waitFor(() => speakers.every((p) => p.output().includes('speaker Leases are fresh again')), 'every speaker to see fresh Leases', 60_000, 200);
    await sleep(3000);
    const samples = await Promise.all(probes.map((p) => p.stop()));
    for (const s of samples) {
      const during = s.filter((x) => x.t >= start);
      expect(during.length).toBeGreaterThan(OUTAGE_MS / 100);
      expect(outages(during)).toEqual([]);
    }
    expect(await owners()).toEqual(before);
    // No speaker gave an IP up or took one over during or after the outage.
    for (const p of speakers) {
      const moves = logLines(p).filter((l) => Date.parse(String(l.time)) >= start && /^(took over|gave up) IP/.test(String(l.msg)));
      expect(moves).toEqual([]);
      expect(p.output()).toContain('membership frozen, keeping every owned IP');
    }
  });
});
