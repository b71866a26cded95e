// The configuration files of a real-kubelet test node and of the control
// plane's clients: containerd's config.toml, the CNI network list, the
// kubelet's and kube-proxy's configuration, kubeconfigs. Pure text builders,
// no I/O; real-cluster.ts writes them.

import { CLUSTER_DNS_IP, CLUSTER_DOMAIN, type NodePlan } from './plan.ts';

export const PAUSE_IMAGE = 'metalgate.test/pause:1';

/**
 * containerd 1.6 (Debian's) for one node: every path under the node's own
 * directory, so two containerds on one machine share nothing.
 *
 * restrict_oom_score_adj: runc sets the container's oom_score_adj, which
 * fails where root lacks CAP_SYS_RESOURCE (some sandboxes); restricted, it
 * never asks for less than its own. netns_mounts_under_state_dir: pod network
 * namespaces under the node's state directory, not the host's /run/netns.
 */
export function containerdConfig(node: NodePlan): string {
  const d = node.dir;
  return `version = 2
root = "${d}/containerd/root"
state = "${d}/containerd/state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = "${d}/containerd.sock"

[ttrpc]
  address = "${d}/containerd.sock.ttrpc"

[debug]
  address = ""

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "${d}/containerd/opt"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${PAUSE_IMAGE}"
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "${d}/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "${d}/cni/net.d"
`;
}

/**
 * The pod network of one node: Debian's CNI bridge plugin with host-local
 * addresses from the node's range (state in the node's directory). Routes
 * between nodes' ranges are the cluster's (real-cluster.ts), as with a
 * routed pod network; no masquerade, so backends see the real source.
 */
export function cniConfig(node: NodePlan): string {
  return `${JSON.stringify(
    {
      cniVersion: '0.4.0',
      name: 'metalgate-test',
      plugins: [
        {
          type: 'bridge',
          bridge: 'cni0',
          isGateway: true,
          ipMasq: false,
          hairpinMode: true,
          ipam: {
            type: 'host-local',
            dataDir: `${node.dir}/cni/ipam`,
            ranges: [[{ subnet: node.podCidr, gateway: node.podGateway }]],
            routes: [{ dst: '0.0.0.0/0' }],
          },
        },
        { type: 'portmap', capabilities: { portMappings: true } },
      ],
    },
    null,
    2,
  )}\n`;
}

export interface KubeletFiles {
  clientCaFile: string;
  resolvConf: string;
  podLogsDir: string;
}

/**
 * KubeletConfiguration for one node. Values that differ from a kubeadm node
 * and why: cgroupfs driver and failCgroupV1: false (machines like this one
 * run cgroup v1 without systemd); a cgroupRoot per node (two kubelets on one
 * machine); a cluster DNS address no server answers (nothing here resolves
 * names; without one every pod gets a MissingClusterDNS warning); eviction thresholds near zero and image GC off (the test node's
 * disk is the machine's, and its fill level is not the test's business).
 */
export function kubeletConfig(node: NodePlan, files: KubeletFiles): string {
  return `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
cgroupDriver: cgroupfs
failCgroupV1: false
cgroupRoot: ${node.cgroupRoot}
cgroupsPerQOS: true
enforceNodeAllocatable: [pods]
containerRuntimeEndpoint: unix://${node.dir}/containerd.sock
authentication:
  anonymous:
    enabled: false
  webhook:
    enabled: true
  x509:
    clientCAFile: ${files.clientCaFile}
authorization:
  mode: Webhook
clusterDomain: ${CLUSTER_DOMAIN}
clusterDNS: [${CLUSTER_DNS_IP}]
resolvConf: ${files.resolvConf}
podLogsDir: ${files.podLogsDir}
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
failSwapOn: false
protectKernelDefaults: false
rotateCertificates: false
serializeImagePulls: false
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard:
  memory.available: "1Mi"
  nodefs.available: "0%"
  nodefs.inodesFree: "0%"
  imagefs.available: "0%"
nodeStatusReportFrequency: 10s
fileCheckFrequency: 5s
syncFrequency: 10s
containerLogMaxSize: 10Mi
shutdownGracePeriod: 0s
`;
}

/**
 * KubeProxyConfiguration, iptables mode. Conntrack sizes and timeouts are
 * left to the kernel (0 = do not set): they are machine-wide sysctls outside
 * a node's network namespace. masqueradeAll: with no br_netfilter hairpin
 * guarantee, a pod reaching a Service backed by a pod on its own bridge gets
 * its reply back through the node.
 */
export function kubeProxyConfig(node: NodePlan, nodeIp: string, kubeconfig: string): string {
  return `apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: iptables
hostnameOverride: ${node.name}
bindAddress: ${nodeIp}
clientConnection:
  kubeconfig: ${kubeconfig}
clusterCIDR: ""
iptables:
  masqueradeAll: true
  syncPeriod: 10s
conntrack:
  maxPerCore: 0
  min: 0
  tcpEstablishedTimeout: 0s
  tcpCloseWaitTimeout: 0s
metricsBindAddress: 127.0.0.1:10249
healthzBindAddress: 127.0.0.1:10256
`;
}
