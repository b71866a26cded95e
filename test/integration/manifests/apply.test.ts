// The manifests as a user installs them: `kubectl apply -f manifests/` on an
// empty cluster (no namespace yet), the same objects through kustomize, what
// the API server stored for the workloads, the example ConfigMap, and the
// optional Traefik CRD component.
import { cp as copyDir, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startControlPlane, type ControlPlane } from '../../support/control-plane.ts';
import {
  flagDefaults,
  hasKustomization,
  kubectl,
  kubectlOk,
  manifestFiles,
  manifestObjects,
  manifestsDir,
  NAMESPACE,
  objectId,
  parseObjects,
  runCli,
  standInCrd,
  TRAEFIK_GROUPS,
  TRAEFIK_KINDS,
  traefikCrdsDir,
  type ManifestObject,
} from './helpers.ts';

let cp: ControlPlane;
beforeAll(async () => {
  // Not useCluster(): that one creates metalgate-system first, and this file
  // shows the manifests work on a cluster that has nothing yet.
  cp = await startControlPlane();
});
afterAll(async () => {
  await cp?.stop();
});

type Container = {
  name: string;
  image: string;
  args?: string[];
  env?: Array<{ name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }>;
  ports?: Array<{ name: string; containerPort: number }>;
  livenessProbe?: { httpGet?: { path: string; port: string | number } };
  readinessProbe?: { httpGet?: { path: string; port: string | number } };
  startupProbe?: { httpGet?: { path: string; port: string | number }; initialDelaySeconds?: number };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: {
    runAsUser?: number;
    runAsNonRoot?: boolean;
    readOnlyRootFilesystem?: boolean;
    allowPrivilegeEscalation?: boolean;
    capabilities?: { drop?: string[]; add?: string[] };
  };
};
type PodSpec = {
  serviceAccountName: string;
  enableServiceLinks?: boolean;
  hostNetwork?: boolean;
  dnsPolicy?: string;
  terminationGracePeriodSeconds?: number;
  tolerations?: Array<{ key?: string; operator?: string; effect?: string }>;
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number; seccompProfile?: { type: string } };
  containers: Container[];
};

async function getJson<T>(args: string[]): Promise<T> {
  return JSON.parse(await kubectlOk(cp, ['get', ...args, '-o', 'json'])) as T;
}

function envMap(c: Container): Map<string, string> {
  return new Map((c.env ?? []).map((e) => [e.name, e.value ?? `fieldRef:${e.valueFrom?.fieldRef?.fieldPath}`]));
}

describe('kustomize and kubectl -f see the same objects', () => {
  test('the Kustomization lists exactly the *.yaml files, in name order (the apply order of kubectl -f)', () => {
    const kustomization = parseObjects(readFileSync(join(manifestsDir, 'Kustomization'), 'utf8'))[0] as unknown as { resources: string[] };
    expect(kustomization.resources).toEqual(manifestFiles());
    // Named so that `kubectl apply -f manifests/` skips it.
    expect(readdirSync(manifestsDir).filter((f) => /^kustomization\.ya?ml$/i.test(f))).toEqual([]);
  });

  test('kubectl kustomize renders the objects of the files, all namespaced ones in metalgate-system', async () => {
    const rendered = parseObjects(await kubectlOk(cp, ['kustomize', manifestsDir]));
    const fromFiles = manifestObjects();
    expect(rendered.map(objectId).sort()).toEqual(fromFiles.map(objectId).sort());
    expect(fromFiles[0]!.kind).toBe('Namespace');
    const clusterScoped = new Set(['Namespace', 'CustomResourceDefinition', 'ClusterRole', 'ClusterRoleBinding', 'IngressClass', 'ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding']);
    for (const o of fromFiles) {
      if (clusterScoped.has(o.kind)) expect(o.metadata.namespace, objectId(o)).toBeUndefined();
      else expect(o.metadata.namespace, objectId(o)).toBe(NAMESPACE);
    }
    expect(fromFiles.map(objectId)).toEqual(
      expect.arrayContaining([
        'Namespace/metalgate-system',
        'ServiceAccount/metalgate-system/metalgate-controller',
        'ServiceAccount/metalgate-system/metalgate-speaker',
        'Deployment/metalgate-system/metalgate-controller',
        'DaemonSet/metalgate-system/metalgate-speaker',
        'IngressClass/metalgate',
        'Service/metalgate-system/metalgate-ingress',
        'ConfigMap/metalgate-system/config',
      ]),
    );
  });
});

describe('kubectl apply on an empty cluster', () => {
  test('apply -f manifests/ creates everything (namespace first); apply -k afterwards changes nothing', async () => {
    expect((await kubectl(cp, ['get', 'namespace', NAMESPACE])).code).not.toBe(0);
    const out = await kubectlOk(cp, ['apply', '-f', manifestsDir]);
    for (const o of manifestObjects()) {
      expect(out, objectId(o)).toContain(`/${o.metadata.name} created`);
    }
    // The same objects through kustomize: nothing to change.
    const diff = await kubectl(cp, ['diff', '-k', manifestsDir]);
    expect(diff.stderr).toBe('');
    expect(diff.code).toBe(0);
    const again = await kubectlOk(cp, ['apply', '--dry-run=server', '-k', manifestsDir]);
    expect(again.trim().split('\n').every((l) => l.endsWith('unchanged (server dry run)'))).toBe(true);
  });

  test('the namespace admits the speaker (Pod Security level privileged)', async () => {
    const ns = await getJson<ManifestObject>(['namespace', NAMESPACE]);
    expect(ns.metadata.labels?.['pod-security.kubernetes.io/enforce']).toBe('privileged');
  });

  test('controller Deployment: unprivileged, probes on the metrics port, identity from the downward API', async () => {
    const d = await getJson<{ spec: { replicas: number; template: { spec: PodSpec } } }>(['deployment', '-n', NAMESPACE, 'metalgate-controller']);
    const pod = d.spec.template.spec;
    const c = pod.containers[0]!;
    const flags = await flagDefaults('controller');
    expect(d.spec.replicas).toBe(2);
    expect(pod.serviceAccountName).toBe('metalgate-controller');
    expect(c.image).toBe('ghcr.io/metalgate/metalgate:0.1.0');
    expect(c.args).toEqual(['controller']);
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(pod.securityContext?.runAsUser).toBeGreaterThan(0);
    expect(c.securityContext).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    const port = c.ports!.find((p) => p.name === 'monitoring')!;
    expect(String(port.containerPort)).toBe(flags.get('metrics-port')!.default);
    expect(c.livenessProbe!.httpGet).toMatchObject({ path: '/healthz', port: 'monitoring' });
    expect(c.readinessProbe!.httpGet).toMatchObject({ path: '/readyz', port: 'monitoring' });
    // A startup probe gates liveness and readiness, so a normal start shows no "probe failed" Warning.
    expect(c.startupProbe!.httpGet).toMatchObject({ path: '/readyz', port: 'monitoring' });
    expect(c.startupProbe!.initialDelaySeconds).toBeGreaterThanOrEqual(2);
    // Service-link variables (METALGATE_METRICS_PORT=tcp://... from a Service metalgate-metrics) stay out.
    expect(pod.enableServiceLinks).toBe(false);
    expect(c.resources!.requests).toMatchObject({ cpu: expect.any(String), memory: expect.any(String) });
    expect(c.resources!.limits).toMatchObject({ memory: expect.any(String) });
    const env = envMap(c);
    expect(env.get('POD_NAME')).toBe('fieldRef:metadata.name');
    expect(env.get('POD_NAMESPACE')).toBe('fieldRef:metadata.namespace');
    // Each variable is one the CLI reads.
    expect(flags.get('identity')!.env).toContain('POD_NAME');
    expect(flags.get('config-namespace')!.env).toContain('POD_NAMESPACE');
    expect(flags.get('lease-namespace')!.env).toContain('POD_NAMESPACE');
    expectKnownEnv(env, flags);
  });

  test('speaker DaemonSet: hostNetwork, only NET_ADMIN/NET_RAW/NET_BIND_SERVICE, NODE_NAME, probes, grace period, control-plane tolerations', async () => {
    const ds = await getJson<{ spec: { template: { spec: PodSpec } } }>(['daemonset', '-n', NAMESPACE, 'metalgate-speaker']);
    const pod = ds.spec.template.spec;
    const c = pod.containers[0]!;
    const flags = await flagDefaults('speaker');
    expect(pod.serviceAccountName).toBe('metalgate-speaker');
    expect(c.args).toEqual(['speaker']);
    expect(pod.hostNetwork).toBe(true);
    expect(pod.dnsPolicy).toBe('ClusterFirstWithHostNet');
    expect(pod.securityContext?.seccompProfile).toEqual({ type: 'RuntimeDefault' });
    expect(c.securityContext).toEqual({
      runAsUser: 0,
      runAsNonRoot: false,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'], add: ['NET_ADMIN', 'NET_RAW', 'NET_BIND_SERVICE'] },
    });
    const env = envMap(c);
    expect(env.get('NODE_NAME')).toBe('fieldRef:spec.nodeName');
    expect(flags.get('node-name')!.env).toContain('NODE_NAME');
    expect(flags.get('namespace')!.env).toContain('POD_NAMESPACE');
    expectKnownEnv(env, flags);
    const port = c.ports!.find((p) => p.name === 'monitoring')!;
    expect(String(port.containerPort)).toBe(flags.get('metrics-port')!.default);
    expect(c.livenessProbe!.httpGet).toMatchObject({ path: '/healthz', port: 'monitoring' });
    expect(c.readinessProbe!.httpGet).toMatchObject({ path: '/readyz', port: 'monitoring' });
    // A startup probe gates liveness and readiness, so a normal start shows no "probe failed" Warning.
    expect(c.startupProbe!.httpGet).toMatchObject({ path: '/readyz', port: 'monitoring' });
    expect(c.startupProbe!.initialDelaySeconds).toBeGreaterThanOrEqual(2);
    // Service-link variables (METALGATE_METRICS_PORT=tcp://... from a Service metalgate-metrics) stay out.
    expect(pod.enableServiceLinks).toBe(false);
    // Lease delete (a few API round trips) + stop linger + the proxy's drain fit, with room.
    const linger = Number(flags.get('stop-linger')!.default);
    const drain = Number(flags.get('drain-grace')?.default ?? 10);
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(linger + drain + 10);
    expect(pod.tolerations).toEqual(
      expect.arrayContaining([{ key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' }]),
    );
    expect(c.resources!.requests).toMatchObject({ cpu: expect.any(String), memory: expect.any(String) });
  });

  test('IngressClass metalgate and the selector-less LoadBalancer entrypoint on 80 and 443', async () => {
    const ic = await getJson<{ spec: { controller: string } }>(['ingressclass', 'metalgate']);
    expect(ic.spec.controller).toBe('metalgate.io/ingress-controller');
    const svc = await getJson<{ spec: Record<string, unknown> & { ports: Array<{ name: string; port: number; protocol: string }> } }>([
      'service',
      '-n',
      NAMESPACE,
      'metalgate-ingress',
    ]);
    expect(svc.spec.type).toBe('LoadBalancer');
    expect(svc.spec.selector).toBeUndefined();
    expect(svc.spec.loadBalancerClass).toBe('metalgate.io/metalgate');
    expect(svc.spec.allocateLoadBalancerNodePorts).toBe(false);
    expect(svc.spec.ports.map((p) => [p.name, p.port, p.protocol])).toEqual([
      ['http', 80, 'TCP'],
      ['https', 443, 'TCP'],
    ]);
  });
});

describe('the example ConfigMap', () => {
  test('holds the documented example range and passes metalgate validate', async () => {
    const cm = manifestObjects().find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'config')! as ManifestObject & { data: { config: string } };
    expect(cm.data.config).toContain('198.18.0.200-198.18.0.250');
    const r = await runCli(['validate', '-f', join(manifestsDir, '20-config.yaml')]);
    expect(r.output).not.toMatch(/^error/m);
    expect(r.code).toBe(0);
  });
});

describe('the Traefik CRDs component', () => {
  const crdsDir = traefikCrdsDir;

  // A kustomization of the user's own next to (not inside) manifests/: the
  // way the component is meant to be used.
  async function overlay(root: string, manifests: string): Promise<string> {
    const dir = join(root, 'overlay');
    await mkdir(dir, { recursive: true });
    const rel = (p: string) => relative(dir, p); // kustomize refuses absolute paths
    await writeFile(
      join(dir, 'kustomization.yaml'),
      `resources: [${rel(manifests)}]\ncomponents: [${rel(join(manifests, 'components/traefik-crds'))}]\n`,
    );
    return dir;
  }

  test('adds what manifests/crds/traefik holds to the base (wiring checked with a stand-in CRD)', async () => {
    const root = await mkdtemp(join(cp.dir, 'component-'));
    try {
      const copy = join(root, 'manifests');
      await copyDir(manifestsDir, copy, { recursive: true, filter: (src) => !src.startsWith(crdsDir) });
      await mkdir(join(copy, 'crds/traefik'), { recursive: true });
      await writeFile(join(copy, 'crds/traefik/kustomization.yaml'), 'resources: [standin.yaml]\n');
      await writeFile(join(copy, 'crds/traefik/standin.yaml'), standInCrd('traefik.io', 'StandIn', 'standins'));
      const rendered = parseObjects(await kubectlOk(cp, ['kustomize', await overlay(root, copy)])).map(objectId);
      expect(rendered.sort()).toEqual([...manifestObjects().map(objectId), 'CustomResourceDefinition/standins.traefik.io'].sort());
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  test.skipIf(!existsSync(crdsDir))('applies the real Traefik CRDs (manifests/crds/traefik), and they become established', async () => {
    // The component names the directory, so kustomize needs a kustomization there.
    expect(hasKustomization(crdsDir), 'manifests/crds/traefik needs a kustomization.yaml listing its CRD files').toBe(true);
    const root = await mkdtemp(join(cp.dir, 'traefik-'));
    try {
      const dir = await overlay(root, manifestsDir);
      const rendered = parseObjects(await kubectlOk(cp, ['kustomize', dir]));
      const crds = rendered.filter((o) => o.kind === 'CustomResourceDefinition').map((o) => o.metadata.name);
      // What the speaker's ingress role reads (11-speaker-rbac.yaml), in both groups.
      for (const group of TRAEFIK_GROUPS) for (const { plural } of TRAEFIK_KINDS) expect(crds).toContain(`${plural}.${group}`);
      await kubectlOk(cp, ['apply', '--server-side', '--force-conflicts', '-k', dir]);
      await kubectlOk(cp, ['wait', '--for=condition=Established', '--timeout=60s', ...crds.map((n) => `crd/${n}`)]);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

/** Every variable a container sets is read by the CLI: a flag's METALGATE_* name or its extra variable. */
function expectKnownEnv(env: Map<string, string>, flags: Map<string, { env: string[] }>): void {
  const known = new Set([...flags.values()].flatMap((f) => f.env));
  for (const name of env.keys()) expect(known, `env ${name}`).toContain(name);
}
