// The announcement gate on a namespace LAN: a gained IP is announced only
// once what serves it is in force (the proxy's listeners bound, a kernel
// port's nft rules written). The speaker runs in a node namespace with a
// gate held closed for 2.5 s, over which its election runs again several
// times (the 1 s ticker, Lease renewals): nothing about the IP may reach the
// LAN before the gate opens, neither in the speaker's log nor on the wire.
// Root only; addresses from 198.18.0.0/15.
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeArp } from '../../../src/l2/arp.ts';
import { Lab, type Capture, type LabProcess } from '../../support/lab.ts';
import { hasProgram, labSkipReason } from '../../support/netns-exec.ts';
import { useCluster } from '../helpers/cluster.ts';
import { createService, lbService } from '../helpers/cluster.ts';
import { setServiceIps } from './helpers.ts';
import { announcedIps, ECHO_PORT, logLines, setupCluster, VIP4 } from './lab-helpers.ts';

const CHILD = fileURLToPath(new URL('./gated-speaker-child.ts', import.meta.url));
const GATE_MS = 2500;
/** A second Service's IP, taken in the same election. */
const OTHER_VIP4 = '198.18.0.201';
const skipReason = labSkipReason() ?? (hasProgram('tcpdump') ? null : 'needs tcpdump');
const cluster = useCluster();

describe.skipIf(skipReason !== null)(`the announcement gate on a namespace LAN${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  let lab: Lab;
  let speaker: LabProcess | undefined;
  let arp: Capture;

  beforeAll(async () => {
    const { cp, core } = cluster();
    lab = await Lab.create({ nodes: ['node1'], clients: ['client'], apiServer: cp });
    arp = await lab.capture(lab.client('client'), 'eth0', 'arp');
    await setupCluster(core, lab.nodes, 'gate', 'web', [VIP4]);
    await createService(core, lbService('gate', 'web2', { ports: [{ name: 'http', port: ECHO_PORT, protocol: 'TCP', targetPort: ECHO_PORT }] }));
    await setServiceIps(core, 'gate', 'web2', [OTHER_VIP4]);
  });

  afterAll(async () => {
    await speaker?.stop('SIGTERM', 5000).catch(() => {});
    await lab?.destroy();
  });

  it('a recompute while the gate is closed does not announce the IP: the first gratuitous ARP follows the gate', async () => {
    const node = lab.node('node1');
    speaker = node.spawnNode(CHILD, [cluster().cp.kubeconfigPath, 'node1', String(GATE_MS)]);
    await speaker.waitForOutput('"gate opened"', 30_000);
    await sleep(500);
    const lines = logLines(speaker);
    const at = (msg: string) => lines.find((l) => l.msg === msg && l.ip === VIP4)?.time as number | undefined;
    const closed = at('gate closed');
    const opened = at('gate opened');
    expect(closed).toBeDefined();
    expect(opened! - closed!).toBeGreaterThanOrEqual(GATE_MS - 50);
    // The election ran again while the gate was closed (the ticker fires every second).
    const announced = lines.filter((l) => announcedIps(l).includes(VIP4));
    expect(announced.length).toBeGreaterThan(0);
    expect(announced.filter((l) => (l.time as number) < opened!), JSON.stringify(announced)).toEqual([]);
    // On the wire: the client hears the IP claimed, and only after the gate opened.
    const claims = (await arp.frames())
      .filter((f) => {
        const p = decodeArp(f.data);
        return p !== null && p.senderIp === VIP4 && p.senderMac === node.mac;
      })
      .map((f) => f.time * 1000);
    expect(claims.length).toBeGreaterThan(0);
    expect(Math.min(...claims)).toBeGreaterThanOrEqual(opened!);
  }, 60_000);

  it('IPs taken together wait at their gates together: one closed gate does not hold back another IP', async () => {
    // Taken one after the other, the second gate would open one GATE_MS after the first: 3 of them is room enough.
    await speaker!.waitForOutput(new RegExp(`"ip":"${OTHER_VIP4.replaceAll('.', '\\.')}".*"msg":"gate opened"`), 3 * GATE_MS);
    const lines = logLines(speaker!);
    const at = (msg: string, ip: string) => lines.find((l) => l.msg === msg && l.ip === ip)?.time as number | undefined;
    const lastClosed = Math.max(at('gate closed', VIP4)!, at('gate closed', OTHER_VIP4)!);
    const firstOpened = Math.min(at('gate opened', VIP4)!, at('gate opened', OTHER_VIP4)!);
    expect(lastClosed).toBeLessThan(firstOpened);
  }, 30_000);
});
