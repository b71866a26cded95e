import { describe, expect, test } from 'vitest';
import { compileBreakerExpression, type BreakerStats } from '../../../../src/ingress/match/breaker-expression.ts';
import { BreakerWindow } from '../../../../src/ingress/runtime/breaker-window.ts';
import { circuitBreaker } from '../../../../src/ingress/runtime/middlewares/circuit-breaker.ts';
import type { CircuitBreakerSpec } from '../../../../src/ingress/model/middleware-spec.ts';
import { FakeRequest } from './fake-context.ts';

const stats = (net: number, codes: number, latency: number): BreakerStats => ({
  networkErrorRatio: () => net,
  responseCodeRatio: () => codes,
  latencyAtQuantileMs: () => latency,
});

describe('circuitBreaker expressions (Traefik documentation examples)', () => {
  test.each([
    ['NetworkErrorRatio() > 0.30', stats(0.31, 0, 0), true],
    ['NetworkErrorRatio() > 0.30', stats(0.3, 0, 0), false],
    ['ResponseCodeRatio(500, 600, 0, 600) > 0.25', stats(0, 0.26, 0), true],
    ['LatencyAtQuantileMS(50.0) > 100', stats(0, 0, 120), true],
    ['ResponseCodeRatio(500, 600, 0, 600) > 0.30 || NetworkErrorRatio() > 0.10', stats(0.11, 0, 0), true],
    ['LatencyAtQuantileMS(50.0) > 50 && NetworkErrorRatio() > 0.10', stats(0.2, 0, 40), false],
    ['(LatencyAtQuantileMS(50) > 50 || NetworkErrorRatio() > 0.5) && ResponseCodeRatio(500,600,0,600) >= 0.1', stats(0, 0.1, 60), true],
    ['0.5 < NetworkErrorRatio()', stats(0.6, 0, 0), true],
  ])('%s', (text, s, want) => {
    const c = compileBreakerExpression(text);
    expect(c.ok && c.predicate(s)).toBe(want);
  });

  test.each([
    ['', 'the expression is empty'],
    ['NetworkErrorRatio > 0.5', 'expected ( at 18'],
    ['Foo() > 1', 'unknown function Foo at 0 (NetworkErrorRatio, ResponseCodeRatio, LatencyAtQuantileMS)'],
    ['ResponseCodeRatio(500, 600) > 0.5', 'ResponseCodeRatio takes 4 arguments, got 2 at 0'],
    ['NetworkErrorRatio() > 0.5 &&', 'expected a comparison at the end'],
    ['NetworkErrorRatio() ? 0.5', 'unexpected character "?" at 20'],
    ['LatencyAtQuantileMS(0) > 5', 'LatencyAtQuantileMS takes a percentile in (0, 100], got 0 at 0'],
  ])('%j is refused: %s', (text, error) => {
    expect(compileBreakerExpression(text)).toEqual({ ok: false, error });
  });
});

describe('BreakerWindow', () => {
  test('ratios and quantiles over the last 10 seconds only', () => {
    const w = new BreakerWindow(0);
    for (let i = 0; i < 8; i++) w.record(500, 200, 10, false);
    w.record(600, 502, 5000, true);
    w.record(700, 503, 20, false);
    w.record(800, 500, 30, false);
    w.at(900);
    expect(w.networkErrorRatio()).toBeCloseTo(1 / 11);
    expect(w.responseCodeRatio(500, 600, 0, 600)).toBeCloseTo(2 / 10);
    expect(w.latencyAtQuantileMs(50)).toBeGreaterThanOrEqual(10);
    expect(w.latencyAtQuantileMs(50)).toBeLessThan(12.5);
    expect(w.latencyAtQuantileMs(100)).toBeGreaterThanOrEqual(5000);
    // Eleven seconds later the window is empty.
    w.at(11_500);
    expect(w.networkErrorRatio()).toBe(0);
  });
});

describe('circuitBreaker middleware: standby, tripped, recovering', () => {
  const spec: CircuitBreakerSpec = { type: 'circuitBreaker', expression: 'NetworkErrorRatio() > 0.5', checkPeriodMs: 100, fallbackDurationMs: 10_000, recoveryDurationMs: 10_000, responseCode: 503 };

  test('trips on network errors, answers the fallback, recovers gradually, then lets everything through', () => {
    let t = 0;
    let r = 0.5;
    const mw = circuitBreaker('cb', spec, () => t, () => r);
    const send = (error: boolean): number | 'through' => {
      const ctx = new FakeRequest();
      const res = mw.onRequest!(ctx) as { status: number } | undefined;
      if (res) return res.status;
      mw.onDone!(ctx, { status: error ? 502 : 200, durationMs: 1, error: error ? 'upstream-connect-refused' : undefined });
      return 'through';
    };
    for (let i = 0; i < 10; i++) expect(send(true)).toBe('through');
    t = 200;
    expect(send(false)).toBe(503); // tripped at the check
    t = 5_000;
    expect(send(false)).toBe(503);
    t = 10_300; // fallback over: recovering, 0% at its start
    r = 0.01;
    expect(send(false)).toBe(503);
    t = 15_300; // half way: a draw under 0.5 goes through
    r = 0.4;
    expect(send(false)).toBe('through');
    r = 0.6;
    expect(send(false)).toBe(503);
    t = 20_400; // recovered
    r = 0.99;
    for (let i = 0; i < 5; i++) expect(send(false)).toBe('through');
  });
});
