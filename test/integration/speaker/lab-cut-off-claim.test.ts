// A node cut off from the API server gives up an IP that another host
// claimed after the node last heard from the API server, even when that
// claim came before the node knew it was cut off (its membership view goes
// stale only after a while; the claim is reported once a minute at most, so
// the node must not wait for a second report). One speaker in a namespace
// node; the client plays the other host: one gratuitous ARP reply for the
// IP right after the API path is cut.
// Root only; addresses from 198.18.0.0/15.
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

  beforeAll(async () => {
    const { cp, core } = cluster();
    lab = await Lab.create({ nodes: ['node1'], clients: ['client'], apiServer: cp });
    await setupCluster(core, lab.nodes, 'cutoff', 'web', [VIP4]);
  });

  afterAll(async () => {
    await lab?.isolateApi('node1', false).catch(() => {});
    await speaker?.stop('SIGTERM', 5000).catch(() => {});
    await lab?.destroy();
  });

  it('one claim right after the cut: once the membership is frozen, the node gives the IP up', async () => {
    const node = lab.node('node1');
    const client = lab.client('client');
    speaker = node.spawnNode(CHILD, [cluster().cp.kubeconfigPath, 'node1', '0']);
    await waitFor(async () => (await holderAddresses(node)).includes(VIP4), 'node1 to hold the IP', 30_000);
    // Past the first second of ownership, when claims are not counted (a handover's overlap).
    await speaker.waitForOutput('"step":4', 10_000);
    await lab.isolateApi('node1', true);
    const script = [
      `import { openArpSocket } from ${JSON.stringify(`${repoRoot}/src/l2/packet-socket.ts`)};`,
      `import { encodeGratuitousArpReply } from ${JSON.stringify(`${repoRoot}/src/l2/arp.ts`)};`,
      "const s = openArpSocket('eth0');",
      `s.send(encodeGratuitousArpReply({ mac: s.mac, ip: ${JSON.stringify(VIP4)} }));`,
      's.close();',
    ].join('\n');
    await client.exec(nodeBinary(), ['--input-type=module', '-e', script], { timeoutMs: 15_000 });
    const cutAt = Date.now();
    // Reported at once, while the node does not know yet that it is cut off.
    await waitFor(() => logLines(speaker!).find((l) => l.level === 40 && l.ip === VIP4 && l.mac === client.mac), 'the conflict warning', 5000).catch((e: Error) => { console.log(speaker!.output()); throw e; });
    await speaker.waitForOutput('giving it up', 8000);
    await waitFor(async () => !(await holderAddresses(node)).includes(VIP4), 'node1 to drop the IP', 5000);
    const frozen = logLines(speaker).find((l) => String(l.msg).startsWith('speaker Leases are stale'));
    expect(frozen).toBeDefined();
    expect(Date.now() - cutAt).toBeLessThan(15_000);
  }, 60_000);
});
