import { availableParallelism } from 'node:os';
import { describe, expect, test } from 'vitest';
import { parseFlags, UsageError } from '../../../../src/common/flags.ts';
import { proxyFlagOptions, proxyFlags } from '../../../../src/proxy/proxy-flags.ts';
import { DEFAULT_TLS_POLICY } from '../../../../src/proxy/http/tls-policy.ts';

const parse = (argv: string[], env: NodeJS.ProcessEnv = {}) => proxyFlagOptions(parseFlags(proxyFlags, argv, env));

describe('proxy flags', () => {
  test('defaults: proxy on, L7 entrypoint, kernel forwarding for L4, generated default certificate', () => {
    expect(parse([])).toEqual({
      enabled: true,
      http: true,
      workers: Math.min(4, availableParallelism()),
      defaultCertificate: undefined,
      options: {
        entrypoint: 'metalgate-system/metalgate-ingress',
        ingressClass: 'metalgate',
        ingressWithoutClass: false,
        drainGraceMs: 10_000,
        unbindGraceMs: 30_000,
        accessLogSampleRate: 0.01,
        l4Dataplane: 'kernel',
        tlsPolicy: DEFAULT_TLS_POLICY,
        underscoresInHeaders: false,
      },
    });
  });

  test('flags and environment', () => {
    const o = parse(['--speaker-only', '--ingress-l4', '--ingress-service', 'edge/gw', '--default-certificate', 'edge/wild-tls', '--drain-grace', '2.5'], {
      METALGATE_INGRESS_WITHOUT_CLASS: 'true',
      METALGATE_ACCESS_LOG_SAMPLE: '1',
    });
    expect(parse(['--proxy-workers', '3']).workers).toBe(3);
    expect(parse(['--l4-dataplane', 'proxy']).options.l4Dataplane).toBe('proxy');
    expect(parse([], { METALGATE_L4_DATAPLANE: 'proxy' }).options.l4Dataplane).toBe('proxy');
    expect(parse([], { METALGATE_PROXY_WORKERS: '1' }).workers).toBe(1);
    expect(o).toMatchObject({ enabled: false, http: false, defaultCertificate: 'edge/wild-tls', options: { entrypoint: 'edge/gw', drainGraceMs: 2500, ingressWithoutClass: true, accessLogSampleRate: 1 } });
  });

  test.each([
    [['--ingress-service', 'gw'], /--ingress-service must be namespace\/name/],
    [['--default-certificate', 'a/b/c'], /--default-certificate must be namespace\/name/],
    [['--drain-grace=-1'], /--drain-grace must be zero or more seconds/],
    [['--access-log-sample', '2'], /--access-log-sample must be between 0 and 1/],
    [['--proxy-workers', '0'], /--proxy-workers must be "auto" or a whole number/],
    [['--l4-dataplane', 'ebpf'], /--l4-dataplane must be proxy or kernel/],
  ])('%j is refused', (argv, message) => {
    expect(() => parse(argv)).toThrow(UsageError);
    expect(() => parse(argv)).toThrow(message);
  });
});
