// The product's API client (src/kube/api) against a real API server: the
// verbs with their content types, errors as ApiError with the server's own
// Status message, a watch stream in order and its end, a watch that brings
// nothing ended as a dead connection, queued() requests sharing a few
// connections; and the informer over it: the first list, a change, a new
// object, a deletion.
import net from 'node:net';
import pino from 'pino';
import { afterAll, describe, expect, test } from 'vitest';
import type { V1ConfigMap } from '@kubernetes/client-node';
import { ApiError, KubeClient, type WatchEventType } from '../../../src/kube/api/kube-client.ts';
import { accessFromKubeconfig } from '../../../src/kube/api/kubeconfig.ts';
import { apiStatus } from '../../../src/kube/client.ts';
import { startInformer } from '../../../src/kube/informer.ts';
import { ensureNamespace, useCluster, waitFor } from '../helpers/cluster.ts';

const cluster = useCluster();
const NS = 'kube-client';
const cms = `/api/v1/namespaces/${NS}/configmaps`;
const stops: Array<() => unknown> = [];
afterAll(async () => {
  for (const s of stops) await s();
});

describe('KubeClient', () => {
  test('create, get, merge-patch, replace, list, delete; errors carry the status code and message', async () => {
    const { core, kube } = cluster();
    await ensureNamespace(core, NS);
    const created = await kube.create<V1ConfigMap>(cms, { metadata: { name: 'a', labels: { app: 'x' } }, data: { k: 'v1' } });
    expect(created.metadata?.resourceVersion).toMatch(/^\d+$/);
    expect((await kube.get<V1ConfigMap>(`${cms}/a`)).data).toEqual({ k: 'v1' });
    const patched = await kube.mergePatch<V1ConfigMap>(`${cms}/a`, { data: { k2: 'v2' } });
    expect(patched.data).toEqual({ k: 'v1', k2: 'v2' });
    const replaced = await kube.replace<V1ConfigMap>(`${cms}/a`, { ...patched, data: { only: 'this' } });
    expect(replaced.data).toEqual({ only: 'this' });
    // A replace with a stale resourceVersion: 409, optimistic concurrency as leader election relies on it.
    const stale = await kube.replace(`${cms}/a`, { ...patched, data: {} }).catch((e: unknown) => e);
    expect(stale).toBeInstanceOf(ApiError);
    expect(apiStatus(stale)).toBe(409);
    expect((stale as ApiError).message).toMatch(/HTTP 409: .*the object has been modified/);
    await kube.create(cms, { metadata: { name: 'b' } });
    expect((await kube.list<V1ConfigMap>(cms, { labelSelector: 'app=x' })).items.map((c) => c.metadata?.name)).toEqual(['a']);
    await kube.delete(`${cms}/a`);
    const gone = await kube.get(`${cms}/a`).catch((e: unknown) => e);
    expect(apiStatus(gone)).toBe(404);
    expect((gone as ApiError).body).toMatchObject({ kind: 'Status', reason: 'NotFound' });
  });

  test('a watch: every change in order, and done(null) when the server ends it', async () => {
    const { kube } = cluster();
    const start = (await kube.list<V1ConfigMap>(cms)).metadata?.resourceVersion;
    const events: Array<[WatchEventType, string | undefined]> = [];
    let ended: unknown = 'running';
    const w = kube.watch(cms, { resourceVersion: start, timeoutSeconds: 2 }, (type, obj) => events.push([type, (obj as V1ConfigMap).metadata?.name]), (err) => (ended = err));
    stops.push(() => w.abort());
    await kube.create(cms, { metadata: { name: 'w' } });
    await kube.mergePatch(`${cms}/w`, { data: { x: '1' } });
    await kube.delete(`${cms}/w`);
    await waitFor(() => events.length === 3, 'three events', 5000);
    expect(events).toEqual([
      ['ADDED', 'w'],
      ['MODIFIED', 'w'],
      ['DELETED', 'w'],
    ]);
    await waitFor(() => ended !== 'running', 'the server ending the watch after timeoutSeconds', 8000);
    expect(ended).toBeNull();
  });
});

describe('queued()', () => {
  test('a burst of requests shares at most 4 connections, and every request is answered', async () => {
    const { cp } = cluster();
    // A TCP relay in front of the API server counts the connections the client opens.
    const upstream = new URL(cp.server);
    let connections = 0;
    let open = 0;
    const relay = net.createServer((c) => {
      connections++;
      open++;
      c.once('close', () => open--);
      const u = net.connect(Number(upstream.port), upstream.hostname);
      c.pipe(u).pipe(c);
      c.on('error', () => u.destroy());
      u.on('error', () => c.destroy());
    });
    await new Promise<void>((res) => relay.listen(0, '127.0.0.1', res));
    stops.push(() => new Promise((res) => relay.close(res)));
    const port = (relay.address() as net.AddressInfo).port;
    const r = accessFromKubeconfig(cp.kubeconfigYaml.replace(cp.server, `https://127.0.0.1:${port}`), () => '');
    if (!r.ok) throw new Error(r.error);
    const client = new KubeClient(r.access);
    const queued = client.queued();
    expect(client.queued()).toBe(queued);
    const made = await Promise.all(Array.from({ length: 40 }, (_, i) => queued.create<V1ConfigMap>(cms, { metadata: { name: `queued-${i}` } })));
    expect(made.map((m) => m.metadata?.name)).toEqual(Array.from({ length: 40 }, (_, i) => `queued-${i}`));
    expect(connections).toBeGreaterThan(0);
    expect(connections).toBeLessThanOrEqual(4);
    // The client's own requests are not limited: a burst opens connections of its own,
    // of which at most 4 are kept open idle afterwards.
    const before = connections;
    const openBefore = open;
    await Promise.all(Array.from({ length: 20 }, (_, i) => client.get(`${cms}/queued-${i}`)));
    expect(connections - before).toBeGreaterThan(4);
    const deadline = Date.now() + 5000;
    while (open - openBefore > 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(open - openBefore).toBeLessThanOrEqual(4);
    client.close();
  });
});

describe('a watch that brings nothing', () => {
  test('is ended after watchIdleMs as if the server had ended it (a dead connection); one that keeps bringing events is not', async () => {
    const { cp, kube } = cluster();
    const r = accessFromKubeconfig(cp.kubeconfigYaml, () => '');
    if (!r.ok) throw new Error(r.error);
    const quick = new KubeClient(r.access, { watchIdleMs: 800 });
    const start = (await kube.list<V1ConfigMap>(cms)).metadata?.resourceVersion;
    // No bookmarks asked for: nothing comes on a quiet namespace.
    let ended: unknown = 'running';
    const t0 = performance.now();
    const quiet = quick.watch(`/api/v1/namespaces/kube-client-quiet/configmaps`, { timeoutSeconds: 60 }, () => {}, (err) => (ended = err));
    stops.push(() => quiet.abort());
    await waitFor(() => ended !== 'running', 'the quiet watch ended', 5000, 50);
    expect(ended).toBeNull();
    expect(performance.now() - t0).toBeGreaterThanOrEqual(750);
    // Events every 300 ms keep a watch alive past the idle time.
    let busyEnded: unknown = 'running';
    let events = 0;
    const busy = quick.watch(cms, { resourceVersion: start, timeoutSeconds: 60 }, () => events++, (err) => (busyEnded = err));
    stops.push(() => busy.abort());
    for (let i = 0; i < 8; i++) {
      await kube.create(cms, { metadata: { name: `tick-${i}` } });
      await new Promise((res) => setTimeout(res, 300));
    }
    expect(events).toBeGreaterThanOrEqual(8);
    expect(busyEnded).toBe('running');
    busy.abort();
    quick.close();
  });
});

describe('the informer over it', () => {
  test('lists, then follows changes, new objects and deletions', async () => {
    const { kube } = cluster();
    await kube.create(cms, { metadata: { name: 'i1' }, data: { v: '1' } });
    const seen: string[] = [];
    const inf = startInformer<V1ConfigMap>(kube, cms, () => kube.list<V1ConfigMap>(cms), pino({ level: 'silent' }));
    stops.push(() => inf.stop());
    inf.on('add', (o) => seen.push(`add ${o.metadata?.name}`));
    inf.on('update', (o) => seen.push(`update ${o.metadata?.name} ${o.data?.v ?? ''}`));
    inf.on('delete', (o) => seen.push(`delete ${o.metadata?.name}`));
    await inf.synced();
    expect(inf.get('i1', NS)?.data).toEqual({ v: '1' });
    expect(seen).toContain('add i1');
    await kube.mergePatch(`${cms}/i1`, { data: { v: '2' } });
    await kube.create(cms, { metadata: { name: 'i2' } });
    await kube.delete(`${cms}/i1`);
    await waitFor(() => seen.includes('delete i1') && seen.includes('add i2'), 'the change, the new object and the deletion', 5000);
    expect(seen).toContain('update i1 2');
    expect(inf.get('i1', NS)).toBeUndefined();
    expect(inf.isHealthy()).toBe(true);
  });
});
