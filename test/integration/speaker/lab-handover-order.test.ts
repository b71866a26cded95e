// The order of a clean handover on a namespace LAN with the real API server:
// the new owner announces an IP only once the previous owner's connections
// are forwarded to it (handover-forward.ts), even when elections run while
// it waits. nft is slowed on purpose (a wrapper first on the speakers' PATH
// sleeps before running it), so the wait spans the Lease renewals, each of
// which asks for an election: before, an election in that wait announced the
// IP early, and the next packet of a connection the client had begun on the
// old owner met a reset on the new one (one ECONNRESET in a rolling update
// on a real kubelet cluster).
// Root only; addresses from 198.18.0.0/15.
import { execFileSync } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab, type LabProcess } from '../../support/lab.ts';
import { hasProgram, labSkipReason } from '../../support/netns-exec.ts';
import { useCluster, waitFor } from '../helpers/cluster.ts';
import { holdersOf, logLines, setupCluster, startSpeakerIn, VIP4 } from './lab-helpers.ts';

const skipReason = labSkipReason() ?? (hasProgram('nft') ? null : 'needs nft');
const cluster = useCluster();
/** How long the wrapper holds each nft run: longer than a Lease renewal (0.5 s), shorter than the 1 s a take waits for its forwarding. */
const NFT_DELAY_S = 0.6;
const FORWARDING = "forwarding the previous owner's connections to it while it lingers";

describe.skipIf(skipReason !== null)(`handover order${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  let lab: Lab;
  let wrapperDir: string;
  const speakers = new Map<string, LabProcess>();

  beforeAll(async () => {
    const { cp, core } = cluster();
    wrapperDir = await mkdtemp(join(tmpdir(), 'metalgate-slow-nft-'));
    const real = execFileSync('sh', ['-c', 'command -v nft'], { encoding: 'utf8' }).trim();
    await writeFile(join(wrapperDir, 'nft'), `#!/bin/sh\nsleep ${NFT_DELAY_S}\nexec ${real} "$@"\n`);
    await chmod(join(wrapperDir, 'nft'), 0o755);
    lab = await Lab.create({ nodes: ['node1', 'node2'], clients: ['client'], apiServer: cp });
    await setupCluster(core, lab.nodes, 'order', 'web', [VIP4]);
    for (const n of lab.nodes) {
      const p = startSpeakerIn(lab, n, cp, [], { PATH: `${wrapperDir}:${process.env.PATH ?? ''}` });
      speakers.set(n.name, p);
      await p.waitForOutput('published announce subnets', 30_000);
    }
  }, 120_000);

  afterAll(async () => {
    for (const p of speakers.values()) await p.stop('SIGTERM', 5000).catch(() => {});
    await lab?.destroy();
    if (wrapperDir) await rm(wrapperDir, { recursive: true, force: true });
  });

  it('clean stop: the new owner announces the IP after the forwarding to the old owner is in, though elections ran while it waited', async () => {
    const old = await waitFor(async () => {
      const h = await holdersOf(lab.nodes, VIP4);
      return h.length === 1 ? h[0] : undefined;
    }, `one holder of ${VIP4}`, 30_000);
    const next = lab.nodes.find((n) => n.name !== old)!.name;
    const before = logLines(speakers.get(next)!).length;
    await speakers.get(old)!.stop('SIGTERM', 10_000);
    const lines = () => logLines(speakers.get(next)!).slice(before);
    await waitFor(() => (lines().some((l) => l.ip === VIP4 && String(l.msg).startsWith('took over IP')) ? true : undefined), `${next} taking ${VIP4}`, 15_000);
    const seq = lines();
    const forwarding = seq.findIndex((l) => l.ip === VIP4 && l.msg === FORWARDING);
    const firstAnnounce = seq.findIndex((l) => l.ip === VIP4 && l.reason === 'takeover');
    const story = JSON.stringify(seq.filter((l) => l.ip === VIP4));
    expect(forwarding, story).toBeGreaterThanOrEqual(0);
    // The forwarding took less than the 1 s a take waits for it: the announcement must follow it.
    expect(seq[forwarding]!.nftMs as number, story).toBeLessThan(1000);
    expect(firstAnnounce, story).toBeGreaterThan(forwarding);
  }, 60_000);
});
