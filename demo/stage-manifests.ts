// Stage: what a user applies. The manifests (`kubectl apply -k manifests/`),
// then the address pool in the ConfigMap. Then what the workload controllers
// and the kubelet would do for metalgate's own pods: a Pod object per
// component (the controller's, one speaker per node), each with a token
// bound to it, so the processes started next authenticate exactly as in
// their pods (their ServiceAccount, through RBAC and the admission policy).
import type { V1DaemonSet, V1Deployment } from '@kubernetes/client-node';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';

import { repoRoot } from '../test/support/netns-exec.ts';
import type { ComponentSetup, Demo } from './demo-state.ts';
import { CONTROLLER_NODE, CONTROLLER_POD, POOL_RANGE, speakerPodName, SYSTEM_NAMESPACE } from './demo-plan.ts';
import { poolConfigMap } from './kube-objects.ts';
import { kubeconfigWithToken } from './kubeconfig.ts';
import { componentPod, findComponent, type ComponentTemplate, type Workload } from './pod-spec.ts';

const MANIFESTS_DIR = join(repoRoot, 'manifests');
const KUSTOMIZATION_FILES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'];
/** Tokens outlive any demo session (a kubelet would rotate them). */
const TOKEN_SECONDS = 7 * 24 * 3600;

function hasKustomization(dir = MANIFESTS_DIR): boolean {
  return KUSTOMIZATION_FILES.some((f) => existsSync(join(dir, f)));
}

export async function applyManifestsStage(demo: Demo): Promise<void> {
  const r = demo.report;
  const cp = demo.need(demo.cp, 'the control plane');
  r.stage('Install metalgate: the manifests, then an address pool');

  if (!hasKustomization()) throw new Error(`${MANIFESTS_DIR} has no kustomization file (${KUSTOMIZATION_FILES.join(', ')})`);
  r.command('kubectl apply -k manifests/', await cp.kubectl(['apply', '-k', MANIFESTS_DIR]));
  demo.step();

  const configMap = stringify({ apiVersion: 'v1', kind: 'ConfigMap', ...poolConfigMap() });
  const out = await cp.kubectl(['apply', '-f', '-'], configMap);
  r.command(`kubectl apply -f pool.yaml    # ${POOL_RANGE}, in the LAN's subnet 198.18.0.0/24`, `${configMap.trimEnd()}\n${out.trimEnd()}`);
  demo.step();

  const workloads = await listWorkloads(demo);
  demo.controllerSetup = await setUpComponent(demo, workloads, 'controller', [{ pod: CONTROLLER_POD, node: CONTROLLER_NODE }]);
  demo.speakerSetup = await setUpComponent(
    demo,
    workloads,
    'speaker',
    demo.nodes.map((n) => ({ pod: speakerPodName(n.name), node: n.name })),
  );
  demo.step();
}

async function listWorkloads(demo: Demo): Promise<Workload[]> {
  const { apps } = demo.need(demo.api, 'the API clients');
  const deployments = (await apps.listNamespacedDeployment({ namespace: SYSTEM_NAMESPACE })).items.map((d): V1Deployment => ({ ...d, kind: 'Deployment' }));
  const daemonSets = (await apps.listNamespacedDaemonSet({ namespace: SYSTEM_NAMESPACE })).items.map((d): V1DaemonSet => ({ ...d, kind: 'DaemonSet' }));
  return [...deployments, ...daemonSets];
}

/** The component's workload from the manifests, its Pods, and a kubeconfig per Pod with the Pod's own token. */
async function setUpComponent(
  demo: Demo,
  workloads: readonly Workload[],
  command: 'controller' | 'speaker',
  pods: ReadonlyArray<{ pod: string; node: string }>,
): Promise<ComponentSetup> {
  const cp = demo.need(demo.cp, 'the control plane');
  const template = findComponent(workloads, command);
  if (!template) throw new Error(`the manifests have no Deployment or DaemonSet in ${SYSTEM_NAMESPACE} that runs \`metalgate ${command}\``);
  const serviceAccount = template.template.spec?.serviceAccountName;
  if (!serviceAccount) throw new Error(`${template.source} names no serviceAccountName`);
  const kubeconfigs = new Map<string, string>();
  for (const { pod, node } of pods) {
    const uid = await createComponentPod(demo, template, pod, node);
    const token = await requestToken(demo, serviceAccount, pod, uid);
    const file = join(demo.workDir, `kubeconfig-${pod}`);
    await writeFile(file, kubeconfigWithToken(cp.kubeconfigYaml, `system:serviceaccount:${SYSTEM_NAMESPACE}:${serviceAccount}`, token), { mode: 0o600 });
    kubeconfigs.set(pod, file);
  }
  const names = pods.map((p) => `${p.pod} (${p.node})`).join(', ');
  demo.report.info(`${command}: ${template.source}; Pod${pods.length > 1 ? 's' : ''} ${names}; ServiceAccount ${serviceAccount}, token bound to its Pod`);
  return { template, kubeconfigs };
}

/** The Pod the Deployment/DaemonSet would have created and the scheduler bound; returns its uid. */
async function createComponentPod(demo: Demo, template: ComponentTemplate, name: string, node: string): Promise<string> {
  const { core } = demo.need(demo.api, 'the API clients');
  const body = componentPod(template, { name, namespace: SYSTEM_NAMESPACE, nodeName: node });
  const created = await core.createNamespacedPod({ namespace: SYSTEM_NAMESPACE, body });
  return created.metadata!.uid!;
}

/** A TokenRequest bound to the Pod, as the kubelet asks for a projected token (it carries the node's name). */
async function requestToken(demo: Demo, serviceAccount: string, pod: string, uid: string): Promise<string> {
  const { core } = demo.need(demo.api, 'the API clients');
  const res = await core.createNamespacedServiceAccountToken({
    name: serviceAccount,
    namespace: SYSTEM_NAMESPACE,
    body: { spec: { audiences: [], expirationSeconds: TOKEN_SECONDS, boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: pod, uid } } },
  });
  const token = res.status?.token;
  if (!token) throw new Error(`TokenRequest for ${serviceAccount} (Pod ${pod}) returned no token`);
  return token;
}
