// The lab harness itself, as root in network namespaces it creates and
// removes: LAN reachability over IPv4 and IPv6, a pod's HTTP server, the real
// API server from inside a node (and cut from it), a capture seeing ARP,
// link cuts, teardown leaving nothing behind, and the sweep of a crashed run.
// Addresses: 198.18.0.0/15 and 2001:db8::/32 only.

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { decodeArp, ARP_OP_REQUEST } from '../../../src/l2/arp.ts';
import { peekEthertype, ETHERTYPE_ARP } from '../../../src/l2/ethernet.ts';
import { startControlPlane, type ControlPlane } from '../../support/control-plane.ts';
import { ECHO_SERVER_SCRIPT, Lab, type LabHost } from '../../support/lab.ts';
import { outages, restoredAfter } from '../../support/probe-stats.ts';
import { currentOwner, LAB_BASE_DIR, sweepLabs, writeOwner } from '../../support/lab-sweep.ts';
import { hasProgram, ip, labSkipReason, listNamespaces, namespacePids, nodeBinary, repoRoot } from '../../support/netns-exec.ts';
import { LINKTYPE_ETHERNET, parsePcap } from '../../support/pcap.ts';

const skipReason = labSkipReason();
const noPing = hasProgram('ping') ? null : 'needs ping (iputils-ping)';
const noTcpdump = hasProgram('tcpdump') ? null : 'needs tcpdump';

/** Running (a zombie waiting for its reaper counts as gone). */
function pidAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** One HTTP GET from inside a namespace, with Node's fetch (no curl needed). */
async function httpGet(lab: Lab, ns: string, url: string): Promise<{ status: number; body: string }> {
  const script = 'const r=await fetch(process.argv[1],{signal:AbortSignal.timeout(3000)});console.log(JSON.stringify({status:r.status,body:await r.text()}))';
  const { stdout } = await lab.exec(ns, [nodeBinary(), '--input-type=module', '-e', script, url], { timeoutMs: 10_000 });
  return JSON.parse(stdout) as { status: number; body: string };
}

async function ping(from: LabHost, to: string, timeoutS = 2): Promise<boolean> {
  try {
    await from.exec('ping', [...(to.includes(':') ? ['-6'] : []), '-c', '1', '-W', String(timeoutS), to], { timeoutMs: (timeoutS + 3) * 1000 });
    return true;
  } catch {
    return false;
  }
}

describe.skipIf(skipReason !== null)(`network-namespace lab${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  let cp: ControlPlane;
  let lab: Lab;

  beforeAll(async () => {
    cp = await startControlPlane();
    lab = await Lab.create({ nodes: ['node1', 'node2', 'node3'], clients: ['client'], ipv6: true, apiServer: cp });
  });

  afterAll(async () => {
    await lab?.destroy();
    await cp?.stop();
  });

  it('lays out the LAN in namespaces of its own, nothing on the host', async () => {
    const hostLinks = await ip(undefined, ['-o', 'link', 'show']);
    expect(hostLinks).not.toMatch(/\bl-node1\b|\bbr0\b.*mgl-/);
    const node1 = lab.node('node1');
    const links = JSON.parse(await node1.ip(['-j', 'link', 'show'])) as Array<{ ifname: string; address: string; operstate: string }>;
    expect(links.map((l) => l.ifname).sort()).toEqual(['eth0', 'lo']);
    expect(links.find((l) => l.ifname === 'eth0')).toMatchObject({ address: node1.mac, operstate: 'UP' });
    const addrs = JSON.parse(await node1.ip(['-j', 'addr', 'show', 'dev', 'eth0'])) as Array<{
      addr_info: Array<{ local: string; prefixlen: number; tentative?: boolean }>;
    }>;
    const locals = addrs[0]!.addr_info.map((a) => `${a.local}/${a.prefixlen}`);
    expect(locals.sort()).toEqual(['198.18.0.11/24', '2001:db8::11/64', 'fe80::11/64']);
    expect(addrs[0]!.addr_info.some((a) => a.tentative)).toBe(false); // usable at once
    const ports = JSON.parse(await lab.ip(lab.lan.ns, ['-j', 'link', 'show', 'master', lab.lan.bridge])) as Array<{ ifname: string }>;
    expect(ports.map((p) => p.ifname).sort()).toEqual(['l-client', 'l-node1', 'l-node2', 'l-node3']);
  });

  it.skipIf(noPing !== null)(`the client pings every node over IPv4 and IPv6${noPing ? ` (skipped: ${noPing})` : ''}`, async () => {
    const client = lab.client('client');
    for (const node of lab.nodes) {
      expect(await ping(client, node.ipv4), node.ipv4).toBe(true);
      expect(await ping(client, node.ipv6!), node.ipv6).toBe(true);
      expect(await ping(client, `${node.linkLocalV6}%eth0`), node.linkLocalV6).toBe(true);
    }
  });

  it("serves a pod's HTTP server to its node over IPv4 and IPv6", async () => {
    const pod = await lab.addPod('node2', 'web');
    expect(pod).toMatchObject({ ipv4: '198.18.102.2', ipv6: '2001:db8:0:102::2', nodeIface: 'pod1' });
    await pod.serveHttp(8080);
    const node2 = lab.node('node2');
    for (const url of [`http://${pod.ipv4}:8080/v4`, `http://[${pod.ipv6}]:8080/v6`]) {
      const res = await httpGet(lab, node2.ns, url);
      expect(res.status, url).toBe(200);
      expect(JSON.parse(res.body), url).toMatchObject({ name: 'web', url: url.endsWith('v4') ? '/v4' : '/v6' });
    }
    // The pod's route back goes through its node; the node's LAN address answers.
    const fromPod = await httpGet(lab, pod.ns, 'http://198.18.0.12:9/').catch((e: Error) => e.message);
    expect(String(fromPod)).toMatch(/ECONNREFUSED|fetch failed/);
    const routes = await node2.ip(['route', 'show', `${pod.ipv4}/32`]);
    expect(routes).toContain('dev pod1');
  });

  it('makes the real API server reachable from inside a node namespace, and can cut that path', async () => {
    const kubectl = (host: string, timeout = '5s') =>
      lab.exec(lab.node(host), [join(cp.binDir, 'kubectl'), `--kubeconfig=${cp.kubeconfigPath}`, `--request-timeout=${timeout}`, 'get', 'ns', '-o', 'name'], {
        timeoutMs: 20_000,
      });
    expect((await kubectl('node1')).stdout).toContain('namespace/default');

    await lab.isolateApi('node1', true);
    await expect(kubectl('node1', '2s')).rejects.toThrow(/refused|unable to connect|connection/i);
    expect((await kubectl('node2')).stdout).toContain('namespace/default');
    await lab.isolateApi('node1', false);
    expect((await kubectl('node1')).stdout).toContain('namespace/default');

    await lab.isolateApi('node3', true, 'blackhole');
    await expect(kubectl('node3', '1s')).rejects.toThrow();
    await lab.isolateApi('node3', false);
    expect((await kubectl('node3')).stdout).toContain('namespace/default');
  });

  it.skipIf(noTcpdump !== null || noPing !== null)(`captures ARP on the client${noTcpdump ?? noPing ? ` (skipped: ${noTcpdump ?? noPing})` : ''}`, async () => {
    const client = lab.client('client');
    const node3 = lab.node('node3');
    const capture = await lab.capture(client, 'eth0', 'arp');
    await client.ip(['neigh', 'flush', 'dev', 'eth0']);
    expect(await ping(client, node3.ipv4)).toBe(true);
    const seen = await capture.waitForFrame((f) => decodeArp(f.data)?.targetIp === node3.ipv4, 5000, `ARP for ${node3.ipv4}`);
    expect(decodeArp(seen.data)).toMatchObject({ op: ARP_OP_REQUEST, senderMac: client.mac, senderIp: client.ipv4 });
    const pcap = parsePcap(await capture.stop());
    expect(pcap.linkType).toBe(LINKTYPE_ETHERNET);
    expect(pcap.frames.length).toBeGreaterThanOrEqual(2); // the request and node3's reply
    expect(pcap.frames.every((f) => peekEthertype(f.data) === ETHERTYPE_ARP)).toBe(true);
    expect(pcap.frames.some((f) => decodeArp(f.data)?.senderMac === node3.mac)).toBe(true);
    expect(capture.process.running).toBe(false);
  });

  it.skipIf(noPing !== null)(`cuts and restores a node's LAN link, by carrier or silently${noPing ? ` (skipped: ${noPing})` : ''}`, async () => {
    const client = lab.client('client');
    const node1 = lab.node('node1');
    const eth0 = async (): Promise<string[]> =>
      (JSON.parse(await node1.ip(['-j', 'link', 'show', 'dev', 'eth0'])) as Array<{ flags: string[] }>)[0]!.flags;

    await lab.setLink('node1', 'down');
    expect(await eth0()).toContain('NO-CARRIER');
    expect(await ping(client, node1.ipv4, 1)).toBe(false);
    await lab.setLink('node1', 'up');
    expect(await ping(client, node1.ipv4)).toBe(true);

    await lab.setLink('node1', 'down', 'silent');
    expect(await eth0()).toContain('LOWER_UP'); // the node does not notice
    expect(await ping(client, node1.ipv6!, 1)).toBe(false);
    await lab.setLink('node1', 'up', 'silent');
    expect(await ping(client, node1.ipv6!)).toBe(true);
  });

  it('probes HTTP from the client and sees an outage while a node is cut off', async () => {
    const node3 = lab.node('node3');
    const server = node3.spawnNode(ECHO_SERVER_SCRIPT, ['--port', '8081', '--name', 'node3']);
    await server.waitForOutput('echo-server listening');
    const probe = lab.client('client').probeHttp(`http://${node3.ipv4}:8081/`, { intervalMs: 10, timeoutMs: 200 });
    try {
      await probe.waitFor((s) => s.ok && s.by === 'node3', 5000, 'a probe answered by node3');
      const cutAt = Date.now();
      await lab.setLink('node3', 'down', 'silent');
      await probe.waitFor((s) => !s.ok, 5000, 'a failed probe');
      await lab.setLink('node3', 'up', 'silent');
      await probe.waitFor((s) => s.ok, 5000, 'traffic back');
      const samples = await probe.stop();
      const cut = outages(samples).filter((o) => o.start >= cutAt - 250);
      expect(cut.length).toBeGreaterThanOrEqual(1);
      expect(cut[0]!.failures).toBeGreaterThanOrEqual(1);
      expect(cut[0]!.end).toBeDefined();
      expect(restoredAfter(samples, cutAt)).toBeGreaterThan(0);
      expect(samples.filter((s) => !s.ok).every((s) => typeof s.err === 'string')).toBe(true);
    } finally {
      await probe.stop();
      await lab.kill(server);
    }
  });

  it('tears down everything it made, processes included, and refuses use afterwards', async () => {
    const small = await Lab.create({ nodes: ['n1'], clients: ['c1'] });
    const pod = await small.addPod('n1', 'p');
    const sleeper = small.node('n1').spawn('sleep', ['600']);
    // A grandchild the lab never saw: still inside its namespace, so it goes too.
    const shell = pod.spawn('sh', ['-c', 'sleep 600 & echo child $!; wait']);
    const line = await shell.waitForOutput(/^child \d+/);
    const grandchild = Number(line.split(' ')[1]);
    const namespaces = (await listNamespaces()).filter((ns) => ns.startsWith(`mgl-${small.runId}-`));
    expect(namespaces.sort()).toEqual([`mgl-${small.runId}-c1`, `mgl-${small.runId}-lan`, `mgl-${small.runId}-n1`, `mgl-${small.runId}-n1.p`]);
    expect(pidAlive(sleeper.pid) && pidAlive(grandchild)).toBe(true);

    await small.destroy();
    expect((await listNamespaces()).filter((ns) => ns.startsWith(`mgl-${small.runId}-`))).toEqual([]);
    await sleep(50); // reaped by their parents
    expect(pidAlive(sleeper.pid)).toBe(false);
    expect(pidAlive(grandchild)).toBe(false);
    expect(existsSync(small.runDir)).toBe(false);
    expect(() => small.node('n1').spawn('true')).toThrow(/destroyed/);
    await small.destroy(); // idempotent
  });

  it('cleans up on process exit when nobody called destroy', async () => {
    const script = [
      `import { Lab } from ${JSON.stringify(join(repoRoot, 'test/support/lab.ts'))};`,
      "const lab = await Lab.create({ nodes: ['n1'], clients: ['c1'], sweepStale: false });",
      "await lab.addPod('n1', 'p');",
      "const s = lab.node('n1').spawn('sleep', ['600']);",
      'console.log(JSON.stringify({ runId: lab.runId, pid: s.pid, runDir: lab.runDir }));',
      'process.exit(0);',
    ].join('\n');
    const child = spawn(nodeBinary(), ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    const [code] = (await once(child, 'exit')) as [number | null];
    clearTimeout(timer);
    expect(code, out).toBe(0);
    const { runId, pid, runDir } = JSON.parse(out.slice(out.indexOf('{'))) as { runId: string; pid: number; runDir: string };
    expect((await listNamespaces()).filter((ns) => ns.startsWith(`mgl-${runId}-`))).toEqual([]);
    // The exiting child sent SIGKILL without waiting for it to land: it lands
    // when the process next runs, which a loaded machine can delay past 50 ms.
    const deadline = Date.now() + 5000;
    while (pidAlive(pid) && Date.now() < deadline) await sleep(20);
    expect(pidAlive(pid)).toBe(false);
    expect(existsSync(runDir)).toBe(false);
  });

  it('sweeps what a crashed run left, and leaves live runs alone', async () => {
    // A lab owner killed with SIGKILL: no teardown ran.
    const script = [
      `import { Lab } from ${JSON.stringify(join(repoRoot, 'test/support/lab.ts'))};`,
      "const lab = await Lab.create({ nodes: ['n1'], clients: [], sweepStale: false });",
      "await lab.addPod('n1', 'p');",
      "const s = lab.pod('n1', 'p').spawn('sleep', ['600']);",
      'console.log(JSON.stringify({ runId: lab.runId, pid: s.pid }));',
      'setInterval(() => {}, 1000);',
    ].join('\n');
    const child = spawn(nodeBinary(), ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const deadline = Date.now() + 20_000;
    while (!out.includes('"runId"') && Date.now() < deadline && child.exitCode === null) await sleep(25);
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    expect(out).toContain('"runId"');
    const { runId, pid } = JSON.parse(out.slice(out.indexOf('{'))) as { runId: string; pid: number };
    const leftovers = (await listNamespaces()).filter((ns) => ns.startsWith(`mgl-${runId}-`));
    expect(leftovers.length).toBe(3);
    expect(pidAlive(pid)).toBe(true);

    // A run whose owner is alive (this process) must survive the sweep.
    const liveId = `live${process.pid.toString(36)}`.slice(0, 12);
    const liveNs = `mgl-${liveId}-n1`;
    await ip(undefined, ['netns', 'add', liveNs]);
    try {
      await writeOwner(join(LAB_BASE_DIR, liveId), currentOwner());

      const report = await sweepLabs();
      expect(report.runs).toContain(runId);
      expect(report.runs).not.toContain(liveId);
      expect(report.runs).not.toContain(lab.runId);
      expect(report.namespaces.sort()).toEqual(expect.arrayContaining(leftovers.sort()));
      // Killed by this sweep, or by the sweep of a lab another test file
      // started meanwhile (every Lab.create sweeps stale runs), which can
      // have killed the run's processes before this one listed them.
      if (!report.killed.includes(pid)) expect(pidAlive(pid), `pid ${pid} neither killed by this sweep nor gone`).toBe(false);
      expect(report.errors).toEqual([]);
      await sleep(50);
      expect(pidAlive(pid)).toBe(false);
      const after = await listNamespaces();
      expect(after.filter((ns) => ns.startsWith(`mgl-${runId}-`))).toEqual([]);
      expect(after).toContain(liveNs);
      expect(after).toContain(lab.node('node1').ns);
      expect(existsSync(join(LAB_BASE_DIR, runId))).toBe(false);
      expect(await namespacePids(lab.node('node1').ns)).not.toEqual([]); // our relay still runs
    } finally {
      await ip(undefined, ['netns', 'del', liveNs]).catch(() => {});
      await rm(join(LAB_BASE_DIR, liveId), { recursive: true, force: true });
    }
  });
});
