// Kubeconfig loading and API clients: --kubeconfig / KUBECONFIG, otherwise
// the in-cluster ServiceAccount, otherwise ~/.kube/config.
import { existsSync } from 'node:fs';
import * as k8s from '@kubernetes/client-node';

export function loadKubeConfig(path?: string): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  const file = path || process.env.KUBECONFIG;
  if (file) {
    kc.loadFromFile(file);
  } else if (process.env.KUBERNETES_SERVICE_HOST && existsSync('/var/run/secrets/kubernetes.io/serviceaccount/token')) {
    kc.loadFromCluster();
  } else {
    kc.loadFromDefault();
  }
  return kc;
}

/** Merge-patch request options for the generated clients. */
export const mergePatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);

/** HTTP status of an API error from the generated clients, if any. */
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
 * and client-node serialises Dates with three, so MicroTime fields (Lease
 * renewTime/acquireTime, Event eventTime) are written as strings; the
 * serializer passes them through untouched.
 */
export function microTime(d: Date): Date {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z') as unknown as Date;
}
