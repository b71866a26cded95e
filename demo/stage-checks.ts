// Stage: what the user sees. `kubectl get svc -A` with the EXTERNAL-IP,
// which node announces it, curl from the client to the IP and to the
// Ingress host through the entrypoint IP, and the announcement lines in the
// speakers' logs.
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

import type { LabNode } from '../test/support/lab.ts';
import { parseAnnouncements, summarizeAnnouncements, type Announcement } from './announcements.ts';
import type { Demo } from './demo-state.ts';
import { APP, ENTRYPOINT, httpUrl, inRange, POOL_RANGE } from './demo-plan.ts';
import { curlArgs, curlFrom, holderAddresses, listensOn, tcpListeners, type CurlResult } from './observe.ts';
import { seconds } from './report.ts';

const OWNER_TIMEOUT_MS = 20_000;
const CURLS = 4;

export async function checksStage(demo: Demo): Promise<void> {
  const r = demo.report;
  const cp = demo.need(demo.cp, 'the control plane');
  r.stage('Check it as a user would: kubectl, curl from the client, the speakers\' logs');

  await entrypointIp(demo);
  r.command('kubectl get svc -A', await cp.kubectl(['get', 'svc', '-A']));
  demo.step();

  const ip = demo.externalIp;
  if (ip === undefined) {
    r.fail('EXTERNAL-IP announced', 'no EXTERNAL-IP to announce');
    return;
  }
  const owner = await announcedBy(demo, ip, `Service ${APP.namespace}/${APP.name}`);
  const entryOwner = demo.entrypointIp ? await announcedBy(demo, demo.entrypointIp, `Service ${ENTRYPOINT.namespace}/${ENTRYPOINT.name}`) : undefined;
  demo.step();

  // curl the EXTERNAL-IP, a few times, each on a fresh connection.
  const url = httpUrl(ip);
  r.command(demo.netnsExec(demo.client, `curl ${curlArgs(url).join(' ')}`));
  const results: CurlResult[] = [];
  for (let i = 0; i < CURLS; i++) {
    const res = await curlFrom(demo.client, url);
    results.push(res);
    r.info(`  ${describeAnswer(res)}`);
  }
  const served = results.filter((x) => x.ok && x.echo && APP.pods.some((p) => p.name === x.echo!.name));
  if (served.length === results.length) {
    demo.trafficServed = true;
    const pods = [...new Set(served.map((x) => x.echo!.name))].sort();
    r.ok('curl EXTERNAL-IP from the client', `${served.length}/${results.length} answered by the app (pods ${pods.join(', ')})`);
  } else {
    await noAnswer(demo, 'curl EXTERNAL-IP from the client', owner, ip, APP.port, results.find((x) => !x.ok) ?? results[0]!);
  }
  demo.step();

  // The Ingress host through the entrypoint's IP.
  if (demo.entrypointIp) {
    const extra = ['--resolve', `${APP.host}:80:${demo.entrypointIp}`];
    const hostUrl = `http://${APP.host}/`;
    r.command(demo.netnsExec(demo.client, `curl ${curlArgs(hostUrl, extra).join(' ')}`));
    const res = await curlFrom(demo.client, hostUrl, extra);
    r.info(`  ${describeAnswer(res)}`);
    if (res.ok && res.echo && APP.pods.some((p) => p.name === res.echo!.name)) {
      r.ok(`curl http://${APP.host}/ via the entrypoint`, `answered by pod ${res.echo.name} through Ingress ${APP.namespace}/${APP.name}`);
    } else {
      await noAnswer(demo, `curl http://${APP.host}/ via the entrypoint`, entryOwner, demo.entrypointIp, 80, res);
    }
    const address = await ingressAddress(demo, 10_000);
    if (address === demo.entrypointIp) r.ok('Ingress ADDRESS', `Ingress ${APP.namespace}/${APP.name} shows ${address}, the entrypoint's IP`);
    else r.fail('Ingress ADDRESS', address ? `shows ${address}, not the entrypoint's ${demo.entrypointIp}` : 'the ingress engine wrote no status.loadBalancer');
    r.command(`kubectl get ingress -n ${APP.namespace}`, await cp.kubectl(['get', 'ingress', '-n', APP.namespace]));
  } else {
    r.fail(`curl http://${APP.host}/ via the entrypoint`, `the entrypoint Service ${ENTRYPOINT.namespace}/${ENTRYPOINT.name} has no IP`);
  }
  demo.step();

  // The announcements, as the speakers logged them.
  const all = await announcements(demo);
  r.info('announcements in the speakers\' logs (info lines with reason takeover / refresh / reply):');
  for (const line of summarizeAnnouncements(all)) r.info(`  ${line}`);
  if (owner) {
    const node = demo.need(demo.lab, 'the lab').node(owner);
    const takeover = all.find((a) => a.node === owner && a.ip === ip && a.reason === 'takeover');
    if (takeover && takeover.mac === node.mac) {
      r.ok('announcement logged', `${owner} sent gratuitous ARP for ${ip} from ${takeover.mac} on ${takeover.interface}`);
    } else {
      r.fail('announcement logged', `no takeover line for ${ip} with ${owner}'s MAC ${node.mac} in ${demo.speakers.get(owner)?.logFile}`);
    }
  } else {
    r.fail('announcement logged', `no node owns ${ip}`);
  }
}

async function entrypointIp(demo: Demo): Promise<void> {
  const { core } = demo.need(demo.api, 'the API clients');
  const name = `${ENTRYPOINT.namespace}/${ENTRYPOINT.name}`;
  const deadline = Date.now() + 10_000;
  let exists = false;
  while (Date.now() < deadline && demo.entrypointIp === undefined) {
    try {
      const svc = await core.readNamespacedService({ name: ENTRYPOINT.name, namespace: ENTRYPOINT.namespace });
      exists = true;
      demo.entrypointIp = svc.status?.loadBalancer?.ingress?.find((i) => i.ip)?.ip;
    } catch {
      break; // no such Service
    }
    if (demo.entrypointIp === undefined) await sleep(100);
  }
  if (!exists) demo.report.fail('ingress entrypoint IP', `the manifests have no Service ${name}`);
  else if (demo.entrypointIp === undefined) demo.report.fail('ingress entrypoint IP', `${name} got no IP`);
  else if (!inRange(demo.entrypointIp)) demo.report.fail('ingress entrypoint IP', `${demo.entrypointIp} is outside the pool ${POOL_RANGE}`);
  else demo.report.ok('ingress entrypoint IP', `${name} has ${demo.entrypointIp}`);
}

/** Waits (bounded) for the Ingress status the ingress engine writes: the ADDRESS kubectl shows. */
async function ingressAddress(demo: Demo, timeoutMs: number): Promise<string | undefined> {
  const { networking } = demo.need(demo.api, 'the API clients');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ing = await networking.readNamespacedIngress({ name: APP.name, namespace: APP.namespace });
    const ip = ing.status?.loadBalancer?.ingress?.find((i) => i.ip)?.ip;
    if (ip !== undefined || Date.now() > deadline) return ip;
    await sleep(100);
  }
}

/** The nodes whose speaker runs and whose holder device carries `ip`. */
export async function holdersOf(demo: Demo, ip: string): Promise<string[]> {
  const out: string[] = [];
  for (const n of demo.nodes) {
    if (demo.speakers.get(n.name)?.running && (await holderAddresses(n)).includes(ip)) out.push(n.name);
  }
  return out;
}

/** Waits until exactly one live speaker's node holds `ip`; reports it; returns that node. */
async function announcedBy(demo: Demo, ip: string, what: string): Promise<string | undefined> {
  const t0 = Date.now();
  let holders: string[] = [];
  while (Date.now() - t0 < OWNER_TIMEOUT_MS) {
    holders = await holdersOf(demo, ip);
    if (holders.length === 1) break;
    await sleep(100);
  }
  if (holders.length !== 1) {
    demo.report.fail(`${ip} announced`, `${holders.length === 0 ? 'no node' : holders.join(' and ')} holds it after ${seconds(OWNER_TIMEOUT_MS)} (${what})`);
    return undefined;
  }
  const owner = holders[0]!;
  const node = demo.need(demo.lab, 'the lab').node(owner);
  demo.report.ok(`${ip} announced`, `EXTERNAL-IP ${ip} of ${what} is owned by ${owner} (on its holder device, announced from ${node.mac})`);
  return owner;
}

function describeAnswer(res: CurlResult): string {
  if (res.echo) {
    const seen = res.echo.remoteAddress ? `, it saw the request come from ${res.echo.remoteAddress.replace(/^::ffff:/, '')}` : '';
    return `-> HTTP ${res.status} from pod ${res.echo.name}${seen}`;
  }
  if (res.error) return `-> no answer: ${res.error}`;
  return `-> HTTP ${res.status}: ${res.body.trim().slice(0, 120)}`;
}

/** Why `ip:port` gave no answer from the app, said plainly. */
async function noAnswer(demo: Demo, check: string, owner: string | undefined, ip: string, port: number, res: CurlResult): Promise<void> {
  const r = demo.report;
  const got = res.error ?? `HTTP ${res.status}`;
  if (!owner) return void r.fail(check, `${got}; no node owns ${ip}`);
  const node: LabNode = demo.need(demo.lab, 'the lab').node(owner);
  const listening = listensOn(await tcpListeners(node).catch(() => []), ip, port);
  if (!listening) {
    r.fail(check, `${got}: ${owner} owns ${ip} but nothing listens on ${ip}:${port} there (see ${demo.speakers.get(owner)?.logFile})`);
  } else {
    r.fail(check, `${got}: the proxy on ${owner} listens on ${ip}:${port} but the app did not answer (see ${demo.speakers.get(owner)?.logFile})`);
  }
}

async function announcements(demo: Demo): Promise<Announcement[]> {
  const all: Announcement[] = [];
  for (const [node, proc] of demo.speakers) all.push(...parseAnnouncements(node, await readFile(proc.logFile, 'utf8').catch(() => '')));
  return all;
}
