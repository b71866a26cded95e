// Where the API server is and how to prove who we are: a kubeconfig file
// (its current context), or the in-cluster ServiceAccount. Pure: reading the
// files is the caller's (loadKubeAccess); this turns their text into a
// ClusterAccess or an error that names the field.
//
// Not supported, and refused with a clear error rather than ignored:
// exec credential plugins and auth-provider entries (cloud CLIs on a
// workstation; metalgate runs in the cluster with its ServiceAccount), and
// proxy-url.
//
// A kubeconfig in JSON (valid YAML, and accepted by kubectl) is read with
// JSON.parse; the YAML parser is loaded for a YAML one only. A pod reads its
// ServiceAccount and never loads it (yaml costs a process 3.7 MiB).
import { createRequire } from 'node:module';

const loadYaml = (): typeof import('yaml') => createRequire(import.meta.url)('yaml') as typeof import('yaml');

export interface ClusterAccess {
  /** https://host:port (no trailing slash). */
  readonly server: string;
  /** PEM of the CA that signs the server's certificate; undefined: the system's roots. */
  readonly ca?: string;
  readonly insecureSkipTlsVerify?: boolean;
  readonly tlsServerName?: string;
  /** Client certificate and key, PEM. */
  readonly cert?: string;
  readonly key?: string;
  /** A bearer token, fixed... */
  readonly token?: string;
  /** ...or read from this file, which the kubelet rotates (bound ServiceAccount tokens). */
  readonly tokenFile?: string;
  readonly username?: string;
  readonly password?: string;
}

export type AccessResult = { ok: true; access: ClusterAccess } | { ok: false; error: string };

/** Reads a file's text (relative paths are resolved against the kubeconfig's directory by the caller). */
export type ReadText = (path: string) => string;

interface NamedEntry {
  name?: unknown;
  cluster?: Record<string, unknown>;
  user?: Record<string, unknown>;
  context?: Record<string, unknown>;
}

function entry(list: unknown, name: string, field: 'cluster' | 'user' | 'context'): Record<string, unknown> | undefined {
  if (!Array.isArray(list)) return undefined;
  const e = (list as NamedEntry[]).find((x) => x && x.name === name);
  const v = e?.[field];
  return v && typeof v === 'object' ? v : e ? {} : undefined;
}

function str(o: Record<string, unknown>, k: string): string | undefined {
  const v = o[k];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

const b64 = (s: string): string => Buffer.from(s, 'base64').toString('utf8');

/** The current context of a kubeconfig's text; `read` loads the files it names. */
export function accessFromKubeconfig(text: string, read: ReadText, context?: string): AccessResult {
  let doc: unknown;
  try {
    doc = text.trimStart().startsWith('{') ? JSON.parse(text) : loadYaml().parse(text, { maxAliasCount: 0 });
  } catch (err) {
    return { ok: false, error: `kubeconfig is not YAML: ${(err as Error).message}` };
  }
  if (!doc || typeof doc !== 'object') return { ok: false, error: 'kubeconfig is empty' };
  const d = doc as Record<string, unknown>;
  const ctxName = context ?? (typeof d['current-context'] === 'string' ? d['current-context'] : undefined);
  if (!ctxName) return { ok: false, error: 'kubeconfig has no current-context' };
  const ctx = entry(d.contexts, ctxName, 'context');
  if (!ctx) return { ok: false, error: `kubeconfig: context "${ctxName}" not found` };
  const clusterName = str(ctx, 'cluster');
  const cluster = clusterName ? entry(d.clusters, clusterName, 'cluster') : undefined;
  if (!cluster) return { ok: false, error: `kubeconfig: cluster "${clusterName ?? ''}" of context "${ctxName}" not found` };
  const userName = str(ctx, 'user');
  const user = userName ? (entry(d.users, userName, 'user') ?? {}) : {};
  const server = str(cluster, 'server');
  if (!server) return { ok: false, error: `kubeconfig: cluster "${clusterName}" has no server` };
  if (!/^https?:\/\//.test(server)) return { ok: false, error: `kubeconfig: cluster "${clusterName}" server "${server}" is not an http(s) URL` };
  if (str(cluster, 'proxy-url')) return { ok: false, error: `kubeconfig: cluster "${clusterName}" proxy-url is not supported` };
  if (user.exec !== undefined) return { ok: false, error: `kubeconfig: user "${userName}" uses an exec credential plugin, which metalgate does not run; use a token or a client certificate` };
  if (user['auth-provider'] !== undefined) return { ok: false, error: `kubeconfig: user "${userName}" uses an auth-provider, which metalgate does not support; use a token or a client certificate` };
  try {
    const pem = (dataKey: string, fileKey: string, o: Record<string, unknown>): string | undefined => {
      const data = str(o, dataKey);
      if (data) return b64(data);
      const file = str(o, fileKey);
      return file ? read(file) : undefined;
    };
    const ca = pem('certificate-authority-data', 'certificate-authority', cluster);
    const cert = pem('client-certificate-data', 'client-certificate', user);
    const key = pem('client-key-data', 'client-key', user);
    const tlsServerName = str(cluster, 'tls-server-name');
    const token = str(user, 'token');
    const tokenFile = str(user, 'tokenFile');
    const username = str(user, 'username');
    const password = str(user, 'password');
    return {
      ok: true,
      access: {
        server: server.replace(/\/+$/, ''),
        ...(ca ? { ca } : {}),
        ...(cluster['insecure-skip-tls-verify'] === true ? { insecureSkipTlsVerify: true } : {}),
        ...(tlsServerName ? { tlsServerName } : {}),
        ...(cert ? { cert } : {}),
        ...(key ? { key } : {}),
        ...(token ? { token } : {}),
        ...(tokenFile ? { tokenFile } : {}),
        ...(username ? { username } : {}),
        ...(password ? { password } : {}),
      },
    };
  } catch (err) {
    return { ok: false, error: `kubeconfig: ${(err as Error).message}` };
  }
}

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** The in-cluster ServiceAccount's access, from the variables the kubelet sets in every pod. */
export function inClusterAccess(env: NodeJS.ProcessEnv, read: ReadText): AccessResult {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !port) return { ok: false, error: 'not in a cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set' };
  try {
    return {
      ok: true,
      access: {
        server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
        ca: read(`${SERVICE_ACCOUNT_DIR}/ca.crt`),
        tokenFile: `${SERVICE_ACCOUNT_DIR}/token`,
      },
    };
  } catch (err) {
    return { ok: false, error: `in-cluster ServiceAccount: ${(err as Error).message}` };
  }
}
