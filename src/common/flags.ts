// Command-line flags with environment fallbacks: every `--foo-bar` may also
// be given as METALGATE_FOO_BAR (what a Pod spec sets), the flag winning.
// One table per command drives parsing, defaults and --help.
import { util } from './builtins.ts';

export interface FlagSpec {
  name: string;
  type: 'string' | 'boolean' | 'number';
  help: string;
  default?: string | boolean | number;
  /** Extra environment variable read before METALGATE_*, e.g. KUBECONFIG or NODE_NAME. */
  env?: string;
  short?: string;
}

export type FlagValues = Record<string, string | boolean | number | undefined>;

export function envName(flag: string): string {
  return `METALGATE_${flag.toUpperCase().replace(/-/g, '_')}`;
}

export class UsageError extends Error {}

/**
 * Kubernetes injects Docker-link variables for every Service in a Pod's
 * namespace (unless the Pod sets enableServiceLinks: false). A Service named
 * `metalgate-metrics` yields METALGATE_METRICS_PORT=tcp://IP:7472, which
 * would otherwise read as the --metrics-port flag. Such a variable is never
 * a setting: its name ends the way the kubelet builds them, and the `_PORT`
 * forms carry a tcp://, udp:// or sctp:// URL.
 */
export function isServiceLinkVariable(name: string, value: string | undefined): boolean {
  if (/_SERVICE_HOST$/.test(name) || /_SERVICE_PORT(_[A-Z0-9_]+)?$/.test(name)) return true;
  if (/_PORT_\d+_(TCP|UDP|SCTP)(_PROTO|_PORT|_ADDR)?$/.test(name)) return true;
  return /_PORT$/.test(name) && /^(tcp|udp|sctp):\/\//.test(value ?? '');
}

function envValue(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const v = env[name];
  return v === undefined || isServiceLinkVariable(name, v) ? undefined : v;
}

export function parseFlags(specs: FlagSpec[], argv: string[], env: NodeJS.ProcessEnv = process.env): FlagValues {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {};
  for (const s of specs) options[s.name] = { type: s.type === 'boolean' ? 'boolean' : 'string', ...(s.short ? { short: s.short } : {}) };
  let parsed: ReturnType<typeof util.parseArgs>;
  try {
    // allowNegative: a boolean that defaults to true is turned off with --no-<flag>.
    parsed = util.parseArgs({ args: argv, options, allowPositionals: false, strict: true, allowNegative: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const out: FlagValues = {};
  for (const s of specs) {
    const raw = parsed.values[s.name] ?? envValue(env, envName(s.name)) ?? (s.env ? env[s.env] : undefined);
    out[s.name] = raw === undefined ? s.default : coerce(s, raw as string | boolean);
  }
  return out;
}

/**
 * METALGATE_* variables that name no flag of this command: a misspelt or
 * renamed setting would otherwise be ignored without a word.
 */
export function unknownEnv(specs: FlagSpec[], env: NodeJS.ProcessEnv = process.env): string[] {
  const known = new Set(specs.map((s) => envName(s.name)));
  return Object.keys(env)
    .filter((k) => k.startsWith('METALGATE_') && !known.has(k) && !isServiceLinkVariable(k, env[k]))
    .sort();
}

function coerce(s: FlagSpec, raw: string | boolean): string | boolean | number {
  if (s.type === 'boolean') {
    if (typeof raw === 'boolean') return raw;
    if (/^(1|true|yes|on)$/i.test(raw)) return true;
    if (/^(0|false|no|off|)$/i.test(raw)) return false;
    throw new UsageError(`--${s.name}: expected true or false, got "${raw}"`);
  }
  if (s.type === 'number') {
    const n = Number(raw);
    if (typeof raw !== 'string' || raw.trim() === '' || !Number.isFinite(n)) {
      throw new UsageError(`--${s.name}: expected a number, got "${String(raw)}"`);
    }
    return n;
  }
  return String(raw);
}

export function formatHelp(specs: FlagSpec[]): string {
  const rows = specs.map((s) => {
    const negatable = s.type === 'boolean' && s.default === true ? `, --no-${s.name}` : '';
    const left = `  ${s.short ? `-${s.short}, ` : ''}--${s.name}${negatable}${s.type === 'boolean' ? '' : ` <${s.type}>`}`;
    const def = s.default === undefined || s.default === '' ? '' : ` (default ${JSON.stringify(s.default)})`;
    const env = ` [env ${envName(s.name)}${s.env ? ` or ${s.env}` : ''}]`;
    return { left, right: `${s.help}${def}${env}` };
  });
  const width = Math.max(...rows.map((r) => r.left.length)) + 2;
  return rows.map((r) => r.left.padEnd(width) + r.right).join('\n');
}

/** The --pool-namespaces flag (controller and speaker read the same objects): namespace names, comma-separated. */
export const POOL_NAMESPACES_FLAG: FlagSpec = {
  name: 'pool-namespaces',
  type: 'string',
  default: 'metallb-system,metalgate-system',
  help: 'namespaces whose IPAddressPool and L2Advertisement objects (metallb.io) are read, comma-separated',
};

export function poolNamespacesOf(f: FlagValues): string[] {
  const list = String(f[POOL_NAMESPACES_FLAG.name]).split(',').map((s) => s.trim()).filter(Boolean);
  const bad = list.find((n) => !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(n) || n.length > 63);
  if (list.length === 0 || bad !== undefined) throw new UsageError(`--pool-namespaces must list namespace names, comma-separated${bad ? `; "${bad}" is not one` : ''}`);
  return list;
}
