// The shape of a real-kubelet test cluster: which namespace, address, pod
// range and directory each member gets. Pure data, no I/O; real-cluster.ts
// builds it.
//
//   client  198.18.0.1    outside the cluster: curl, steady probes
//   cp      198.18.0.2    etcd, kube-apiserver :6443, controller-manager, scheduler
//   nodeN   198.18.0.1N   containerd, kubelet, kube-proxy; pods 198.18.10N.0/24
//   Services (ClusterIP)  198.19.0.0/16 (kubernetes.default = 198.19.0.1)
//
// Every address is from the benchmarking block 198.18.0.0/15. The LAN and
// the hosts' cables are the lab's (test/support/lab-plan.ts); pods get their
// addresses from the CNI bridge plugin, one /24 per node, routed between
// hosts the way a routed pod network (Calico in BGP mode, kube-router) does.

export const SERVICE_CIDR = '198.19.0.0/16';
export const KUBERNETES_SERVICE_IP = '198.19.0.1';
/** Pods' resolver address: reserved, no DNS server runs in the test cluster. */
export const CLUSTER_DNS_IP = '198.19.0.10';
export const API_PORT = 6443;
export const CLUSTER_DOMAIN = 'cluster.local';
export const CLIENT = 'client';
export const CONTROL_PLANE = 'cp';
export const MAX_CLUSTER_NODES = 9;

export interface NodePlan {
  /** Kubernetes node name and lab host name. */
  name: string;
  /** Pod range of this node (CNI host-local IPAM), and its gateway on cni0. */
  podCidr: string;
  podGateway: string;
  /** Where everything of this node lives: containerd, kubelet, CNI, logs. */
  dir: string;
  /** The cgroup under which this kubelet puts its pods (one per node, so two kubelets never share /kubepods). */
  cgroupRoot: string;
}

export interface ClusterPlan {
  runId: string;
  dir: string;
  nodes: NodePlan[];
}

/** node1..nodeN: the lab gives node i (from 0) the pod range 198.18.(101+i).0/24. */
export function nodeNames(count: number): string[] {
  if (!Number.isInteger(count) || count < 1 || count > MAX_CLUSTER_NODES) {
    throw new Error(`a real-kubelet cluster has 1 to ${MAX_CLUSTER_NODES} nodes, got ${count}`);
  }
  return Array.from({ length: count }, (_, i) => `node${i + 1}`);
}

/** `nodes`: each node's name and pod range, as the lab planned them. */
export function planCluster(runId: string, dir: string, nodes: readonly { name: string; podCidr: string }[]): ClusterPlan {
  return {
    runId,
    dir,
    nodes: nodes.map(({ name, podCidr }) => ({
      name,
      podCidr,
      podGateway: podCidr.replace(/\.0\/24$/, '.1'),
      dir: `${dir}/${name}`,
      cgroupRoot: `/metalgate-${runId}-${name}`,
    })),
  };
}
