// The API client of the process: --kubeconfig / KUBECONFIG, otherwise the
// in-cluster ServiceAccount, otherwise ~/.kube/config. Also the helpers that
// read API errors and object keys.
import { fs } from '../common/builtins.ts';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import { KubeClient } from './api/kube-client.ts';
import { accessFromKubeconfig, inClusterAccess, SERVICE_ACCOUNT_DIR, type AccessResult } from './api/kubeconfig.ts';

export { KubeClient };

function fromFile(file: string): AccessResult {
  const base = dirname(file);
  return accessFromKubeconfig(fs.readFileSync(file, 'utf8'), (p) => fs.readFileSync(isAbsolute(p) ? p : join(base, p), 'utf8'));
}

function clientOf(r: AccessResult): KubeClient {
  if (!r.ok) throw new Error(r.error);
  return new KubeClient(r.access);
}

export function loadKubeClient(path?: string): KubeClient {
  const file = path || process.env.KUBECONFIG;
  if (file) return clientOf(fromFile(file));
  if (process.env.KUBERNETES_SERVICE_HOST && fs.existsSync(`${SERVICE_ACCOUNT_DIR}/token`)) return clientOf(inClusterAccess(process.env, (p) => fs.readFileSync(p, 'utf8')));
  return clientOf(fromFile(join(homedir(), '.kube', 'config')));
}

/** A client from kubeconfig YAML text (tests, the demo); relative file paths are refused. */
export function kubeClientFromString(yaml: string): KubeClient {
  return clientOf(accessFromKubeconfig(yaml, (p) => fs.readFileSync(p, 'utf8')));
}

/** HTTP status of an API error, if any. */
export function apiStatus(err: unknown): number | undefined {
  const e = err as { code?: unknown; statusCode?: unknown } | null;
  if (e && typeof e.code === 'number') return e.code;
  if (e && typeof e.statusCode === 'number') return e.statusCode;
  return undefined;
}

/** A short description of an API error for logs and Events. */
export function describeError(err: unknown): string {
  const e = err as { code?: unknown; body?: unknown; message?: unknown } | null;
  if (e && typeof e.code === 'number') {
    let reason = '';
    try {
      const body = typeof e.body === 'string' ? JSON.parse(e.body) : e.body;
      if (body && typeof body === 'object' && 'message' in body) reason = String((body as { message: unknown }).message);
    } catch {
      // body not JSON
    }
    return `HTTP ${e.code}${reason ? `: ${reason}` : ''}`;
  }
  return e && typeof e.message === 'string' ? e.message : String(err);
}

export function objectKey(obj: { metadata?: { namespace?: string; name?: string } }): string {
  const m = obj.metadata ?? {};
  return m.namespace ? `${m.namespace}/${m.name}` : (m.name ?? '');
}

export function splitKey(key: string): { namespace: string; name: string } {
  const i = key.indexOf('/');
  return i < 0 ? { namespace: '', name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

/**
 * A metav1.MicroTime value. The API server insists on six fractional digits
 * and JSON gives a Date three, so MicroTime fields (Lease renewTime and
 * acquireTime, Event eventTime) are written as these strings.
 */
export function microTime(d: Date): Date {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z') as unknown as Date;
}
