import { describe, expect, test } from 'vitest';
import { pino } from 'pino';
import { parseGoBool, parseInteger, parseNginxSize, parseTraefikDuration } from '../../../../src/ingress/translate/value-parsers.ts';
import { classView, isOurIngress } from '../../../../src/ingress/translate/ingress-class.ts';
import { ruleString } from '../../../../src/ingress/translate/rule-text.ts';
import { parseTraefikRule } from '../../../../src/ingress/match/traefik-rule-parser.ts';
import { DiagnosticReporter } from '../../../../src/ingress/k8s/diagnostic-reporter.ts';
import type { Diagnostic } from '../../../../src/ingress/model/diagnostic.ts';
import { ingress, ingressClass } from './fixtures.ts';

describe('value parsers', () => {
  test.each([
    ['true', true],
    ['T', true],
    ['1', true],
    ['False', false],
    ['0', false],
  ])('Go bool %s', (t, want) => expect(parseGoBool(t)).toEqual({ ok: true, value: want }));
  test('bad bool, integer ranges', () => {
    expect(parseGoBool('yes').ok).toBe(false);
    expect(parseInteger('42', 0, 100)).toEqual({ ok: true, value: 42 });
    expect(parseInteger('4.2').ok).toBe(false);
    expect(parseInteger('101', 0, 100).ok).toBe(false);
  });
  test.each([
    ['0', 0],
    ['512', 512],
    ['8k', 8192],
    ['8K', 8192],
    ['1m', 1048576],
    ['2g', 2147483648],
  ])('nginx size %s', (t, want) => expect(parseNginxSize(t)).toEqual({ ok: true, value: want }));
  test.each([
    ['1s', 1000],
    ['1m30s', 90_000],
    ['250ms', 250],
    ['10', 10_000],
    [3, 3000],
    ['1.5h', 5_400_000],
  ])('Traefik duration %s', (t, want) => expect(parseTraefikDuration(t)).toEqual({ ok: true, value: want }));
  test('bad durations', () => {
    expect(parseTraefikDuration('1x').ok).toBe(false);
    expect(parseTraefikDuration('').ok).toBe(false);
    expect(parseTraefikDuration(-1).ok).toBe(false);
  });
});

describe('ingress class', () => {
  test('ingressClassName wins over the legacy annotation', () => {
    const view = classView([ingressClass('metalgate'), ingressClass('nginx', 'k8s.io/ingress-nginx')]);
    const i = ingress('ns', 'x', [], { className: 'nginx', annotations: { 'kubernetes.io/ingress.class': 'metalgate' } });
    expect(isOurIngress(i, view).ours).toBe(false);
    const j = ingress('ns', 'y', [], { className: 'metalgate', annotations: { 'kubernetes.io/ingress.class': 'nginx' } });
    expect(isOurIngress(j, view)).toEqual({ ours: true, via: 'ingressClassName' });
  });
  test('our class name without an IngressClass object is ours; with another controller\'s object it is not', () => {
    expect(isOurIngress(ingress('ns', 'x', []), classView([]))).toEqual({ ours: true, via: 'class-name' });
    expect(isOurIngress(ingress('ns', 'x', []), classView([ingressClass('metalgate', 'example.com/other')])).ours).toBe(false);
    expect(isOurIngress(ingress('ns', 'x', [], { className: 'other' }), classView([])).ours).toBe(false);
    expect(isOurIngress(ingress('ns', 'x', [], { className: null }), classView([]), { watchWithoutClass: true })).toEqual({ ours: true, via: 'without-class' });
    expect(isOurIngress(ingress('ns', 'x', [], { className: null }), classView([])).ours).toBe(false);
  });
});

describe('rule text', () => {
  test('values with backticks are written as Go strings the parser reads back', () => {
    for (const v of ['/plain', '/with`tick', 'quote"and\\slash']) {
      const p = parseTraefikRule(`Path(${ruleString(v)})`);
      expect(p.ok && p.ast.type === 'matcher' && p.ast.args[0]!.value).toBe(v);
    }
  });
});

describe('diagnostic reporter', () => {
  test('an Event per appearance, not per compile', () => {
    const emitted: string[] = [];
    const r = new DiagnosticReporter({ emit: (_t, type, reason, message) => emitted.push(`${type} ${reason} ${message}`) }, pino({ level: 'silent' }));
    const d = (reason: string): Diagnostic => ({
      ref: { kind: 'Ingress', apiVersion: 'networking.k8s.io/v1', namespace: 'ns', name: 'x', uid: 'u1' },
      type: 'Warning',
      reason,
      message: `m-${reason}`,
      severity: 'error',
    });
    expect(r.report([d('A'), d('B')])).toBe(2);
    expect(r.report([d('A'), d('B')])).toBe(0);
    expect(r.report([d('A')])).toBe(0);
    expect(r.report([d('A'), d('B')])).toBe(1);
    expect(emitted).toEqual(['Warning A m-A', 'Warning B m-B', 'Warning B m-B']);
  });

  test('with a grace period, only what lasts it is reported: a Secret that arrives meanwhile leaves no Event', async () => {
    const emitted: string[] = [];
    const r = new DiagnosticReporter({ emit: (_t, type, reason) => emitted.push(`${type} ${reason}`) }, pino({ level: 'silent' }), 50);
    const d = (reason: string): Diagnostic => ({ ref: { kind: 'Ingress', apiVersion: 'networking.k8s.io/v1', namespace: 'ns', name: 'x', uid: 'u1' }, type: 'Warning', reason, message: reason, severity: 'error' });
    expect(r.report([d('MissingSecret'), d('Stays')])).toBe(0);
    // The Secret arrives: the next compile no longer has it.
    expect(r.report([d('Stays')])).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 120));
    expect(emitted).toEqual(['Warning Stays']);
    // Still there at the next compile: not reported twice.
    expect(r.report([d('Stays')])).toBe(0);
    r.stop();
  });
});

describe('engine flags', async () => {
  const { parseFlags } = await import('../../../../src/common/flags.ts');
  const { ingressEngineFlags, ingressEngineFlagOptions } = await import('../../../../src/ingress/k8s/ingress-flags.ts');
  test('defaults and values', () => {
    expect(ingressEngineFlagOptions(parseFlags(ingressEngineFlags, [], {}))).toEqual({
      options: { allowCrossNamespace: false, defaultSyntax: 'v3', crdRetryMs: 30_000 },
      flaggerMetrics: false,
    });
    const f = parseFlags(ingressEngineFlags, ['--ingress-allow-cross-namespace', '--ingress-default-rule-syntax', 'v2', '--ingress-flagger-metrics'], { METALGATE_INGRESS_CRD_RETRY: '5' });
    expect(ingressEngineFlagOptions(f)).toEqual({ options: { allowCrossNamespace: true, defaultSyntax: 'v2', crdRetryMs: 5000 }, flaggerMetrics: true });
    expect(() => ingressEngineFlagOptions(parseFlags(ingressEngineFlags, ['--ingress-default-rule-syntax', 'v4'], {}))).toThrow('v2 or v3');
  });
});
