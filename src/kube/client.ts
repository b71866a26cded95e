// Kubeconfig loading and API clients: --kubeconfig / KUBECONFIG, otherwise
// the in-cluster ServiceAccount, otherwise ~/.kube/config.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import * as k8s from '@kubernetes/client-node';

export function loadKubeConfig(path?: string): k8s.KubeConfig {
  const kc = reuseConnections(new k8s.KubeConfig());
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

/** A KubeConfig from YAML text (tests, the demo), with connection reuse. */
export function kubeConfigFromString(yaml: string): k8s.KubeConfig {
  const kc = reuseConnections(new k8s.KubeConfig());
  kc.loadFromString(yaml);
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

/**
 * client-node 2.x builds a new undici Agent for every request, so every API
 * call pays a TCP connect and a TLS handshake (measured here: 7 ms per GET
 * against 1.1 ms on a kept-alive connection). This keeps one dispatcher per
 * TLS identity (server, CA, client certificate) and reuses it. Credentials in
 * headers (tokens, which rotate) are still applied per request by client-node.
 */
export function reuseConnections(kc: k8s.KubeConfig): k8s.KubeConfig {
  const target = kc as unknown as { createDispatcher: (cluster: unknown, agentOptions: Record<string, unknown>) => unknown };
  const original = target.createDispatcher.bind(kc);
  const cache = new Map<string, unknown>();
  target.createDispatcher = (cluster, agentOptions) => {
    const h = createHash('sha256');
    h.update(JSON.stringify((cluster as { server?: string; proxyUrl?: string } | null) ?? {}));
    for (const k of ['ca', 'cert', 'key', 'pfx', 'passphrase', 'rejectUnauthorized', 'servername']) {
      const v = agentOptions[k];
      h.update(`${k}=`);
      if (v !== undefined) h.update(Buffer.isBuffer(v) ? v : String(v));
    }
    const key = h.digest('hex');
    let d = cache.get(key);
    if (d === undefined) {
      d = original(cluster, agentOptions);
      if (cache.size > 16) cache.clear(); // identities change only on rotation
      cache.set(key, d);
    }
    return d;
  };
  return kc;
}
