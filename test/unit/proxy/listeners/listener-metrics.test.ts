import { Registry } from 'prom-client';
import { describe, expect, test } from 'vitest';
import { ListenerMetrics } from '../../../../src/proxy/listeners/listener-metrics.ts';

describe('ListenerMetrics', () => {
  test('a Service port has all its series from the start, at 0 (a gauge back at 0 or a counter never hit still shows)', async () => {
    const registry = new Registry();
    const m = new ListenerMetrics(registry);
    const c = m.acquirePort('ns/web', '80', 'TCP');
    let text = await registry.metrics();
    expect(text).toContain('metalgate_proxy_l4_active_connections{service="ns/web",port="80",protocol="TCP"} 0');
    expect(text).toContain('metalgate_proxy_l4_upstream_errors_total{service="ns/web",port="80",protocol="TCP",reason="no_endpoint"} 0');
    c.connections.inc();
    c.active.inc();
    c.active.dec();
    text = await registry.metrics();
    expect(text).toContain('metalgate_proxy_l4_connections_total{service="ns/web",port="80",protocol="TCP"} 1');
    expect(text).toContain('metalgate_proxy_l4_active_connections{service="ns/web",port="80",protocol="TCP"} 0');
  });

  test("a Service port's series that never counted go with its last listener; the ones that counted, and the connection count, stay", async () => {
    const registry = new Registry();
    const m = new ListenerMetrics(registry);
    const first = m.acquirePort('ns/web', '80', 'TCP');
    const second = m.acquirePort('ns/web', '80', 'TCP');
    expect(second).toBe(first);
    m.acquirePort('ns/idle', '80', 'TCP');
    first.noEndpoint.inc();
    m.releasePort('ns/web', '80', 'TCP');
    // One listener of the port is left: everything stays.
    expect(await registry.metrics()).toContain('metalgate_proxy_l4_active_connections{service="ns/web",port="80",protocol="TCP"} 0');
    m.releasePort('ns/web', '80', 'TCP');
    m.releasePort('ns/idle', '80', 'TCP');
    const text = await registry.metrics();
    expect(text).toContain('metalgate_proxy_l4_upstream_errors_total{service="ns/web",port="80",protocol="TCP",reason="no_endpoint"} 1');
    expect(text).not.toContain('service="ns/web",port="80",protocol="TCP",reason="connect_failed"');
    expect(text).not.toContain('metalgate_proxy_l4_active_connections{service="ns/web"');
    expect(text).not.toContain('metalgate_proxy_l4_bytes_total{service="ns/idle"');
    expect(text).toContain('metalgate_proxy_l4_connections_total{service="ns/idle",port="80",protocol="TCP"} 0');
    // Bound again: its series are back, at 0, and count on from there.
    m.acquirePort('ns/web', '80', 'TCP').noEndpoint.inc();
    const again = await registry.metrics();
    expect(again).toContain('metalgate_proxy_l4_active_connections{service="ns/web",port="80",protocol="TCP"} 0');
    expect(again).toContain('metalgate_proxy_l4_upstream_errors_total{service="ns/web",port="80",protocol="TCP",reason="no_endpoint"} 2');
  });

  test('connections counted elsewhere (kernel forwarding) are added to the same series at each scrape', async () => {
    const registry = new Registry();
    const m = new ListenerMetrics(registry);
    m.acquirePort('ns/web', '80', 'TCP').connections.inc();
    let reads = 0;
    m.addConnectionSource(async (into) => {
      reads++;
      into.inc({ service: 'ns/web', port: '80', protocol: 'TCP' }, 2);
      into.inc({ service: 'ns/dns', port: 'dns', protocol: 'UDP' }, 5);
    });
    const text = await registry.metrics();
    expect(reads).toBe(1);
    expect(text).toContain('metalgate_proxy_l4_connections_total{service="ns/web",port="80",protocol="TCP"} 3');
    expect(text).toContain('metalgate_proxy_l4_connections_total{service="ns/dns",port="dns",protocol="UDP"} 5');
  });

  test('parked connections are read from their park at each scrape, 0 without one', async () => {
    const registry = new Registry();
    const m = new ListenerMetrics(registry);
    expect(await registry.metrics()).toContain('metalgate_proxy_parked_connections 0');
    let parked = 12;
    m.countParkedWith(() => parked);
    expect(await registry.metrics()).toContain('metalgate_proxy_parked_connections 12');
    parked = 3;
    expect(await registry.metrics()).toContain('metalgate_proxy_parked_connections 3');
  });
});
