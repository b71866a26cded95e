// Stage: the cluster in a box. A real control plane on loopback, a LAN of
// network namespaces (a client and the nodes), routes between the nodes' pod
// CIDRs, and the Node objects a kubelet would register.
import { join } from 'node:path';

import { apiStatus } from '../src/kube/client.ts';
import { startControlPlane } from '../test/support/control-plane.ts';
import { Lab } from '../test/support/lab.ts';
import type { Demo } from './demo-state.ts';
import { DEMO_CLIENT, DEMO_NODES } from './demo-plan.ts';
import { nodeObject, nodeStatus, type NodeFacts } from './kube-objects.ts';
import { ENABLE_FORWARDING, podRoutes } from './pod-network.ts';
import { seconds } from './report.ts';

export async function startControlPlaneStage(demo: Demo): Promise<void> {
  const r = demo.report;
  r.stage('Control plane: etcd and kube-apiserver on loopback');
  const t0 = Date.now();
  const cp = await startControlPlane({
    dir: join(demo.workDir, 'control-plane'),
    progress: (line) => r.info(line.replace(/^\[build-k8s-bins\]\s*/, 'build: ')),
  });
  demo.setControlPlane(cp);
  r.info(`API server ${cp.server} up in ${seconds(Date.now() - t0)} (kubectl: ${demo.kubectlPath()})`);
  demo.step();
}

export async function startLabStage(demo: Demo): Promise<void> {
  const r = demo.report;
  const cp = demo.need(demo.cp, 'the control plane');
  r.stage('A LAN of network namespaces: a client and two nodes on one switch');
  const t0 = Date.now();
  demo.lab = await Lab.create({
    nodes: DEMO_NODES,
    clients: [DEMO_CLIENT],
    ipv6: false,
    apiServer: cp,
    logDir: demo.logDir,
    progress: (line) => r.info(line),
  });
  const lab = demo.lab;
  if (lab.sweepReport?.runs.length) r.info(`removed ${lab.sweepReport.runs.length} lab run(s) a crashed run had left`);
  for (const h of [lab.client(DEMO_CLIENT), ...lab.nodes]) {
    r.info(`${h.name.padEnd(7)} ${h.ipv4.padEnd(13)} ${h.mac}  netns ${h.ns}${'podCidrV4' in h ? `  pods ${h.podCidrV4}` : ''}`);
  }
  demo.step();

  // The pod network a CNI would provide: each node routes the others' pod CIDRs.
  const routes = podRoutes(lab.nodes.map((n) => ({ name: n.name, ns: n.ns, ipv4: n.ipv4, podCidrV4: n.podCidrV4 })));
  for (const n of lab.nodes) {
    await n.exec('sh', ['-c', ENABLE_FORWARDING]);
    for (const line of routes.get(n.name) ?? []) await n.ip(line.split(' '));
  }
  r.info('pod network: every node routes the other nodes\' pod CIDRs over the LAN (as a routed CNI would)');

  // Node objects, as each node's kubelet would register them.
  const core = demo.need(demo.api, 'the API clients').core;
  const now = new Date();
  for (const n of lab.nodes) {
    const facts: NodeFacts = { name: n.name, ipv4: n.ipv4, podCidrV4: n.podCidrV4 };
    try {
      await core.createNode({ body: nodeObject(facts) });
    } catch (err) {
      if (apiStatus(err) !== 409) throw err;
    }
    const current = await core.readNode({ name: n.name });
    await core.replaceNodeStatus({ name: n.name, body: { ...current, status: nodeStatus(facts, now) } });
  }
  r.info(`Node objects ${lab.nodes.map((n) => `${n.name} (InternalIP ${n.ipv4})`).join(', ')}, Ready (${seconds(Date.now() - t0)})`);
  demo.step();
}
