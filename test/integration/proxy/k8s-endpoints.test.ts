// Endpoints changing under traffic, on a real API server (see k8s-helpers.ts):
// a LoadBalancer Service scaled 3 -> 1 -> 5 during a 10-second bounded load
// (keep-alive and new connections) with zero failed requests, written the way
// the EndpointSlice controller writes it (new endpoints added before old ones
// go, removed ones marked terminating first) with pods that shut down
// gracefully; and a terminating endpoint finishing the request it holds, even
// after it leaves the slice.

import http from 'node:http';
import net from 'node:net';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ManualOwnership } from '../../../src/proxy/listeners/manual-ownership.ts';
import type { Proxy } from '../../../src/proxy/proxy.ts';
import { useCluster, waitFor } from '../helpers/cluster.ts';
import { createLbService, httpBackend, httpGet, portBase, startProxy, waitListening, writeSlice, type HttpBackend, type SliceEndpoint } from './k8s-helpers.ts';

const cluster = useCluster();
const NS = 'endpoints';
const BASE = portBase();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface LoadResult {
  ok: number;
  failures: Array<{ at: number; error: string }>;
  byBackend: Map<string, number>;
}

/**
 * `workers` loops until the deadline, one request at a time each; even
 * workers share a keep-alive agent, odd ones open a new connection per
 * request.
 */
async function load(url: string, durationMs: number, workers: number): Promise<LoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: Math.ceil(workers / 2) });
  const result: LoadResult = { ok: 0, failures: [], byBackend: new Map() };
  const t0 = performance.now();
  const deadline = t0 + durationMs;
  const loop = async (i: number) => {
    while (performance.now() < deadline) {
      try {
        const r = await httpGet(url, i % 2 === 0 ? agent : false);
        if (r.status !== 200) throw new Error(`status ${r.status}`);
        result.ok++;
        result.byBackend.set(r.body, (result.byBackend.get(r.body) ?? 0) + 1);
      } catch (err) {
        result.failures.push({ at: Math.round(performance.now() - t0), error: (err as Error).message });
      }
    }
  };
  await Promise.all(Array.from({ length: workers }, (_, i) => loop(i)));
  agent.destroy();
  return result;
}

describe('proxy endpoints under change', () => {
  let proxy: Proxy;
  let ownership: ManualOwnership;
  let discovery: k8s.DiscoveryV1Api;
  const backends: HttpBackend[] = [];

  beforeAll(async () => {
    discovery = cluster().kc.makeApiClient(k8s.DiscoveryV1Api);
    ({ proxy, ownership } = await startProxy(cluster().kc));
  });

  afterAll(async () => {
    await proxy?.stop(1000);
    await Promise.all(backends.map((b) => b.close().catch(() => {})));
  });

  it('scaled 3 -> 1 -> 5 during a 10 s load: zero failed requests; terminating endpoints get no new connections', async () => {
    const vip = '127.77.1.1';
    const port = BASE + 1;
    const target = BASE + 2;
    const b = new Map<number, HttpBackend>();
    for (const i of [1, 2, 3, 4, 5, 6, 7]) {
      const be = await httpBackend(`198.18.5.${i}`, target, `b${i}`);
      b.set(i, be);
      backends.push(be);
    }
    const ports = [{ name: 'http', port: target }];
    const ep = (i: number, state: 'ready' | 'terminating' = 'ready'): SliceEndpoint =>
      state === 'ready' ? { ip: `198.18.5.${i}` } : { ip: `198.18.5.${i}`, ready: false, serving: true, terminating: true };
    const active = () => proxy.endpoints.endpoints(`${NS}/web`, 'http').active.map((e) => e.ip);

    await createLbService(cluster().core, NS, 'web', [{ name: 'http', port }], vip);
    await writeSlice(discovery, NS, 'web', 'web-1', ports, [ep(1), ep(2), ep(3)]);
    await waitFor(() => active().length === 3, 'three endpoints');
    ownership.own(vip);
    await waitListening(proxy, `TCP ${vip}:${port}`);

    const running = load(`http://${vip}:${port}/`, 10_000, 8);
    const timeline: string[] = [];
    const t0 = performance.now();
    const mark = (what: string) => timeline.push(`${Math.round(performance.now() - t0)} ms ${what}`);

    await sleep(2000);
    // 3 -> 1: the pods of b2 and b3 get SIGTERM: their endpoints turn terminating, they answer with Connection: close.
    b.get(2)!.terminate();
    b.get(3)!.terminate();
    await writeSlice(discovery, NS, 'web', 'web-1', ports, [ep(1), ep(2, 'terminating'), ep(3, 'terminating')]);
    await waitFor(() => active().join() === '198.18.5.1', 'b2, b3 terminating', 5000, 5);
    const terminatingSince = performance.now();
    mark('b2, b3 terminating');
    await sleep(1500);
    // The pods are gone: out of the slice, their servers closed once their last connection ended.
    await writeSlice(discovery, NS, 'web', 'web-1', ports, [ep(1)]);
    await Promise.all([b.get(2)!.drainAndClose(3000), b.get(3)!.drainAndClose(3000)]);
    mark('b2, b3 removed');
    await sleep(1000);
    // 1 -> 5: new pods are ready before they are added.
    await writeSlice(discovery, NS, 'web', 'web-1', ports, [ep(1), ep(4), ep(5), ep(6), ep(7)]);
    await waitFor(() => active().length === 5, 'five endpoints', 5000, 5);
    mark('scaled to 5');

    const r = await running;
    const summary = { ok: r.ok, failures: r.failures.slice(0, 10), byBackend: Object.fromEntries(r.byBackend), timeline };
    if (process.env.METALGATE_TEST_VERBOSE) console.info(JSON.stringify(summary));
    expect(r.failures, JSON.stringify(summary)).toEqual([]);
    expect(r.ok).toBeGreaterThan(500);
    for (const i of [4, 5, 6, 7]) expect(r.byBackend.get(`b${i}`) ?? 0, `b${i} served`).toBeGreaterThan(0);
    // No new connection reached a terminating endpoint once the proxy knew. A
    // connect already under way may land just after: its accept is stamped in
    // this process, which a loaded machine can stall for a few hundred ms, so
    // 500 ms of grace (and 1.5 s of terminating, so a second is still checked).
    for (const i of [2, 3]) expect(b.get(i)!.connections.filter((t) => t > terminatingSince + 500), `b${i} late connections`).toEqual([]);
    const m = await proxy.registry.getSingleMetric('metalgate_proxy_l4_connections_total')!.get();
    expect(m.values.find((v) => v.labels.service === `${NS}/web`)?.value).toBeGreaterThan(0);
    ownership.release(vip);
  }, 60_000);

  it('a terminating endpoint finishes the request it holds, also after it leaves the slice; new requests go elsewhere', async () => {
    const vip = '127.77.1.2';
    const port = BASE + 11;
    const target = BASE + 12;
    const s1 = await httpBackend('198.18.6.1', target, 's1');
    const s2 = await httpBackend('198.18.6.2', target, 's2');
    backends.push(s1, s2);
    const ports = [{ name: 'http', port: target }];
    await createLbService(cluster().core, NS, 'slow', [{ name: 'http', port }], vip);
    await writeSlice(discovery, NS, 'slow', 'slow-1', ports, [{ ip: '198.18.6.1' }]);
    await waitFor(() => proxy.endpoints.endpoints(`${NS}/slow`, 'http').active.length === 1, 'one endpoint');
    ownership.own(vip);
    await waitListening(proxy, `TCP ${vip}:${port}`);

    const slow = httpGet(`http://${vip}:${port}/slow?ms=2500`, false);
    await waitFor(() => s1.open() === 1, 'the slow request at s1', 5000, 5);
    s1.terminate();
    await writeSlice(discovery, NS, 'slow', 'slow-1', ports, [
      { ip: '198.18.6.1', ready: false, serving: true, terminating: true },
      { ip: '198.18.6.2' },
    ]);
    await waitFor(() => proxy.endpoints.endpoints(`${NS}/slow`, 'http').active.map((e) => e.ip).join() === '198.18.6.2', 's1 terminating');
    expect(proxy.endpoints.endpoints(`${NS}/slow`, 'http').draining.map((e) => e.ip)).toEqual(['198.18.6.1']);
    for (let i = 0; i < 3; i++) expect((await httpGet(`http://${vip}:${port}/`, false)).body).toBe('s2');
    // Gone from the slice while its request is still running: not cut either.
    await writeSlice(discovery, NS, 'slow', 'slow-1', ports, [{ ip: '198.18.6.2' }]);
    await waitFor(() => proxy.endpoints.endpoints(`${NS}/slow`, 'http').draining.length === 0, 's1 gone');
    expect(await slow).toEqual({ status: 200, body: 's1' });
    ownership.release(vip);
  });

  it('shutdown: settle keeps serving until in-flight work is done (bounded); unbind and stop refuse new connections and cut what outlives their grace', async () => {
    const { proxy: p2, ownership: o2 } = await startProxy(cluster().kc, { unbindGraceMs: 300 });
    const vip = '127.77.1.3';
    const port = BASE + 21;
    const target = BASE + 22;
    const be = await httpBackend('198.18.6.3', target, 'd1');
    backends.push(be);
    await createLbService(cluster().core, NS, 'drain', [{ name: 'http', port }], vip);
    await writeSlice(discovery, NS, 'drain', 'drain-1', [{ name: 'http', port: target }], [{ ip: '198.18.6.3' }]);
    await waitFor(() => p2.endpoints.endpoints(`${NS}/drain`, 'http').active.length === 1, 'endpoint');
    o2.own(vip);
    await waitListening(p2, `TCP ${vip}:${port}`);

    const slow = httpGet(`http://${vip}:${port}/slow?ms=1500`, false);
    await waitFor(() => p2.busy() === 1, 'one connection in flight', 5000, 5);
    const t = performance.now();
    const settling = p2.settle(5000);
    // Still the owner: new connections are served meanwhile.
    expect((await httpGet(`http://${vip}:${port}/`, false)).body).toBe('d1');
    expect(await settling).toBe(0);
    expect(performance.now() - t).toBeGreaterThan(1000);
    expect(performance.now() - t).toBeLessThan(4000);
    expect(await slow).toEqual({ status: 200, body: 'd1' });

    // Ownership moving away: new connections are refused at once, open ones are cut after the unbind grace.
    const held = net.connect({ host: vip, port });
    held.on('error', () => {});
    await new Promise((r) => held.once('connect', r));
    const heldClosed = new Promise((r) => held.once('close', r));
    const t1 = performance.now();
    o2.release(vip);
    await waitListening(p2, `TCP ${vip}:${port}`, false);
    await heldClosed;
    expect(performance.now() - t1).toBeGreaterThanOrEqual(250);
    expect(performance.now() - t1).toBeLessThan(2000);
    o2.own(vip);
    await waitListening(p2, `TCP ${vip}:${port}`);

    // Bounded: a connection that never ends does not hold the shutdown.
    const idle = net.connect({ host: vip, port });
    idle.on('error', () => {});
    await new Promise((r) => idle.once('connect', r));
    await waitFor(() => p2.busy() === 1, 'the idle connection', 5000, 5);
    expect(await p2.settle(300)).toBe(1);
    const closed = new Promise((r) => idle.once('close', r));
    const t2 = performance.now();
    await p2.stop(300);
    await closed;
    expect(performance.now() - t2).toBeLessThan(2000);
    await expect(httpGet(`http://${vip}:${port}/`, false)).rejects.toThrow(/ECONNREFUSED/);
  });
});
