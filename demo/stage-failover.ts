// Stage: the owner node dies once. Its speaker (and the proxy in the same
// process) gets SIGKILL: no clean handover, no Lease deleted, the IP left on
// its holder device. The client keeps probing the EXTERNAL-IP on a fresh
// connection every 20 ms; the figures say how long traffic was gone and who
// answered after. Then (unless --once) the node's speaker starts again, as
// the kubelet would restart it.
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

import { outages, restoredAfter } from '../test/support/probe-stats.ts';
import type { HttpProbe } from '../test/support/lab.ts';
import { formatAnnouncement, parseAnnouncements, parseOwnership } from './announcements.ts';
import type { Demo } from './demo-state.ts';
import { httpUrl } from './demo-plan.ts';
import { failureKinds, seconds } from './report.ts';
import { holdersOf } from './stage-checks.ts';
import { restartSpeaker } from './stage-components.ts';

const MOVE_TIMEOUT_MS = 15_000;

export async function failoverStage(demo: Demo): Promise<void> {
  const r = demo.report;
  const lab = demo.need(demo.lab, 'the lab');
  r.stage('Failover: the owner node\'s speaker (and its proxy) killed with SIGKILL');
  const ip = demo.externalIp;
  const holders = ip ? await holdersOf(demo, ip) : [];
  if (!ip || holders.length !== 1) {
    r.fail('failover', `needs one owner of the EXTERNAL-IP (have ${holders.length ? holders.join(', ') : 'none'})`);
    return;
  }
  const owner = holders[0]!;
  const victim = demo.speakers.get(owner)!;

  let probe: HttpProbe | undefined;
  if (demo.trafficServed) {
    probe = demo.client.probeHttp(httpUrl(ip), { intervalMs: 20, timeoutMs: 300 });
    const first = await probe.waitFor((s) => s.ok, 10_000, 'a first answer').catch((err: Error) => err);
    if (first instanceof Error) {
      await probe.stop();
      r.fail('traffic back after the owner died', `the prober got no answer even before the kill: ${first.message}`);
      return;
    }
    r.info(`client probes ${httpUrl(ip)} every 20 ms, a new connection each (timeout 300 ms)`);
  }
  r.command(`kill -9 ${victim.pid}    # metalgate speaker on ${owner}`);
  const t0 = Date.now();
  await victim.stop('SIGKILL');
  demo.step();

  // The IP moves: another live speaker brings it up on its node.
  let next: string | undefined;
  while (Date.now() - t0 < MOVE_TIMEOUT_MS && next === undefined) {
    const h = (await holdersOf(demo, ip)).filter((n) => n !== owner);
    if (h.length === 1) next = h[0];
    else await sleep(50);
  }
  if (next === undefined) {
    r.fail('IP moved to another node', `no other node took ${ip} within ${seconds(MOVE_TIMEOUT_MS)}`);
    await probe?.stop();
    return;
  }
  const nextLog = await readFile(demo.speakers.get(next)!.logFile, 'utf8');
  const took = parseOwnership(next, nextLog).find((o) => o.owned && o.ip === ip && Date.parse(o.time) >= t0);
  const tookMs = took ? Date.parse(took.time) - t0 : Date.now() - t0;
  r.ok('IP moved to another node', `${next} took over ${ip} ${seconds(tookMs)} after the kill (the dead speaker's Lease expired; no API call needed from it)`);
  const lines = parseAnnouncements(next, nextLog).filter((a) => a.ip === ip && Date.parse(a.time) >= t0 && a.reason === 'takeover');
  for (const a of lines.slice(0, 2)) r.info(`  ${formatAnnouncement(a)}`);
  if (lines.length > 2) r.info(`  [+${lines.length - 2} more takeover lines: the burst]`);

  if (probe) {
    await probe.waitFor((s) => s.t >= t0 && s.ok, MOVE_TIMEOUT_MS, 'an answer after the kill').catch(() => undefined);
    await sleep(300);
    const samples = await probe.stop();
    const after = samples.filter((s) => s.t >= t0);
    const back = restoredAfter(samples, t0);
    const firstOk = after.find((s) => s.ok);
    const failed = after.filter((s) => !s.ok);
    const gap = outages(after)[0];
    if (back === undefined) {
      r.fail('traffic back after the owner died', `no answer within ${seconds(MOVE_TIMEOUT_MS)} (${failureKinds(after)})`);
    } else {
      const how = failed.length ? `${failed.length} probes failed in between (${failureKinds(after)})` : 'no probe failed';
      r.ok(
        'traffic back after the owner died',
        `answered again ${seconds(back)} after the kill${firstOk?.by ? ` by pod ${firstOk.by}` : ''} through ${next}; ${how}`,
      );
      if (gap?.ms !== undefined) r.info(`outage as the client saw it: ${gap.ms} ms (first failed probe to first answer)`);
    }
  } else {
    r.fail('traffic back after the owner died', 'not measured: the app did not answer on the EXTERNAL-IP before the kill');
  }
  demo.step();

  if (!demo.opts.once) {
    const node = lab.node(owner);
    const p = await restartSpeaker(demo, node);
    const cleaned = p.output().includes('removed addresses a previous run left');
    r.info(`speaker on ${owner} started again (as the kubelet would restart it)${cleaned ? '; it first removed the IP its killed run had left on the holder device' : ''}`);
  }
}
