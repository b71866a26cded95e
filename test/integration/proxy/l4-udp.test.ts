// UDP forwarder on loopback (127.0.0.1 only): per-client flows, replies mapped
// back, idle expiry by the sweeper, the max-flows bound, close().

import dgram from 'node:dgram';
import { afterEach, describe, expect, test } from 'vitest';
import type { Endpoint } from '../../../src/proxy/l4/endpoint.ts';
import { type UdpDropReason, UdpForwarder, type UdpForwarderOptions, type UdpFlowCloseReason } from '../../../src/proxy/l4/udp-forwarder.ts';

const HOST = '127.0.0.1';
const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

async function bound(): Promise<dgram.Socket> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, HOST, resolve));
  cleanups.push(() => s.close());
  return s;
}

/** Echo server that also records which source ports it saw. */
async function echo(): Promise<{ endpoint: Endpoint; sources: Set<number> }> {
  const s = await bound();
  const sources = new Set<number>();
  s.on('message', (m, r) => {
    sources.add(r.port);
    s.send(m, r.port, r.address);
  });
  return { endpoint: { ip: HOST, port: s.address().port }, sources };
}

interface Harness {
  port: number;
  forwarder: UdpForwarder;
  opened: number;
  closedReasons: UdpFlowCloseReason[];
  drops: UdpDropReason[];
}

async function forwarder(options: Omit<UdpForwarderOptions, 'socket'>): Promise<Harness> {
  const socket = await bound();
  const h: Harness = { port: socket.address().port, forwarder: undefined as unknown as UdpForwarder, opened: 0, closedReasons: [], drops: [] };
  h.forwarder = new UdpForwarder({
    ...options,
    socket,
    hooks: {
      onFlowOpened: () => h.opened++,
      onFlowClosed: (_c, _e, reason) => h.closedReasons.push(reason),
      onDropped: (reason) => h.drops.push(reason),
    },
  });
  cleanups.push(() => h.forwarder.close());
  return h;
}

/** Sends and waits for the next datagram back (or fails after 5 s: loopback, but a loaded machine). */
function roundTrip(client: dgram.Socket, port: number, text: string, timeoutMs = 5_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no reply to ${text}`)), timeoutMs);
    client.once('message', (m) => {
      clearTimeout(timer);
      resolve(m.toString());
    });
    client.send(text, port, HOST);
  });
}

async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const end = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > end) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('UdpForwarder', () => {
  test('two clients, each with its own flow and its own replies', async () => {
    const e = await echo();
    const h = await forwarder({ pick: () => e.endpoint });
    const [a, b] = [await bound(), await bound()];
    const [ra, rb] = await Promise.all([roundTrip(a, h.port, 'from a'), roundTrip(b, h.port, 'from b')]);
    expect([ra, rb]).toEqual(['from a', 'from b']);
    expect(await roundTrip(a, h.port, 'a again')).toBe('a again');
    expect(h.forwarder.flowCount).toBe(2);
    expect(h.opened).toBe(2);
    expect(e.sources.size).toBe(2); // one upstream socket per flow
  });

  test('datagrams sent before the flow socket is connected are queued, not lost', async () => {
    const e = await echo();
    const h = await forwarder({ pick: () => e.endpoint });
    const c = await bound();
    const got: string[] = [];
    c.on('message', (m) => got.push(m.toString()));
    for (let i = 0; i < 5; i++) c.send(`d${i}`, h.port, HOST);
    await until(() => got.length === 5);
    expect(got.sort()).toEqual(['d0', 'd1', 'd2', 'd3', 'd4']);
    expect(h.forwarder.flowCount).toBe(1);
  });

  test('an idle flow expires and a new datagram opens a new one', async () => {
    const e = await echo();
    const h = await forwarder({ pick: () => e.endpoint, idleTimeoutMs: 200 });
    const c = await bound();
    // Taken before the datagrams move: a reply read late on a loaded machine cannot shorten the measure.
    const t0 = performance.now();
    await roundTrip(c, h.port, 'one');
    await until(() => h.forwarder.flowCount === 0);
    const lived = performance.now() - t0;
    expect(lived).toBeGreaterThanOrEqual(190);
    // Well past 200 ms plus a 20 ms sweep even when scheduling is 10x slow; a sweeper that never ran would fail.
    expect(lived).toBeLessThan(3_000);
    expect(h.closedReasons).toEqual(['idle']);
    expect(await roundTrip(c, h.port, 'two')).toBe('two');
    expect(h.opened).toBe(2);
  });

  test('traffic keeps a flow alive past its idle timeout', async () => {
    // A datagram every ~30 ms against a 600 ms timeout (a 20x margin for a
    // loaded machine), for twice the timeout, so that without it the flow expires.
    const idleTimeoutMs = 600;
    const e = await echo();
    const h = await forwarder({ pick: () => e.endpoint, idleTimeoutMs });
    const c = await bound();
    const t0 = performance.now();
    for (let i = 0; performance.now() - t0 < 2 * idleTimeoutMs; i++) {
      await roundTrip(c, h.port, `k${i}`);
      await new Promise((r) => setTimeout(r, 30));
    }
    expect(h.closedReasons).toEqual([]);
    expect(h.opened).toBe(1);
  });

  test('the flow table is bounded: new clients are refused, existing flows keep working', async () => {
    const e = await echo();
    const h = await forwarder({ pick: () => e.endpoint, maxFlows: 1 });
    const [a, b] = [await bound(), await bound()];
    await roundTrip(a, h.port, 'a');
    b.send('b', h.port, HOST);
    await until(() => h.drops.length === 1);
    expect(h.drops).toEqual(['max-flows']);
    expect(await roundTrip(a, h.port, 'a2')).toBe('a2');
    expect(h.forwarder.flowCount).toBe(1);
  });

  test('no endpoint: the datagram is dropped and no flow is kept', async () => {
    const h = await forwarder({ pick: () => undefined });
    const c = await bound();
    c.send('x', h.port, HOST);
    await until(() => h.drops.length === 1);
    expect(h.drops).toEqual(['no-endpoint']);
    expect(h.forwarder.flowCount).toBe(0);
  });

  test('each flow keeps the endpoint chosen when it began', async () => {
    const [e1, e2] = [await echo(), await echo()];
    const order = [e1.endpoint, e2.endpoint];
    let i = 0;
    const h = await forwarder({ pick: () => order[i++ % 2] });
    const [a, b] = [await bound(), await bound()];
    for (let k = 0; k < 3; k++) {
      await roundTrip(a, h.port, 'a');
      await roundTrip(b, h.port, 'b');
    }
    expect([e1.sources.size, e2.sources.size]).toEqual([1, 1]);
    expect(i).toBe(2);
  });

  test('an unreachable endpoint (ICMP port unreachable) ends the flow; the next datagram picks again', async () => {
    const deadSocket = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => deadSocket.bind(0, HOST, resolve));
    const dead = { ip: HOST, port: deadSocket.address().port };
    await new Promise<void>((resolve) => deadSocket.close(() => resolve()));
    const e = await echo();
    const order = [dead, e.endpoint];
    const h = await forwarder({ pick: () => order.shift() });
    const c = await bound();
    c.send('lost', h.port, HOST);
    await until(() => h.closedReasons.length === 1);
    expect(h.closedReasons).toEqual(['error']);
    expect(await roundTrip(c, h.port, 'retry')).toBe('retry');
    expect(h.opened).toBe(2);
  });

  test('close() closes every flow and stops forwarding', async () => {
    const e = await echo();
    const h = await forwarder({ pick: () => e.endpoint });
    const [a, b] = [await bound(), await bound()];
    await roundTrip(a, h.port, 'a');
    await roundTrip(b, h.port, 'b');
    h.forwarder.close();
    expect(h.closedReasons).toEqual(['closed', 'closed']);
    expect(h.forwarder.flowCount).toBe(0);
    await expect(roundTrip(a, h.port, 'ignored', 300)).rejects.toThrow(/no reply/);
  });
});
