#!/usr/bin/env node
// metalgate: one binary, one subcommand per component.
import { hostname } from 'node:os';
import { createLogger, logOptionsOf } from './common/log.ts';
import { formatHelp, parseFlags, POOL_NAMESPACES_FLAG, unknownEnv, UsageError, type FlagSpec, type FlagValues } from './common/flags.ts';
import { ingressEngineFlags } from './ingress/k8s/ingress-flags.ts';
import { proxyFlags } from './proxy/proxy-flags.ts';
import { VERSION } from './version.ts';

interface Command {
  summary: string;
  flags: FlagSpec[];
  run(flags: FlagValues): Promise<number>;
}

const common: FlagSpec[] = [
  { name: 'log-level', type: 'string', default: 'info', help: 'fatal, error, warn, info, debug or trace' },
  { name: 'log-format', type: 'string', default: 'auto', help: 'json, pretty, or auto (pretty on a terminal)' },
  { name: 'help', short: 'h', type: 'boolean', help: 'show this help' },
];

const kube: FlagSpec[] = [
  { name: 'kubeconfig', type: 'string', env: 'KUBECONFIG', help: 'kubeconfig file; in a Pod the ServiceAccount is used' },
];

export const commands: Record<string, Command> = {
  controller: {
    summary: 'assign external IPs to Services of type LoadBalancer from the address pools',
    flags: [
      ...kube,
      { name: 'config-namespace', type: 'string', default: 'metalgate-system', env: 'POD_NAMESPACE', help: 'namespace of the config ConfigMap' },
      { name: 'config-name', type: 'string', default: 'config', help: 'name of the config ConfigMap' },
      { name: 'config-key', type: 'string', default: 'config', help: 'ConfigMap key holding the address-pools YAML' },
      POOL_NAMESPACES_FLAG,
      { name: 'own-class-only', type: 'boolean', default: false, help: 'serve only Services with our loadBalancerClass (not those with none)' },
      { name: 'lb-class', type: 'string', default: 'metalgate.io/metalgate', help: 'our loadBalancerClass' },
      { name: 'ip-mode', type: 'string', default: 'Proxy', help: 'status.loadBalancer.ingress[].ipMode: Proxy or VIP' },
      { name: 'identity', type: 'string', env: 'POD_NAME', help: 'leader-election identity (default: hostname and pid)' },
      { name: 'lease-namespace', type: 'string', env: 'POD_NAMESPACE', default: 'metalgate-system', help: 'namespace of the leader Lease' },
      { name: 'lease-name', type: 'string', default: 'metalgate-controller', help: 'name of the leader Lease' },
      { name: 'lease-duration', type: 'number', default: 15, help: 'leader lease duration, seconds' },
      { name: 'renew-deadline', type: 'number', default: 10, help: 'leader gives up after failing to renew this long, seconds' },
      { name: 'retry-period', type: 'number', default: 2, help: 'leader election retry period, seconds' },
      { name: 'metrics-address', type: 'string', default: '0.0.0.0', help: 'address for /metrics, /healthz, /readyz' },
      { name: 'metrics-port', type: 'number', default: 7472, help: 'port for /metrics, /healthz, /readyz (0 disables)' },
      ...common,
    ],
    async run(f) {
      const { runController } = await import('./controller/main.ts');
      return runController(f, logger(f, 'controller'));
    },
  },
  speaker: {
    summary: 'elect an owner node per IP, bring it up there, announce it (ARP/NDP) and proxy its traffic',
    flags: [
      ...kube,
      { name: 'node-name', type: 'string', env: 'NODE_NAME', help: 'this node (from the downward API)' },
      { name: 'namespace', type: 'string', default: 'metalgate-system', env: 'POD_NAMESPACE', help: "namespace of the speakers' Leases" },
      { name: 'holder-device', type: 'string', default: 'metalgate0', help: 'link that carries the owned IPs (created as dummy, or ifb where the kernel has no dummy)' },
      { name: 'interface', type: 'string', help: 'announce every IP on this interface (default: the interface whose subnet contains the IP)' },
      POOL_NAMESPACES_FLAG,
      { name: 'own-class-only', type: 'boolean', default: false, help: 'serve only Services with our loadBalancerClass (not those with none)' },
      { name: 'lb-class', type: 'string', default: 'metalgate.io/metalgate', help: 'our loadBalancerClass' },
      { name: 'lease-renew-interval', type: 'number', default: 0.5, help: 'speaker Lease renew interval, seconds' },
      { name: 'lease-duration', type: 'number', default: 2, help: 'speaker Lease duration, whole seconds: a speaker silent this long is taken over' },
      { name: 'announce-refresh', type: 'number', default: 10, help: 'gratuitous ARP / unsolicited NA refresh interval after the takeover burst, seconds' },
      { name: 'stop-linger', type: 'number', default: 2, help: 'on a clean stop, keep serving the IPs this long after the handover, seconds' },
      { name: 'handover-forward', type: 'boolean', default: true, help: "on a takeover from a lingering speaker, forward its connections' packets to it while it lingers (nftables netdev)" },
      { name: 'dataplane', type: 'boolean', default: true, help: 'bring IPs up and announce them (--no-dataplane: Lease and election only, for tests)' },
      { name: 'metrics-address', type: 'string', default: '0.0.0.0', help: 'address for /metrics, /healthz, /readyz' },
      { name: 'metrics-port', type: 'number', default: 7473, help: 'port for /metrics, /healthz, /readyz (0 disables)' },
      ...proxyFlags,
      ...ingressEngineFlags,
      ...common,
    ],
    async run(f) {
      const { runSpeaker } = await import('./speaker/main.ts');
      return runSpeaker(f, logger(f, 'speaker'));
    },
  },
  validate: {
    summary: 'check a config ConfigMap or a bare address-pools config offline',
    flags: [{ name: 'file', short: 'f', type: 'string', help: 'file to check (- for standard input)' }, ...common],
    async run(f) {
      if (typeof f.file !== 'string') throw new UsageError('validate needs -f FILE');
      const { runValidate } = await import('./config/validate.ts');
      return runValidate(f.file, (line) => process.stdout.write(`${line}\n`));
    },
  },
  convert: {
    summary: 'turn a legacy address-pools ConfigMap into IPAddressPool and L2Advertisement objects (YAML for kubectl apply -f -)',
    flags: [
      { name: 'file', short: 'f', type: 'string', help: 'the ConfigMap manifest or bare config (- for standard input)' },
      { name: 'namespace', short: 'n', type: 'string', default: 'metallb-system', help: 'namespace of the objects written' },
      ...common,
    ],
    async run(f) {
      if (typeof f.file !== 'string') throw new UsageError('convert needs -f FILE');
      const { runConvert } = await import('./config/convert.ts');
      return runConvert(
        f.file,
        String(f.namespace),
        (text) => process.stdout.write(text),
        (line) => process.stderr.write(`${line}\n`),
      );
    },
  },
};

function logger(f: FlagValues, name: string) {
  return createLogger(logOptionsOf(String(f['log-level']), String(f['log-format']), name));
}

function usage(): string {
  const rows = Object.entries(commands).map(([n, c]) => `  ${n.padEnd(12)}${c.summary}`);
  return [
    `metalgate ${VERSION}: bare-metal load balancer for Kubernetes with a built-in ingress`,
    '',
    'Usage: metalgate <command> [flags]',
    '',
    'Commands:',
    ...rows,
    '',
    'Every flag --foo-bar can also be set as the environment variable METALGATE_FOO_BAR.',
    "Run 'metalgate <command> --help' for a command's flags.",
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${usage()}\n`);
    return name ? 0 : 2;
  }
  if (name === '--version' || name === 'version') {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  const cmd = commands[name];
  if (!cmd) {
    process.stderr.write(`metalgate: unknown command "${name}"\n\n${usage()}\n`);
    return 2;
  }
  try {
    const flags = parseFlags(cmd.flags, rest);
    for (const variable of unknownEnv(cmd.flags)) {
      process.stderr.write(`metalgate ${name}: warning: ${variable} is not a setting of this command; ignored\n`);
    }
    if (flags.help) {
      process.stdout.write(`metalgate ${name}: ${cmd.summary}\n\nFlags:\n${formatHelp(cmd.flags)}\n`);
      return 0;
    }
    return await cmd.run(flags);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`metalgate ${name}: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
}

export const defaultIdentity = (): string => `${hostname()}-${process.pid}`;

// Run when executed directly (node src/cli.ts, node dist/cli.js, the bin link).
const invoked = process.argv[1] ?? '';
if (/(^|[\\/])(cli\.(ts|js)|metalgate)$/.test(invoked)) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`metalgate: ${(err as Error)?.stack ?? String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
