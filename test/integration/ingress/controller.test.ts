// The ingress adapter against a real API server: Events on bad objects,
// status written on our Ingresses only, another class untouched, Traefik
// CRDs picked up when they get installed, last good version kept.
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { join } from 'node:path';
import { silentLogger } from '../../../src/common/log.ts';
import { mergePatch, productClient } from '../../support/kube-config.ts';
import { EventRecorder } from '../../../src/kube/events.ts';
import { IngressController } from '../../../src/ingress/k8s/ingress-controller.ts';
import { RouteTables } from '../../../src/ingress/runtime/route-tables.ts';
import { RuntimeFactory } from '../../../src/ingress/runtime/runtime-target.ts';
import type { Backend } from '../../../src/proxy/http/types.ts';
import { ensureNamespace, eventsFor, useCluster, waitFor, waitForEvent } from '../helpers/cluster.ts';

const cluster = useCluster();
const ns = 'ing';
let controller: IngressController;
// The serving side, as a proxy runtime builds it from what the controller publishes.
const tables = new RouteTables(new RuntimeFactory(backends()).materialize);
let networking: k8s.NetworkingV1Api;
let custom: k8s.CustomObjectsApi;

const repo = join(import.meta.dirname, '../../..');

function backends() {
  return {
    backend: (ref: { namespace: string; service: string; portName: string }): Backend => ({
      name: `${ref.namespace}/${ref.service}:${ref.portName}`,
      protocol: 'http',
      pick: () => ({ ip: '127.0.0.1', port: 1, ready: true, serving: true, terminating: false }),
    }),
  };
}

function route(host: string, path = '/') {
  const r = tables.router.route({ host, path, method: 'GET', headers: {}, query: '', clientIp: '198.18.0.9', tls: false, localPort: 80 });
  return r?.backend?.name ?? (r ? 'response' : '404');
}

function ingress(name: string, host: string, svc: string, className = 'metalgate'): k8s.V1Ingress {
  return {
    metadata: { name, namespace: ns },
    spec: { ingressClassName: className, rules: [{ host, http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: svc, port: { number: 80 } } } }] } }] },
  };
}

beforeAll(async () => {
  const { core, kc } = cluster();
  await ensureNamespace(core, ns);
  networking = kc.makeApiClient(k8s.NetworkingV1Api);
  custom = kc.makeApiClient(k8s.CustomObjectsApi);
  await networking.createIngressClass({ body: { metadata: { name: 'metalgate' }, spec: { controller: 'metalgate.io/ingress-controller' } } });
  await networking.createIngressClass({ body: { metadata: { name: 'nginx' }, spec: { controller: 'k8s.io/ingress-nginx' } } });
  await core.createNamespacedService({ namespace: ns, body: { metadata: { name: 'web' }, spec: { ports: [{ name: 'http', port: 80, targetPort: 8080 }] } } });
  await core.createNamespacedService({
    namespace: 'metalgate-system',
    body: { metadata: { name: 'metalgate-ingress' }, spec: { type: 'LoadBalancer', ports: [{ name: 'http', port: 80 }, { name: 'https', port: 443 }] } },
  });
  await core.patchNamespacedServiceStatus(
    { name: 'metalgate-ingress', namespace: 'metalgate-system', body: { status: { loadBalancer: { ingress: [{ ip: '198.18.50.1' }] } } } },
    mergePatch,
  );
  controller = new IngressController(productClient(kc), silentLogger(), {
    publish: (routes) => {
      if (routes) tables.apply(routes);
    },
    events: new EventRecorder(productClient(kc), silentLogger(), 'metalgate-ingress'),
    entrypointService: 'metalgate-system/metalgate-ingress',
    crdRetryMs: 300,
    debounceMs: 10,
  });
  controller.start();
  await controller.synced();
});

/** PATCHes of Ingress status the API server has answered, from its own /metrics. */
async function statusPatches(): Promise<number> {
  const text = await cluster().cp.kubectl(['get', '--raw', '/metrics']);
  let n = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('apiserver_request_total{') && line.includes('resource="ingresses"') && line.includes('subresource="status"') && line.includes('verb="PATCH"')) n += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return n;
}

afterAll(async () => {
  await controller?.stop();
});

describe('ingress controller on a real API server', () => {
  test('serves our Ingress, writes its status; reports a bad one; never touches another class', async () => {
    await networking.createNamespacedIngress({ namespace: ns, body: ingress('good', 'good.example.com', 'web') });
    await networking.createNamespacedIngress({ namespace: ns, body: ingress('bad', 'bad.example.com', 'missing') });
    await networking.createNamespacedIngress({ namespace: ns, body: ingress('theirs', 'theirs.example.com', 'missing', 'nginx') });
    await waitFor(() => route('good.example.com') === 'ing/web:http', 'good Ingress routed');
    const { core } = cluster();
    const ev = await waitForEvent(core, ns, 'Ingress', 'bad', 'MissingService');
    expect(ev.message).toContain('Service ing/missing not found');
    expect(ev.type).toBe('Warning');
    await waitFor(async () => (await networking.readNamespacedIngress({ name: 'good', namespace: ns })).status?.loadBalancer?.ingress?.[0]?.ip === '198.18.50.1', 'status written');
    // A missing Service: the path stays routed, to a backend with no endpoint (503), as ingress-nginx.
    expect(route('bad.example.com')).toBe('ing/missing:(missing)');
    expect(route('theirs.example.com')).toBe('404');
    // Give the controller time to (wrongly) act on the other class.
    await new Promise((r) => setTimeout(r, 300));
    const theirs = await networking.readNamespacedIngress({ name: 'theirs', namespace: ns });
    expect(theirs.status?.loadBalancer?.ingress ?? []).toEqual([]);
    expect(await eventsFor(core, ns, 'Ingress', 'theirs')).toEqual([]);
  });

  test('a burst of Ingresses has each status written once', async () => {
    // A pass per compile, each beside the ones still running, wrote an
    // Ingress again from every pass begun before its watch event came back.
    const before = await statusPatches();
    const names = Array.from({ length: 40 }, (_, i) => `burst${i}`);
    await Promise.all(names.map((n) => networking.createNamespacedIngress({ namespace: ns, body: ingress(n, `${n}.example.com`, 'web') })));
    await waitFor(
      async () => (await networking.listNamespacedIngress({ namespace: ns })).items.filter((i) => names.includes(i.metadata!.name!) && i.status?.loadBalancer?.ingress?.[0]?.ip === '198.18.50.1').length === names.length,
      'every status written',
    );
    await new Promise((r) => setTimeout(r, 300));
    expect((await statusPatches()) - before).toBe(names.length);
  });

  test('a bad update keeps the last good version and says so', async () => {
    const cur = await networking.readNamespacedIngress({ name: 'good', namespace: ns });
    cur.metadata!.annotations = { ...cur.metadata!.annotations, 'nginx.ingress.kubernetes.io/proxy-body-size': 'lots' };
    await networking.replaceNamespacedIngress({ name: 'good', namespace: ns, body: cur });
    await waitForEvent(cluster().core, ns, 'Ingress', 'good', 'KeptLastGood');
    expect(route('good.example.com')).toBe('ing/web:http');
  });

  test('Traefik CRDs installed later turn the dialect on; a bad rule is an Event with its position', async () => {
    expect(controller.traefikGroups).toEqual([]);
    const { cp } = cluster();
    await cp.kubectl(['apply', '-f', join(repo, 'manifests/crds/traefik/traefik.io.yaml'), '-f', join(repo, 'manifests/crds/traefik/traefik.containo.us.yaml')]);
    await waitFor(() => controller.traefikGroups.length === 2, 'both Traefik groups on', 30_000, 100);
    const ir = (name: string, match: string, group = 'traefik.io') => ({
      apiVersion: `${group}/v1alpha1`,
      kind: 'IngressRoute',
      metadata: { name, namespace: ns },
      spec: { entryPoints: ['web'], routes: [{ match, kind: 'Rule', services: [{ name: 'web', port: 80 }] }] },
    });
    const create = async (group: string, body: object) =>
      waitFor(async () => {
        await custom.createNamespacedCustomObject({ group, version: 'v1alpha1', namespace: ns, plural: 'ingressroutes', body });
        return true;
      }, `create IngressRoute in ${group}`);
    await create('traefik.io', ir('tr', 'Host(`tr.example.com`) && PathPrefix(`/api`)'));
    await create('traefik.containo.us', ir('legacy', 'Host(`legacy.example.com`)', 'traefik.containo.us'));
    await create('traefik.io', ir('broken', 'Host(`x.example.com`) &&'));
    await waitFor(() => route('tr.example.com', '/api/x') === 'ing/web:http', 'IngressRoute routed');
    await waitFor(() => route('legacy.example.com') === 'ing/web:http', 'containo.us IngressRoute routed');
    const ev = await waitForEvent(cluster().core, ns, 'IngressRoute', 'broken', 'BadRule');
    expect(ev.message).toMatch(/at [0-9]+$/);
  });
});
