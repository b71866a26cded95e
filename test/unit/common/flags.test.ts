import { describe, expect, test } from 'vitest';
import { envName, formatHelp, isServiceLinkVariable, parseFlags, unknownEnv, UsageError, type FlagSpec } from '../../../src/common/flags.ts';

const specs: FlagSpec[] = [
  { name: 'config-name', type: 'string', default: 'config', help: 'name' },
  { name: 'own-class-only', type: 'boolean', default: false, help: 'only ours' },
  { name: 'metrics-port', type: 'number', default: 7472, help: 'port' },
  { name: 'kubeconfig', type: 'string', env: 'KUBECONFIG', help: 'kubeconfig' },
  { name: 'file', short: 'f', type: 'string', help: 'file' },
];

describe('flags', () => {
  test('defaults apply when nothing is given', () => {
    expect(parseFlags(specs, [], {})).toEqual({ 'config-name': 'config', 'own-class-only': false, 'metrics-port': 7472, kubeconfig: undefined, file: undefined });
  });
  test('environment variables fill in, the flag wins', () => {
    const env = { METALGATE_CONFIG_NAME: 'from-env', METALGATE_METRICS_PORT: '9000', METALGATE_OWN_CLASS_ONLY: 'true', KUBECONFIG: '/k' };
    expect(parseFlags(specs, [], env)).toMatchObject({ 'config-name': 'from-env', 'metrics-port': 9000, 'own-class-only': true, kubeconfig: '/k' });
    expect(parseFlags(specs, ['--config-name', 'flag', '--metrics-port=1'], env)).toMatchObject({ 'config-name': 'flag', 'metrics-port': 1 });
  });
  test('METALGATE_* beats the extra env name', () => {
    expect(parseFlags(specs, [], { KUBECONFIG: '/a', METALGATE_KUBECONFIG: '/b' }).kubeconfig).toBe('/b');
  });
  test('a boolean that defaults to true is turned off with --no-<flag>', () => {
    const withTrue: FlagSpec[] = [{ name: 'dataplane', type: 'boolean', default: true, help: 'x' }];
    expect(parseFlags(withTrue, [], {}).dataplane).toBe(true);
    expect(parseFlags(withTrue, ['--no-dataplane'], {}).dataplane).toBe(false);
    expect(parseFlags(withTrue, ['--no-dataplane'], { METALGATE_DATAPLANE: 'true' }).dataplane).toBe(false);
    expect(formatHelp(withTrue)).toContain('--dataplane, --no-dataplane');
  });
  test('short flags', () => {
    expect(parseFlags(specs, ['-f', 'x.yaml'], {}).file).toBe('x.yaml');
  });
  test.each([
    [['--metrics-port', 'abc'], '--metrics-port: expected a number, got "abc"'],
    [['--nope'], "Unknown option '--nope'"],
  ])('bad input %j is a usage error', (argv, message) => {
    expect(() => parseFlags(specs, argv, {})).toThrow(UsageError);
    expect(() => parseFlags(specs, argv, {})).toThrow(message);
  });
  test('a bad boolean in the environment is a usage error', () => {
    expect(() => parseFlags(specs, [], { METALGATE_OWN_CLASS_ONLY: 'maybe' })).toThrow('--own-class-only: expected true or false, got "maybe"');
  });
  test('env names and help', () => {
    expect(envName('lease-duration')).toBe('METALGATE_LEASE_DURATION');
    const help = formatHelp(specs);
    expect(help).toContain('--metrics-port <number>');
    expect(help).toContain('(default 7472)');
    expect(help).toContain('[env METALGATE_KUBECONFIG or KUBECONFIG]');
  });
});

describe('unknownEnv', () => {
  test('names METALGATE_* variables that are no flag of the command', () => {
    const env = { METALGATE_CONFIG_NAME: 'x', METALGATE_DATAPLANE: 'false', METALGATE_CONFG_NAME: 'typo', PATH: '/bin' };
    expect(unknownEnv(specs, env)).toEqual(['METALGATE_CONFG_NAME', 'METALGATE_DATAPLANE']);
  });
});

describe('service-link variables', () => {
  // What the kubelet injects for a Service `metalgate-metrics` (port 7472,
  // named "metrics") and `metalgate-ingress` in the Pod's namespace.
  const links = {
    METALGATE_METRICS_SERVICE_HOST: '198.19.128.64',
    METALGATE_METRICS_SERVICE_PORT: '7472',
    METALGATE_METRICS_SERVICE_PORT_METRICS: '7472',
    METALGATE_METRICS_PORT: 'tcp://198.19.128.64:7472',
    METALGATE_METRICS_PORT_7472_TCP: 'tcp://198.19.128.64:7472',
    METALGATE_METRICS_PORT_7472_TCP_PROTO: 'tcp',
    METALGATE_METRICS_PORT_7472_TCP_PORT: '7472',
    METALGATE_METRICS_PORT_7472_TCP_ADDR: '198.19.128.64',
    METALGATE_INGRESS_PORT_443_UDP: 'udp://198.19.128.65:443',
  };

  test('never read as a flag, never warned about', () => {
    expect(parseFlags(specs, [], links)['metrics-port']).toBe(7472);
    expect(unknownEnv(specs, links)).toEqual([]);
  });

  test('a real METALGATE_METRICS_PORT still counts, and a tcp:// one beside a setting is ignored', () => {
    expect(parseFlags(specs, [], { METALGATE_METRICS_PORT: '9100' })['metrics-port']).toBe(9100);
    expect(isServiceLinkVariable('METALGATE_METRICS_PORT', '9100')).toBe(false);
    expect(isServiceLinkVariable('METALGATE_METRICS_PORT', 'tcp://198.19.128.64:7472')).toBe(true);
    expect(isServiceLinkVariable('METALGATE_CONFIG_NAME', 'tcp://x')).toBe(false);
  });
});
