// `metalgate speaker --proxy-workers 2` on a real LAN of network namespaces
// (test/support/lab.ts): one node with a pod serving HTTP, a client, an L4
// LoadBalancer Service on 198.18.0.200:80. The speaker process starts two
// proxy worker threads that each bind the VIP's port with SO_REUSEPORT.
//
// Shows: both workers take connections; the speaker's /metrics sums the
// workers' counters; an Ingress's rate limit counts a client once for the
// node, whichever worker serves it; a kill -9 of the speaker leaves nothing serving; SIGTERM
// drains both workers and exits 0. A worker that dies and is restarted:
// worker-pool.test.ts.
// Root only; addresses from 198.18.0.0/15.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as k8s from '@kubernetes/client-node';
import { Lab, type LabNode, type LabPod, type LabProcess } from '../../support/lab.ts';
import { labSkipReason } from '../../support/netns-exec.ts';
import { ensureNamespace, useCluster, waitFor } from '../helpers/cluster.ts';
import { createNode, setServiceIps } from '../speaker/helpers.ts';
import { logLines, startSpeakerIn, VIP4 } from '../speaker/lab-helpers.ts';
import { writeSlice } from './k8s-helpers.ts';

const skipReason = labSkipReason();
const cluster = useCluster();
const URL4 = `http://${VIP4}/`;
const LISTENER = `TCP ${VIP4}:80`;
const METRICS_PORT = 9472;
const WORKERS = 2;
/** The ingress entrypoint's address, and the limit of the Ingress behind it: 10 requests a minute per client, burst 10. */
const VIP_INGRESS = '198.18.0.201';
const LIMIT_RPM = 10;

type LogLine = Record<string, unknown>;

/** The worker indexes that logged "proxy worker ready". */
function readyWorkers(p: LabProcess): Set<number> {
  const out = new Set<number>();
  for (const l of logLines(p)) {
    if (l.msg === 'proxy worker ready' && typeof l.worker === 'number' && typeof l.thread === 'number') out.add(l.worker);
  }
  return out;
}

/** Access-log lines of the VIP's listener for connections from `source`. */
function connectionLines(p: LabProcess, source: string): LogLine[] {
  return logLines(p).filter((l) => l.msg === 'connection' && l.listener === LISTENER && String(l.client).startsWith(`${source}:`));
}

/** Sum of a metric's samples whose labels contain every `label="value"` given. */
function metricSum(page: string, name: string, labels: Record<string, string> = {}): number | undefined {
  let sum: number | undefined;
  for (const line of page.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const set = m[2] ?? '';
    if (!Object.entries(labels).every(([k, v]) => set.includes(`${k}="${v}"`))) continue;
    sum = (sum ?? 0) + Number(m[3]);
  }
  return sum;
}

describe.skipIf(skipReason !== null)(`proxy worker threads on a namespace LAN${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  let lab: Lab;
  let node: LabNode;
  let pod: LabPod;
  let speaker: LabProcess;
  const started: LabProcess[] = [];

  const startSpeaker = async (): Promise<LabProcess> => {
    const p = startSpeakerIn(lab, node, cluster().cp, [
      '--proxy-workers',
      String(WORKERS),
      '--access-log-sample',
      '1',
      '--metrics-address',
      node.ipv4,
      '--metrics-port',
      String(METRICS_PORT),
    ]);
    started.push(p);
    await p.waitForOutput('published announce subnets', 30_000);
    await waitFor(() => readyWorkers(p).size === WORKERS, `${WORKERS} proxy workers ready`, 20_000, 100);
    return p;
  };

  let batches = 0;
  /**
   * `n` GETs from the client, each its own curl (a new connection), in one
   * exec, from a source address of their own (added to the client for this
   * batch), so the access log tells this batch's connections from any other.
   */
  const curls = async (n: number): Promise<{ ok: number; source: string }> => {
    const source = `198.18.0.${101 + batches++}`;
    await lab.client('client').ip(['addr', 'add', `${source}/32`, 'dev', 'eth0']);
    const script = `for i in $(seq ${n}); do curl -s -m 2 --interface ${source} ${URL4}; echo; done`;
    const { stdout } = await lab.client('client').exec('sh', ['-c', script], { timeoutMs: n * 2500 + 5000 });
    let ok = 0;
    for (const line of stdout.split('\n')) {
      if (!line.startsWith('{')) continue;
      if ((JSON.parse(line) as { name?: string }).name === 'web') ok++;
    }
    return { ok, source };
  };

  /** The batch's access-log lines, once there are `n` (each flow is logged when it ends, just after curl has its answer). */
  const batchLines = (source: string, n: number): Promise<LogLine[]> =>
    waitFor(() => {
      const l = connectionLines(speaker, source);
      return l.length >= n ? l : undefined;
    }, `${n} "connection" access-log lines from ${source}`, 5000, 50);

  const curlOnce = async (): Promise<boolean> => {
    const r = await lab.client('client').exec('curl', ['-s', '-m', '1', URL4], { timeoutMs: 4000 }).catch(() => undefined);
    return r !== undefined && r.stdout.includes('"web"');
  };

  /** The primary's /metrics page, fetched inside the node's namespace. */
  const scrape = async (): Promise<string> =>
    (await node.exec('curl', ['-s', '-f', '-m', '5', `http://${node.ipv4}:${METRICS_PORT}/metrics`], { timeoutMs: 8000 })).stdout;

  beforeAll(async () => {
    const { cp, core, kc } = cluster();
    lab = await Lab.create({ nodes: ['node1'], clients: ['client'], ipv6: false, apiServer: cp });
    node = lab.node('node1');
    pod = await lab.addPod('node1', 'web');
    await pod.serveHttp(8080);

    await ensureNamespace(core, 'lab');
    await createNode(core, node.name);
    await core.createNamespacedService({
      namespace: 'lab',
      body: { metadata: { name: 'web', namespace: 'lab' }, spec: { type: 'LoadBalancer', ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 }] } },
    });
    await setServiceIps(core, 'lab', 'web', [VIP4]);
    await writeSlice(kc.makeApiClient(k8s.DiscoveryV1Api), 'lab', 'web', 'web-1', [{ name: 'http', port: 8080 }], [{ ip: pod.ipv4, node: node.name }]);
    // The ingress entrypoint, and an Ingress with an ingress-nginx rate limit in front of the same pod.
    await core.createNamespacedService({
      namespace: 'metalgate-system',
      body: { metadata: { name: 'metalgate-ingress', namespace: 'metalgate-system' }, spec: { type: 'LoadBalancer', ports: [{ name: 'web', port: 80, protocol: 'TCP' }] } },
    });
    await setServiceIps(core, 'metalgate-system', 'metalgate-ingress', [VIP_INGRESS]);
    const networking = kc.makeApiClient(k8s.NetworkingV1Api);
    await networking.createIngressClass({ body: { metadata: { name: 'metalgate' }, spec: { controller: 'metalgate.io/ingress-controller' } } });
    await networking.createNamespacedIngress({
      namespace: 'lab',
      body: {
        metadata: { name: 'limited', namespace: 'lab', annotations: { 'nginx.ingress.kubernetes.io/limit-rpm': String(LIMIT_RPM), 'nginx.ingress.kubernetes.io/limit-burst-multiplier': '1' } },
        spec: { ingressClassName: 'metalgate', rules: [{ http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { number: 80 } } } }] } }] },
      },
    });

    speaker = await startSpeaker();
    await waitFor(() => curlOnce(), 'an answer from the pod through the VIP', 20_000, 100);
  });

  afterAll(async () => {
    await Promise.all(started.map((p) => p.stop('SIGTERM', 5000).catch(() => {})));
    await lab?.destroy();
  });

  it('both workers serve: 40 new connections all answered, access-log lines from worker 0 and worker 1', async () => {
    const { ok, source } = await curls(40);
    expect(ok).toBe(40);
    const lines = await batchLines(source, 40);
    const byWorker = new Map<unknown, number>();
    for (const l of lines) byWorker.set(l.worker, (byWorker.get(l.worker) ?? 0) + 1);
    if (process.env.METALGATE_TEST_VERBOSE) console.info(JSON.stringify({ byWorker: [...byWorker] }));
    expect(lines).toHaveLength(40);
    expect([...byWorker.keys()].sort()).toEqual([0, 1]);
    expect(lines.every((l) => l.service === 'lab/web' && l.endpoint === `${pod.ipv4}:8080` && l.reason !== undefined)).toBe(true);
  });

  it('the speaker joins the election only once both workers are ready (no IP moves here before its listeners can be up)', () => {
    const logs = logLines(speaker);
    const at = (pred: (l: Record<string, unknown>) => boolean) => logs.findIndex(pred);
    const ready = [0, 1].map((w) => at((l) => l.msg === 'proxy worker ready' && l.worker === w));
    const joining = at((l) => l.msg === 'proxy ready: joining the election');
    const published = at((l) => l.msg === 'published announce subnets');
    expect(ready.every((i) => i >= 0)).toBe(true);
    expect(joining).toBeGreaterThan(Math.max(...ready));
    expect(published).toBeGreaterThan(joining);
  });

  it("the speaker's /metrics shows 2 workers and the L4 connection counters summed over both", async () => {
    const before = await scrape();
    expect(metricSum(before, 'metalgate_proxy_workers')).toBe(WORKERS);
    expect(metricSum(before, 'metalgate_proxy_worker_restarts_total')).toBe(0);
    const c0 = metricSum(before, 'metalgate_proxy_l4_connections_total', { service: 'lab/web' }) ?? 0;
    expect(c0).toBeGreaterThanOrEqual(40); // the previous test's, at least

    const n = 30;
    const { ok, source } = await curls(n);
    expect(ok).toBe(n);
    const perWorker = new Map<unknown, number>();
    for (const l of await batchLines(source, n)) perWorker.set(l.worker, (perWorker.get(l.worker) ?? 0) + 1);
    const after = await scrape();
    const c1 = metricSum(after, 'metalgate_proxy_l4_connections_total', { service: 'lab/web', protocol: 'TCP' });
    if (process.env.METALGATE_TEST_VERBOSE) console.info(JSON.stringify({ c0, c1, perWorker: [...perWorker] }));
    // Every connection counted once, whichever worker took it, and the
    // increase is more than any one worker's share.
    expect(c1! - c0).toBe(n);
    expect(Math.max(...perWorker.values())).toBeLessThan(n);
    // No connection open now (a series that never saw one open across a scrape is absent: 0).
    expect(metricSum(after, 'metalgate_proxy_l4_active_connections', { service: 'lab/web' }) ?? 0).toBe(0);
    expect(metricSum(after, 'metalgate_proxy_l4_bytes_total', { service: 'lab/web', direction: 'from_upstream' })).toBeGreaterThan(0);
    // Each worker has its listening socket on the VIP's port.
    expect(metricSum(after, 'metalgate_proxy_listeners', { mode: 'l4', state: 'listening' })).toBe(WORKERS);
  });

  it('an ingress-nginx rate limit counts a client once for the node: 30 new connections spread over both workers, 10 let through (burst 10), the rest 503', async () => {
    await waitFor(async () => {
      const r = await lab.client('client').exec('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '-m', '1', `http://${VIP_INGRESS}/`], { timeoutMs: 4000 }).catch(() => undefined);
      return r?.stdout === '200';
    }, 'the Ingress served through the entrypoint', 20_000, 200);
    const source = `198.18.0.${101 + batches++}`;
    await lab.client('client').ip(['addr', 'add', `${source}/32`, 'dev', 'eth0']);
    const n = 30;
    const script = `for i in $(seq ${n}); do curl -s -o /dev/null -w '%{http_code}\\n' -m 2 --interface ${source} http://${VIP_INGRESS}/; done`;
    const { stdout } = await lab.client('client').exec('sh', ['-c', script], { timeoutMs: n * 2500 + 5000 });
    const codes = stdout.split('\n').filter(Boolean);
    const ok = codes.filter((c) => c === '200').length;
    const limited = codes.filter((c) => c === '503').length;
    const lines = await waitFor(() => {
      const l = logLines(speaker).filter((x) => x.clientIp === source && typeof x.worker === 'number');
      return l.length >= n ? l : undefined;
    }, `${n} access-log lines from ${source}`, 5000, 50);
    const workers = new Set(lines.map((l) => l.worker));
    if (process.env.METALGATE_TEST_VERBOSE) console.info(JSON.stringify({ ok, limited, workers: [...workers] }));
    expect(ok + limited).toBe(n);
    // Counted per worker, each worker would have let its own 10 through.
    expect(ok).toBeGreaterThanOrEqual(LIMIT_RPM);
    expect(ok).toBeLessThanOrEqual(LIMIT_RPM + 1); // one more token may come within the batch (one per 6 s)
    expect([...workers].sort()).toEqual([0, 1]);
  });

  it('kill -9 of the speaker: nothing serves the VIP any more (its worker threads end with it)', async () => {
    await speaker.stop('SIGKILL');
    // The VIP stays on the holder (nobody removed it), but no socket listens on it.
    expect(await curlOnce()).toBe(false);
  });

  it('SIGTERM of the speaker: exit code 0, both workers drain', async () => {
    speaker = await startSpeaker();
    await waitFor(() => curlOnce(), 'an answer through the new speaker', 20_000, 100);

    const t0 = Date.now();
    const status = await speaker.stop('SIGTERM', 20_000);
    const stoppedMs = Date.now() - t0;
    if (process.env.METALGATE_TEST_VERBOSE) console.info(JSON.stringify({ status, stoppedMs }));
    expect(status).toMatchObject({ code: 0, signal: null });
    const drained = logLines(speaker).filter((l) => l.msg === 'proxy drained');
    expect(new Set(drained.map((l) => l.worker))).toEqual(new Set([0, 1]));
    expect(logLines(speaker).some((l) => l.msg === 'proxy worker died: restarting it')).toBe(false);
  });
});
