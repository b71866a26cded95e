// Runs the components "as in their pods": the arguments and environment come
// from the manifests' pod templates as applied to the API server, with the
// downward-API fields resolved the way the kubelet would for a given Pod.
// Pure: workload objects in, a Pod object and a command line out.
import type { V1Container, V1DaemonSet, V1Deployment, V1Pod, V1PodTemplateSpec } from '@kubernetes/client-node';

export type Workload = V1Deployment | V1DaemonSet;

export interface ComponentTemplate {
  /** "Deployment metalgate-system/metalgate-controller" */
  source: string;
  template: V1PodTemplateSpec;
  container: V1Container;
}

/**
 * The workload whose container runs `metalgate <command>`, e.g. the
 * controller Deployment or the speaker DaemonSet; undefined when none does.
 * List responses leave `kind` out of their items: set it before calling (it
 * names the source in messages).
 */
export function findComponent(workloads: readonly Workload[], command: string): ComponentTemplate | undefined {
  for (const w of workloads) {
    const template = w.spec?.template;
    for (const c of template?.spec?.containers ?? []) {
      // The image's entrypoint is `metalgate`: the subcommand is the first arg.
      if (c.args?.[0] === command && template) {
        return { source: `${w.kind ?? 'workload'} ${w.metadata?.namespace}/${w.metadata?.name}`, template, container: c };
      }
    }
  }
  return undefined;
}

export interface PodIdentity {
  name: string;
  namespace: string;
  nodeName: string;
}

/** The Pod the workload's controller would create on `nodeName` (spec.nodeName set, as after scheduling). */
export function componentPod(c: ComponentTemplate, id: PodIdentity): V1Pod {
  return {
    metadata: { name: id.name, namespace: id.namespace, labels: { ...(c.template.metadata?.labels ?? {}) } },
    spec: { ...c.template.spec!, nodeName: id.nodeName },
  };
}

export interface ComponentRun {
  /** What follows `metalgate` (the image's entrypoint): the container's args. */
  args: string[];
  env: Record<string, string>;
}

type FieldSource = (id: PodIdentity, hostIp: string | undefined, template: V1PodTemplateSpec) => string | undefined;

/** The downward-API fields a process can be given; hostNetwork pods have the node's IP as theirs. */
const FIELD_PATHS: Record<string, FieldSource> = {
  'metadata.name': (id) => id.name,
  'metadata.namespace': (id) => id.namespace,
  'spec.nodeName': (id) => id.nodeName,
  'spec.serviceAccountName': (_id, _ip, t) => t.spec?.serviceAccountName,
  'status.hostIP': (_id, hostIp) => hostIp,
  'status.podIP': (_id, hostIp, t) => (t.spec?.hostNetwork ? hostIp : undefined),
};

/**
 * The container's args and environment with every downward-API value
 * resolved. Throws on what a process outside Kubernetes cannot be given
 * (Secret or ConfigMap references, resource fields), naming the variable.
 */
export function componentRun(c: ComponentTemplate, id: PodIdentity, hostIp?: string): ComponentRun {
  if (c.container.envFrom?.length) throw new Error(`${c.source}: envFrom is not supported by the demo`);
  const env: Record<string, string> = {};
  for (const e of c.container.env ?? []) {
    if (e.value !== undefined) {
      env[e.name] = e.value;
      continue;
    }
    const path = e.valueFrom?.fieldRef?.fieldPath;
    const value = path === undefined ? undefined : FIELD_PATHS[path]?.(id, hostIp, c.template);
    if (value === undefined) {
      const from = path ? `fieldRef ${path}` : Object.keys(e.valueFrom ?? {}).join(', ') || 'no value';
      throw new Error(`${c.source}: cannot give env ${e.name} to a process (${from})`);
    }
    env[e.name] = value;
  }
  return { args: [...(c.container.args ?? [])], env };
}

/** The container port named `name`, if the template declares it. */
export function containerPort(c: ComponentTemplate, name: string): number | undefined {
  return c.container.ports?.find((p) => p.name === name)?.containerPort;
}
