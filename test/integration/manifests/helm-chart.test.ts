// The Helm chart (charts/metalgate) against the kustomize manifests, its one
// source of truth: with default values it renders the same objects as
// `kubectl kustomize manifests/` (but the Namespace, which `helm install
// --create-namespace` makes), and each value users reach for lands where it
// should. helm and kubectl are the real binaries (scripts/build-k8s-bins.sh).
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';

import { repoRoot, run } from '../../support/netns-exec.ts';
import { runBuildScript } from '../../support/real-cluster/real-cluster.ts';

type Obj = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string }; [k: string]: unknown };

function objects(text: string): Obj[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as Obj | null)
    .filter((o): o is Obj => o !== null);
}

const key = (o: Obj): string => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;

/** The pools document parsed, so key order and indentation do not count. */
function normalized(o: Obj): Obj {
  if (o.kind !== 'ConfigMap' || o.metadata.name !== 'config') return o;
  const data = o.data as { config: string };
  return { ...o, data: { config: parseAllDocuments(data.config)[0]!.toJS() } };
}

describe('Helm chart', () => {
  let bin: string;
  const chart = join(repoRoot, 'charts/metalgate');
  const helm = async (...args: string[]): Promise<string> => (await run([join(bin, 'helm'), ...args], { timeoutMs: 60_000, env: { HELM_CACHE_HOME: '/tmp/metalgate-helm-cache', HELM_CONFIG_HOME: '/tmp/metalgate-helm-config' } })).stdout;
  const render = async (...sets: string[]): Promise<Map<string, Obj>> =>
    new Map(objects(await helm('template', 'metalgate', chart, '--include-crds', '--namespace', 'metalgate-system', ...sets.flatMap((s) => ['--set', s]))).map((o) => [key(o), o]));

  beforeAll(async () => {
    bin = await runBuildScript('build-k8s-bins.sh', ['--nodes'], () => {});
  }, 40 * 60_000);

  it('passes helm lint', async () => {
    const out = await helm('lint', chart);
    expect(out).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
  });

  it('renders with default values the objects of kubectl kustomize manifests/ (the Namespace aside)', async () => {
    const kustomized = objects((await run([join(bin, 'kubectl'), 'kustomize', join(repoRoot, 'manifests')], { timeoutMs: 60_000 })).stdout);
    const want = new Map(kustomized.filter((o) => o.kind !== 'Namespace').map((o) => [key(o), normalized(o)]));
    const got = await render();
    expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
    for (const [k, o] of got) expect(normalized(o), k).toEqual(want.get(k));
  });

  it('puts the values users set where they belong', async () => {
    const got = await render(
      'image.repository=registry.example.test/metalgate',
      'image.tag=9.9.9',
      'logLevel=debug',
      'speaker.workers=2',
      'speaker.l4Dataplane=kernel',
      'speaker.nodeSelector.role=edge',
      'controller.replicas=3',
      'speaker.resources.limits.memory=2Gi',
      'pools[0].name=lan',
      'pools[0].protocol=layer2',
      'pools[0].addresses[0]=198.18.5.0/28',
      'metrics.serviceMonitor.enabled=true',
      'namespace.create=true',
      'ingress.enabled=false',
    );
    type Pod = { spec: { template: { spec: { nodeSelector?: Record<string, string>; containers: { image: string; env: { name: string; value?: string }[]; resources: { limits: Record<string, string> } }[] } } } };
    const ds = got.get('DaemonSet/metalgate-system/metalgate-speaker') as unknown as Pod;
    const speaker = ds.spec.template.spec.containers[0]!;
    expect(speaker.image).toBe('registry.example.test/metalgate:9.9.9');
    expect(speaker.env).toContainEqual({ name: 'METALGATE_LOG_LEVEL', value: 'debug' });
    expect(speaker.env).toContainEqual({ name: 'METALGATE_PROXY_WORKERS', value: '2' });
    expect(speaker.env).toContainEqual({ name: 'METALGATE_L4_DATAPLANE', value: 'kernel' });
    expect(speaker.resources.limits.memory).toBe('2Gi');
    expect(ds.spec.template.spec.nodeSelector).toEqual({ 'kubernetes.io/os': 'linux', role: 'edge' });
    const deploy = got.get('Deployment/metalgate-system/metalgate-controller') as unknown as Pod & { spec: { replicas: number } };
    expect(deploy.spec.replicas).toBe(3);
    expect(deploy.spec.template.spec.containers[0]!.env).toContainEqual({ name: 'METALGATE_LOG_LEVEL', value: 'debug' });
    const config = normalized(got.get('ConfigMap/metalgate-system/config')!) as unknown as { data: { config: unknown } };
    expect(config.data.config).toEqual({ 'address-pools': [{ name: 'lan', protocol: 'layer2', addresses: ['198.18.5.0/28'] }] });
    expect(got.has('ServiceMonitor/metalgate-system/metalgate-speaker')).toBe(true);
    expect(got.has('Service/metalgate-system/metalgate-speaker-metrics')).toBe(true);
    expect(got.has('Namespace//metalgate-system')).toBe(true);
    expect(got.has('Service/metalgate-system/metalgate-ingress')).toBe(false);
    expect(got.has('IngressClass//metalgate')).toBe(false);
  });

  it('takes a whole config document as text', async () => {
    const got = await render('config=address-pools:\n- name: x\n  protocol: layer2\n  addresses: [198.18.7.0/29]\n');
    const config = normalized(got.get('ConfigMap/metalgate-system/config')!) as unknown as { data: { config: unknown } };
    expect(config.data.config).toEqual({ 'address-pools': [{ name: 'x', protocol: 'layer2', addresses: ['198.18.7.0/29'] }] });
  });
});
