import { Registry } from 'prom-client';
import { describe, expect, test } from 'vitest';
import { DeadlineClock } from '../../../../src/proxy/http/clock.ts';
import { HeaderEdits } from '../../../../src/proxy/http/header-edits.ts';
import { HttpMetrics } from '../../../../src/proxy/http/metrics.ts';

describe('HttpMetrics', () => {
  test('counts by code, histogram buckets, errors; entrypoints share one registry', async () => {
    const registry = new Registry();
    const web = new HttpMetrics('web', registry);
    const secure = new HttpMetrics('websecure', registry);
    const s = web.backend('ns/a:80');
    s.observe(200, 0.004);
    s.observe(200, 0.2);
    s.observe(504, 61);
    s.upstreamError('read-timeout');
    secure.backend('ns/a:80').observe(404, 0.001);
    web.openHttp1 = 3;
    const text = await registry.metrics();
    expect(text).toContain('metalgate_http_requests_total{entrypoint="web",backend="ns/a:80",code="200"} 2');
    expect(text).toContain('metalgate_http_requests_total{entrypoint="websecure",backend="ns/a:80",code="404"} 1');
    expect(text).toContain('metalgate_http_request_duration_seconds_bucket{entrypoint="web",backend="ns/a:80",le="0.005"} 1');
    expect(text).toContain('metalgate_http_request_duration_seconds_bucket{entrypoint="web",backend="ns/a:80",le="0.25"} 2');
    expect(text).toContain('metalgate_http_request_duration_seconds_bucket{entrypoint="web",backend="ns/a:80",le="60"} 2');
    expect(text).toContain('metalgate_http_request_duration_seconds_bucket{entrypoint="web",backend="ns/a:80",le="+Inf"} 3');
    expect(text).toContain('metalgate_http_request_duration_seconds_count{entrypoint="web",backend="ns/a:80"} 3');
    expect(text).toContain('metalgate_http_upstream_errors_total{entrypoint="web",backend="ns/a:80",reason="read-timeout"} 1');
    expect(text).toContain('metalgate_http_open_connections{entrypoint="web",protocol="http1"} 3');
    expect(text).toContain('# TYPE metalgate_http_request_duration_seconds histogram');
  });
});

describe('DeadlineClock', () => {
  test('calls what passed its deadline once; 0 means none', async () => {
    const clock = new DeadlineClock(5);
    const fired: string[] = [];
    const a = { deadline: clock.in(10), onDeadline: () => fired.push('a') };
    const b = { deadline: 0, onDeadline: () => fired.push('b') };
    const c = { deadline: clock.in(10_000), onDeadline: () => fired.push('c') };
    clock.add(a);
    clock.add(b);
    clock.add(c);
    await new Promise((r) => setTimeout(r, 60));
    expect(fired).toEqual(['a']);
    expect(a.deadline).toBe(0);
    clock.stop();
  });
});

describe('HeaderEdits', () => {
  test('set replaces received and added lines; remove drops both; lines() renders in order', () => {
    const e = new HeaderEdits();
    e.add('X-A', '1');
    e.add('x-a', '2');
    e.set('X-A', '3');
    e.add('X-B', '4');
    e.remove('x-b');
    expect(e.lines()).toBe('X-A: 3\r\n');
    expect(e.isRemoved('x-a')).toBe(true);
    expect(e.drops(Buffer.from('X-a'), 0, 3)).toBe(true);
    expect(e.addedValues('x-a')).toEqual(['3']);
    expect(() => e.set('X', 'a\nb')).toThrow(TypeError);
    expect(() => e.add('X Y', 'v')).toThrow(TypeError);
  });
});
