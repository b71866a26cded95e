// The Kubernetes objects of the demo that a real cluster's other components
// would make (kubelet: Node and Pod status; the EndpointSlice controller:
// the slice) and the ones a user writes (the address pool, the Service, the
// Ingress). Pure builders: lab facts in, API objects out.
import type { V1ConfigMap, V1EndpointSlice, V1Ingress, V1Node, V1NodeStatus, V1Pod, V1PodStatus, V1Service } from '@kubernetes/client-node';

import { APP, CONFIG_MAP_NAME, INGRESS_CLASS, poolConfigYaml, SYSTEM_NAMESPACE } from './demo-plan.ts';

const DEMO_LABELS = { 'app.kubernetes.io/part-of': 'metalgate-demo' };

export interface NodeFacts {
  name: string;
  ipv4: string;
  podCidrV4: string;
}

export function nodeObject(n: NodeFacts): V1Node {
  return {
    metadata: { name: n.name, labels: { 'kubernetes.io/hostname': n.name, 'kubernetes.io/os': 'linux', ...DEMO_LABELS } },
    spec: { podCIDR: n.podCidrV4, podCIDRs: [n.podCidrV4] },
  };
}

/** What the kubelet reports: its addresses (the lab LAN's) and Ready. */
export function nodeStatus(n: NodeFacts, now: Date): V1NodeStatus {
  const since = now;
  return {
    addresses: [
      { type: 'InternalIP', address: n.ipv4 },
      { type: 'Hostname', address: n.name },
    ],
    conditions: [
      { type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'metalgate demo node (a network namespace)', lastHeartbeatTime: since, lastTransitionTime: since },
      { type: 'NetworkUnavailable', status: 'False', reason: 'RouteCreated', message: 'routes to the other nodes\' pod CIDRs are set', lastHeartbeatTime: since, lastTransitionTime: since },
    ],
  };
}

export interface PodFacts {
  name: string;
  node: string;
  ip: string;
  hostIp: string;
}

/** A sample-app Pod, scheduled (spec.nodeName) on its lab node. */
export function appPod(p: Pick<PodFacts, 'name' | 'node'>): V1Pod {
  return {
    metadata: { name: p.name, namespace: APP.namespace, labels: { app: APP.name, ...DEMO_LABELS } },
    spec: {
      nodeName: p.node,
      containers: [
        {
          name: 'echo',
          // Nothing pulls it: the pod is test/support/echo-server.ts in a lab pod namespace.
          image: 'metalgate.io/demo/echo-server:local',
          ports: [{ name: APP.portName, containerPort: APP.targetPort, protocol: 'TCP' }],
        },
      ],
    },
  };
}

/** What the kubelet reports for a started, ready pod (hostNetwork pods have the node's IP). */
export function runningPodStatus(pod: V1Pod, p: { ip?: string | undefined; hostIp?: string | undefined }, now: Date): V1PodStatus {
  const cond = (type: string) => ({ type, status: 'True', lastTransitionTime: now });
  return {
    phase: 'Running',
    ...(p.hostIp ? { hostIP: p.hostIp, hostIPs: [{ ip: p.hostIp }] } : {}),
    ...(p.ip ? { podIP: p.ip, podIPs: [{ ip: p.ip }] } : {}),
    startTime: now,
    conditions: [cond('PodScheduled'), cond('Initialized'), cond('ContainersReady'), cond('Ready')],
    containerStatuses: (pod.spec?.containers ?? []).map((c) => ({
      name: c.name,
      image: c.image ?? '',
      imageID: '',
      ready: true,
      started: true,
      restartCount: 0,
      state: { running: { startedAt: now } },
    })),
  };
}

/** The pool ConfigMap the user declares. */
export function poolConfigMap(range?: string): V1ConfigMap {
  return {
    metadata: { name: CONFIG_MAP_NAME, namespace: SYSTEM_NAMESPACE, labels: { 'app.kubernetes.io/name': 'metalgate' } },
    data: { config: poolConfigYaml(range) },
  };
}

export function appService(): V1Service {
  return {
    metadata: { name: APP.name, namespace: APP.namespace, labels: DEMO_LABELS },
    spec: {
      type: 'LoadBalancer',
      selector: { app: APP.name },
      ports: [{ name: APP.portName, port: APP.port, targetPort: APP.targetPort, protocol: 'TCP' }],
    },
  };
}

/** The slice the EndpointSlice controller would write for the app's ready pods. */
export function appEndpointSlice(pods: readonly PodFacts[], podUids: ReadonlyMap<string, string>): V1EndpointSlice {
  return {
    metadata: {
      name: `${APP.name}-demo`,
      namespace: APP.namespace,
      labels: { 'kubernetes.io/service-name': APP.name, 'endpointslice.kubernetes.io/managed-by': 'metalgate-demo', ...DEMO_LABELS },
    },
    addressType: 'IPv4',
    endpoints: pods.map((p) => ({
      addresses: [p.ip],
      conditions: { ready: true, serving: true, terminating: false },
      nodeName: p.node,
      targetRef: { kind: 'Pod', namespace: APP.namespace, name: p.name, ...(podUids.has(p.name) ? { uid: podUids.get(p.name)! } : {}) },
    })),
    ports: [{ name: APP.portName, port: APP.targetPort, protocol: 'TCP' }],
  };
}

export function appIngress(): V1Ingress {
  return {
    metadata: { name: APP.name, namespace: APP.namespace, labels: DEMO_LABELS },
    spec: {
      ingressClassName: INGRESS_CLASS,
      rules: [
        {
          host: APP.host,
          http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: APP.name, port: { number: APP.port } } } }] },
        },
      ],
    },
  };
}
