// The proxy's Kubernetes side on a real API server: LoadBalancer Services and
// EndpointSlices written through the API, an in-process Proxy following a
// hand-driven ownership source, real sockets on loopback (see k8s-helpers.ts
// for why EndpointSlices carry 198.18.x and backends listen on 127.18.x).
//
// L4 TCP (round robin, unbinding when ownership moves, bind retried while the
// address is missing, one plan for the ownership changes of one turn), UDP, PROXY protocol v1/v2 showing the client address,
// session affinity, externalTrafficPolicy Local, and annotations reported on
// the Service when bad.

import dgram from 'node:dgram';
import net from 'node:net';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeProxyHeader } from '../../../src/proxy/l4/proxy-protocol.ts';
import type { ManualOwnership } from '../../../src/proxy/listeners/manual-ownership.ts';
import type { KernelCommands } from '../../../src/proxy/kernel/kernel-commands.ts';
import type { ProxyConfigUpdate } from '../../../src/proxy/config/proxy-config.ts';
import type { Proxy } from '../../../src/proxy/proxy.ts';
import { useCluster, waitFor, waitForEvent } from '../helpers/cluster.ts';
import {
  createLbService,
  dialAddress,
  portBase,
  startProxy,
  tcpEchoBackend,
  tcpExchange,
  udpEchoBackend,
  udpExchange,
  waitListening,
  writeSlice,
  type Closable,
} from './k8s-helpers.ts';

const cluster = useCluster();
const NS = 'l4';

/** Stand-in kernel programs around `nft`: the kernel side is tested for real in lab namespaces; here nothing may touch the machine's ruleset. */
function standInKernel(nft: KernelCommands['nft'], tableExists = false): KernelCommands {
  return {
    nft,
    tableExists: async () => tableExists,
    deleteFlows: async () => ({ ok: true, deleted: 0 }),
    counters: async () => ({ ok: true, packets: new Map() }),
    forwardingEnabled: async () => true,
  };
}
const BASE = portBase();

describe('proxy L4 on a real API server', () => {
  let proxy: Proxy;
  let ownership: ManualOwnership;
  let discovery: k8s.DiscoveryV1Api;
  const backends: Closable[] = [];

  beforeAll(async () => {
    discovery = cluster().kc.makeApiClient(k8s.DiscoveryV1Api);
    ({ proxy, ownership } = await startProxy(cluster().kc));
  });

  afterAll(async () => {
    await proxy?.stop(1000);
    await Promise.all(backends.map((b) => b.close()));
  });

  /** A LoadBalancer Service `name` annotated for kernel forwarding on vip:port, its one endpoint an echo server at `endpoint`:target answering as `who`. */
  const kernelEchoService = async (name: string, vip: string, port: number, endpoint: string, target: number, who: string): Promise<void> => {
    backends.push(await tcpEchoBackend(endpoint, target, who));
    await createLbService(cluster().core, NS, name, [{ name: 'tcp', port }], vip, { annotations: { 'metalgate.io/l4-dataplane': 'kernel' } });
    await writeSlice(discovery, NS, name, `${name}-1`, [{ name: 'tcp', port: target }], [{ ip: endpoint }]);
  };

  it('TCP through a LoadBalancer Service: round robin over ready endpoints; unbound when ownership moves, bound again when it returns', async () => {
    const vip = '127.77.0.1';
    const port = BASE + 1;
    const target = BASE + 2;
    for (const i of [1, 2, 3]) backends.push(await tcpEchoBackend(`198.18.1.${i}`, target, `b${i}`));
    await createLbService(cluster().core, NS, 'echo', [{ name: 'echo', port }], vip);
    await writeSlice(discovery, NS, 'echo', 'echo-1', [{ name: 'echo', port: target }], [1, 2, 3].map((i) => ({ ip: `198.18.1.${i}` })));
    // Not owned yet: nothing listens.
    await waitFor(() => proxy.endpoints.endpoints(`${NS}/echo`, 'echo').active.length === 3, 'three endpoints');
    expect(proxy.listening()).not.toContain(`TCP ${vip}:${port}`);

    ownership.own(vip);
    await waitListening(proxy, `TCP ${vip}:${port}`);
    const replies = [];
    for (let i = 0; i < 6; i++) replies.push(await tcpExchange(vip, port, 'hi'));
    expect(replies.map((r) => r.split(':')[1])).toEqual(Array(6).fill('hi'));
    expect(new Set(replies.map((r) => r.split(':')[0]))).toEqual(new Set(['b1', 'b2', 'b3']));

    // An established connection survives the move (grace), new ones are refused at once.
    const held = net.connect({ host: vip, port });
    await new Promise((r) => held.once('connect', r));
    ownership.release(vip);
    await waitListening(proxy, `TCP ${vip}:${port}`, false);
    await expect(tcpExchange(vip, port, 'x')).rejects.toThrow(/ECONNREFUSED/);
    const late = new Promise<string>((resolve) => {
      let out = '';
      held.on('data', (d) => (out += d.toString()));
      held.on('end', () => resolve(out));
    });
    held.end('still here');
    expect(await late).toMatch(/^b\d:still here$/);

    ownership.own(vip);
    await waitListening(proxy, `TCP ${vip}:${port}`);
    expect(await tcpExchange(vip, port, 'back')).toMatch(/^b\d:back$/);
    ownership.release(vip);
  });

  it('a port held by someone else is retried with backoff and taken once free', async () => {
    const vip = '127.77.0.2';
    const port = BASE + 3;
    const squatter = net.createServer();
    await new Promise<void>((r) => squatter.listen(port, vip, r));
    await createLbService(cluster().core, NS, 'late', [{ name: 'echo', port }], vip);
    await writeSlice(discovery, NS, 'late', 'late-1', [{ name: 'echo', port: BASE + 2 }], [{ ip: '198.18.1.1' }]);
    await waitFor(() => proxy.endpoints.endpoints(`${NS}/late`, 'echo').active.length === 1, 'endpoint');
    ownership.own(vip);
    await waitFor(() => proxy.waiting().includes(`TCP ${vip}:${port}`), 'the bind waiting');
    // Retried, not given up: a second failed bind is counted (waited for, not assumed after a fixed 300 ms).
    const inUse = async () => (await proxy.registry.getSingleMetric('metalgate_proxy_bind_errors_total')!.get()).values.find((v) => v.labels.code === 'EADDRINUSE')?.value ?? 0;
    await waitFor(async () => (await inUse()) >= 2, 'a second EADDRINUSE bind attempt', 10_000);
    await new Promise((r) => squatter.close(r));
    await waitListening(proxy, `TCP ${vip}:${port}`);
    expect(await tcpExchange(vip, port, 'now')).toBe('b1:now');
    ownership.release(vip);
  });

  it('UDP through a LoadBalancer Service (flow per client, replies come back from the Service IP)', async () => {
    const vip = '127.77.0.3';
    const port = BASE + 10;
    const target = BASE + 11;
    backends.push(await udpEchoBackend('198.18.2.1', target, 'u1'));
    await createLbService(cluster().core, NS, 'dns', [{ name: 'dns', port, protocol: 'UDP' }], vip);
    await writeSlice(discovery, NS, 'dns', 'dns-1', [{ name: 'dns', port: target, protocol: 'UDP' }], [{ ip: '198.18.2.1' }]);
    await waitFor(() => proxy.endpoints.endpoints(`${NS}/dns`, 'dns').active.length === 1, 'endpoint');
    ownership.own(vip);
    await waitListening(proxy, `UDP ${vip}:${port}`);
    expect(await udpExchange(vip, port, 'query')).toBe('u1:query');
    expect(await udpExchange(vip, port, 'again')).toBe('u1:again');
    const m = await proxy.registry.getSingleMetric('metalgate_proxy_l4_connections_total')!.get();
    expect(m.values.find((v) => v.labels.service === `${NS}/dns` && v.labels.protocol === 'UDP')?.value).toBe(2);
    ownership.release(vip);
  });

  it('PROXY protocol v1 and v2 by annotation: the backend sees the client address', async () => {
    const target = BASE + 21;
    const seen: Array<{ version: number; source: string; dest: string }> = [];
    const server = net.createServer((s) => {
      let buf = Buffer.alloc(0);
      let decoded = false;
      s.on('error', () => {});
      // The header and the client's bytes may come in one segment or several.
      s.on('data', (d) => {
        if (decoded) return;
        buf = Buffer.concat([buf, d]);
        const h = decodeProxyHeader(buf);
        if (h === null) return;
        decoded = true;
        seen.push({ version: h.version, source: `${h.addresses?.sourceIp}:${h.addresses?.sourcePort}`, dest: `${h.addresses?.destIp}:${h.addresses?.destPort}` });
        s.end(`client=${h.addresses?.sourceIp}`);
      });
    });
    await new Promise<void>((r) => server.listen(target, dialAddress('198.18.3.1'), r));
    backends.push({ close: () => new Promise((r) => server.close(() => r())) });
    for (const [version, vip, port] of [
      ['v1', '127.77.0.4', BASE + 22],
      ['v2', '127.77.0.5', BASE + 23],
    ] as const) {
      await createLbService(cluster().core, NS, `pp-${version}`, [{ name: 'tcp', port }], vip, { annotations: { 'metalgate.io/proxy-protocol': version } });
      await writeSlice(discovery, NS, `pp-${version}`, `pp-${version}-1`, [{ name: 'tcp', port: target }], [{ ip: '198.18.3.1' }]);
      await waitFor(() => proxy.endpoints.endpoints(`${NS}/pp-${version}`, 'tcp').active.length === 1, 'endpoint');
      ownership.own(vip);
      await waitListening(proxy, `TCP ${vip}:${port}`);
      expect(await tcpExchange(vip, port, 'x', '127.0.0.99')).toBe('client=127.0.0.99');
      ownership.release(vip);
    }
    expect(seen.map((s) => s.version)).toEqual([1, 2]);
    expect(seen[0]!.source).toMatch(/^127\.0\.0\.99:\d+$/);
    expect(seen[0]!.dest).toBe(`127.77.0.4:${BASE + 22}`);
    expect(seen[1]!.dest).toBe(`127.77.0.5:${BASE + 23}`);
  });

  it('sessionAffinity ClientIP keeps a client on its endpoint; externalTrafficPolicy Local uses this node only', async () => {
    const target = BASE + 31;
    for (const i of [1, 2, 3]) backends.push(await tcpEchoBackend(`198.18.4.${i}`, target, `n${i}`));
    const eps = [
      { ip: '198.18.4.1', node: 'node-a' },
      { ip: '198.18.4.2', node: 'node-b' },
      { ip: '198.18.4.3', node: 'node-a' },
    ];
    await createLbService(cluster().core, NS, 'sticky', [{ name: 'tcp', port: BASE + 32 }], '127.77.0.6', { spec: { sessionAffinity: 'ClientIP' } });
    await writeSlice(discovery, NS, 'sticky', 'sticky-1', [{ name: 'tcp', port: target }], eps);
    await createLbService(cluster().core, NS, 'local', [{ name: 'tcp', port: BASE + 33 }], '127.77.0.7', { spec: { externalTrafficPolicy: 'Local' } });
    await writeSlice(discovery, NS, 'local', 'local-1', [{ name: 'tcp', port: target }], eps);
    await waitFor(() => proxy.endpoints.endpoints(`${NS}/local`, 'tcp').active.length === 2, 'local endpoints');
    // Ownership changes of one turn make one plan: both IPs' listeners arrive in the same update.
    const keys = [`TCP 127.77.0.6:${BASE + 32}`, `TCP 127.77.0.7:${BASE + 33}`];
    const firstWith: string[][] = [];
    const seen = (u: ProxyConfigUpdate): void => {
      const has = keys.filter((k) => u.listeners?.some((l) => l.key === k));
      if (has.length > 0 && firstWith.length === 0) firstWith.push(has);
    };
    proxy.on('config', seen);
    ownership.own('127.77.0.6');
    ownership.own('127.77.0.7');
    expect(proxy.snapshot().listeners?.map((l) => l.key)).not.toContain(keys[0]);
    await proxy.planned();
    proxy.off('config', seen);
    expect(firstWith).toEqual([keys]);
    await waitListening(proxy, `TCP 127.77.0.6:${BASE + 32}`);
    await waitListening(proxy, `TCP 127.77.0.7:${BASE + 33}`);

    const from = async (client: string) => (await tcpExchange('127.77.0.6', BASE + 32, 'x', client)).split(':')[0]!;
    const first = await from('127.0.0.21');
    for (let i = 0; i < 5; i++) expect(await from('127.0.0.21')).toBe(first);
    const others = new Set<string>();
    for (let i = 0; i < 6; i++) others.add(await from(`127.0.0.${30 + i}`));
    expect(others.size).toBeGreaterThan(1);

    const local = new Set<string>();
    for (let i = 0; i < 6; i++) local.add((await tcpExchange('127.77.0.7', BASE + 33, 'x')).split(':')[0]!);
    expect(local).toEqual(new Set(['n1', 'n3']));
    ownership.release('127.77.0.6');
    ownership.release('127.77.0.7');
  });

  it('a bad annotation keeps the default and is reported on the Service; a Service without endpoints refuses connections', async () => {
    const vip = '127.77.0.8';
    const port = BASE + 41;
    await createLbService(cluster().core, NS, 'bad', [{ name: 'tcp', port }], vip, {
      annotations: { 'metalgate.io/proxy-protocol': 'v3', 'metalgate.io/connect-timeout': 'soon' },
    });
    ownership.own(vip);
    await waitListening(proxy, `TCP ${vip}:${port}`);
    const ev = await waitForEvent(cluster().core, NS, 'Service', 'bad', 'BadAnnotation');
    expect(ev.type).toBe('Warning');
    expect(ev.message).toMatch(/proxy-protocol: "v3" is not v1 or v2|connect-timeout: "soon" is not a duration/);
    // No endpoints: the connection is accepted and closed without data.
    expect(await tcpExchange(vip, port, 'x').catch(() => '')).toBe('');
    const m = await proxy.registry.getSingleMetric('metalgate_proxy_l4_upstream_errors_total')!.get();
    expect(m.values.find((v) => v.labels.service === `${NS}/bad` && v.labels.reason === 'no_endpoint')?.value).toBe(1);
    ownership.release(vip);
  });

  it('loadBalancerSourceRanges: clients outside them are reset (TCP) or get no flow (UDP), counted; a change applies to new connections', async () => {
    const vip = '127.77.0.10';
    const [tcpPort, udpPort, target] = [BASE + 61, BASE + 62, BASE + 63];
    backends.push(await tcpEchoBackend('198.18.1.61', target, 'r1'));
    backends.push(await udpEchoBackend('198.18.1.61', target, 'r1'));
    await createLbService(cluster().core, NS, 'ranges', [{ name: 'tcp', port: tcpPort }, { name: 'udp', port: udpPort, protocol: 'UDP' }], vip, {
      spec: { loadBalancerSourceRanges: ['127.0.0.0/30'] },
    });
    await writeSlice(discovery, NS, 'ranges', 'ranges-1', [{ name: 'tcp', port: target }, { name: 'udp', port: target, protocol: 'UDP' }], [{ ip: '198.18.1.61' }]);
    ownership.own(vip);
    await waitListening(proxy, `TCP ${vip}:${tcpPort}`);
    await waitListening(proxy, `UDP ${vip}:${udpPort}`);
    await waitFor(() => proxy.endpoints.endpoints(`${NS}/ranges`, 'tcp').active.length === 1, 'the endpoint');
    const udpFrom = async (source: string): Promise<string> => {
      const s = dgram.createSocket('udp4');
      await new Promise<void>((r) => s.bind(0, source, r));
      try {
        return await new Promise<string>((resolve) => {
          const t = setTimeout(() => resolve('no reply'), 800);
          s.once('message', (m) => {
            clearTimeout(t);
            resolve(m.toString());
          });
          s.send('u', udpPort, vip);
        });
      } finally {
        s.close();
      }
    };

    expect(await tcpExchange(vip, tcpPort, 'in', '127.0.0.1')).toBe('r1:in');
    await expect(tcpExchange(vip, tcpPort, 'out', '127.0.0.21')).rejects.toThrow(/ECONNRESET/);
    expect(await udpFrom('127.0.0.1')).toMatch(/^r1/);
    expect(await udpFrom('127.0.0.21')).toBe('no reply');
    const denied = await proxy.registry.getSingleMetric('metalgate_proxy_source_denied_total')!.get();
    expect(denied.values.filter((v) => v.labels.service === `${NS}/ranges`).map((v) => [v.labels.protocol, v.value]).sort()).toEqual([
      ['TCP', 1],
      ['UDP', 1],
    ]);

    // Widened: the client outside before is let in.
    const svc = await cluster().core.readNamespacedService({ name: 'ranges', namespace: NS });
    svc.spec!.loadBalancerSourceRanges = ['127.0.0.0/27'];
    await cluster().core.replaceNamespacedService({ name: 'ranges', namespace: NS, body: svc });
    expect(await waitFor(() => tcpExchange(vip, tcpPort, 'now', '127.0.0.21').catch(() => undefined), 'the wider range in force')).toBe('r1:now');
    ownership.release(vip);
  });

  it('kernel forwarding that never worked here (no nft): the proxy serves those ports itself and warns; once an apply succeeds the kernel takes them back', async () => {
    let nftWorks = false;
    const commands = standInKernel(async () => (nftWorks ? { ok: true } : { ok: false, error: 'spawn nft ENOENT' }));
    const vip = '127.77.0.11';
    const port = BASE + 71;
    const target = BASE + 72;
    await kernelEchoService('fallback', vip, port, '198.18.1.71', target, 'k1');
    const third = await startProxy(cluster().kc, { kernelCommands: commands, nodeName: 'node-c' });
    try {
      third.ownership.own(vip);
      await waitListening(third.proxy, `TCP ${vip}:${port}`);
      expect(await waitFor(() => tcpExchange(vip, port, 'x').catch(() => undefined), 'an answer through the proxy')).toBe('k1:x');
      const ev = await waitForEvent(cluster().core, NS, 'Service', 'fallback', 'KernelForwardingFailed');
      expect(ev.message).toContain('spawn nft ENOENT');
      nftWorks = true; // the retry (every 5 s) succeeds: the listener goes, the kernel has the port
      await waitFor(() => !third.proxy.listening().includes(`TCP ${vip}:${port}`), 'the listener handed to the kernel', 15_000, 50);
      expect(third.proxy.kernelForwarded()).toEqual([`TCP ${vip}:${port}`]);
    } finally {
      third.ownership.release(vip);
      await third.proxy.stop(1000);
    }
  }, 30_000);

  it('a TCP kernel port whose rules are still being written is served by the proxy meanwhile (its IP need not wait for nft); the listener goes once they are in', async () => {
    let written!: () => void;
    const nftDone = new Promise<void>((r) => (written = r));
    const commands = standInKernel(async () => {
      await nftDone;
      return { ok: true };
    }, true);
    const vip = '127.77.0.12';
    const port = BASE + 73;
    const target = BASE + 74;
    await kernelEchoService('slow-nft', vip, port, '198.18.1.73', target, 'k2');
    const fourth = await startProxy(cluster().kc, { kernelCommands: commands, nodeName: 'node-d' });
    try {
      fourth.ownership.own(vip);
      await waitListening(fourth.proxy, `TCP ${vip}:${port}`);
      // The announcement gate does not wait for TCP rules: the listener serves meanwhile.
      const t0 = performance.now();
      await fourth.proxy.whenServing(vip);
      expect(performance.now() - t0).toBeLessThan(100);
      expect(await waitFor(() => tcpExchange(vip, port, 'y').catch(() => undefined), 'an answer through the proxy while nft runs')).toBe('k2:y');
      expect(fourth.proxy.kernelForwarded()).toEqual([]);
      written();
      await waitFor(() => !fourth.proxy.listening().includes(`TCP ${vip}:${port}`), 'the listener handed to the kernel', 5_000, 20);
      expect(fourth.proxy.kernelForwarded()).toEqual([`TCP ${vip}:${port}`]);
    } finally {
      written();
      fourth.ownership.release(vip);
      await fourth.proxy.stop(1000);
    }
  }, 30_000);

  it('a TCP kernel port without endpoints gets neither rules nor a listener (the kernel refuses it); once it has an endpoint the rules take it', async () => {
    const scripts: string[] = [];
    const commands = standInKernel(async (script) => {
      scripts.push(script);
      return { ok: true };
    });
    const vip = '127.77.0.13';
    const port = BASE + 75;
    const target = BASE + 76;
    await createLbService(cluster().core, NS, 'no-endpoints', [{ name: 'tcp', port }], vip, { annotations: { 'metalgate.io/l4-dataplane': 'kernel' } });
    const fifth = await startProxy(cluster().kc, { kernelCommands: commands, nodeName: 'node-e' });
    try {
      fifth.ownership.own(vip);
      // Its IP needs no listener to be announced, and none comes.
      const t0 = performance.now();
      await fifth.proxy.whenServing(vip);
      expect(performance.now() - t0).toBeLessThan(100);
      await waitFor(() => scripts.length > 0 || undefined, 'the first apply', 5_000, 20);
      await new Promise((r) => setTimeout(r, 300));
      expect(fifth.proxy.listening()).not.toContain(`TCP ${vip}:${port}`);
      expect(fifth.proxy.kernelForwarded()).toEqual([]);
      await expect(tcpExchange(vip, port, 'x')).rejects.toThrow(/ECONNREFUSED/);

      backends.push(await tcpEchoBackend('198.18.1.75', target, 'k3'));
      await writeSlice(discovery, NS, 'no-endpoints', 'no-endpoints-1', [{ name: 'tcp', port: target }], [{ ip: '198.18.1.75' }]);
      await waitFor(() => fifth.proxy.kernelForwarded().includes(`TCP ${vip}:${port}`) || undefined, 'the port in the rules', 5_000, 20);
      expect(scripts.at(-1)).toContain('198.18.1.75');
      expect(fifth.proxy.listening()).not.toContain(`TCP ${vip}:${port}`);
    } finally {
      fifth.ownership.release(vip);
      await fifth.proxy.stop(1000);
    }
  }, 30_000);

  it('--l4-dataplane kernel: Services that do not say are left to the kernel rules (no listener); one annotated proxy is served by a listener', async () => {
    const vip = '127.77.0.9';
    const [plain, kept] = [BASE + 51, BASE + 52];
    await createLbService(cluster().core, NS, 'plain', [{ name: 'tcp', port: plain }], vip);
    await createLbService(cluster().core, NS, 'kept', [{ name: 'tcp', port: kept }], vip, { annotations: { 'metalgate.io/l4-dataplane': 'proxy' } });
    // kernelForwarding off: this process writes no rules (never into the machine's own ruleset); the rules themselves are tested in lab namespaces.
    const second = await startProxy(cluster().kc, { l4Dataplane: 'kernel', kernelForwarding: false, nodeName: 'node-b' });
    try {
      second.ownership.own(vip);
      await waitListening(second.proxy, `TCP ${vip}:${kept}`);
      expect(second.proxy.listening()).not.toContain(`TCP ${vip}:${plain}`);
      second.ownership.release(vip);
      await waitListening(second.proxy, `TCP ${vip}:${kept}`, false);
    } finally {
      await second.proxy.stop(1000);
    }
    // The default (l4Dataplane unset) binds both.
    ownership.own(vip);
    await waitListening(proxy, `TCP ${vip}:${plain}`);
    await waitListening(proxy, `TCP ${vip}:${kept}`);
    ownership.release(vip);
  });
});
