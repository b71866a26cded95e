// The process metrics (src/common/process-metrics.ts) against prom-client's
// own collectDefaultMetrics: the same names, types and help, so dashboards
// written for prom-client's defaults read metalgate's; and CPU counters that
// count.
import { Registry, collectDefaultMetrics } from 'prom-client';
import { describe, expect, test } from 'vitest';
import { registerProcessMetrics } from '../../../src/common/process-metrics.ts';
import { Registry as ClassRegistry } from '../../../src/common/prom-classes.ts';

const PREFIX = 'metalgate_test_';

function shapes(r: { getMetricsAsArray(): Array<{ name: string; help: string; type: unknown }> }): string[] {
  return r
    .getMetricsAsArray()
    .map((m) => `${m.name} ${String(m.type)} ${m.help}`)
    .sort();
}

describe('process metrics', () => {
  test("the names, types and help of prom-client's default metrics", () => {
    const ours = new ClassRegistry();
    registerProcessMetrics(ours, PREFIX);
    const theirs = new Registry();
    collectDefaultMetrics({ register: theirs, prefix: PREFIX });
    expect(shapes(ours)).toEqual(shapes(theirs));
    expect(shapes(ours).length).toBeGreaterThan(20);
  });

  test('the CPU counters grow with the CPU spent, user plus system making the total', async () => {
    const r = new ClassRegistry();
    registerProcessMetrics(r, PREFIX);
    const read = async (): Promise<{ user: number; system: number; total: number }> => {
      const text = await r.metrics();
      const value = (name: string): number => Number(new RegExp(`^${PREFIX}${name} (\\S+)$`, 'm').exec(text)?.[1]);
      return { user: value('process_cpu_user_seconds_total'), system: value('process_cpu_system_seconds_total'), total: value('process_cpu_seconds_total') };
    };
    const first = await read();
    const until = performance.now() + 100;
    let x = 0;
    while (performance.now() < until) x += Math.sqrt(x + 1);
    expect(x).toBeGreaterThan(0);
    const second = await read();
    expect(second.user - first.user).toBeGreaterThan(0.05);
    expect(second.total).toBeCloseTo(second.user + second.system, 5);
    expect(second.total).toBeGreaterThanOrEqual(first.total);
  });
});
