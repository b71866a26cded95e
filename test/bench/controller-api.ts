// Controller against the real API server: N Services created at once (by
// CONCURRENCY parallel clients), the time until all have IPs, and each
// Service's create-to-IP latency (from the create call's response to the
// status update seen through a watch).
//
//   node_modules/.bin/node test/bench/controller-api.ts [services=1000] [concurrency=32] [configmap|ipaddresspool]
//
// The pool comes from the legacy ConfigMap (default) or from an IPAddressPool
// object (the metallb.io CRDs of manifests/ installed first); with objects or
// without, the controller also writes each Service's ip-allocated-from-pool
// annotation.
import * as k8s from '@kubernetes/client-node';
import { performance } from 'node:perf_hooks';
import { Controller, defaultControllerOptions } from '../../src/controller/controller.ts';
import { createLogger, silentLogger } from '../../src/common/log.ts';
import { kubeConfigFromString, productClient } from '../support/kube-config.ts';
import { join } from 'node:path';
import { percentile } from './bench-utils.ts';
import { startControlPlane } from '../support/control-plane.ts';

const N = Number(process.argv[2] ?? 1000);
const CONCURRENCY = Number(process.argv[3] ?? 32);
const NS = 'bench';
const SOURCE = process.argv[4] === 'ipaddresspool' ? 'ipaddresspool' : 'configmap';

const cp = await startControlPlane({ progress: (l) => console.error(l) });
try {
  const kc = kubeConfigFromString(cp.kubeconfigYaml);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: 'metalgate-system' } } });
  await core.createNamespace({ body: { metadata: { name: NS } } });
  if (SOURCE === 'configmap') {
    await core.createNamespacedConfigMap({
      namespace: 'metalgate-system',
      body: { metadata: { name: 'config' }, data: { config: 'address-pools:\n- name: bench\n  protocol: layer2\n  addresses: [198.18.64.0/18]\n' } },
    });
  } else {
    await cp.kubectl(['apply', '-f', join(import.meta.dirname, '../../manifests/01-metallb-crds.yaml')]);
    await cp.kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd/ipaddresspools.metallb.io']);
    await core.createNamespace({ body: { metadata: { name: 'metallb-system' } } });
    await cp.kubectl(['apply', '-f', '-'], 'apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {name: bench, namespace: metallb-system}\nspec: {addresses: [198.18.64.0/18]}\n');
  }
  console.error(`pool from: ${SOURCE}`);
  const controller = new Controller(productClient(kc), process.env.BENCH_LOG ? createLogger({ level: 'debug', pretty: false }) : silentLogger(), { ...defaultControllerOptions, identity: 'bench', retryPeriodMs: 200 });
  controller.start();
  while (!controller.isLeader() || controller.notReadyReason()) await new Promise((r) => setTimeout(r, 50));
  console.error("controller leading and synced");

  const created = new Map<string, number>();
  const assigned = new Map<string, number>();
  let resolveAll!: () => void;
  const allDone = new Promise<void>((r) => (resolveAll = r));
  // The bench's own watch of the Services: when it ends early (the API
  // server may close it), a list catches up and a new watch goes on from it.
  const watch = new k8s.Watch(kc);
  const seen = (svc: k8s.V1Service): void => {
    const name = svc.metadata!.name!;
    if (!assigned.has(name) && (svc.status?.loadBalancer?.ingress?.length ?? 0) > 0) {
      assigned.set(name, performance.now());
      if (assigned.size === N) resolveAll();
    }
  };
  let req: AbortController | undefined;
  let watchRestarts = 0;
  let finished = false;
  const startWatch = async (resourceVersion?: string): Promise<void> => {
    req = await watch.watch(`/api/v1/namespaces/${NS}/services`, resourceVersion ? { resourceVersion } : {}, (_phase: string, svc: k8s.V1Service) => seen(svc), (err: unknown) => {
      if (finished) return;
      watchRestarts++;
      console.error(`bench watch ended (${err ? String(err) : 'closed'}); listing and watching again`);
      void core.listNamespacedService({ namespace: NS }).then((l) => {
        for (const svc of l.items) seen(svc);
        return startWatch(l.metadata?.resourceVersion);
      });
    });
  };
  await startWatch();

  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < N) {
        const name = `s-${next++}`;
        await core.createNamespacedService({
          namespace: NS,
          body: { metadata: { name }, spec: { type: 'LoadBalancer', ports: [{ port: 80, protocol: 'TCP' }], selector: { app: name } } },
        });
        created.set(name, performance.now());
      }
    }),
  );
  const tCreated = performance.now();
  console.error(`created ${created.size}, assigned so far ${assigned.size}`);
  let limit: NodeJS.Timeout | undefined;
  await Promise.race([allDone, new Promise((r) => (limit = setTimeout(r, 120_000)))]);
  clearTimeout(limit); // else the process waits out the 120 s after printing
  const tAll = performance.now();
  finished = true;
  req?.abort();
  if (watchRestarts > 0) console.error(`bench watch restarted ${watchRestarts} time(s)`);
  await controller.stop();

  const lat = [...created].map(([name, t]) => (assigned.get(name) ?? Number.NaN) - t).filter((x) => !Number.isNaN(x));
  lat.sort((a, b) => a - b);
  const missing = N - assigned.size;
  console.log(`controller against kube-apiserver ${cp.binDir.match(/k8s-v([\d.]+)/)?.[1] ?? ''}: ${N} Services, ${CONCURRENCY} concurrent creators`);
  console.log(`  all created after      ${(tCreated - t0).toFixed(0)} ms (${((N / (tCreated - t0)) * 1000).toFixed(0)} creates/s)`);
  console.log(`  all have IPs after     ${(tAll - t0).toFixed(0)} ms${missing ? ` (${missing} still without IP)` : ''}`);
  console.log(`  create-to-IP latency   p50 ${percentile(lat, 0.5).toFixed(1)} ms  p90 ${percentile(lat, 0.9).toFixed(1)} ms  p99 ${percentile(lat, 0.99).toFixed(1)} ms  max ${lat[lat.length - 1]!.toFixed(1)} ms`);
  const ips = new Set((await core.listNamespacedService({ namespace: NS })).items.map((s) => s.status?.loadBalancer?.ingress?.[0]?.ip));
  console.log(`  unique IPs             ${ips.size} of ${N}`);
} finally {
  await cp.stop();
}
