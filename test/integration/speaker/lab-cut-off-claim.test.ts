// A node cut off from the API server gives up an IP that another host
// claimed after the node last heard from the API server, even when that
// claim came before the node knew it was cut off (its membership view goes
// stale only after a while; the claim is reported once a minute at most, so
// the node must not wait for a second report). One speaker in a namespace
// node; the client plays the other host: one gratuitous ARP reply for the
// IP right after the API path is cut.
// Root only; addresses from 198.18.0.0/15.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab, type LabProcess } from '../../support/lab.ts';
import { labSkipReason, nodeBinary, repoRoot } from '../../support/netns-exec.ts';
import { useCluster, waitFor } from '../helpers/cluster.ts';
import { holderAddresses, logLines, setupCluster, VIP4 } from './lab-helpers.ts';

const CHILD = fileURLToPath(new URL('./gated-speaker-child.ts', import.meta.url));
const skipReason = labSkipReason();
const cluster = useCluster();

describe.skipIf(skipReason !== null)(`a claim seen just before a node knows it is cut off${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  let lab: Lab;
  let speaker: LabProcess | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'mg-claim-'));

  beforeAll(async () => {
    const { cp, core } = cluster();
    lab = await Lab.create({ nodes: ['node1'], clients: ['client'], apiServer: cp });
    await setupCluster(core, lab.nodes, 'cutoff', 'web', [VIP4]);
  });

  afterAll(async () => {
    await lab?.isolateApi('node1', false).catch(() => {});
    await speaker?.stop('SIGTERM', 5000).catch(() => {});
    await lab?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('one claim right after the cut: once the membership is frozen, the node gives the IP up', async () => {
    const node = lab.node('node1');
    const client = lab.client('client');
    speaker = node.spawnNode(CHILD, [cluster().cp.kubeconfigPath, 'node1', '0']);
    await waitFor(async () => (await holderAddresses(node)).includes(VIP4), 'node1 to hold the IP', 30_000);
    // Past the first second of ownership, when claims are not counted (a handover's overlap).
    await speaker.waitForOutput('"step":4', 10_000);
    // The other host, ready before the cut: it claims the IP the moment a file appears.
    const go = join(dir, 'claim-now');
    const script = [
      "import { existsSync } from 'node:fs';",
      `import { openArpSocket } from ${JSON.stringify(`${repoRoot}/src/l2/packet-socket.ts`)};`,
      `import { encodeGratuitousArpReply } from ${JSON.stringify(`${repoRoot}/src/l2/arp.ts`)};`,
      "const s = openArpSocket('eth0');",
      "console.log('ready');",
      `const t = setInterval(() => { if (!existsSync(${JSON.stringify(go)})) return; clearInterval(t); s.send(encodeGratuitousArpReply({ mac: s.mac, ip: ${JSON.stringify(VIP4)} })); s.close(); console.log('claimed'); }, 5);`,
    ].join('\n');
    const claimer = client.spawnNode('--input-type=module', ['-e', script]);
    await claimer.waitForOutput('ready', 10_000);
    await lab.isolateApi('node1', true);
    writeFileSync(go, '');
    await claimer.waitForOutput('claimed', 5000);
    // The claim came well before the node's view went stale (1.5 s without a fresh mark).
    await speaker.waitForOutput('giving it up', 8000);
    const lines = logLines(speaker);
    const stale = lines.findIndex((l) => String(l.msg).startsWith('speaker Leases are stale'));
    const gaveUp = lines.findIndex((l) => String(l.msg).includes('giving it up'));
    expect(stale).toBeGreaterThanOrEqual(0);
    // Given up on the claim already seen (no new report names a MAC), once stale.
    expect(gaveUp).toBeGreaterThan(stale);
    expect(lines[gaveUp]!.mac).toBeUndefined();
    await waitFor(async () => !(await holderAddresses(node)).includes(VIP4), 'node1 to drop the IP', 5000);
  }, 60_000);
});
