// A component's kubeconfig: the control plane's cluster entry (server, CA)
// with a ServiceAccount token in place of the admin's, which is what a Pod
// gets from its projected token. Pure.
import { parse, stringify } from 'yaml';

interface KubeconfigDoc {
  clusters?: Array<{ name: string; cluster: Record<string, unknown> }>;
  users?: Array<{ name: string; user: Record<string, unknown> }>;
  contexts?: Array<{ name: string; context: { cluster: string; user: string; namespace?: string } }>;
  'current-context'?: string;
  [k: string]: unknown;
}

export function kubeconfigWithToken(adminKubeconfig: string, user: string, token: string, namespace?: string): string {
  const doc = parse(adminKubeconfig) as KubeconfigDoc;
  const current = doc.contexts?.find((c) => c.name === doc['current-context']);
  const cluster = doc.clusters?.find((c) => c.name === current?.context.cluster);
  if (!current || !cluster) throw new Error('kubeconfig has no current context with a cluster');
  const out: KubeconfigDoc = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [cluster],
    users: [{ name: user, user: { token } }],
    contexts: [{ name: user, context: { cluster: cluster.name, user, ...(namespace ? { namespace } : {}) } }],
    'current-context': user,
  };
  return stringify(out);
}
