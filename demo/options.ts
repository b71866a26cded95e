// `npm run demo -- [flags]`: parsing and help. Pure.

export interface DemoOptions {
  /** Run the checks, tear down, exit 0 only if all held. */
  once: boolean;
  /** Kill the owner node once and measure the outage (default on). */
  failover: boolean;
  /** Keep the logs directory after teardown (always kept when a check failed). */
  keepLogs: boolean;
  /** A real cluster (kubelets, containerd, kube-proxy) instead of the simulated kubelet. */
  real: boolean;
  help: boolean;
}

export const DEMO_USAGE = [
  'npm run demo [-- flags]   (root; Linux; iproute2; curl; Go for the first build)',
  '',
  'A cluster in a box: a real kube-apiserver and etcd, a LAN of network namespaces',
  '(a client and two nodes), the manifests applied, the controller and a speaker per',
  'node running as in their pods, a sample app behind a LoadBalancer Service and an',
  'Ingress; then kubectl get svc, curl from the client, the ARP announcements, and a',
  'failover (the owner node\'s speaker killed with SIGKILL).',
  '',
  'The kubelet is SIMULATED by default: the demo runs the components as their pods',
  'would and writes pod status itself, which takes seconds. --real builds a real',
  'cluster instead (kubelet, containerd, runc, kube-proxy; the image from the',
  'Dockerfile), which takes minutes the first time.',
  '',
  'Flags:',
  '  --once          run the checks, tear everything down, exit 0 only if all held',
  '  --no-failover   skip killing the owner node',
  '  --keep-logs     keep the log directory after teardown (kept anyway when a check fails)',
  '  --real          a real kubelet cluster (needs containerd, runc, buildah, mmdebstrap, iptables)',
  '  -h, --help      this text',
].join('\n');

export function parseDemoArgs(argv: readonly string[]): DemoOptions {
  const o: DemoOptions = { once: false, failover: true, keepLogs: false, real: false, help: false };
  for (const a of argv) {
    if (a === '--once') o.once = true;
    else if (a === '--no-failover') o.failover = false;
    else if (a === '--keep-logs') o.keepLogs = true;
    else if (a === '--real') o.real = true;
    else if (a === '-h' || a === '--help') o.help = true;
    else throw new Error(`unknown flag "${a}"\n\n${DEMO_USAGE}`);
  }
  return o;
}
