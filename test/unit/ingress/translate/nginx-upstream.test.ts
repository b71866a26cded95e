// ingress-nginx's upstream balancing annotations, parsed.
import { describe, expect, test } from 'vitest';
import { parseNginx as parse } from './fixtures.ts';

describe('upstream-hash-by-subset', () => {
  test('with upstream-hash-by: the subset size (default 3); without it, warned', () => {
    expect(parse({ 'upstream-hash-by': '$request_uri', 'upstream-hash-by-subset': 'true' }).config.hashSubsetSize).toBe(3);
    expect(parse({ 'upstream-hash-by': '$request_uri', 'upstream-hash-by-subset': 'true', 'upstream-hash-by-subset-size': '5' }).config.hashSubsetSize).toBe(5);
    expect(parse({ 'upstream-hash-by-subset': 'true' }).diags).toEqual(['warning:IgnoredAnnotation:nginx.ingress.kubernetes.io/upstream-hash-by-subset has no effect without nginx.ingress.kubernetes.io/upstream-hash-by']);
    expect(parse({ 'upstream-hash-by': '$request_uri', 'upstream-hash-by-subset': 'true', 'upstream-hash-by-subset-size': '0' }).diags[0]).toMatch(/^error:BadAnnotation:nginx.ingress.kubernetes.io\/upstream-hash-by-subset-size/);
  });
});

describe('global-rate-limit', () => {
  const N = 'nginx.ingress.kubernetes.io/';
  test('a limit and a window (whole seconds); the key in nginx variables, $remote_addr by default; ignored CIDRs', () => {
    const { config, diags } = parse({ 'global-rate-limit': '100', 'global-rate-limit-window': '1m30s', 'global-rate-limit-key': '${remote_addr}-$http_x_api_client', 'global-rate-limit-ignored-cidrs': '198.18.0.0/24, 2001:db8::1' });
    expect(diags).toEqual([]);
    expect(config.globalRateLimit).toMatchObject({ type: 'globalRateLimit', limit: 100, windowMs: 90_000, rejectStatus: 429 });
    expect(config.globalRateLimit!.key).toEqual([{ variable: 'remote_addr' }, { text: '-' }, { variable: 'http_x_api_client' }]);
    expect(config.globalRateLimit!.exempt).toHaveLength(2);
    expect(parse({ 'global-rate-limit': '5', 'global-rate-limit-window': '10s' }).config.globalRateLimit!.key).toEqual([{ variable: 'remote_addr' }]);
    // ingress-nginx counts whole seconds: 2.5s is 2.
    expect(parse({ 'global-rate-limit': '5', 'global-rate-limit-window': '2500ms' }).config.globalRateLimit!.windowMs).toBe(2000);
  });

  test('without a limit or a window of a second, no limit (as in ingress-nginx), and a warning says so', () => {
    const cases: Array<Record<string, string>> = [{ 'global-rate-limit': '5' }, { 'global-rate-limit-window': '1m' }, { 'global-rate-limit': '0', 'global-rate-limit-window': '1m' }, { 'global-rate-limit': '5', 'global-rate-limit-window': '500ms' }];
    for (const a of cases) {
      const { config, diags } = parse(a);
      expect(config.globalRateLimit).toBeUndefined();
      expect(diags).toEqual([`warning:IgnoredAnnotation:${N}global-rate-limit needs a limit above 0 and ${N}global-rate-limit-window of at least a second (ingress-nginx counts whole seconds): without both, ingress-nginx does not limit either`]);
    }
  });

  test.each([
    ['global-rate-limit-window', '60', 'needs a unit'],
    ['global-rate-limit-window', 'a minute', 'is not a duration'],
    ['global-rate-limit', 'ten', 'is not an integer'],
    ['global-rate-limit-key', '$no_such_variable', 'no_such_variable'],
    ['global-rate-limit-ignored-cidrs', '198.18.0.0/33', 'is not an IP address or CIDR'],
  ])('bad %s=%s is an error (the Ingress is not served)', (name, value, msg) => {
    const { diags } = parse({ 'global-rate-limit': '5', 'global-rate-limit-window': '1m', [name]: value });
    expect(diags.some((d) => d.startsWith(`error:BadAnnotation:${N}${name}:`) && d.includes(msg)), JSON.stringify(diags)).toBe(true);
  });
});
