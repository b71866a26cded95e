// Stage: a sample app, as a user deploys one. Two pods (one per node): each a
// process in its own network namespace behind its node, an echo server that
// says which pod answered. Their Pod objects carry the IPs a kubelet would
// report, an EndpointSlice lists them (the EndpointSlice controller's job),
// and the user's objects: a LoadBalancer Service and an Ingress of class
// metalgate. Ends when the controller has given the Service its EXTERNAL-IP.
import { setTimeout as sleep } from 'node:timers/promises';

import { apiStatus } from '../src/kube/client.ts';
import type { Demo } from './demo-state.ts';
import { APP, inRange, POOL_RANGE } from './demo-plan.ts';
import { appEndpointSlice, appIngress, appPod, appService, runningPodStatus, type PodFacts } from './kube-objects.ts';
import { seconds } from './report.ts';

const EXTERNAL_IP_TIMEOUT_MS = 20_000;

export async function startSampleAppStage(demo: Demo): Promise<void> {
  const r = demo.report;
  const lab = demo.need(demo.lab, 'the lab');
  const cp = demo.need(demo.cp, 'the control plane');
  const { core, discovery, networking } = demo.need(demo.api, 'the API clients');
  r.stage(`A sample app: pods on both nodes, Service ${APP.namespace}/${APP.name} (LoadBalancer), Ingress ${APP.host}`);

  try {
    await core.createNamespace({ body: { metadata: { name: APP.namespace } } });
  } catch (err) {
    if (apiStatus(err) !== 409) throw err;
  }
  const facts: PodFacts[] = [];
  const uids = new Map<string, string>();
  for (const p of APP.pods) {
    const node = lab.node(p.node);
    const pod = await lab.addPod(p.node, p.name);
    await pod.serveHttp(APP.targetPort, { name: p.name });
    demo.appPods.push(pod);
    const f: PodFacts = { name: p.name, node: p.node, ip: pod.ipv4, hostIp: node.ipv4 };
    facts.push(f);
    const created = await core.createNamespacedPod({ namespace: APP.namespace, body: appPod(f) });
    uids.set(p.name, created.metadata!.uid!);
    await core.replaceNamespacedPodStatus({ name: p.name, namespace: APP.namespace, body: { ...created, status: runningPodStatus(created, f, new Date()) } });
    demo.step();
  }
  await discovery.createNamespacedEndpointSlice({ namespace: APP.namespace, body: appEndpointSlice(facts, uids) });
  r.command(`kubectl get pods,endpointslices -n ${APP.namespace} -o wide`, await cp.kubectl(['get', 'pods,endpointslices', '-n', APP.namespace, '-o', 'wide']));
  demo.step();

  const t0 = Date.now();
  await core.createNamespacedService({ namespace: APP.namespace, body: appService() });
  r.info(`created Service ${APP.namespace}/${APP.name}: type LoadBalancer, port ${APP.port} -> pods' ${APP.targetPort}`);
  try {
    await networking.createNamespacedIngress({ namespace: APP.namespace, body: appIngress() });
    r.info(`created Ingress ${APP.namespace}/${APP.name}: class ${appIngress().spec!.ingressClassName}, http://${APP.host}/ -> ${APP.name}:${APP.port}`);
  } catch (err) {
    r.fail('Ingress created', `the API server refused it: ${(err as Error).message}`);
  }

  const deadline = Date.now() + EXTERNAL_IP_TIMEOUT_MS;
  while (Date.now() < deadline && demo.externalIp === undefined) {
    const svc = await core.readNamespacedService({ name: APP.name, namespace: APP.namespace });
    demo.externalIp = svc.status?.loadBalancer?.ingress?.find((i) => i.ip)?.ip;
    if (demo.externalIp === undefined) await sleep(100);
  }
  if (demo.externalIp === undefined) {
    r.fail('EXTERNAL-IP assigned', `the controller gave ${APP.namespace}/${APP.name} no IP within ${seconds(EXTERNAL_IP_TIMEOUT_MS)} (see ${demo.controller?.logFile})`);
  } else if (!inRange(demo.externalIp)) {
    r.fail('EXTERNAL-IP assigned', `${demo.externalIp} is outside the pool ${POOL_RANGE}`);
  } else {
    r.ok('EXTERNAL-IP assigned', `${demo.externalIp} from pool ${POOL_RANGE}, ${seconds(Date.now() - t0)} after the Service was created`);
  }
  demo.step();
}
