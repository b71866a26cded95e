// The proxy's flags on `metalgate speaker` (speaker and proxy share one
// process, see docs/architecture.md), and their translation into options.
// Light on purpose: the CLI imports this table for every command. Booleans
// default to false (`--flag=false` is not accepted by the parser).
import { availableParallelism } from 'node:os';
import { UsageError, type FlagSpec, type FlagValues } from '../common/flags.ts';
import { checkTlsPolicy, DEFAULT_TLS_CIPHERS, DEFAULT_TLS_PROTOCOLS, DEFAULT_TLS_SESSION_TIMEOUT_S, parseTlsProtocols, type TlsPolicy } from './http/tls-policy.ts';
import { DEFAULT_ENTRYPOINT_SERVICE, DEFAULT_INGRESS_CLASS, type ProxyOptions } from './proxy-options.ts';
import { AUTO_WORKER_CAP, proxyWorkerCount } from './workers/worker-count.ts';

export const proxyFlags: FlagSpec[] = [
  { name: 'speaker-only', type: 'boolean', default: false, help: 'announce only: no proxy listening on the owned IPs in this process' },
  { name: 'ingress-service', type: 'string', default: DEFAULT_ENTRYPOINT_SERVICE, help: 'namespace/name of the Service whose ports 80 and 443 are the HTTP(S) ingress entrypoint' },
  { name: 'ingress-l4', type: 'boolean', default: false, help: "forward the ingress entrypoint's ports at L4 like any Service's (no L7 engine, no Ingress routing)" },
  { name: 'ingress-class', type: 'string', default: DEFAULT_INGRESS_CLASS, help: 'IngressClass name served by the ingress entrypoint' },
  { name: 'ingress-without-class', type: 'boolean', default: false, help: 'also serve Ingresses that name no class' },
  { name: 'default-certificate', type: 'string', help: 'namespace/name of a kubernetes.io/tls Secret for TLS clients no certificate matches (default: a generated self-signed one)' },
  { name: 'drain-grace', type: 'number', default: 10, help: 'on SIGTERM, before handing the IPs over: how long to keep serving while in-flight connections and requests finish, seconds' },
  { name: 'unbind-grace', type: 'number', default: 30, help: 'when an IP or port stops being served here, how long its open connections may run, seconds' },
  {
    name: 'proxy-workers',
    type: 'string',
    default: 'auto',
    help: `proxy workers: 1 serves on the speaker's own thread; N > 1 starts N worker threads that each bind the owned IP:ports (SO_REUSEPORT); auto: one per usable CPU, at most ${AUTO_WORKER_CAP}`,
  },
  {
    name: 'l4-dataplane',
    type: 'string',
    default: 'kernel',
    help: 'who forwards the L4 ports of Services without the metalgate.io/l4-dataplane annotation: kernel (nftables DNAT rules: the kernel\'s rate; where nft does not work the proxy serves them) or proxy (this process: connect retries, PROXY protocol, timeouts, per-connection metrics); Services asking for PROXY protocol stay on proxy',
  },
  { name: 'access-log-sample', type: 'number', default: 0.01, help: 'fraction of requests (L7) and connections (L4) written to the access log, 0 to 1' },
  { name: 'underscores-in-headers', type: 'boolean', default: false, help: "forward request fields whose names hold an underscore (dropped by default, as nginx's underscores_in_headers off)" },
  { name: 'tls-ciphers', type: 'string', default: DEFAULT_TLS_CIPHERS, help: "TLS 1.2 cipher suites of the HTTPS entrypoint, OpenSSL names separated by colons (ingress-nginx's ssl-ciphers; TLS 1.3 suites are always AEAD)" },
  { name: 'tls-protocols', type: 'string', default: DEFAULT_TLS_PROTOCOLS, help: "TLS versions of the HTTPS entrypoint, separated by spaces (ingress-nginx's ssl-protocols)" },
  { name: 'tls-session-timeout', type: 'number', default: DEFAULT_TLS_SESSION_TIMEOUT_S, help: 'how long a TLS session (ticket or cache) stays resumable, seconds' },
];

export interface ProxyFlagOptions {
  enabled: boolean;
  http: boolean;
  /** 1: on the speaker's thread; more: worker threads. */
  workers: number;
  defaultCertificate: string | undefined;
  /** Merged over defaultProxyOptions by the caller. */
  options: Pick<ProxyOptions, 'entrypoint' | 'ingressClass' | 'ingressWithoutClass' | 'drainGraceMs' | 'unbindGraceMs' | 'accessLogSampleRate' | 'l4Dataplane' | 'tlsPolicy' | 'underscoresInHeaders'>;
}

export function proxyFlagOptions(f: FlagValues): ProxyFlagOptions {
  const nsName = (flag: string): string | undefined => {
    const v = typeof f[flag] === 'string' ? String(f[flag]).trim() : '';
    if (v === '') return undefined;
    if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?\/[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(v)) throw new UsageError(`--${flag} must be namespace/name, got "${v}"`);
    return v;
  };
  const seconds = (flag: string): number => {
    const n = Number(f[flag]);
    if (!(n >= 0)) throw new UsageError(`--${flag} must be zero or more seconds`);
    return Math.round(n * 1000);
  };
  const sample = Number(f['access-log-sample']);
  if (!(sample >= 0 && sample <= 1)) throw new UsageError('--access-log-sample must be between 0 and 1');
  const l4Dataplane = String(f['l4-dataplane'] ?? 'kernel').trim();
  if (l4Dataplane !== 'proxy' && l4Dataplane !== 'kernel') throw new UsageError(`--l4-dataplane must be proxy or kernel, got "${l4Dataplane}"`);
  const workers = proxyWorkerCount(String(f['proxy-workers'] ?? 'auto'), availableParallelism());
  const tlsPolicy = tlsPolicyOf(f);
  if (typeof workers !== 'number') throw new UsageError(workers.error);
  return {
    enabled: f['speaker-only'] !== true,
    workers,
    http: f['ingress-l4'] !== true,
    defaultCertificate: nsName('default-certificate'),
    options: {
      entrypoint: nsName('ingress-service') ?? DEFAULT_ENTRYPOINT_SERVICE,
      ingressClass: String(f['ingress-class'] ?? DEFAULT_INGRESS_CLASS),
      ingressWithoutClass: f['ingress-without-class'] === true,
      drainGraceMs: seconds('drain-grace'),
      unbindGraceMs: seconds('unbind-grace'),
      accessLogSampleRate: sample,
      l4Dataplane,
      tlsPolicy,
      underscoresInHeaders: f['underscores-in-headers'] === true,
    },
  };
}

function tlsPolicyOf(f: FlagValues): TlsPolicy {
  const protocols = parseTlsProtocols(String(f['tls-protocols'] ?? DEFAULT_TLS_PROTOCOLS));
  if ('error' in protocols) throw new UsageError(`--tls-protocols: ${protocols.error}`);
  const ciphers = String(f['tls-ciphers'] ?? DEFAULT_TLS_CIPHERS).trim();
  const sessionTimeoutS = Number(f['tls-session-timeout'] ?? DEFAULT_TLS_SESSION_TIMEOUT_S);
  if (!Number.isInteger(sessionTimeoutS) || sessionTimeoutS < 0) throw new UsageError('--tls-session-timeout must be a whole number of seconds');
  const policy: TlsPolicy = { ciphers, minVersion: protocols.min, maxVersion: protocols.max, sessionTimeoutS };
  const bad = checkTlsPolicy(policy);
  if (bad !== undefined) throw new UsageError(`--tls-ciphers: ${bad}`);
  return policy;
}
