// What the demo builds, decided up front: names, the address pool, the sample
// app. Pure constants and small helpers; the stages read them from here.
//
// The pool lies in the lab LAN (198.18.0.0/24) in the part lab-plan.ts keeps
// free for pools (198.18.0.100-254): the speaker announces an IP on the
// interface whose subnet contains it, as on a real LAN.

export const DEMO_NODES = ['node1', 'node2'] as const;
export const DEMO_CLIENT = 'client';

export const SYSTEM_NAMESPACE = 'metalgate-system';
export const CONFIG_MAP_NAME = 'config';
export const POOL_NAME = 'demo';
export const POOL_RANGE = '198.18.0.100-198.18.0.149';

/** The built-in ingress: class, and the entrypoint Service from the manifests. */
export const INGRESS_CLASS = 'metalgate';
export const ENTRYPOINT = { namespace: SYSTEM_NAMESPACE, name: 'metalgate-ingress' } as const;

/** The sample app: two pods (one per node) behind a LoadBalancer Service and an Ingress. */
export const APP = {
  namespace: 'demo',
  name: 'hello',
  portName: 'http',
  port: 80,
  targetPort: 8080,
  host: 'hello.demo.test',
  pods: [
    { name: 'hello-1', node: 'node1' },
    { name: 'hello-2', node: 'node2' },
  ],
} as const;

/** The controller's Pod name (its leader-election identity, POD_NAME in the manifests). */
export const CONTROLLER_POD = 'metalgate-controller-demo';
/** The node the controller's Pod object is bound to (the process runs in the host namespace). */
export const CONTROLLER_NODE = 'node1';

/** The speaker Pod a DaemonSet would create on `node`. */
export function speakerPodName(node: string): string {
  return `metalgate-speaker-${node}`;
}

/** The address-pools config the demo declares (MetalLB's legacy format). */
export function poolConfigYaml(range: string = POOL_RANGE): string {
  return ['address-pools:', `  - name: ${POOL_NAME}`, '    protocol: layer2', '    addresses:', `      - ${range}`, ''].join('\n');
}

/** IPv4 text to a number. */
function v4(ip: string): number {
  const p = ip.split('.').map(Number);
  return ((p[0]! << 24) >>> 0) + (p[1]! << 16) + (p[2]! << 8) + p[3]!;
}

/** True when `ip` lies in the inclusive IPv4 range "A-B". */
export function inRange(ip: string, range: string = POOL_RANGE): boolean {
  if (!/^\d+\.\d+\.\d+\.\d+$/.test(ip)) return false;
  const [a, b] = range.split('-');
  const n = v4(ip);
  return n >= v4(a!) && n <= v4(b!);
}

/** `http://IP/` (brackets for IPv6). */
export function httpUrl(ip: string, port = 80, path = '/'): string {
  const host = ip.includes(':') ? `[${ip}]` : ip;
  return `http://${host}${port === 80 ? '' : `:${port}`}${path}`;
}
