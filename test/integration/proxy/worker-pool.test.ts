// ProxyWorkerPool with real worker threads running a stand-in worker
// (fixtures/fake-proxy-worker.mjs): the configuration and every update reach
// each worker, readiness, settle and metrics are gathered from all, stop ends
// them, a dead worker is restarted and its counters stay in the sum, an
// exception is logged with its stack, workers that keep dying make the pool
// give up, the workers' young generation is their own under the image's
// --max-semi-space-size=1, and the workers have `gc` for their heap reclaims.

import { spawnSync } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { AggregatorRegistry, Registry } from 'prom-client';
import { afterEach, describe, expect, test } from 'vitest';
import type { ProxyConfigUpdate } from '../../../src/proxy/config/proxy-config.ts';
import type { ListenerSpec } from '../../../src/proxy/listeners/listen-plan.ts';
import { ManualOwnership } from '../../../src/proxy/listeners/manual-ownership.ts';
import { GIVE_UP_DEATHS, ProxyWorkerPool } from '../../../src/proxy/workers/worker-pool.ts';
import { waitFor } from '../helpers/cluster.ts';

const FAKE = new URL('./fixtures/fake-proxy-worker.mjs', import.meta.url);
const pools: ProxyWorkerPool[] = [];
afterEach(async () => {
  for (const p of pools.splice(0)) await p.stop(0);
  delete process.env.FAKE_WORKER;
  delete process.env.FAKE_APPLY_DELAY_MS;
  delete process.env.FAKE_DIE_ONCE;
  delete process.env.FAKE_DIE_AT_ONCE;
});

/** Stands in for the Proxy: one listener per owned IP, published as the ownership changes (subscribed before the pool, as in the speaker). */
class ListenerFeed extends EventEmitter<{ config: [ProxyConfigUpdate] }> {
  #version = 0;
  readonly #ownership: ManualOwnership;
  constructor(ownership: ManualOwnership) {
    super();
    this.#ownership = ownership;
    ownership.on('ownership', () => this.emit('config', this.#update()));
  }
  #update(): ProxyConfigUpdate {
    return { version: ++this.#version, listeners: this.#ownership.ownedIps().map((ip) => ({ ip }) as unknown as ListenerSpec) };
  }
  snapshot(): ProxyConfigUpdate {
    return { ...this.#update(), reset: true };
  }
}

function pool(count: number, extra: Partial<ConstructorParameters<typeof ProxyWorkerPool>[0]> = {}) {
  const ownership = new ManualOwnership();
  ownership.own('198.18.0.200');
  const config = new ListenerFeed(ownership);
  const registry = new Registry();
  const p = new ProxyWorkerPool({ count, entry: FAKE, workerData: null, log: pino({ level: 'silent' }), config, registry, restartDelayMs: { initial: 20, max: 40 }, ...extra });
  pools.push(p);
  return { p, ownership, registry };
}

async function merged(p: ProxyWorkerPool): Promise<string> {
  return AggregatorRegistry.aggregate(await p.metrics()).metrics();
}

describe('ProxyWorkerPool', () => {
  test('workers get the configuration and every update; readiness, settle and metrics come from all of them; stop ends them', async () => {
    const { p, ownership, registry } = pool(2);
    p.start();
    expect(p.notReadyReason()).toMatch(/proxy worker 0/);
    await waitFor(() => p.notReadyReason() === undefined, 'both workers ready', 10_000);
    ownership.own('198.18.0.201');
    ownership.own('2001:db8::200');
    ownership.release('198.18.0.200');
    await waitFor(async () => (await merged(p)).includes('fake_owned{worker="1"} 2'), 'worker 1 owning two IPs', 5000);
    const text = await merged(p);
    expect(text).toContain('fake_owned{worker="0"} 2');
    expect(text).toContain('fake_requests_total 20');
    // Both threads can reclaim their heap after a burst (heap-reclaimer.ts).
    expect(text).toContain('fake_gc_exposed 2');
    expect(await p.settle(1000)).toBe(2);
    expect(await registry.metrics()).toContain('metalgate_proxy_workers 2');
    await p.stop(1000);
    expect(await registry.metrics()).toContain('metalgate_proxy_workers 0');
  });

  test('the configuration sent counts as applied once every worker acknowledges it (a gained IP is announced only then), one question per update, bounded at 250 ms', async () => {
    process.env.FAKE_APPLY_DELAY_MS = '80';
    const { p, ownership } = pool(2);
    p.start();
    await waitFor(() => p.notReadyReason() === undefined, 'both workers ready', 10_000);
    let t0 = performance.now();
    ownership.own('198.18.0.201');
    const first = p.applied();
    // The IPs of one election share the question until the configuration changes again.
    expect(p.applied()).toBe(first);
    await first;
    const acked = performance.now() - t0;
    expect(acked).toBeGreaterThanOrEqual(75);
    expect(acked).toBeLessThan(250);
    expect(p.applied()).toBe(first);
    ownership.own('198.18.0.203');
    expect(p.applied()).not.toBe(first);
    await p.stop(0);
    process.env.FAKE_APPLY_DELAY_MS = '5000';
    const slow = pool(1);
    slow.p.start();
    await waitFor(() => slow.p.notReadyReason() === undefined, 'the worker ready', 10_000);
    t0 = performance.now();
    slow.ownership.own('198.18.0.202');
    await slow.p.applied();
    expect(performance.now() - t0).toBeLessThan(1000);
  });

  test.each([
    ['after its answer', false],
    ['as its answer arrives (both reach a busy pool together)', true],
  ])('a worker that dies %s is restarted; what it counted stays in the sum', async (_when, busy) => {
    const dir = mkdtempSync(join(tmpdir(), 'metalgate-pool-'));
    process.env.FAKE_DIE_ONCE = join(dir, 'died');
    if (busy) process.env.FAKE_DIE_AT_ONCE = '1';
    const { p, registry } = pool(2);
    p.start();
    await waitFor(() => p.notReadyReason() === undefined, 'both workers ready', 10_000);
    // Worker 1 answers this scrape, then ends.
    const scrape = merged(p);
    if (busy) {
      // The pool's thread does not get to the answer before the worker has ended: Node then delivers it as part of the thread's exit.
      const until = performance.now() + 300;
      while (performance.now() < until);
    }
    expect(await scrape).toContain('fake_requests_total 20');
    await waitFor(async () => (await registry.metrics()).includes('metalgate_proxy_worker_restarts_total 1'), 'the restart counted', 5000);
    await waitFor(() => p.notReadyReason() === undefined, 'the replacement ready', 10_000);
    // Two live workers (10 each) plus the dead one's last 10.
    expect(await merged(p)).toContain('fake_requests_total 30');
    rmSync(dir, { recursive: true, force: true });
  });

  test(`workers that die ${GIVE_UP_DEATHS} times within a minute make it give up, once`, async () => {
    process.env.FAKE_WORKER = 'crash';
    const reasons: string[] = [];
    const { p } = pool(1, { onGiveUp: (r) => reasons.push(r) });
    p.start();
    await waitFor(() => reasons.length > 0, 'the pool giving up', 10_000);
    expect(reasons[0]).toMatch(new RegExp(`${GIVE_UP_DEATHS} proxy worker deaths within 60 s`));
    expect(p.notReadyReason()).toMatch(/proxy worker 0/);
    await new Promise((r) => setTimeout(r, 300));
    expect(reasons).toHaveLength(1);
  });

  test('an exception nothing caught ends the worker: logged with its stack, and the worker restarted', async () => {
    process.env.FAKE_WORKER = 'throw';
    const lines: Record<string, unknown>[] = [];
    const log = pino({ level: 'error' }, { write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) });
    const { p, registry } = pool(1, { log });
    p.start();
    await waitFor(async () => (await registry.metrics()).includes('metalgate_proxy_worker_restarts_total 2'), 'two restarts counted', 5000);
    expect(lines[0]).toMatchObject({ msg: 'proxy worker died: restarting it', worker: 0, code: 1 });
    expect(String(lines[0]!.err)).toMatch(/Error: fake worker failure\n\s+at /);
  });

  test("under the image's --max-semi-space-size=1 the workers still get their own young generation", () => {
    // A process started with the image's flags: its own heap keeps 1 MiB semi-spaces, the workers' do not.
    const r = spawnSync(process.execPath, ['--max-semi-space-size=1', fileURLToPath(new URL('./fixtures/young-generation-pool.ts', import.meta.url))], { encoding: 'utf8', timeout: 20_000 });
    expect(r.status, r.stderr).toBe(0);
    const { primary, worker } = JSON.parse(r.stdout) as { primary: number; worker: number };
    expect(primary).toBeLessThanOrEqual(4 * 2 ** 20);
    expect(worker).toBeGreaterThanOrEqual(8 * 2 ** 20);
  });
});
